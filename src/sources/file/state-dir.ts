/**
 * The state directory of the file store: what the control plane writes (registered
 * WorkloadEntries, status, its signing key), kept apart from the operator's YAML. Default: beside
 * the first config path, `<path>.state` (e.g. `examples` → `examples.state/`).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { makePrivateDir, PRIVATE_FILE, writeFileAtomic } from '../../lib/fs/modes.js';
import { openSecret, sealSecret, type SecretsKeyring } from '../../security/secrets-at-rest.js';
import { join, resolve } from 'node:path';
import { newSigningKey } from '../../security/registration-token.js';

export function defaultStateDir(configPaths: readonly string[]): string {
  const first = configPaths[0] ?? '.';
  return `${resolve(first).replace(/\/+$/, '')}.state`;
}

/**
 * The registration-token signing key (hex; sealed under `secrets` when given: secrets-at-rest.ts),
 * created on first use, mode 0600 in a 0700 folder whatever the umask. A plaintext key (or one sealed
 * under an older key) is re-sealed under `secrets`' first key when it is read.
 */
export function loadOrCreateSigningKey(stateDir: string, secrets?: SecretsKeyring): Buffer {
  makePrivateDir(stateDir);
  const file = join(stateDir, 'signing-key');
  let stored = readIfPresent(file);
  if (stored === undefined) {
    const key = newSigningKey();
    try {
      writeFileSync(file, `${sealSecret(key.toString('hex'), 'signing-key', secrets)}\n`, { mode: PRIVATE_FILE, flag: 'wx' });
      chmodSync(file, PRIVATE_FILE);
      return key;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      stored = readIfPresent(file) ?? ''; // another process created it first: use theirs
    }
  }
  const opened = openSecret(stored, 'signing-key', `the token signing key in ${file}`, secrets);
  if (opened.reseal !== undefined) writeFileAtomic(file, `${opened.reseal}\n`, PRIVATE_FILE);
  return Buffer.from(opened.plaintext, 'hex');
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
