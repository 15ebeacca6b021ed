/**
 * Shared by the issue 7 end-to-end tests: certificates minted straight from a CA (standing for
 * what an agent would obtain) and free loopback ports.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeCertificate } from '../../src/agent/certificates.js';
import type { CertificateAuthority } from '../../src/security/ca.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A key, a CSR and the CA's certificate for `identity`, written as DIR/certs/{cert-chain,key,root-cert}.pem; returns DIR/certs. */
export async function mint(ca: CertificateAuthority, identity: string, dir: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const csr = (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: ALG })).toString('pem');
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const certChain = await ca.issue(csr, identity, 3600);
  writeCertificate(dir, { certChain, keyPem, identity, notBefore: Date.now(), notAfter: Date.now() + 3600_000 });
  return join(dir, 'certs');
}

/** A port free on `host` (a loopback address) at the time of asking. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
