/**
 * The control plane's certificate authority (issue 7): a self-signed root made on first start and
 * kept in the state directory, or an operator-provided intermediate in Istio's `cacerts` layout
 * (`ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`). Workload certificates carry
 * only the SPIFFE identity `spiffe://<trustDomain>/ns/<ns>/sa/<sa>` as a URI SAN, are short-lived
 * (24 h by default) and are built with @peculiar/x509 on WebCrypto (ECDSA P-256), never by hand.
 */
import 'reflect-metadata';
import { createPublicKey, randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makePrivateDir, PRIVATE_FILE, writeFileAtomic } from '../lib/fs/modes.js';
import { openSecret, sealSecret, type SecretsKeyring } from './secrets-at-rest.js';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { spiffeIdProblem } from './spiffe.js';
import { useNodeCryptoForX509 } from '../lib/crypto/x509-crypto.js';
import { errorMessage } from '../lib/errors.js';


const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export const DEFAULT_WORKLOAD_TTL_SECONDS = 24 * 3600;

export class CertificateError extends Error {}

export interface CaFiles {
  /** The signing certificate (the root itself when self-signed). */
  readonly caCert: string;
  readonly caKey: string;
  readonly rootCert: string;
  /** From the signing certificate up to (and including) the root. */
  readonly certChain: string;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString('hex');
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export class CertificateAuthority {
  private constructor(
    private readonly signingCert: x509.X509Certificate,
    private readonly signingKey: webcrypto.CryptoKey,
    /** PEMs from the signing certificate up to the root. */
    private readonly chain: readonly string[],
    readonly rootPem: string,
  ) {}

  /**
   * What a client certificate may be signed by (node:crypto, for peer-identity.ts): the signing
   * certificate (the root itself when self-signed, else the cacerts intermediate) and the root.
   */
  trustAnchors(): NodeX509[] {
    const anchors = [new NodeX509(this.signingCert.toString('pem'))];
    try {
      anchors.push(new NodeX509(this.rootPem));
    } catch {
      // An unreadable root-cert.pem leaves the signing certificate as the only anchor.
    }
    return anchors;
  }

  /**
   * A serving certificate for the control plane's secure xDS port: a fresh key, DNS SANs `dnsNames`
   * (the server name clients verify), `ttlSeconds` long. Returns the PEM chain (leaf first) and key.
   */
  async issueServerCertificate(dnsNames: readonly string[], ttlSeconds: number, now = new Date()): Promise<{ certChain: string; keyPem: string; notAfter: number }> {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const notAfter = new Date(now.getTime() + ttlSeconds * 1000);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${dnsNames[0] ?? 'meshbridge'}`,
      issuer: this.signingCert.subject,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: this.signingKey,
      extensions: [
        new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([SERVER_AUTH]),
        new x509.BasicConstraintsExtension(false, undefined, true),
      ],
    });
    const intermediates = this.chain.filter((pem) => pem.trim() !== this.rootPem.trim());
    const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    return { certChain: [leaf.toString('pem'), ...intermediates].map((p) => p.trim() + '\n').join(''), keyPem, notAfter: notAfter.getTime() };
  }

  static async createSelfSigned(trustDomain: string, now = new Date()): Promise<{ ca: CertificateAuthority; files: CaFiles }> {
    useNodeCryptoForX509();
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']));
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      // A name of its own: TLS stacks find a client certificate's issuer by name, and a foreign CA
      // of the same name makes OpenSSL end the handshake instead of reporting a failed verification.
      name: `O=${trustDomain}, CN=meshbridge root CA ${randomBytes(6).toString('hex')}`,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 10 * 365 * 86400_000),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pem = cert.toString('pem');
    const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    const files: CaFiles = { caCert: pem, caKey: keyPem, rootCert: pem, certChain: pem };
    return { ca: new CertificateAuthority(cert, keys.privateKey, [pem], pem.trim() + '\n'), files };
  }

  /** Istio's cacerts layout: an intermediate signing key and certificate below an operator's root. */
  static async fromFiles(files: CaFiles): Promise<CertificateAuthority> {
    useNodeCryptoForX509();
    const cert = new x509.X509Certificate(files.caCert);
    let key: webcrypto.CryptoKey;
    try {
      key = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(files.caKey), ALG, false, ['sign']);
    } catch (e) {
      throw new CertificateError(`ca-key.pem is not a PKCS#8 ECDSA P-256 private key: ${errorMessage(e)}`);
    }
    const chain = pemBlocks(files.certChain);
    return new CertificateAuthority(cert, key, chain.length > 0 ? chain : [files.caCert], files.rootCert.trim() + '\n');
  }

  /**
   * Signs a CSR for `identity` (the SPIFFE id the caller is entitled to: whatever SANs the CSR asks
   * for are replaced). Returns Istio's `cert_chain`: the leaf, the intermediates, the root last.
   * Issue 11: refuses (CertificateError, with the reason) an identity that is not exactly
   * `spiffe://<td>/ns/<ns>/sa/<sa>` with valid names (spiffe.ts), and a CSR whose key is weak
   * (`csrKeyProblem`).
   */
  async issue(csrPem: string, identity: string, ttlSeconds = DEFAULT_WORKLOAD_TTL_SECONDS, now = new Date()): Promise<string[]> {
    const identityProblem = spiffeIdProblem(identity);
    if (identityProblem !== undefined) throw new CertificateError(`refusing to issue a certificate: ${identityProblem}`);
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch {
      throw new CertificateError('the certificate signing request is not a PEM PKCS#10 request');
    }
    const keyProblem = csrKeyProblem(csr);
    if (keyProblem !== undefined) throw new CertificateError(keyProblem);
    let selfSigned: boolean;
    try {
      selfSigned = await csr.verify();
    } catch {
      selfSigned = false;
    }
    if (!selfSigned) throw new CertificateError('the certificate signing request is not signed by its own key');
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: '',
      issuer: this.signingCert.subject,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + ttlSeconds * 1000),
      signingAlgorithm: ALG,
      publicKey: csr.publicKey,
      signingKey: this.signingKey,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([SERVER_AUTH, CLIENT_AUTH]),
        new x509.BasicConstraintsExtension(false, undefined, true),
      ],
    });
    const chain = [leaf.toString('pem'), ...this.chain];
    const last = chain[chain.length - 1]?.trim();
    if (last !== this.rootPem.trim()) chain.push(this.rootPem);
    return chain;
  }
}

/**
 * Issue 11 (Istio's CA accepts the same): a CSR's key must be RSA of at least 2048 bits or ECDSA
 * on P-256 or P-384. Returns the refusal, or undefined when the key is acceptable.
 */
export function csrKeyProblem(csr: x509.Pkcs10CertificateRequest): string | undefined {
  let type: string | undefined;
  let details: { modulusLength?: number; namedCurve?: string } | undefined;
  try {
    const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    type = key.asymmetricKeyType;
    details = key.asymmetricKeyDetails;
  } catch {
    return 'the certificate signing request\'s public key cannot be read';
  }
  if (type === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    return bits >= 2048 ? undefined : `the certificate signing request's RSA key has ${bits} bits: at least 2048 are required`;
  }
  if (type === 'ec') {
    const curve = details?.namedCurve ?? 'unknown';
    return curve === 'prime256v1' || curve === 'secp384r1' ? undefined : `the certificate signing request's EC key is on curve ${curve}: only P-256 (prime256v1) and P-384 (secp384r1) are accepted`;
  }
  return `the certificate signing request's key is of type ${type ?? 'unknown'}: only RSA (2048 bits or more) and ECDSA P-256/P-384 keys are accepted`;
}

/** The SPIFFE identity in a certificate (its first `spiffe://` URI SAN), or undefined. */
export function spiffeIdOf(certPem: string): string | undefined {
  try {
    const c = new NodeX509(certPem);
    return /URI:(spiffe:\/\/[^,\s]+)/.exec(c.subjectAltName ?? '')?.[1];
  } catch {
    return undefined;
  }
}

/** Reads Istio's cacerts layout from a folder. */
export function readCaFiles(dir: string): CaFiles {
  return {
    caCert: readFileSync(join(dir, 'ca-cert.pem'), 'utf8'),
    caKey: readFileSync(join(dir, 'ca-key.pem'), 'utf8'),
    rootCert: readFileSync(join(dir, 'root-cert.pem'), 'utf8'),
    certChain: readFileSync(join(dir, 'cert-chain.pem'), 'utf8'),
  };
}

/**
 * The CA kept in a shared store (etcd): `createIfAbsent` stores the given files unless some are
 * stored already (atomically) and resolves to the stored ones. The operator's `cacerts` folder takes
 * precedence.
 */
export async function loadOrCreateSharedCa(
  trustDomain: string,
  createIfAbsent: (fresh: CaFiles) => Promise<CaFiles>,
  cacertsDir?: string,
): Promise<CertificateAuthority> {
  if (cacertsDir !== undefined) return CertificateAuthority.fromFiles(readCaFiles(cacertsDir));
  const { files } = await CertificateAuthority.createSelfSigned(trustDomain);
  return CertificateAuthority.fromFiles(await createIfAbsent(files));
}

/**
 * The CA of a control plane: the operator's `cacerts` folder when given, else the self-signed root
 * kept in `<stateDir>/ca/` (created on first start; folder 0700, `ca-key.pem` 0600 and sealed under
 * `secrets` when given, secrets-at-rest.ts; a plaintext key is re-sealed when read with `secrets`).
 */
export async function loadOrCreateCa(stateDir: string, trustDomain: string, cacertsDir?: string, secrets?: SecretsKeyring): Promise<CertificateAuthority> {
  const read = readCaFiles;
  if (cacertsDir !== undefined) return CertificateAuthority.fromFiles(read(cacertsDir));
  const dir = join(stateDir, 'ca');
  const keyFile = join(dir, 'ca-key.pem');
  makePrivateDir(dir, { own: true });
  let stored: CaFiles | undefined;
  try {
    stored = read(dir);
  } catch {
    stored = undefined;
  }
  if (stored !== undefined) {
    const opened = openSecret(stored.caKey, 'ca-key', `the CA key in ${keyFile}`, secrets);
    const ca = await CertificateAuthority.fromFiles({ ...stored, caKey: opened.plaintext });
    if (opened.reseal !== undefined) writeFileAtomic(keyFile, opened.reseal, PRIVATE_FILE);
    return ca;
  }
  const { ca, files } = await CertificateAuthority.createSelfSigned(trustDomain);
  writeFileAtomic(keyFile, sealSecret(files.caKey, 'ca-key', secrets), PRIVATE_FILE);
  for (const [name, pem] of [['ca-cert.pem', files.caCert], ['root-cert.pem', files.rootCert], ['cert-chain.pem', files.certChain]] as const) writeFileAtomic(join(dir, name), pem, 0o644);
  return ca;
}
