/**
 * @peculiar/x509 on Node's WebCrypto, chosen explicitly by the functions that create or sign
 * certificates (security/ca.ts, agent/certificates.ts) on their first call, not at import time:
 * importing a module does no work. (On Node 20 the library would find the same global `crypto` by
 * itself; this keeps the choice in one place.)
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

let installed = false;

/** Makes @peculiar/x509 use Node's WebCrypto; idempotent. */
export function useNodeCryptoForX509(): void {
  if (installed) return;
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  installed = true;
}
