/**
 * Issue 11, item 1, against a real control plane over real gRPC (the secure and the plaintext xDS
 * port): every use of a registration token — CreateCertificate, RenewToken, an agent's
 * registration stream — runs the same admission against the live configuration (the WorkloadGroup
 * exists, its service account is still the token's, the token is not revoked); renewal needs the
 * current credential and never extends a token lineage past its maximum lifetime from the
 * original issue, unless the workload is connected, healthy and renews with its certificate;
 * token signatures have one encoding. Each attack below succeeded before the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyToken } from '../../src/security/registration-token.js';
import { agentRequest, bearer, refusal, TokenMesh, until } from '../support/token-mesh.js';
import { runCli } from './serve-process.js';

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;
const FAILED_PRECONDITION = 9;

function groupYaml(serviceAccount: string, annotations = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: vm
  namespace: team-a
  annotations: {${annotations}}
spec:
  template: {serviceAccount: ${serviceAccount}, ports: {grpc: 8080}}
  probe: {httpGet: {port: 8080}}
`;
}

const OTHER_GROUP = `---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: other, namespace: team-a}
spec:
  template: {serviceAccount: other-sa}
`;

const VM = { namespace: 'team-a', group: 'vm' } as const;

const saOf = (mesh: TokenMesh): string | undefined => mesh.cp.registry.inputs.WorkloadGroup.get('WorkloadGroup/team-a/vm')?.spec.template.serviceAccount;
const annotationsOf = (mesh: TokenMesh): Record<string, string> => ({ ...mesh.cp.registry.inputs.WorkloadGroup.get('WorkloadGroup/team-a/vm')?.metadata.annotations });

test('a token outlives neither its WorkloadGroup nor the group\'s service account: certificate, renewal and registration are refused with the reason', { timeout: 60_000 }, async (t) => {
  const mesh = await TokenMesh.onFiles(groupYaml('sa-a'));
  t.after(() => mesh.stop());
  const token = mesh.sign({ ...VM, serviceAccount: 'sa-a' });
  assert.equal(refusal(await mesh.createCertificate(bearer(token))), 'accepted', 'the token works while its group is as it was');
  assert.equal(refusal(await mesh.renew(token, bearer(token))), 'accepted');
  const connected = await mesh.register(bearer(token), { ...VM, ip: '127.0.111.3' });
  assert.ok(connected.ok);
  t.after(() => connected.value.close());

  // The operator moves the group to another service account: the old token may not get sa-a certificates.
  await mesh.rewrite(groupYaml('sa-b'), () => saOf(mesh) === 'sa-b');
  const ended = await connected.value.ended;
  assert.equal(ended?.code, PERMISSION_DENIED, 'the agent stream admitted with the token is ended');
  assert.match(ended.details, /now uses "sa-b"/);
  const movedReason = /the registration token is for service account "sa-a", but WorkloadGroup team-a\/vm now uses "sa-b"/;
  for (const outcome of [await mesh.createCertificate(bearer(token)), await mesh.renew(token, bearer(token)), await mesh.register(bearer(token), { ...VM, ip: '127.0.111.1' })]) {
    const r = refusal(outcome);
    assert.notEqual(r, 'accepted');
    assert.equal(r !== 'accepted' && r.code, PERMISSION_DENIED);
    assert.match(r !== 'accepted' ? r.details : '', movedReason);
  }

  // The group is deleted: nothing is issued on its tokens any more, on either port.
  await mesh.rewrite(OTHER_GROUP, () => saOf(mesh) === undefined);
  const gone = /WorkloadGroup team-a\/vm does not exist \(AR-1\)/;
  const oldSaToken = mesh.sign({ ...VM, serviceAccount: 'sa-a' });
  for (const outcome of [
    await mesh.createCertificate(bearer(oldSaToken)),
    await mesh.createCertificate({ ...bearer(oldSaToken), plaintext: true }),
    await mesh.renew(oldSaToken, bearer(oldSaToken)),
    await mesh.renew(oldSaToken, { ...bearer(oldSaToken), plaintext: true }),
    await mesh.register(bearer(oldSaToken), { ...VM, ip: '127.0.111.2' }),
  ]) {
    const r = refusal(outcome);
    assert.ok(r !== 'accepted', 'refused');
    assert.equal(r.code, FAILED_PRECONDITION);
    assert.match(r.details, gone);
  }
});

test('RenewToken needs the current credential: no header (plaintext port), another token, another identity\'s certificate are refused', { timeout: 60_000 }, async (t) => {
  const mesh = await TokenMesh.onFiles(groupYaml('sa-a') + OTHER_GROUP);
  t.after(() => mesh.stop());
  const token = mesh.sign({ ...VM, serviceAccount: 'sa-a' });

  const bare = refusal(await mesh.renew(token, { plaintext: true }));
  assert.ok(bare !== 'accepted', 'a token in the request body alone renews nothing');
  assert.equal(bare.code, UNAUTHENTICATED);
  assert.match(bare.details, /^renewal needs the current credential: a client certificate of this mesh or a registration token \(authorization: Bearer <token>\) is required$/);

  const sibling = mesh.sign({ ...VM, serviceAccount: 'sa-a' });
  const borrowed = refusal(await mesh.renew(token, { ...bearer(sibling), plaintext: true }));
  assert.ok(borrowed !== 'accepted');
  assert.equal(borrowed.code, PERMISSION_DENIED);
  assert.match(borrowed.details, /renewal needs the token being renewed as the call's credential/);

  const otherCert = await mesh.createCertificate(bearer(mesh.sign({ namespace: 'team-a', group: 'other', serviceAccount: 'other-sa' })));
  assert.ok(otherCert.ok);
  const foreign = refusal(await mesh.renew(token, { certificate: otherCert.value }));
  assert.ok(foreign !== 'accepted');
  assert.equal(foreign.code, PERMISSION_DENIED);
  assert.match(foreign.details, /the client certificate's identity \(namespace team-a, service account other-sa\) is not the token's \(namespace team-a, service account sa-a\)/);

  const own = await mesh.renew(token, bearer(token));
  assert.ok(own.ok, 'the same token as credential renews');
  const renewed = verifyToken(own.value.token, mesh.key, Math.floor(Date.now() / 1000));
  const first = verifyToken(token, mesh.key, Math.floor(Date.now() / 1000));
  assert.ok(renewed.ok && first.ok);
  assert.equal(renewed.claims.id, first.claims.id, 'a renewal keeps the lineage id (revocation by id covers it)');
  assert.equal(renewed.claims.originalIssuedAt, first.claims.originalIssuedAt);
});

test('renewal never extends a lineage past its maximum lifetime from the original issue, unless the workload is connected, healthy and renews with its certificate', { timeout: 60_000 }, async (t) => {
  const maxLifetime = 3600;
  const mesh = await TokenMesh.onFiles(groupYaml('sa-a'), { tokenMaxLifetimeSeconds: maxLifetime });
  t.after(() => mesh.stop());
  const now = Math.floor(Date.now() / 1000);

  // Issued 50 minutes ago for an hour: renewals may not go past issue + 1 h, however often repeated.
  const young = mesh.sign({ ...VM, serviceAccount: 'sa-a', issuedAt: now - 3000, expiresAt: now + 600 });
  const bound = now - 3000 + maxLifetime;
  let current = young;
  for (let i = 0; i < 3; i++) {
    const r = await mesh.renew(current, bearer(current));
    assert.ok(r.ok, `renewal ${i + 1}`);
    assert.ok(r.value.expiresAt <= bound, `renewal ${i + 1} expires at ${r.value.expiresAt}, after the lineage's bound ${bound}`);
    current = r.value.token;
  }

  // Issued 70 minutes ago: the lineage is past its maximum lifetime.
  const old = mesh.sign({ ...VM, serviceAccount: 'sa-a', issuedAt: now - 4200, expiresAt: now + 600 });
  const refused = refusal(await mesh.renew(old, bearer(old)));
  assert.ok(refused !== 'accepted', 'a stolen token cannot be renewed forever');
  assert.equal(refused.code, PERMISSION_DENIED);
  assert.match(refused.details, /cannot be renewed past its maximum lifetime \(3600 s, until .*\) unless its workload is connected, healthy and renews with its certificate/);

  // The workload itself: registered with that token, healthy, renewing with its certificate.
  const vm = { ...VM, ip: '127.0.111.10' };
  const certificate = await mesh.createCertificate(bearer(old));
  assert.ok(certificate.ok);
  const unregistered = refusal(await mesh.renew(old, { ...bearer(old), certificate: certificate.value }));
  assert.ok(unregistered !== 'accepted', 'a certificate alone is not enough: the workload must be connected');
  const stream = await mesh.register(bearer(old), vm);
  assert.ok(stream.ok);
  t.after(() => stream.value.close());
  const notYetHealthy = refusal(await mesh.renew(old, { ...bearer(old), certificate: certificate.value }));
  assert.ok(notYetHealthy !== 'accepted', 'connected but not (yet) healthy');
  stream.value.send(agentRequest(vm));
  const entry = (): ReturnType<typeof mesh.cp.registry.inputs.WorkloadEntry.get> => mesh.cp.registry.inputs.WorkloadEntry.get(`WorkloadEntry/team-a/vm-${vm.ip}`);
  await until(() => entry()?.status?.conditions?.find((c) => c.type === 'Healthy')?.status === 'True', 5000, 'the health report was recorded');
  const live = await mesh.renew(old, { ...bearer(old), certificate: certificate.value });
  assert.ok(live.ok, live.ok ? '' : live.details);
  assert.ok(live.value.expiresAt >= now + 4800 - 5, 'the workload gets the lineage\'s full lifetime (4800 s), not a shrinking one');
  const byTokenOnly = refusal(await mesh.renew(old, bearer(old)));
  assert.ok(byTokenOnly !== 'accepted', 'without its certificate, not even the connected workload renews past the bound');
});

test('token signatures are canonical: padding, the standard alphabet and other trailing bits are refused', { timeout: 60_000 }, async (t) => {
  const mesh = await TokenMesh.onFiles(groupYaml('sa-a'));
  t.after(() => mesh.stop());
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let token = mesh.sign({ ...VM, serviceAccount: 'sa-a' });
  // One whose signature has a character that differs between base64url and base64 (- or _).
  while (!/[-_]/.test(token.split('.')[1] ?? '')) token = mesh.sign({ ...VM, serviceAccount: 'sa-a' });
  const [payload = '', sig = ''] = token.split('.');
  const last = sig.at(-1) ?? 'A';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A'; // same 256 bits: only the 2 unused bits differ
  const variants = {
    padded: `${payload}.${sig}=`,
    'standard alphabet': `${payload}.${sig.replace(/-/g, '+').replace(/_/g, '/')}`,
    'other trailing bits': `${payload}.${sig.slice(0, -1)}${sibling}`,
    'surrounding space': ` ${token}`,
  };
  assert.equal(Buffer.from(variants['other trailing bits'].split('.')[1] ?? '', 'base64url').equals(Buffer.from(sig, 'base64url')), true, 'the variant decodes to the same MAC');
  for (const [name, variant] of Object.entries(variants)) {
    const r = refusal(await mesh.createCertificate(bearer(variant)));
    assert.ok(r !== 'accepted', `${name}: refused`);
    assert.equal(r.code, UNAUTHENTICATED, name);
    assert.match(r.details, /^the registration token (is malformed|was not signed by this control plane)$/, name);
  }
  assert.equal(refusal(await mesh.createCertificate(bearer(token))), 'accepted', 'the canonical text is accepted');
});

test('revocation on the file store: by id (the whole lineage) and by group (tokens and the certificates they obtained); the CLI names the annotation to add', { timeout: 60_000 }, async (t) => {
  const mesh = await TokenMesh.onFiles(groupYaml('sa-a'));
  t.after(() => mesh.stop());
  const stolen = mesh.sign({ ...VM, serviceAccount: 'sa-a' });
  const kept = mesh.sign({ ...VM, serviceAccount: 'sa-a' });
  const renewed = await mesh.renew(stolen, bearer(stolen));
  assert.ok(renewed.ok);
  const id = verifyToken(stolen, mesh.key, Math.floor(Date.now() / 1000));
  assert.ok(id.ok);

  const cli = await runCli(['workload', 'entry', 'revoke', id.claims.id, '--group', 'vm', '-n', 'team-a', '--store', `file://${mesh.dir ?? ''}`]);
  assert.equal(cli.code, 1, 'a file store is not written by the CLI');
  assert.match(cli.stderr, new RegExp(`add to its metadata.annotations in ${join(mesh.dir ?? '', 'mesh.yaml')}:\\n  meshbridge.io/revoked-tokens: "${id.claims.id}"`));
  assert.equal(readFileSync(join(mesh.dir ?? '', 'mesh.yaml'), 'utf8'), groupYaml('sa-a'), 'nothing written');

  await mesh.rewrite(groupYaml('sa-a', `meshbridge.io/revoked-tokens: "${id.claims.id}"`), () => annotationsOf(mesh)['meshbridge.io/revoked-tokens'] === id.claims.id);
  const revoked = new RegExp(`the registration token ${id.claims.id} was revoked \\(WorkloadGroup team-a/vm, annotation meshbridge.io/revoked-tokens\\)`);
  for (const [what, outcome] of [
    ['certificate', await mesh.createCertificate(bearer(stolen))],
    ['certificate with the renewed token', await mesh.createCertificate(bearer(renewed.value.token))],
    ['renewal', await mesh.renew(renewed.value.token, bearer(renewed.value.token))],
    ['registration', await mesh.register(bearer(stolen), { ...VM, ip: '127.0.111.20' })],
  ] as const) {
    const r = refusal(outcome);
    assert.ok(r !== 'accepted', `${what}: refused`);
    assert.equal(r.code, UNAUTHENTICATED, what);
    assert.match(r.details, revoked, what);
  }
  const keptCertificate = await mesh.createCertificate(bearer(kept));
  assert.ok(keptCertificate.ok, 'another token of the group is not affected');
  assert.equal(refusal(await mesh.createCertificate({ certificate: keptCertificate.value })), 'accepted', 'renewal by certificate');

  // Every token of the group issued up to now; certificates they obtained cannot renew by certificate;
  // the agent streams admitted with them end.
  const keptStream = await mesh.register(bearer(kept), { ...VM, ip: '127.0.111.21' });
  assert.ok(keptStream.ok);
  t.after(() => keptStream.value.close());
  const cutoff = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000).toISOString();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await mesh.rewrite(groupYaml('sa-a', `meshbridge.io/tokens-revoked-before: "${cutoff}"`), () => annotationsOf(mesh)['meshbridge.io/tokens-revoked-before'] === cutoff);
  const all = refusal(await mesh.createCertificate(bearer(kept)));
  assert.ok(all !== 'accepted');
  assert.equal(all.code, UNAUTHENTICATED);
  assert.match(all.details, /WorkloadGroup team-a\/vm revokes every token issued at or before/);
  const streamEnd = await keptStream.value.ended;
  assert.equal(streamEnd?.code, UNAUTHENTICATED);
  assert.match(streamEnd.details, /WorkloadGroup team-a\/vm revokes every token issued at or before/);
  const byCertificate = refusal(await mesh.createCertificate({ certificate: keptCertificate.value }));
  assert.ok(byCertificate !== 'accepted');
  assert.match(byCertificate.details, /the client certificate was issued before WorkloadGroup team-a\/vm revoked its tokens/);
  const after = Date.parse(cutoff) / 1000 + 1;
  const fresh = mesh.sign({ ...VM, serviceAccount: 'sa-a', issuedAt: after, expiresAt: after + 600 });
  assert.equal(refusal(await mesh.createCertificate(bearer(fresh))), 'accepted', 'a token issued after the revocation works');
});
