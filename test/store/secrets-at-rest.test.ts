/**
 * Issue 11 §7: the CA key and the registration-token signing key encrypted at rest, in etcd and in
 * the file store's state directory, with the key given to `serve --secrets-key-file` (real `serve`
 * processes, a real etcd). The stored bytes hold no PEM and no key; a replica with the wrong key or
 * none refuses with the reason; plaintext keys from before load and are re-sealed (the CA and the
 * signing key stay the same, so issued certificates and tokens stay valid); rotation re-seals under
 * the new key; `workload entry configure` opens the state directory's keys with the same key.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdctl, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { startReplica } from '../support/serve-replica.js';
import { runCli, startServe } from '../e2e/serve-process.js';
import { keyIdOf, openSecret, SecretsKeyring } from '../../src/security/secrets-at-rest.js';
import { verifyToken } from '../../src/security/registration-token.js';

const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
let dir: string;
let keyA: string;
let keyB: string;
let keyBThenA: string;

before(() => {
  dir = mkdtempSync('/dev/shm/mb-sealed-');
  const keyFile = (name: string, keys: Buffer[]): string => {
    const f = join(dir, name);
    writeFileSync(f, keys.map((k) => `${k.toString('base64')}\n`).join(''), { mode: 0o600 });
    return f;
  };
  keyA = keyFile('key-a', [KEY_A]);
  keyB = keyFile('key-b', [KEY_B]);
  keyBThenA = keyFile('key-b-a', [KEY_B, KEY_A]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface StoredCa {
  caCert: string;
  caKey: string;
  rootCert: string;
}
const SEALED_A = `meshbridge-sealed:v1:${keyIdOf(KEY_A)}:`;
const SEALED_B = `meshbridge-sealed:v1:${keyIdOf(KEY_B)}:`;

function stored(etcd: EtcdCluster): { ca: StoredCa; signingKey: string; raw: string } {
  const ca = etcdctl(etcd, ['get', '/meshbridge/system/ca', '--print-value-only']).trim();
  const signingKey = etcdctl(etcd, ['get', '/meshbridge/system/signing-key', '--print-value-only']).trim();
  return { ca: JSON.parse(ca) as StoredCa, signingKey, raw: `${ca}\n${signingKey}` };
}

/** Starts a replica and stops it once it has loaded (or created) its keys; returns its logs. */
async function runReplica(etcd: EtcdCluster, instance: string, args: readonly string[]): Promise<string> {
  const r = await startReplica(etcd.url, instance, args);
  await r.kill();
  return r.logs();
}

test('etcd: plaintext keys load and are re-sealed; the stored bytes then hold no key; the wrong key or none is refused; rotation re-seals', { timeout: 150_000 }, async (t) => {
  const etcd = await startEtcd(1);
  t.after(() => etcd.stop());

  // Before keys existed: plaintext, and serve says so once.
  const plainLogs = await runReplica(etcd, 'plain', []);
  assert.equal(plainLogs.match(/stored unencrypted in etcd: give serve --secrets-key-file FILE \(or MESHBRIDGE_SECRETS_KEY\)/g)?.length, 1, plainLogs);
  const plain = stored(etcd);
  assert.match(plain.ca.caKey, /BEGIN PRIVATE KEY/);
  assert.match(plain.signingKey, /^[0-9a-f]{64}$/);

  // The first start with a key re-seals both; the CA and the signing key are the same ones.
  const sealedLogs = await runReplica(etcd, 'sealing', ['--secrets-key-file', keyA]);
  assert.doesNotMatch(sealedLogs, /unencrypted/);
  const sealed = stored(etcd);
  assert.ok(!sealed.raw.includes('PRIVATE KEY') && !sealed.raw.includes(plain.signingKey), 'no PEM and no key in the stored bytes');
  assert.ok(sealed.ca.caKey.startsWith(SEALED_A) && sealed.signingKey.startsWith(SEALED_A));
  assert.equal(sealed.ca.caCert, plain.ca.caCert, 'the same CA');
  const ringA = new SecretsKeyring([KEY_A]);
  assert.equal(openSecret(sealed.ca.caKey, 'ca-key', 'ca', ringA).plaintext, plain.ca.caKey);
  assert.equal(openSecret(sealed.signingKey, 'signing-key', 'sk', ringA).plaintext, plain.signingKey);

  // A replica with the wrong key, or with none, refuses to start and says why.
  await assert.rejects(startReplica(etcd.url, 'wrong-key', ['--secrets-key-file', keyB]), (e: Error) => {
    assert.match(e.message, new RegExp(`exited with 2: [^]*meshbridge: the token signing key in etcd at /meshbridge/system/signing-key is encrypted with key id ${keyIdOf(KEY_A)}, which the given secrets key does not hold \\(it holds ${keyIdOf(KEY_B)}\\)`));
    return true;
  });
  await assert.rejects(startReplica(etcd.url, 'no-key', []), /exited with 2: [^]*meshbridge: the token signing key in etcd at \/meshbridge\/system\/signing-key is encrypted \(key id [0-9a-f]{16}\) and no secrets key was given/);

  // Rotation: the new key first, the old one below it; the stored values move to the new key.
  await runReplica(etcd, 'rotating', ['--secrets-key-file', keyBThenA]);
  const rotated = stored(etcd);
  assert.ok(rotated.ca.caKey.startsWith(SEALED_B) && rotated.signingKey.startsWith(SEALED_B));
  assert.equal(rotated.ca.caCert, plain.ca.caCert);
  await runReplica(etcd, 'new-key-only', ['--secrets-key-file', keyB]);
});

test('file store: the state directory keeps the keys sealed; the wrong key is refused; configure opens them with the key', { timeout: 150_000 }, async () => {
  const config = mkdtempSync(join(dir, 'config-'));
  const state = `${config}.state`;
  const group = join(dir, 'group.yaml');
  writeFileSync(group, 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: g1, namespace: ns1}\nspec: {metadata: {labels: {app: a}}, template: {serviceAccount: sa1}}\n');

  const plain = await startServe({ dir: config });
  assert.equal(await plain.stop(), 0);
  assert.match(plain.logs(), /stored unencrypted in the state directory/);
  const plainCaKey = readFileSync(join(state, 'ca', 'ca-key.pem'), 'utf8');
  const plainSigningKey = readFileSync(join(state, 'signing-key'), 'utf8').trim();
  assert.match(plainCaKey, /BEGIN PRIVATE KEY/);

  const sealing = await startServe({ dir: config, args: ['--secrets-key-file', keyA] });
  assert.equal(await sealing.stop(), 0);
  const caKey = readFileSync(join(state, 'ca', 'ca-key.pem'), 'utf8');
  const signingKey = readFileSync(join(state, 'signing-key'), 'utf8').trim();
  assert.ok(caKey.startsWith(SEALED_A) && !caKey.includes('PRIVATE KEY'));
  assert.ok(signingKey.startsWith(SEALED_A) && !signingKey.includes(plainSigningKey));
  assert.equal(openSecret(caKey, 'ca-key', 'ca', new SecretsKeyring([KEY_A])).plaintext, plainCaKey);

  const wrong = await runCli(['serve', '--config', config, '--xds-address', '127.0.0.1:0', '--secure-xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--secrets-key-file', keyB], 20_000);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, new RegExp(`meshbridge: the token signing key in ${state}/signing-key is encrypted with key id ${keyIdOf(KEY_A)}, which the given secrets key does not hold`));

  const configure = (out: string, extra: string[]) => runCli(['workload', 'entry', 'configure', '-f', group, '-o', join(dir, out), '--control-plane', '127.0.0.1:15012', '--state-dir', state, ...extra], 20_000);
  const refused = await configure('vm-no-key', []);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /the token signing key in .*signing-key is encrypted \(key id [0-9a-f]{16}\) and no secrets key was given/);
  const ok = await configure('vm', ['--secrets-key-file', keyA]);
  assert.equal(ok.code, 0, ok.stderr);
  const token = readFileSync(join(dir, 'vm', 'registration-token'), 'utf8').trim();
  assert.ok(verifyToken(token, Buffer.from(plainSigningKey, 'hex'), Math.floor(Date.now() / 1000)).ok, 'signed with the same signing key');
});
