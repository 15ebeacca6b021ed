/**
 * Issue 11 item 4 end to end: a real `meshbridge serve` generates the inbound Listeners, and the
 * agent's inbound proxy (InboundProxy + InboundModeWatcher, as `meshbridge agent --inbound` runs
 * them) enforces them on real TLS and plaintext connections in front of a plain gRPC app.
 * Addresses 127.0.76.x.
 *
 * - A DENY policy with an invalid rule in the config folder when serve starts (what a restart
 *   reads) denies every connection to the workloads it selects, rather than vanishing.
 * - An inbound Listener for an IP no workload has gets the namespace's STRICT and the mesh-wide
 *   DENY: plaintext is refused, mTLS from a denied namespace is refused, mTLS from the namespace
 *   reaches the app.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { CertificateFiles, InboundProxy, type InboundPolicy } from '../../src/agent/inbound-proxy.js';
import { inboundListenerName, InboundModeWatcher } from '../../src/agent/inbound-modes.js';
import { insecureUpstream } from '../../src/agent/xds-proxy.js';
import { CERT_FILES } from '../../src/agent/certificates.js';
import { CertificateAuthority } from '../../src/security/ca.js';
import { startBackend } from '../xds/fixtures/backends.js';
import { whoMethod } from '../xds/fixtures/echo-service.js';
import { mint } from '../support/certs-and-ports.js';
import { cleanups, startServe, waitFor } from './serve-process.js';

const NS = 'demo';
const VM_IP = '127.0.76.1';
const UNKNOWN_IP = '127.0.76.9';

const SERVICE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc, namespace: ${NS}}
spec: {hosts: [svc.inbound.test], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: grpc, protocol: GRPC, targetPort: 8080}], workloadSelector: {labels: {app: svc}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: svc-vm, namespace: ${NS}}
spec: {address: ${VM_IP}, labels: {app: svc}, serviceAccount: svc}
`;

type Own = ReturnType<typeof cleanups>;

interface Proxied {
  readonly proxy: InboundProxy;
  readonly refusals: string[];
  /** mTLS credentials presenting a certificate of `identity` from the proxy's mesh root. */
  as(identity: string): Promise<ChannelCredentials>;
}

/** An app on `ip` behind an inbound proxy whose policy comes from serve's inbound Listener for `ip:port`, as a proxyless node of NS. */
async function proxied(own: Own, serveXds: string, ip: string): Promise<Proxied> {
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const dir = own(mkdtempSync(join(tmpdir(), 'mb-inbound-e2e-')), (d) => Promise.resolve(rmSync(d, { recursive: true, force: true })));
  await mint(ca, `spiffe://cluster.local/ns/${NS}/sa/svc`, dir);
  const app = own(await startBackend('app', ip), (b) => b.stop());
  const refusals: string[] = [];
  const proxy = new InboundProxy({ host: ip, port: 0, appHost: ip, appPort: app.port, certificates: new CertificateFiles(dir), log: (l) => refusals.push(l) });
  await proxy.start();
  own(proxy, (p) => p.stop());
  const stop = new AbortController();
  const watcher = new InboundModeWatcher({
    upstream: insecureUpstream(serveXds),
    node: { id: `proxyless~${ip}~svc-vm.${NS}~${NS}.svc.cluster.local`, metadata: { GENERATOR: 'grpc', NAMESPACE: NS, INSTANCE_IPS: ip } },
    ports: new Map([[inboundListenerName(ip, proxy.port), (p: InboundPolicy | undefined) => proxy.setPolicy(p)]]),
    log: () => undefined,
  });
  const running = watcher.run(stop.signal); // never rejects
  own(stop, async (s) => {
    s.abort();
    await running;
  });
  const root = readFileSync(join(dir, 'certs', CERT_FILES.root));
  return {
    proxy,
    refusals,
    async as(identity) {
      const clientDir = own(mkdtempSync(join(tmpdir(), 'mb-inbound-client-')), (d) => Promise.resolve(rmSync(d, { recursive: true, force: true })));
      const certs = await mint(ca, identity, clientDir);
      return credentials.createSsl(root, readFileSync(join(certs, CERT_FILES.key)), readFileSync(join(certs, CERT_FILES.chain)), { checkServerIdentity: () => undefined });
    },
  };
}

/** One call on a fresh connection; true when it reached the app. */
function reaches(ip: string, port: number, creds: ChannelCredentials): Promise<boolean> {
  const client = new Client(`${ip}:${port}`, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise((resolve) => {
    client.makeUnaryRequest(whoMethod.path, whoMethod.requestSerialize, whoMethod.responseDeserialize, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err: ServiceError | null) => {
      client.close();
      resolve(err === null);
    });
  });
}

test('an invalid DENY policy read by serve at start denies every connection to the workloads it selects instead of vanishing', { timeout: 60_000 }, async (t) => {
  const own = cleanups(t);
  const invalidDeny = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all-but-admin, namespace: ${NS}}
spec:
  selector: {matchLabels: {app: svc}}
  action: DENY
  rules:
  - from:
    - source: {notPrincipal: [cluster.local/ns/${NS}/sa/admin]}
`;
  const serve = own(await startServe({ files: { 'services.yaml': SERVICE, 'policy.yaml': invalidDeny } }), (s) => s.stop());
  const vm = await proxied(own, serve.xds, VM_IP);
  await waitFor(() => (vm.proxy.mode === 'PERMISSIVE' ? true : undefined), 15_000, 'the Listener of the VM');
  assert.equal(await reaches(VM_IP, vm.proxy.port, credentials.createInsecure()), false, 'plaintext is denied');
  assert.equal(await reaches(VM_IP, vm.proxy.port, await vm.as(`spiffe://cluster.local/ns/${NS}/sa/admin`)), false, 'mTLS, even as the principal the invalid rule meant to spare, is denied');
  assert.ok(vm.refusals.some((l) => /refused plaintext from .*: RBAC: denied by ns\[demo\]-policy\[deny-all-but-admin\]-rule\[0\]/.test(l)), vm.refusals.join('\n'));
  assert.ok(vm.refusals.some((l) => /refused mTLS from spiffe:\/\/cluster\.local\/ns\/demo\/sa\/admin at .*: RBAC: denied by ns\[demo\]-policy\[deny-all-but-admin\]/.test(l)), vm.refusals.join('\n'));
  assert.match(serve.logs(), /notPrincipal/, 'serve reports the invalid policy');
});

test('an inbound Listener for an IP no workload has gets the namespace STRICT mode and the mesh-wide DENY', { timeout: 60_000 }, async (t) => {
  const own = cleanups(t);
  const policies = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: ${NS}}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-outsiders, namespace: istio-system}
spec: {action: DENY, rules: [{from: [{source: {notNamespaces: [${NS}]}}]}]}
`;
  const serve = own(await startServe({ files: { 'services.yaml': SERVICE, 'policies.yaml': policies } }), (s) => s.stop());
  const unknown = await proxied(own, serve.xds, UNKNOWN_IP);
  await waitFor(() => (unknown.proxy.mode === 'STRICT' ? true : undefined), 15_000, `STRICT for ${UNKNOWN_IP} (mode now ${unknown.proxy.mode})`);
  assert.equal(await reaches(UNKNOWN_IP, unknown.proxy.port, credentials.createInsecure()), false);
  assert.ok(unknown.refusals.some((l) => /refused plaintext from .*: mode STRICT/.test(l)), unknown.refusals.join('\n'));
  assert.equal(await reaches(UNKNOWN_IP, unknown.proxy.port, await unknown.as('spiffe://cluster.local/ns/evil/sa/x')), false);
  assert.ok(unknown.refusals.some((l) => /refused mTLS from spiffe:\/\/cluster\.local\/ns\/evil\/sa\/x at .*: RBAC: denied by ns\[istio-system\]-policy\[deny-outsiders\]-rule\[0\]/.test(l)), unknown.refusals.join('\n'));
  assert.equal(await reaches(UNKNOWN_IP, unknown.proxy.port, await unknown.as(`spiffe://cluster.local/ns/${NS}/sa/client`)), true, 'mTLS from the namespace reaches the app');
});
