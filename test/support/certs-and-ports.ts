/**
 * Shared by the issue 7 end-to-end tests: certificates minted straight from a CA (standing for
 * what an agent would obtain); free ports are in ports.ts.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeCertificate } from '../../src/agent/certificates.js';
import type { CaFiles, CertificateAuthority } from '../../src/security/ca.js';

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

/**
 * A client certificate signed with the mesh CA's own key that carries no SPIFFE id (one DNS SAN,
 * clientAuth): what a holder of some other CA-signed certificate presents. Minted here, not by
 * `CertificateAuthority.issue`, which only issues SPIFFE identities. Returns the chain (leaf, root)
 * and the key.
 */
export async function mintWithoutSpiffeId(ca: CaFiles, dnsName: string): Promise<{ certChain: string[]; keyPem: string }> {
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.caKey), ALG, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de',
    subject: `CN=${dnsName}`,
    issuer: new x509.X509Certificate(ca.caCert).subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dnsName }]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { certChain: [leaf.toString('pem'), ca.rootCert], keyPem };
}
