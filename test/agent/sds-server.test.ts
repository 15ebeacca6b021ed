/**
 * The agent's SDS server (agent-protocol.md §12) with a real grpc-js client speaking SDS on a unix
 * socket (protobuf-es messages): both secrets once a certificate exists, ACK/NACK as the control
 * plane's SotW, a new `default` after a rotation; DeltaSecrets too; loopback/absolute paths only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { SecretSchema, type Secret } from '../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import type { IssuedCertificate } from '../../src/agent/certificates.js';
import { SdsServer, sdsBindTarget, sdsServiceDefinition } from '../../src/agent/sds-server.js';
import { waitFor } from '../e2e/serve-process.js';

const SECRET_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const NODE = { id: 'sidecar~127.0.0.7~svc1-vm-127.0.0.7.vm-demo~vm-demo.svc.cluster.local' };

function cert(n: number, root = 'ROOT'): IssuedCertificate {
  const pem = (what: string) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(what).toString('base64')}\n-----END CERTIFICATE-----`;
  return { certChain: [pem(`leaf${n}`), pem(root)], keyPem: `KEY${n}`, identity: 'spiffe://cluster.local/ns/vm-demo/sa/svc1-vm', notBefore: 0, notAfter: 1 };
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function inline(ds: { specifier: { case: string | undefined; value?: unknown } } | undefined): string {
  return ds?.specifier.case === 'inlineBytes' ? text(ds.specifier.value as Uint8Array) : '';
}

function secrets(res: DiscoveryResponse | DeltaDiscoveryResponse): Map<string, Secret> {
  const out = new Map<string, Secret>();
  for (const r of res.resources) {
    const any = r.$typeName === 'envoy.service.discovery.v3.Resource' ? r.resource : r;
    const s = any ? anyUnpack(any, SecretSchema) : undefined;
    if (s) out.set(s.name, s);
  }
  return out;
}

async function started(t: { after(fn: () => Promise<void> | void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'mb-sds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logs: string[] = [];
  const sds = new SdsServer({ log: (l) => logs.push(l) });
  const target = await sds.start(join(dir, 'sds.sock'));
  t.after(() => sds.stop());
  const client = new Client(target, credentials.createInsecure());
  t.after(() => client.close());
  return { sds, target, client, logs, dir };
}

/** Opens `method` on `client` (cancelled when the test ends) and collects its responses. */
function openSecrets<Req, Res>(t: { after(fn: () => void): void }, client: Client, method: 'StreamSecrets' | 'DeltaSecrets'): { call: ClientDuplexStream<Req, Res>; responses: Res[] } {
  const m = sdsServiceDefinition[method];
  assert.ok(m);
  const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as ClientDuplexStream<Req, Res>;
  t.after(() => call.cancel());
  call.on('error', () => undefined);
  const responses: Res[] = [];
  call.on('data', (r: Res) => responses.push(r));
  return { call, responses };
}

test('--sds-address: an absolute path or unix:PATH is a unix socket; else a loopback HOST:PORT', () => {
  assert.deepEqual(sdsBindTarget('/run/mb/sds.sock'), { target: 'unix:/run/mb/sds.sock', socketPath: '/run/mb/sds.sock' });
  assert.deepEqual(sdsBindTarget('unix:/run/mb/sds.sock'), { target: 'unix:/run/mb/sds.sock', socketPath: '/run/mb/sds.sock' });
  assert.deepEqual(sdsBindTarget('127.0.0.1:15012'), { target: '127.0.0.1:15012' });
  assert.throws(() => sdsBindTarget('10.1.2.3:15012'), /loopback/);
  assert.throws(() => sdsBindTarget('unix:relative.sock'), /absolute/);
});

test('StreamSecrets: default and ROOTCA once a certificate exists, ACKed; a rotation pushes a new default; a NACK is logged', { timeout: 20_000 }, async (t) => {
  const { sds, client, logs } = await started(t);
  const { call, responses } = openSecrets<DiscoveryRequest, DiscoveryResponse>(t, client, 'StreamSecrets');
  const send = (init: MessageInitShape<typeof DiscoveryRequestSchema>) => call.write(create(DiscoveryRequestSchema, init));
  send({ node: NODE, typeUrl: SECRET_URL, resourceNames: ['default', 'ROOTCA'] });

  // No certificate yet: nothing to send.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(responses.length, 0);
  sds.update(cert(1));
  const first = await waitFor(() => responses[0], 10_000, 'the first SDS response');
  const s1 = secrets(first);
  assert.deepEqual([...s1.keys()].sort(), ['ROOTCA', 'default']);
  const d1 = s1.get('default')?.type;
  assert.equal(d1?.case, 'tlsCertificate');
  if (d1?.case === 'tlsCertificate') {
    assert.equal(inline(d1.value.certificateChain), `${cert(1).certChain[0] ?? ''}\n`);
    assert.equal(inline(d1.value.privateKey), 'KEY1');
  }
  const r1 = s1.get('ROOTCA')?.type;
  assert.equal(r1?.case, 'validationContext');
  if (r1?.case === 'validationContext') assert.equal(inline(r1.value.trustedCa), `${cert(1).certChain[1] ?? ''}\n`);
  send({ typeUrl: SECRET_URL, resourceNames: ['default', 'ROOTCA'], versionInfo: first.versionInfo, responseNonce: first.nonce });

  // Rotation: a new version with the new certificate.
  sds.update(cert(2));
  const second = await waitFor(() => responses[1], 10_000, 'the response after rotation');
  assert.notEqual(second.versionInfo, first.versionInfo);
  const d2 = secrets(second).get('default')?.type;
  assert.ok(d2?.case === 'tlsCertificate' && inline(d2.value.privateKey) === 'KEY2');
  // A NACK keeps the server's state and is logged.
  send({ typeUrl: SECRET_URL, resourceNames: ['default', 'ROOTCA'], versionInfo: first.versionInfo, responseNonce: second.nonce, errorDetail: { code: 3, message: 'bad key' } });
  await waitFor(() => logs.find((l) => l.includes('rejected secrets') && l.endsWith('bad key')), 10_000, 'the NACK log line');
  assert.equal(responses.length, 2, 'a NACK is not answered with the same version again');
});

test('DeltaSecrets: subscribe to default only, get it, then its replacement on rotation', { timeout: 20_000 }, async (t) => {
  const { sds, client } = await started(t);
  sds.update(cert(1));
  const { call, responses } = openSecrets<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(t, client, 'DeltaSecrets');
  call.write(create(DeltaDiscoveryRequestSchema, { node: NODE, typeUrl: SECRET_URL, resourceNamesSubscribe: ['default'] }));
  const first = await waitFor(() => responses[0], 10_000, 'the first delta response');
  assert.deepEqual([...secrets(first).keys()], ['default']);
  call.write(create(DeltaDiscoveryRequestSchema, { typeUrl: SECRET_URL, responseNonce: first.nonce }));
  sds.update(cert(2));
  const second = await waitFor(() => responses[1], 10_000, 'the delta response after rotation');
  const d = secrets(second).get('default')?.type;
  assert.ok(d?.case === 'tlsCertificate' && inline(d.value.privateKey) === 'KEY2');
});

test('a socket file already there (left by a crashed agent) is replaced; a regular file in the way is an error', { timeout: 20_000 }, async (t) => {
  const { dir, sds } = await started(t);
  sds.update(cert(1));
  // The first server still holds the path: a new server takes it over and is the one that answers.
  const again = new SdsServer();
  const target = await again.start(join(dir, 'sds.sock'));
  t.after(() => again.stop());
  again.update(cert(7));
  const client = new Client(target, credentials.createInsecure());
  t.after(() => client.close());
  const { call, responses } = openSecrets<DiscoveryRequest, DiscoveryResponse>(t, client, 'StreamSecrets');
  call.write(create(DiscoveryRequestSchema, { node: NODE, typeUrl: SECRET_URL, resourceNames: ['default'] }));
  const res = await waitFor(() => responses[0], 10_000, 'an answer from the new server');
  const d = secrets(res).get('default')?.type;
  assert.ok(d?.case === 'tlsCertificate' && inline(d.value.privateKey) === 'KEY7');

  writeFileSync(join(dir, 'plain'), 'x');
  await assert.rejects(new SdsServer().start(join(dir, 'plain')), /not a socket/);
});
