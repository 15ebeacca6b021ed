/**
 * Issue 7, end to end: mTLS and authorization in generated xDS, with real processes. A `serve`
 * process; a CA made here mints certificates for the server and two clients; an xDS-enabled gRPC
 * server (grpc-js-xds XdsServer, child process) is a VM WorkloadEntry with a service account under
 * a STRICT PeerAuthentication, and an AuthorizationPolicy DENY for one principal selects it.
 * - a TLS-capable proxyless client (CERTIFICATE_PROVIDERS=default, XdsChannelCredentials) gets
 *   mTLS: the server sees its SPIFFE id in the client certificate;
 * - a client without the provider keeps plaintext clusters and is refused by the STRICT server;
 * - the denied principal gets PERMISSION_DENIED.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CertificateAuthority } from '../../src/security/ca.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { XdsServerChild } from '../xds/fixtures/server-process.js';
import { mint } from '../support/certs-and-ports.js';
import { freeWildcardPort } from '../support/ports.js';
import { strictEchoServer, TLS_PROXYLESS_METADATA } from './mesh.js';
import { cleanups, startServe, waitFor } from './serve-process.js';

const SERVER_IP = '127.0.3.1';

function mesh(port: number): string {
  return strictEchoServer(SERVER_IP, port, 'deny-bob', `  action: DENY
  rules: [{from: [{source: {principals: [cluster.local/ns/demo/sa/bob]}}]}]
`);
}

test('issue 7: STRICT mTLS and a DENY AuthorizationPolicy on an xDS-enabled gRPC server, from generated xDS', { timeout: 180_000 }, async (t) => {
  const own = cleanups(t);
  const tmp = own(mkdtempSync(join(tmpdir(), 'mb-mtls-')), (d) => Promise.resolve(rmSync(d, { recursive: true, force: true })));
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const serverCerts = await mint(ca, 'spiffe://cluster.local/ns/demo/sa/echo', join(tmp, 'server'));
  const aliceCerts = await mint(ca, 'spiffe://cluster.local/ns/demo/sa/alice', join(tmp, 'alice'));
  const bobCerts = await mint(ca, 'spiffe://cluster.local/ns/demo/sa/bob', join(tmp, 'bob'));
  const port = await freeWildcardPort(); // the XdsServer listens on every address
  const serve = own(await startServe({ files: { 'mesh.yaml': mesh(port) } }), (s) => s.stop());

  const server = own(
    new XdsServerChild({
      bind: `${SERVER_IP}:${port}`,
      xdsServer: serve.xds,
      nodeId: `proxyless~${SERVER_IP}~vm-echo.demo~demo.svc.cluster.local`,
      metadata: TLS_PROXYLESS_METADATA,
      certDir: serverCerts,
      rbac: true,
    }),
    (s) => s.stop(),
  );
  const client = (name: string, ip: string, certDir?: string) =>
    own(
      new XdsClientChild({
        target: 'xds:///echo.demo.test:80',
        xdsServer: serve.xds,
        nodeId: `proxyless~${ip}~${name}.demo~demo.svc.cluster.local`,
        metadata: certDir !== undefined ? TLS_PROXYLESS_METADATA : { GENERATOR: 'grpc', NAMESPACE: 'demo' },
        ...(certDir !== undefined ? { certDir } : {}),
        lifetimeMs: 150_000,
      }),
      (c) => c.stop(),
    );
  const alice = client('alice', '127.0.9.11', aliceCerts);
  const bob = client('bob', '127.0.9.12', bobCerts);
  const plain = client('plain', '127.0.9.13');

  // The server serves only once it accepted its Listener (TLS context, RBAC filter, metadata).
  await server.serving(60_000);
  await Promise.all([alice.ready(), bob.ready(), plain.ready()]);

  const fromAlice = await alice.send({ op: 'call', count: 1, deadlineMs: 20_000, waitForReady: true }, 30_000);
  assert.deepEqual(fromAlice.errors, [], 'alice (mTLS) is answered');
  assert.deepEqual(fromAlice.counts, { 'spiffe://cluster.local/ns/demo/sa/alice': 1 }, 'the server saw alice\'s SPIFFE id in her client certificate');

  const fromBob = await bob.send({ op: 'call', count: 1, deadlineMs: 20_000, waitForReady: true }, 30_000);
  assert.deepEqual(fromBob.counts, {}, 'bob is not answered');
  assert.match(fromBob.errors.join('\n'), /PERMISSION_DENIED/, 'the DENY policy refuses bob with PERMISSION_DENIED');

  const fromPlain = await plain.send({ op: 'call', count: 2, deadlineMs: 8000 }, 30_000);
  assert.deepEqual(fromPlain.counts, {}, 'a plaintext client is never answered by the STRICT server');
  assert.equal(fromPlain.errors.length, 2);
  assert.match(fromPlain.errors.join('\n'), /UNAVAILABLE/, 'the connection is refused (not merely slow)');

  // No proxy NACKed anything: the server's Listener (with meshbridge.io metadata) was accepted.
  const sync = await waitFor(async () => {
    const all = await serve.syncz();
    return all.length >= 4 ? all : undefined;
  }, 10_000, 'four proxies in syncz');
  for (const p of sync) for (const ty of p.types) assert.equal(ty.nack, undefined, `${p.proxy} NACKed ${ty.type}: ${JSON.stringify(ty.nack)}`);
});
