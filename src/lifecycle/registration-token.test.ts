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
