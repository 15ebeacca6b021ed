/**
 * Issue 4, control-plane side, through the real ADS port: an agent's stream (a raw ADS client with
 * the agent's node metadata and token) registers a WorkloadEntry from its WorkloadGroup, its health
 * reports gate it in and out of the registry, a bad token is refused with a reason, and the entry
 * is removed a grace period after the agent leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { credentials } from '@grpc/grpc-js';
import { CONTROL_PLANE_SERVER_NAME } from '../../src/security/server-certificate.js';
import { ControlPlane } from '../../src/app/control-plane.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { signToken } from '../../src/security/registration-token.js';
import { loadOrCreateSigningKey } from '../../src/sources/file/state-dir.js';
import { DiscoveryRequestSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { AGENT_HELLO_TYPE_URL, HEALTH_INFORMATION_TYPE_URL } from '../../src/xds/server/ads-stream.js';
import { RawAdsStream } from '../xds/fixtures/ads-client.js';


const CONFIG = `
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: svc1-vm, namespace: vm-demo}
spec:
  metadata: {labels: {app: svc1}}
  template: {serviceAccount: svc1, ports: {http: 8080}}
  probe: {httpGet: {port: 8080}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc1, namespace: vm-demo}
spec:
  hosts: [svc1.internal.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: svc1}}
`;

function agentRequest(ip: string, error?: string, typeUrl = HEALTH_INFORMATION_TYPE_URL) {
  return create(DiscoveryRequestSchema, {
    node: {
      id: `sidecar~${ip}~svc1-vm-${ip}.vm-demo~vm-demo.svc.cluster.local`,
      metadata: {
        AUTO_REGISTER_GROUP: 'svc1-vm',
        NAMESPACE: 'vm-demo',
        MESHBRIDGE_AGENT: 'true',
        HEALTH_CHECKS: 'true',
        INSTANCE_IPS: ip,
      },
    },
    typeUrl,
    ...(error !== undefined ? { errorDetail: { code: 13, message: error } } : {}),
  });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await sleep(10);
  }
}

test('an agent registers, reports health, is gated by it, and its entry goes a grace period after it leaves', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-life-'));
  writeFileSync(join(dir, 'mesh.yaml'), CONFIG);
  const stateDir = `${dir}.state`;
  const cp = new ControlPlane({ configPaths: [dir], xdsAddress: '127.0.0.1:0', secureXdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, stateDir, gracePeriodMs: 200, debounceMs: 5 });
  const { xdsTls } = await cp.start();
  // The agents' port: TLS, the server verified against the mesh root (docs/security.md).
  const xds = xdsTls ?? '';
  const tls = { credentials: credentials.createSsl(Buffer.from(cp.certificateAuthority().rootPem)), options: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME } };
  const key = loadOrCreateSigningKey(stateDir);
  const now = Math.floor(Date.now() / 1000);
  const token = signToken({ namespace: 'vm-demo', group: 'svc1-vm', serviceAccount: 'svc1', issuedAt: now, expiresAt: now + 600 }, key);
  const entryOf = (key: string) => cp.registry.inputs.WorkloadEntry.get(key);
  const endpoints = () => cp.registry.services.get('vm-demo/svc1.internal.com')?.endpoints.map((e) => `${e.address}:${e.port}`) ?? [];
  try {
    // A foreign token is refused with a reason; nothing is registered.
    const intruder = new RawAdsStream(xds, adsServiceDefinition.StreamAggregatedResources, 5000, { authorization: 'Bearer nonsense.token' }, tls);
    intruder.send(agentRequest('127.0.2.99'));
    const refused = await intruder.ended;
    assert.equal(refused?.code, 16);
    assert.match(refused?.details ?? '', /not signed by this control plane|malformed/);
    intruder.close();

    const agent = new RawAdsStream(xds, adsServiceDefinition.StreamAggregatedResources, 20_000, { authorization: `Bearer ${token}` }, tls);
    agent.send(agentRequest('127.0.2.50', undefined, AGENT_HELLO_TYPE_URL));
    await until(() => entryOf('WorkloadEntry/vm-demo/svc1-vm-127.0.2.50') !== undefined);
    const entry = entryOf('WorkloadEntry/vm-demo/svc1-vm-127.0.2.50');
    assert.equal(entry?.spec.address, '127.0.2.50');
    assert.equal(entry?.metadata.annotations['proxy.istio.io/health-checks-enabled'], 'true');
    assert.deepEqual(endpoints(), [], 'H-GATE-2: health checked and not yet healthy: not an endpoint');

    agent.send(agentRequest('127.0.2.50'));
    await until(() => endpoints().includes('127.0.2.50:8080'));
    agent.send(agentRequest('127.0.2.50', 'HTTP 503 from /'));
    await until(() => endpoints().length === 0);
    assert.equal(entryOf('WorkloadEntry/vm-demo/svc1-vm-127.0.2.50')?.status?.conditions?.find((c) => c.type === 'Healthy')?.message, 'HTTP 503 from /');

    agent.close();
    await until(() => entryOf('WorkloadEntry/vm-demo/svc1-vm-127.0.2.50')?.metadata.annotations['istio.io/disconnectedAt'] !== undefined);
    await until(() => entryOf('WorkloadEntry/vm-demo/svc1-vm-127.0.2.50') === undefined, 3000);
  } finally {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test("issue 7: Istio's CreateCertificate on the xDS port issues the identity the registration token entitles, and refuses without one", { timeout: 30_000 }, async () => {
  const { Client, Metadata } = await import('@grpc/grpc-js');
  const { webcrypto, X509Certificate } = await import('node:crypto');
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const { certificateServiceDefinition } = await import('../../src/security/cert-service.js');
  const { spiffeIdOf } = await import('../../src/security/ca.js');
  const dir = mkdtempSync(join(tmpdir(), 'mb-ca-'));
  writeFileSync(join(dir, 'mesh.yaml'), CONFIG);
  const stateDir = `${dir}.state`;
  const cp = new ControlPlane({ configPaths: [dir], xdsAddress: '127.0.0.1:0', secureXdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, stateDir });
  const { xdsTls } = await cp.start();
  const client = new Client(xdsTls ?? '', credentials.createSsl(Buffer.from(cp.certificateAuthority().rootPem)), { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME });
  const method = certificateServiceDefinition['CreateCertificate'];
  assert.ok(method);
  const call = (csr: string, token?: string) =>
    new Promise<{ chain?: string[]; error?: { code?: number; details?: string } }>((resolve) => {
      const md = new Metadata();
      if (token !== undefined) md.set('authorization', `Bearer ${token}`);
      client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, { csr, validityDuration: 3600 }, md, { deadline: Date.now() + 10_000 }, (err, res) =>
        resolve(err ? { error: { code: err.code, details: err.details } } : { chain: res as string[] }),
      );
    });
  try {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
    const csr = (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg })).toString('pem');
    const refused = await call(csr);
    assert.equal(refused.error?.code, 16);
    const now = Math.floor(Date.now() / 1000);
    const token = signToken({ namespace: 'vm-demo', group: 'svc1-vm', serviceAccount: 'svc1', issuedAt: now, expiresAt: now + 600 }, loadOrCreateSigningKey(stateDir));
    const ok = await call(csr, token);
    assert.ok(ok.chain && ok.chain.length === 2, JSON.stringify(ok.error));
    assert.equal(spiffeIdOf(ok.chain[0] ?? ''), 'spiffe://cluster.local/ns/vm-demo/sa/svc1');
    assert.ok(new X509Certificate(ok.chain[0] ?? '').checkIssued(new X509Certificate(ok.chain[1] ?? '')));
  } finally {
    client.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
});
