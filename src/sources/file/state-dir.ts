/**
 * The state directory of the file store: what the control plane writes (registered
 * WorkloadEntries, status, its signing key), kept apart from the operator's YAML. Default: beside
 * the first config path, `<path>.state` (e.g. `examples` → `examples.state/`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { newSigningKey } from '../../lifecycle/registration-token.js';

export function defaultStateDir(configPaths: readonly string[]): string {
  const first = configPaths[0] ?? '.';
  return `${resolve(first).replace(/\/+$/, '')}.state`;
}

/** The registration-token signing key, created (mode 0600) on first use. */
export function loadOrCreateSigningKey(stateDir: string): Buffer {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'signing-key');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  } catch {
    const key = newSigningKey();
    try {
      writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      // Another process created it first: use theirs.
      return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
    }
  }
}
