/**
 * Issue 7 "who may get what": the credentials of the secure port (docs/security.md). A client
 * certificate must chain to this mesh's CA, be within its validity and carry exactly one SPIFFE id
 * of our trust domain; a registration token must be ours and unexpired. Refusals say why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { signToken } from './registration-token.js';
import { CertificateAuthority, type CaFiles } from './ca.js';
import { authenticate, identityFromCertificate, namespaceRefusal, spiffeId, type CredentialContext } from './peer-identity.js';
import { signLeafForTests } from '../../test/support/ca-test-support.js';

const KEY = Buffer.alloc(32, 3);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function csr(askFor = 'spiffe://cluster.local/ns/b/sa/admin'): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  return (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: ALG, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: askFor }])] })).toString('pem');
}

async function setup(): Promise<{ ca: CertificateAuthority; files: CaFiles; ctx: CredentialContext }> {
  const { ca, files } = await CertificateAuthority.createSelfSigned('cluster.local');
  return { ca, files, ctx: { anchors: ca.trustAnchors(), trustDomain: 'cluster.local', signingKey: KEY, now: Date.now(), admitToken: () => undefined } };
}

test('a certificate of our CA yields its namespace and service account', async () => {
  const { ca, ctx } = await setup();
  const [leaf = ''] = await ca.issue(await csr(), 'spiffe://cluster.local/ns/a/sa/web', 3600);
  const check = identityFromCertificate(leaf, ctx);
  assert.deepEqual(check, { ok: true, identity: { trustDomain: 'cluster.local', namespace: 'a', serviceAccount: 'web', via: 'certificate' } });
  // DER works as PEM does (what TLS hands over).
  assert.deepEqual(identityFromCertificate(new X509Certificate(leaf).raw, ctx), check);
});

test('a forged certificate (signed by another CA, even naming our identity) is refused', async () => {
  const { ctx } = await setup();
  const { ca: other } = await CertificateAuthority.createSelfSigned('cluster.local');
  const [leaf = ''] = await other.issue(await csr(), 'spiffe://cluster.local/ns/a/sa/web', 3600);
  assert.deepEqual(identityFromCertificate(leaf, ctx), { ok: false, code: 16, reason: "the client certificate is not signed by this mesh's CA" });
});

test('an expired certificate is refused with its expiry time; one not yet valid too', async () => {
  const { ca, ctx } = await setup();
  const [leaf = ''] = await ca.issue(await csr(), 'spiffe://cluster.local/ns/a/sa/web', 60, new Date(ctx.now - 3600_000));
  const validTo = new Date(new X509Certificate(leaf).validTo).toISOString();
  assert.deepEqual(identityFromCertificate(leaf, ctx), { ok: false, code: 16, reason: `the client certificate expired at ${validTo}` });
  const [future = ''] = await ca.issue(await csr(), 'spiffe://cluster.local/ns/a/sa/web', 3600, new Date(ctx.now + 7200_000));
  assert.match((identityFromCertificate(future, ctx) as { reason: string }).reason, /^the client certificate is not valid before /);
});

test('a certificate of another trust domain, or without a SPIFFE id, is refused', async () => {
  const { ca, files, ctx } = await setup();
  const [foreign = ''] = await ca.issue(await csr(), 'spiffe://other.example/ns/a/sa/web', 3600);
  assert.deepEqual(identityFromCertificate(foreign, ctx), {
    ok: false,
    code: 16,
    reason: "the client certificate's SPIFFE id spiffe://other.example/ns/a/sa/web is not of this mesh's trust domain cluster.local",
  });
  // The CA refuses such identities (issue 11): these certificates are signed with its key directly.
  const [plain = ''] = await signLeafForTests(files, await csr(), 'https://example.com/web', 3600);
  assert.deepEqual(identityFromCertificate(plain, ctx), { ok: false, code: 16, reason: 'the client certificate must carry exactly one SPIFFE URI SAN, not 0' });
  const [odd = ''] = await signLeafForTests(files, await csr(), 'spiffe://cluster.local/web', 3600);
  assert.match((identityFromCertificate(odd, ctx) as { reason: string }).reason, /is not of the form spiffe:\/\/<trust domain>\/ns\/<namespace>\/sa\/<service account>/);
  assert.deepEqual(identityFromCertificate('not a certificate', ctx), { ok: false, code: 16, reason: 'the client certificate cannot be read' });
});

test('tokens: ours and unexpired yield their namespace; forged and expired ones are refused with the reason', async () => {
  const { ctx } = await setup();
  const now = Math.floor(ctx.now / 1000);
  const claims = { namespace: 'a', group: 'g', serviceAccount: 'web', issuedAt: now - 10, expiresAt: now + 600 };
  assert.deepEqual(authenticate({ authorization: `Bearer ${signToken(claims, KEY)}` }, ctx), { ok: true, identity: { trustDomain: 'cluster.local', namespace: 'a', serviceAccount: 'web', via: 'token' } });
  assert.deepEqual(authenticate({ authorization: `Bearer ${signToken(claims, Buffer.alloc(32, 9))}` }, ctx), { ok: false, code: 16, reason: 'the registration token was not signed by this control plane' });
  const expired = signToken({ ...claims, issuedAt: now - 1200, expiresAt: now - 600 }, KEY);
  assert.deepEqual(authenticate({ authorization: `Bearer ${expired}` }, ctx), { ok: false, code: 16, reason: `the registration token expired at ${new Date((now - 600) * 1000).toISOString()}` });
  assert.match((authenticate({}, ctx) as { reason: string }).reason, /a client certificate of this mesh or a registration token/);
});

test('a presented certificate decides: a failing one is not replaced by a valid token', async () => {
  const { ctx } = await setup();
  const { ca: other } = await CertificateAuthority.createSelfSigned('cluster.local');
  const [forged = ''] = await other.issue(await csr(), 'spiffe://cluster.local/ns/a/sa/web', 3600);
  const now = Math.floor(ctx.now / 1000);
  const token = signToken({ namespace: 'a', group: 'g', serviceAccount: 'web', issuedAt: now, expiresAt: now + 600 }, KEY);
  assert.equal(authenticate({ certificate: forged, authorization: `Bearer ${token}` }, ctx).ok, false);
});

test('cross-namespace: a credential for namespace a never yields namespace b, whatever the CSR asks', async () => {
  const { ca, ctx } = await setup();
  const [leaf = ''] = await ca.issue(await csr(), 'spiffe://cluster.local/ns/a/sa/web', 3600);
  const check = identityFromCertificate(leaf, ctx);
  assert.ok(check.ok);
  // Renewal by certificate: the identity issued is the credential's, the CSR asks for namespace b.
  const [renewed = ''] = await ca.issue(await csr('spiffe://cluster.local/ns/b/sa/admin'), spiffeId(check.identity), 3600);
  assert.equal(new X509Certificate(renewed).subjectAltName, 'URI:spiffe://cluster.local/ns/a/sa/web');
  assert.deepEqual(namespaceRefusal(check.identity, 'b'), { code: 7, reason: 'certificate identity spiffe://cluster.local/ns/a/sa/web may not receive configuration of namespace b' });
  assert.equal(namespaceRefusal(check.identity, 'a'), undefined);
});
