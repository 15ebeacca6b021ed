import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newSigningKey, signToken, verifyToken } from './registration-token.js';

const claims = { namespace: 'ns1', group: 'vm', serviceAccount: 'sa', issuedAt: 1000, expiresAt: 2000 };

test('a signed token verifies until it expires, and names its group', () => {
  const key = newSigningKey();
  const t = signToken(claims, key);
  const ok = verifyToken(t, key, 1500);
  assert.ok(ok.ok && ok.claims.group === 'vm' && ok.claims.namespace === 'ns1');
  const expired = verifyToken(t, key, 2000);
  assert.ok(!expired.ok && /expired/.test(expired.reason));
});

test('a token from another key, tampered or malformed, is refused with a reason', () => {
  const t = signToken(claims, newSigningKey());
  const r = verifyToken(t, newSigningKey(), 1500);
  assert.ok(!r.ok && /not signed by this control plane/.test(r.reason));
  const key = newSigningKey();
  const [payload, sig] = signToken(claims, key).split('.');
  const other = Buffer.from(JSON.stringify({ ...claims, group: 'admin', id: 'x' })).toString('base64url');
  assert.ok(!verifyToken(`${other}.${sig}`, key, 1500).ok);
  assert.ok(!verifyToken(`${payload}`, key, 1500).ok);
  assert.ok(!verifyToken('', key, 1500).ok);
});

test('issue 11: one text per token: padding, the standard alphabet, other trailing bits and whitespace are refused', () => {
  const key = newSigningKey();
  const t = signToken(claims, key);
  const [payload = '', sig = ''] = t.split('.');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(sig.at(-1) ?? 'A') ^ 1] ?? 'A';
  assert.ok(Buffer.from(`${sig.slice(0, -1)}${sibling}`, 'base64url').equals(Buffer.from(sig, 'base64url')), 'the same MAC bytes');
  for (const variant of [`${payload}.${sig}=`, `${payload}.${sig.slice(0, -1)}${sibling}`, `${t}\n`, ` ${t}`, `${payload}.${sig.replace(/-/g, '+').replace(/_/g, '/')}`]) {
    if (variant === t) continue;
    const r = verifyToken(variant, key, 1500);
    assert.ok(!r.ok, JSON.stringify(variant));
  }
  assert.ok(verifyToken(t, key, 1500).ok);
});

test('issue 11: renewals keep the lineage: id and originalIssuedAt; older tokens count from issuedAt', () => {
  const key = newSigningKey();
  const first = verifyToken(signToken(claims, key), key, 1500);
  assert.ok(first.ok);
  assert.equal(first.claims.originalIssuedAt, 1000);
  const renewed = verifyToken(signToken({ ...first.claims, issuedAt: 1400, expiresAt: 2400 }, key), key, 1500);
  assert.ok(renewed.ok);
  assert.equal(renewed.claims.id, first.claims.id);
  assert.equal(renewed.claims.originalIssuedAt, 1000);
  const shortened = verifyToken(signToken({ ...first.claims, issuedAt: 1400, expiresAt: 1500 + 100 }, key), key, 1500);
  assert.ok(shortened.ok);
  assert.equal(shortened.claims.lifetime, 1000, 'a token cut short by the lineage bound keeps the lineage\'s lifetime');
});
