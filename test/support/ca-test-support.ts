/**
 * Tests only: signs a leaf certificate with a CA's key for any URI SAN, bypassing the identity and
 * key checks of `CertificateAuthority.issue` — to make the malformed certificates that the
 * credential checks must refuse (a non-SPIFFE URI, a SPIFFE id without /ns/.../sa/...).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CaFiles } from '../../src/security/ca.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export async function signLeafForTests(files: CaFiles, csrPem: string, uri: string, ttlSeconds: number, now = new Date()): Promise<string[]> {
  const issuer = new x509.X509Certificate(files.caCert);
  const key = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(files.caKey), ALG, false, ['sign']);
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: '',
    issuer: issuer.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + ttlSeconds * 1000),
    signingAlgorithm: ALG,
    publicKey: csr.publicKey,
    signingKey: key,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true), new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return [leaf.toString('pem'), files.rootCert];
}
