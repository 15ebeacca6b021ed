/**
 * Issue 7, end to end: ONE ServiceEntry selects a VM with a service account (an xDS-enabled gRPC
 * server with certificates, STRICT through a workload-selector PeerAuthentication) and a VM without
 * one (a plain gRPC backend). A TLS-capable proxyless client (CERTIFICATE_PROVIDERS=default) gets
 * the mixed cluster split into `|mtls` and `|plaintext` parts: its calls reach both, the first over
 * mTLS (the server echoes the client's SPIFFE id), the second in plaintext; nothing is NACKed.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CertificateAuthority } from '../../src/security/ca.js';
import { startBackend } from '../xds/fixtures/backends.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { XdsServerChild } from '../xds/fixtures/server-process.js';
import { mint } from '../support/certs-and-ports.js';
import { freeWildcardPort } from '../support/ports.js';
import { serviceEntry, TLS_PROXYLESS_METADATA } from './mesh.js';
import { cleanups, startServe, waitFor } from './serve-process.js';

const SECURE_VM_IP = '127.0.3.21';
const PLAIN_VM_IP = '127.0.3.22';
const CLIENT_ID = 'spiffe://cluster.local/ns/demo/sa/alice';

function mesh(securePort: number, plainPort: number): string {
  return `${serviceEntry('echo', 'echo.demo.test', { app: 'echo' })}---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-secure, namespace: demo}
spec: {address: ${SECURE_VM_IP}, labels: {app: echo, vm: secure}, serviceAccount: echo, ports: {grpc: ${securePort}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-plain, namespace: demo}
spec: {address: ${PLAIN_VM_IP}, labels: {app: echo, vm: plain}, ports: {grpc: ${plainPort}}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: secure-vm, namespace: demo}
spec: {selector: {matchLabels: {vm: secure}}, mtls: {mode: STRICT}}
`;
}

test('issue 7: one selector, a VM with a service account (mTLS) and one without (plaintext): a TLS-capable proxyless client reaches both', { timeout: 180_000 }, async (t) => {
  const own = cleanups(t);
  const tmp = own(mkdtempSync(join(tmpdir(), 'mb-mixed-')), (d) => Promise.resolve(rmSync(d, { recursive: true, force: true })));
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const serverCerts = await mint(ca, 'spiffe://cluster.local/ns/demo/sa/echo', join(tmp, 'server'));
  const aliceCerts = await mint(ca, CLIENT_ID, join(tmp, 'alice'));
  const securePort = await freeWildcardPort(); // the XdsServer listens on every address
  const plainVm = own(await startBackend('plain-vm', PLAIN_VM_IP), (b) => b.stop());
  const serve = own(await startServe({ files: { 'mesh.yaml': mesh(securePort, plainVm.port) } }), (s) => s.stop());

  const server = own(
    new XdsServerChild({
      bind: `${SECURE_VM_IP}:${securePort}`,
      xdsServer: serve.xds,
      nodeId: `proxyless~${SECURE_VM_IP}~vm-secure.demo~demo.svc.cluster.local`,
      metadata: TLS_PROXYLESS_METADATA,
      certDir: serverCerts,
    }),
    (s) => s.stop(),
  );
  const alice = own(
    new XdsClientChild({
      target: 'xds:///echo.demo.test:80',
      xdsServer: serve.xds,
      nodeId: 'proxyless~127.0.9.21~alice.demo~demo.svc.cluster.local',
      metadata: TLS_PROXYLESS_METADATA,
      certDir: aliceCerts,
      lifetimeMs: 150_000,
    }),
    (c) => c.stop(),
  );
  await server.serving(60_000);
  await alice.ready();

  // Weighted 1:1 between the parts: 40 calls reach both (each is missed with probability 2^-40).
  const calls = await alice.send({ op: 'call', count: 40, deadlineMs: 20_000, waitForReady: true }, 90_000);
  assert.deepEqual(calls.errors, [], 'every call is answered');
  assert.deepEqual(Object.keys(calls.counts).sort(), ['plain-vm', CLIENT_ID].sort(), 'both VMs answer');
  assert.ok((calls.counts[CLIENT_ID] ?? 0) > 0, 'the VM with a service account saw the client\'s SPIFFE id (mTLS)');
  assert.ok((calls.counts['plain-vm'] ?? 0) > 0, 'the VM without one answered in plaintext');
  assert.equal((calls.counts[CLIENT_ID] ?? 0) + (calls.counts['plain-vm'] ?? 0), 40);

  const sync = await waitFor(async () => {
    const all = await serve.syncz();
    return all.length >= 2 ? all : undefined;
  }, 10_000, 'two proxies in syncz');
  for (const p of sync) for (const ty of p.types) assert.equal(ty.nack, undefined, `${p.proxy} NACKed ${ty.type}: ${JSON.stringify(ty.nack)}`);
});
