/**
 * Sealing of the control plane's keys at rest (secrets-at-rest.ts): AES-256-GCM round trip, the
 * purpose bound into the value, the key id naming the key, tampering and wrong keys refused with their
 * reason, rotation (a value sealed under an old key opens and is re-sealed under the first), plaintext
 * accepted and re-sealed (migration), and key files readable by others refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealed, keyIdOf, loadSecretsKeyring, openSecret, parseSecretsKeys, SecretsKeyring } from './secrets-at-rest.js';

const A = randomBytes(32);
const B = randomBytes(32);
const PEM = '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n';

test('a sealed value opens with its key and purpose only, and hides the plaintext', () => {
  const ring = new SecretsKeyring([A]);
  const sealed = ring.seal(PEM, 'ca-key');
  assert.ok(isSealed(sealed) && !sealed.includes('PRIVATE KEY'));
  assert.ok(sealed.startsWith(`meshbridge-sealed:v1:${keyIdOf(A)}:`));
  assert.notEqual(ring.seal(PEM, 'ca-key'), sealed, 'a fresh IV each time');
  assert.deepEqual(openSecret(sealed, 'ca-key', 'the CA key', ring), { plaintext: PEM });
  assert.throws(() => openSecret(sealed, 'signing-key', 'the signing key', ring), /the signing key does not decrypt with key id [0-9a-f]{16}: the stored value was altered, or it is not this secret/);
  const body = sealed.slice(sealed.lastIndexOf(':') + 1);
  const flipped = Buffer.from(body, 'base64');
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  assert.throws(() => openSecret(sealed.replace(body, flipped.toString('base64')), 'ca-key', 'the CA key', ring), /does not decrypt/);
});

test('a wrong key, or none, is refused naming the key id and what to do', () => {
  const sealed = new SecretsKeyring([A]).seal(PEM, 'ca-key');
  assert.throws(
    () => openSecret(sealed, 'ca-key', 'the CA key in X', new SecretsKeyring([B])),
    new RegExp(`the CA key in X is encrypted with key id ${keyIdOf(A)}, which the given secrets key does not hold \\(it holds ${keyIdOf(B)}\\)`),
  );
  assert.throws(() => openSecret(sealed, 'ca-key', 'the CA key in X', undefined), /is encrypted \(key id [0-9a-f]{16}\) and no secrets key was given: start serve with --secrets-key-file FILE or MESHBRIDGE_SECRETS_KEY/);
});

test('rotation: an old key below the new one opens, and the value is re-sealed under the new one; plaintext is re-sealed too', () => {
  const old = new SecretsKeyring([A]).seal(PEM, 'signing-key');
  const rotated = new SecretsKeyring([B, A]);
  const opened = openSecret(old, 'signing-key', 'k', rotated);
  assert.equal(opened.plaintext, PEM);
  assert.ok(opened.reseal?.startsWith(`meshbridge-sealed:v1:${keyIdOf(B)}:`));
  assert.equal(openSecret(opened.reseal ?? '', 'signing-key', 'k', new SecretsKeyring([B])).plaintext, PEM);
  const plain = openSecret(PEM, 'ca-key', 'k', rotated);
  assert.equal(plain.plaintext, PEM);
  assert.ok(plain.reseal !== undefined && isSealed(plain.reseal));
  assert.deepEqual(openSecret(PEM, 'ca-key', 'k', undefined), { plaintext: PEM });
});

test('key files and variables: base64 or hex lines, first seals; bad keys and loose modes refused', () => {
  const ring = parseSecretsKeys(`# new\n${B.toString('base64')}\n${A.toString('hex')}\n`, 'f');
  assert.deepEqual(ring.keys.map((k) => k.id), [keyIdOf(B), keyIdOf(A)]);
  assert.equal(parseSecretsKeys(`${A.toString('base64')},${B.toString('hex')}`, 'env').primaryId, keyIdOf(A));
  assert.throws(() => parseSecretsKeys('c2hvcnQ=', 'f'), /f: key 1 is not 32 bytes in base64 \(44 characters\) or hex \(64 characters\)/);
  assert.throws(() => parseSecretsKeys('# nothing\n', 'f'), /f holds no key/);
  const dir = mkdtempSync(join(tmpdir(), 'mb-secrets-'));
  try {
    const file = join(dir, 'key');
    writeFileSync(file, `${A.toString('base64')}\n`, { mode: 0o600 });
    assert.equal(loadSecretsKeyring(file, {})?.primaryId, keyIdOf(A));
    chmodSync(file, 0o644);
    assert.throws(() => loadSecretsKeyring(file, {}), new RegExp(`the secrets key file ${file} is readable by others \\(mode 0644\\): chmod 600`));
    assert.throws(() => loadSecretsKeyring(join(dir, 'nope'), {}), /cannot read the secrets key file .*nope: no such file/);
    assert.equal(loadSecretsKeyring(undefined, { MESHBRIDGE_SECRETS_KEY: B.toString('hex') })?.primaryId, keyIdOf(B));
    assert.equal(loadSecretsKeyring(undefined, {}), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
