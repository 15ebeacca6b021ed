/**
 * What every replica of a shared store must agree on — the registration-token signing key and the
 * mesh CA — created once by whichever replica comes first, read by the others: the rules shared by
 * the etcd store (a key, etcd-coordination.ts) and the Kubernetes store (a Secret, kube-secrets.ts).
 * A store supplies a `SharedSlot`: create-if-absent, else the stored value and a compare-and-swap
 * replacement (used to re-seal a value under a newer key ring: migration on write).
 */
import type { CaFiles } from '../security/ca.js';
import { openSecret, sealSecret, type SecretsKeyring } from '../security/secrets-at-rest.js';

export type SlotRead = { readonly created: true } | { readonly created: false; readonly value: string; replace(value: string): Promise<void> };

export interface SharedSlot {
  /** Where the value lives, for messages (`etcd at /meshbridge/system/ca`, `the Secret istio-system/meshbridge-ca`). */
  readonly where: string;
  /** Stores `fresh` unless a value is stored already; that value otherwise. */
  createOrRead(fresh: string): Promise<SlotRead>;
}

/** `read` turns the stored value into the secret and says whether to write it back re-sealed. */
export async function sharedSecret<T>(slot: SharedSlot, fresh: string, read: (stored: string) => { value: T; rewrite?: string }): Promise<T> {
  const r = await slot.createOrRead(fresh);
  if (r.created) return read(fresh).value;
  const opened = read(r.value);
  if (opened.rewrite !== undefined) await r.replace(opened.rewrite);
  return opened.value;
}

/** The registration-token signing key shared by every replica (hex; sealed under `secrets` when given). */
export function sharedSigningKeyIn(slot: SharedSlot, create: () => Buffer, secrets?: SecretsKeyring): Promise<Buffer> {
  return sharedSecret(slot, sealSecret(create().toString('hex'), 'signing-key', secrets), (stored) => {
    const opened = openSecret(stored, 'signing-key', `the token signing key in ${slot.where}`, secrets);
    return { value: Buffer.from(opened.plaintext, 'hex'), ...(opened.reseal !== undefined ? { rewrite: opened.reseal } : {}) };
  });
}

/** The CA files stored as JSON, or an error naming where. */
export function parseStoredCa(value: string, where: string): CaFiles {
  let parsed: Partial<CaFiles> | undefined;
  try {
    parsed = JSON.parse(value) as Partial<CaFiles>;
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed.caCert !== 'string' || typeof parsed.caKey !== 'string' || typeof parsed.rootCert !== 'string' || typeof parsed.certChain !== 'string') {
    throw new Error(`the CA stored in ${where} is unreadable`);
  }
  return { caCert: parsed.caCert, caKey: parsed.caKey, rootCert: parsed.rootCert, certChain: parsed.certChain };
}

/**
 * The CA shared by every replica (issue 7): the first replica stores its freshly made root (Istio's
 * cacerts fields as JSON, the key sealed under `secrets` when given); the others get the stored one.
 */
export function sharedCaFilesIn(slot: SharedSlot, fresh: CaFiles, secrets?: SecretsKeyring): Promise<CaFiles> {
  const stored = JSON.stringify({ ...fresh, caKey: sealSecret(fresh.caKey, 'ca-key', secrets) });
  return sharedSecret(slot, stored, (value) => {
    const parsed = parseStoredCa(value, slot.where);
    const opened = openSecret(parsed.caKey, 'ca-key', `the CA key in ${slot.where}`, secrets);
    const files: CaFiles = { ...parsed, caKey: opened.plaintext };
    return { value: files, ...(opened.reseal !== undefined ? { rewrite: JSON.stringify({ ...files, caKey: opened.reseal }) } : {}) };
  });
}
