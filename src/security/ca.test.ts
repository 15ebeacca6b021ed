import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { CertificateAuthority, CertificateError, loadOrCreateCa, loadOrCreateSharedCa, spiffeIdOf, type CaFiles } from './ca.js';

async function csr(san = 'spiffe://evil/ns/x/sa/root'): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
  const req = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: san }])] });
  return req.toString('pem');
}

test('a workload certificate carries only the entitled SPIFFE identity, is short-lived, and chains to the root', async () => {
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const now = new Date();
  const chain = await ca.issue(await csr(), 'spiffe://cluster.local/ns/ns1/sa/vm', 3600, now);
  assert.equal(chain.length, 2, 'leaf and root');
  const leaf = new X509Certificate(chain[0] ?? '');
  const root = new X509Certificate(chain[1] ?? '');
  assert.equal(spiffeIdOf(chain[0] ?? ''), 'spiffe://cluster.local/ns/ns1/sa/vm');
  assert.doesNotMatch(leaf.subjectAltName ?? '', /evil/, 'the SAN the CSR asked for is not granted');
  assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey));
  const lifetime = Date.parse(leaf.validTo) - now.getTime();
  assert.ok(lifetime <= 3600_000 + 1000 && lifetime > 3500_000);
  assert.equal(root.ca, true);
});

test('a bad CSR is refused with a reason', async () => {
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  await assert.rejects(ca.issue('not a csr', 'spiffe://cluster.local/ns/a/sa/b'), CertificateError);
});

test('the self-signed root is made once and kept in the state directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-ca-'));
  const a = await loadOrCreateCa(dir, 'cluster.local');
  const b = await loadOrCreateCa(dir, 'cluster.local');
  assert.equal(a.rootPem, b.rootPem);
  rmSync(dir, { recursive: true });
});

test("Istio's cacerts layout: an intermediate signs, the chain ends at the operator's root", async () => {
  const { ca: root, files: rootFiles } = await CertificateAuthority.createSelfSigned('corp.example');
  // Make an intermediate signed by the operator's root.
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
  const interCsr = (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg, name: 'CN=intermediate' })).toString('pem');
  const issued = await root.issue(interCsr, 'spiffe://corp.example/ns/ca/sa/intermediate', 86400);
  // issue() makes leaf certificates; for the test's purpose the chain shape is what matters.
  const interPem = issued[0] ?? '';
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const ca = await CertificateAuthority.fromFiles({ caCert: interPem, caKey: keyPem, rootCert: rootFiles.rootCert, certChain: `${interPem}${rootFiles.rootCert}` });
  const chain = await ca.issue(await csr(), 'spiffe://corp.example/ns/a/sa/b');
  assert.equal(chain.length, 3);
  assert.equal(chain[2]?.trim(), rootFiles.rootCert.trim());
  assert.ok(new X509Certificate(chain[0] ?? '').verify(new X509Certificate(interPem).publicKey));
});

test('a shared store keeps the first CA offered; an operator cacerts folder takes precedence', async () => {
  let stored: CaFiles | undefined;
  let offers = 0;
  const createIfAbsent = (fresh: CaFiles): Promise<CaFiles> => {
    offers++;
    stored ??= fresh;
    return Promise.resolve(stored);
  };
  const a = await loadOrCreateSharedCa('cluster.local', createIfAbsent);
  const b = await loadOrCreateSharedCa('cluster.local', createIfAbsent);
  assert.equal(a.rootPem, b.rootPem, 'the second replica signs with the first one\'s root');
  assert.equal(offers, 2);
  const { files } = await CertificateAuthority.createSelfSigned('corp.example');
  const dir = mkdtempSync(join(tmpdir(), 'mb-cacerts-'));
  writeFileSync(join(dir, 'ca-cert.pem'), files.caCert);
  writeFileSync(join(dir, 'ca-key.pem'), files.caKey);
  writeFileSync(join(dir, 'root-cert.pem'), files.rootCert);
  writeFileSync(join(dir, 'cert-chain.pem'), files.certChain);
  const operator = await loadOrCreateSharedCa('cluster.local', createIfAbsent, dir);
  assert.equal(operator.rootPem.trim(), files.rootCert.trim());
  assert.equal(offers, 2, 'the store is not consulted');
  rmSync(dir, { recursive: true });
});

test('the serving certificate names the control plane and chains to the CA', async () => {
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const issued = await ca.issueServerCertificate(['meshbridge.meshbridge-system.svc', 'istiod.istio-system.svc'], 3600);
  const leaf = new X509Certificate(issued.certChain);
  assert.equal(leaf.subjectAltName, 'DNS:meshbridge.meshbridge-system.svc, DNS:istiod.istio-system.svc');
  assert.ok(leaf.checkHost('meshbridge.meshbridge-system.svc'));
  assert.ok(leaf.verify(new X509Certificate(ca.rootPem).publicKey));
  assert.ok(Math.abs(issued.notAfter - (Date.now() + 3600_000)) < 60_000);
});

test('issue 11: the CA refuses any identity that is not exactly spiffe://<td>/ns/<ns>/sa/<sa> with Kubernetes names', async () => {
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const refused: Record<string, RegExp> = {
    'spiffe://cluster.local/ns/team-a/sa/x/ns/team-b/sa/sa-b': /is not of the form spiffe:\/\/<trust domain>\/ns\/<namespace>\/sa\/<service account>/,
    'spiffe://cluster.local/ns/team-a/sa/Admin': /the service account "Admin" is not a Kubernetes service account name/,
    'spiffe://cluster.local/ns/Team_A/sa/web': /the namespace "Team_A" is not a Kubernetes namespace name/,
    'spiffe://cluster.local/ns/a/sa/b/': /is not of the form/,
    'spiffe://cluster.local/web': /is not of the form/,
    'https://cluster.local/ns/a/sa/b': /is not of the form/,
    'spiffe://clu_ster/ns/a/sa/b': /the trust domain "clu_ster" is not a DNS name/,
  };
  for (const [identity, reason] of Object.entries(refused)) {
    await assert.rejects(ca.issue(await csr(), identity, 3600), (e: unknown) => e instanceof CertificateError && /^refusing to issue a certificate: /.test(e.message) && reason.test(e.message), identity);
  }
  assert.equal(spiffeIdOf((await ca.issue(await csr(), 'spiffe://cluster.local/ns/team-a/sa/web.v2-x', 3600))[0] ?? ''), 'spiffe://cluster.local/ns/team-a/sa/web.v2-x', 'a DNS-1123 subdomain is fine');
});
