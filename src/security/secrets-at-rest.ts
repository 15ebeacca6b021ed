/**
 * The control plane's own secrets at rest (docs/security.md §7): the CA's private key and the
 * registration-token signing key, as kept in etcd (`system/ca`, `system/signing-key`) and in the file
 * store's state directory (`ca/ca-key.pem`, `signing-key`), are sealed with AES-256-GCM under a key
 * given to `serve` (`--secrets-key-file FILE` or `MESHBRIDGE_SECRETS_KEY`).
 *
 * Sealed value: `meshbridge-sealed:v1:<key id>:<base64 of iv (12) | tag (16) | ciphertext>`. The
 * additional authenticated data is the prefix up to the key id plus the secret's purpose
 * (`ca-key`, `signing-key`), so a sealed value cannot be moved to another purpose. The key id is
 * derived from the key (the first 8 bytes of a SHA-256, hex), so that a value names the key that
 * opens it without naming the key.
 *
 * A key ring is one or more keys, one per line (or comma-separated), each 32 bytes as base64 or hex;
 * the first seals, all open. Rotation: put the new key first, keep the old one below it until every
 * replica has restarted (each re-seals what it reads under the first key), then drop the old one.
 *
 * Reading (`openSecret`): a sealed value needs its key (else SecretsKeyError, naming the key id and
 * what to do); a plaintext value (written before keys existed, or without a key) is accepted, and
 * re-sealed by the caller when a key ring is given (migration on write).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/** What sealed a value and cannot open it, said in one sentence (serve exits 2 with it). */
export class SecretsKeyError extends Error {
  override readonly name = 'SecretsKeyError';
}

export type SecretPurpose = 'ca-key' | 'signing-key';

const PREFIX = 'meshbridge-sealed:v1:';
const SEALED = /^meshbridge-sealed:v1:([0-9a-f]{16}):([A-Za-z0-9+/=]+)$/;

export interface SecretsKey {
  readonly id: string;
  readonly key: Buffer;
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('meshbridge secrets key id\0').update(key).digest('hex').slice(0, 16);
}

export class SecretsKeyring {
  readonly keys: readonly SecretsKey[];

  /** `keys[0]` seals; every key opens. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new SecretsKeyError('a secrets key ring needs at least one key');
    this.keys = keys.map((key) => {
      if (key.length !== 32) throw new SecretsKeyError(`a secrets key must be 32 bytes (AES-256), not ${key.length}`);
      return { id: keyIdOf(key), key };
    });
  }

  get primaryId(): string {
    return (this.keys[0] as SecretsKey).id;
  }

  seal(plaintext: string, purpose: SecretPurpose): string {
    const { id, key } = this.keys[0] as SecretsKey;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`${PREFIX}${id}:${purpose}`));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** A stored secret as read: its plaintext, and the value to write back when it should be re-sealed. */
export interface OpenedSecret {
  readonly plaintext: string;
  /** Present when the stored value is plaintext or sealed under a key that is not the first. */
  readonly reseal?: string;
}

/**
 * Opens a stored value (`where` names it in errors, e.g. `the CA key in etcd at /meshbridge/system/ca`).
 * Throws SecretsKeyError when it is sealed and `ring` cannot open it.
 */
export function openSecret(stored: string, purpose: SecretPurpose, where: string, ring: SecretsKeyring | undefined): OpenedSecret {
  if (!isSealed(stored)) return ring !== undefined ? { plaintext: stored, reseal: ring.seal(stored, purpose) } : { plaintext: stored };
  const m = SEALED.exec(stored.trim());
  if (m === null) throw new SecretsKeyError(`${where} is not a valid sealed value (expected ${PREFIX}<key id>:<base64>)`);
  const [, id = '', body = ''] = m;
  if (ring === undefined) {
    throw new SecretsKeyError(`${where} is encrypted (key id ${id}) and no secrets key was given: start serve with --secrets-key-file FILE or MESHBRIDGE_SECRETS_KEY`);
  }
  const key = ring.keys.find((k) => k.id === id);
  if (key === undefined) {
    throw new SecretsKeyError(
      `${where} is encrypted with key id ${id}, which the given secrets key does not hold (it holds ${ring.keys.map((k) => k.id).join(', ')}): wrong key? During a rotation keep the old key below the new one`,
    );
  }
  const raw = Buffer.from(body, 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${PREFIX}${id}:${purpose}`));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plaintext = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return id === ring.primaryId ? { plaintext } : { plaintext, reseal: ring.seal(plaintext, purpose) };
  } catch {
    throw new SecretsKeyError(`${where} does not decrypt with key id ${id}: the stored value was altered, or it is not this secret`);
  }
}

/** The stored form of a secret: sealed under the ring's first key, or plaintext without a ring. */
export function sealSecret(plaintext: string, purpose: SecretPurpose, ring: SecretsKeyring | undefined): string {
  return ring !== undefined ? ring.seal(plaintext, purpose) : plaintext;
}

/** Parses keys (one per line or comma-separated; base64 or hex of 32 bytes; `#` comments). */
export function parseSecretsKeys(text: string, source: string): SecretsKeyring {
  const entries = text
    .split(/[\n,]/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
  if (entries.length === 0) throw new SecretsKeyError(`${source} holds no key: put 32 random bytes there, base64 (openssl rand -base64 32)`);
  return new SecretsKeyring(
    entries.map((e, i) => {
      const key = /^[0-9a-fA-F]{64}$/.test(e) ? Buffer.from(e, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(e) ? Buffer.from(e, 'base64') : undefined;
      if (key === undefined) throw new SecretsKeyError(`${source}: key ${i + 1} is not 32 bytes in base64 (44 characters) or hex (64 characters)`);
      return key;
    }),
  );
}

export const SECRETS_KEY_ENV = 'MESHBRIDGE_SECRETS_KEY';

/**
 * The key ring of a process: `--secrets-key-file FILE` (which must not be readable by group or
 * others), else the environment variable MESHBRIDGE_SECRETS_KEY; undefined when neither is given.
 */
export function loadSecretsKeyring(file: string | undefined, env: NodeJS.ProcessEnv = process.env): SecretsKeyring | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      const mode = statSync(file).mode & 0o777;
      if ((mode & 0o077) !== 0) throw new SecretsKeyError(`the secrets key file ${file} is readable by others (mode 0${mode.toString(8)}): chmod 600 ${file}`);
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof SecretsKeyError) throw e;
      throw new SecretsKeyError(`cannot read the secrets key file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(e)}`);
    }
    return parseSecretsKeys(text, file);
  }
  const inline = env[SECRETS_KEY_ENV];
  return inline !== undefined && inline.trim() !== '' ? parseSecretsKeys(inline, `$${SECRETS_KEY_ENV}`) : undefined;
}
