/**
 * Issue 11, item 2 (SPIFFE paths cannot be forged) and item 8 (weak CSR keys), with real processes
 * and a real control plane:
 * - `validate` refuses a service account that is not a Kubernetes name (DNS-1123 subdomain), such
 *   as `x/ns/team-b/sa/sa-b`, in a WorkloadGroup, a WorkloadEntry, a ServiceEntry endpoint and a
 *   Pod; `serve` leaves such a group out, so no token of it yields a certificate;
 * - the CA refuses CSRs with RSA keys under 2048 bits or EC keys on other curves than P-256/P-384;
 * - a real xDS-enabled gRPC server (grpc-js-xds, RBAC from generated xDS) refuses a certificate
 *   carrying the forged id `spiffe://cluster.local/ns/demo/sa/x/ns/team-b/sa/sa-b` under an ALLOW
 *   policy for `namespaces: [team-b]` and principal `*` + `/ns/team-b/sa/sa-b`, and answers the
 *   real team-b identity. Before the fix the forged id matched both rules.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeCertificate } from '../../src/agent/certificates.js';
import { CertificateAuthority, type CaFiles } from '../../src/security/ca.js';
import { signLeafForTests } from '../support/ca-test-support.js';
import { freeWildcardPort } from '../support/ports.js';
import { bearer, keyAndCsr, refusal, TokenMesh } from '../support/token-mesh.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { XdsServerChild } from '../xds/fixtures/server-process.js';
import { strictEchoServer, TLS_PROXYLESS_METADATA } from './mesh.js';
import { cleanups, runCli, startServe } from './serve-process.js';

const FORGED_SA = 'x/ns/team-b/sa/sa-b';

const FORGED_CONFIG = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: forged, namespace: team-a}
spec:
  template: {serviceAccount: ${FORGED_SA}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: forged-entry, namespace: team-a}
spec: {address: 127.0.113.1, serviceAccount: ${FORGED_SA}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: forged-endpoint, namespace: team-a}
spec:
  hosts: [forged.team-a.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  endpoints: [{address: 127.0.113.2, serviceAccount: ${FORGED_SA}}]
---
apiVersion: v1
kind: Pod
metadata: {name: forged-pod, namespace: team-a}
spec:
  serviceAccountName: ${FORGED_SA}
  containers: [{name: app, image: app}]
`;

test('validate refuses forged service accounts in WorkloadGroup, WorkloadEntry, ServiceEntry endpoints and Pods; serve leaves the group out and issues nothing for it', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-forged-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'forged.yaml');
  writeFileSync(file, FORGED_CONFIG);
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const text = r.stdout + r.stderr;
  const reason = `serviceAccount "${FORGED_SA}" is not a valid Kubernetes service account name: it must be a DNS-1123 subdomain`;
  for (const [line, field] of [[5, 'spec.template.serviceAccount'], [10, 'spec.serviceAccount'], [20, 'spec.endpoints[0].serviceAccount']] as const) {
    assert.ok(text.split('\n').some((l) => l.startsWith(`${file}:${line}:`) && l.includes(field) && l.includes(reason)), `${file}:${line} ${field}: ${reason}\n${text}`);
  }
  assert.match(text, new RegExp(`${file}:26:.*spec\\.serviceAccountName.*serviceAccountName "x/ns/team-b/sa/sa-b" is not a valid Kubernetes name`));

  const mesh = await TokenMesh.onFiles(FORGED_CONFIG);
  t.after(() => mesh.stop());
  assert.equal(mesh.cp.registry.inputs.WorkloadGroup.get('WorkloadGroup/team-a/forged'), undefined, 'the forged group is not served');
  const forged = refusal(await mesh.createCertificate(bearer(mesh.sign({ namespace: 'team-a', group: 'forged', serviceAccount: FORGED_SA }))));
  assert.ok(forged !== 'accepted', 'no spiffe://cluster.local/ns/team-a/sa/x/ns/team-b/sa/sa-b certificate');
  assert.match(forged.details, /WorkloadGroup team-a\/forged does not exist/);
});

test('CreateCertificate refuses CSRs with RSA keys under 2048 bits and EC keys off P-256/P-384, with the reason', { timeout: 120_000 }, async (t) => {
  const mesh = await TokenMesh.onFiles(`apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: vm, namespace: team-a}
spec: {template: {serviceAccount: sa-a}}
`);
  t.after(() => mesh.stop());
  const token = mesh.sign({ namespace: 'team-a', group: 'vm', serviceAccount: 'sa-a' });
  const rsa = (modulusLength: number) => ({ name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' });
  const refused = [
    [rsa(1024), "the certificate signing request's RSA key has 1024 bits: at least 2048 are required"],
    [{ name: 'ECDSA', namedCurve: 'P-521' }, "the certificate signing request's EC key is on curve secp521r1: only P-256 (prime256v1) and P-384 (secp384r1) are accepted"],
  ] as const;
  for (const [algorithm, reason] of refused) {
    const r = refusal(await mesh.createCertificate(bearer(token), await keyAndCsr(algorithm)));
    assert.deepEqual(r, { code: 3, details: reason });
  }
  for (const algorithm of [rsa(2048), { name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', namedCurve: 'P-256' }]) {
    assert.equal(refusal(await mesh.createCertificate(bearer(token), await keyAndCsr(algorithm))), 'accepted', JSON.stringify(algorithm));
  }
});

const SERVER_IP = '127.0.113.10';

function authzMesh(port: number): string {
  return strictEchoServer(SERVER_IP, port, 'team-b-only', `  action: ALLOW
  rules:
  - from: [{source: {namespaces: [team-b]}}]
  - from: [{source: {principals: ['*/ns/team-b/sa/sa-b']}}]
`);
}

/** A certificate for any URI (the CA itself refuses malformed ones), written as DIR/certs. */
async function certificateFor(files: CaFiles, uri: string, dir: string): Promise<string> {
  const k = await keyAndCsr();
  writeCertificate(dir, { certChain: await signLeafForTests(files, k.csrPem, uri, 3600), keyPem: k.keyPem, identity: uri, notBefore: Date.now(), notAfter: Date.now() + 3600_000 });
  return join(dir, 'certs');
}

test('a forged SPIFFE path does not match namespaces or principal wildcards on a real xDS-enabled gRPC server', { timeout: 180_000 }, async (t) => {
  const own = cleanups(t);
  const tmp = own(mkdtempSync(join(tmpdir(), 'mb-forged-authz-')), (d) => Promise.resolve(rmSync(d, { recursive: true, force: true })));
  const { files } = await CertificateAuthority.createSelfSigned('cluster.local');
  const serverCerts = await certificateFor(files, 'spiffe://cluster.local/ns/demo/sa/echo', join(tmp, 'server'));
  const forgedCerts = await certificateFor(files, `spiffe://cluster.local/ns/demo/sa/${FORGED_SA}`, join(tmp, 'forged'));
  const teamBCerts = await certificateFor(files, 'spiffe://cluster.local/ns/team-b/sa/sa-b', join(tmp, 'team-b'));
  assert.match(readFileSync(join(forgedCerts, 'cert-chain.pem'), 'utf8'), /BEGIN CERTIFICATE/);
  const port = await freeWildcardPort(); // the XdsServer listens on every address
  const serve = own(await startServe({ files: { 'mesh.yaml': authzMesh(port) } }), (s) => s.stop());
  const server = own(
    new XdsServerChild({ bind: `${SERVER_IP}:${port}`, xdsServer: serve.xds, nodeId: `proxyless~${SERVER_IP}~vm-echo.demo~demo.svc.cluster.local`, metadata: TLS_PROXYLESS_METADATA, certDir: serverCerts, rbac: true }),
    (s) => s.stop(),
  );
  const client = (name: string, ip: string, certDir: string) =>
    own(
      new XdsClientChild({ target: 'xds:///echo.demo.test:80', xdsServer: serve.xds, nodeId: `proxyless~${ip}~${name}.demo~demo.svc.cluster.local`, metadata: TLS_PROXYLESS_METADATA, certDir, lifetimeMs: 150_000 }),
      (c) => c.stop(),
    );
  const forged = client('forged', '127.0.113.11', forgedCerts);
  const teamB = client('team-b', '127.0.113.12', teamBCerts);
  await server.serving(60_000);
  await Promise.all([forged.ready(), teamB.ready()]);

  const fromTeamB = await teamB.send({ op: 'call', count: 1, deadlineMs: 20_000, waitForReady: true }, 30_000);
  assert.deepEqual(fromTeamB.errors, [], 'the real team-b identity is allowed');
  assert.deepEqual(fromTeamB.counts, { 'spiffe://cluster.local/ns/team-b/sa/sa-b': 1 });

  const fromForged = await forged.send({ op: 'call', count: 1, deadlineMs: 20_000, waitForReady: true }, 30_000);
  assert.deepEqual(fromForged.counts, {}, 'the forged identity is not answered');
  assert.match(fromForged.errors.join('\n'), /PERMISSION_DENIED: Unauthorized RPC rejected/, 'refused by the RBAC policy');
});
