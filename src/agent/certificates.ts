/**
 * The agent's workload certificate (issue 7; agent-protocol.md §8): a fresh ECDSA P-256 key and CSR,
 * signed by the control plane's CA through Istio's `CreateCertificate` (authenticated with the
 * registration token), written where proxyless gRPC's `file_watcher` certificate provider reads it
 * (`DIR/certs/cert-chain.pem`, `key.pem`, `root-cert.pem`, each replaced atomically), and renewed
 * at half its lifetime with jitter, so connections never meet an expiry cliff.
 */
import 'reflect-metadata';
import { makePrivateDir } from '../lib/fs/modes.js';
import { join } from 'node:path';
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Client, Metadata, ServiceError } from '@grpc/grpc-js';
import { certificateServiceDefinition, type CertificateRequest } from '../security/cert-service.js';
import { writeFileAtomic } from './bootstrap.js';
import { useNodeCryptoForX509 } from '../lib/crypto/x509-crypto.js';
import { errorMessage } from '../lib/errors.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export const CERT_DIR = 'certs';
export const CERT_FILES = { chain: 'cert-chain.pem', key: 'key.pem', root: 'root-cert.pem' } as const;

export interface IssuedCertificate {
  readonly certChain: readonly string[];
  readonly keyPem: string;
  readonly identity: string;
  /** Epoch milliseconds. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export type CertificateOutcome = { readonly ok: true; readonly cert: IssuedCertificate } | { readonly ok: false; readonly message: string };

/** Generates a key, asks the control plane for a certificate (bounded by `timeoutMs`). Never rejects. */
export async function requestCertificate(client: Client, metadata: Metadata, ttlSeconds: number, timeoutMs: number): Promise<CertificateOutcome> {
  useNodeCryptoForX509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']));
  const csr = (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: ALG })).toString('pem');
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const found = certificateServiceDefinition['CreateCertificate'];
  if (!found) return { ok: false, message: 'no CreateCertificate method' };
  const method = found;
  const request: CertificateRequest = { csr, validityDuration: ttlSeconds };
  return new Promise((resolve) => {
    // A client closed meanwhile (the session ended) throws synchronously: an outcome, not a crash.
    try {
      call(resolve);
    } catch (e) {
      resolve({ ok: false, message: errorMessage(e) });
    }
  });
  function call(resolve: (o: CertificateOutcome) => void): void {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize as (r: CertificateRequest) => Buffer,
      method.responseDeserialize as (b: Buffer) => string[],
      request,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, chain?: string[]) => {
        if (err) return resolve({ ok: false, message: err.details || err.message });
        const leaf = chain?.[0];
        if (!chain || !leaf) return resolve({ ok: false, message: 'the control plane answered without a certificate' });
        try {
          const c = new X509Certificate(leaf);
          const identity = /URI:(spiffe:\/\/[^,\s]+)/.exec(c.subjectAltName ?? '')?.[1] ?? '';
          resolve({ ok: true, cert: { certChain: chain, keyPem, identity, notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) } });
        } catch (e) {
          resolve({ ok: false, message: `unreadable certificate: ${errorMessage(e)}` });
        }
      },
    );
  }
}

/** Writes key first, then chain, then root (a watcher that sees the new chain also finds its key). */
export function writeCertificate(bootstrapDir: string, cert: IssuedCertificate): string {
  const dir = join(bootstrapDir, CERT_DIR);
  makePrivateDir(dir, { own: true }); // 0700 whatever the umask: nobody else may swap the files
  writeFileAtomic(join(dir, CERT_FILES.key), cert.keyPem, 0o600);
  writeFileAtomic(join(dir, CERT_FILES.chain), cert.certChain.slice(0, -1).join('') || (cert.certChain[0] ?? ''), 0o644);
  writeFileAtomic(join(dir, CERT_FILES.root), cert.certChain[cert.certChain.length - 1] ?? '', 0o644);
  return dir;
}

/** When to renew: half the lifetime after issue, moved by up to ±`jitter` of the lifetime. */
export function certificateRenewalDelayMs(cert: Pick<IssuedCertificate, 'notBefore' | 'notAfter'>, nowMs: number, random: () => number, jitter = 0.1): number {
  const lifetime = cert.notAfter - cert.notBefore;
  return Math.max(0, Math.round(cert.notBefore + lifetime * (0.5 + jitter * (2 * random() - 1)) - nowMs));
}

/**
 * How often gRPC's file_watcher re-reads the certificate files. The agent renews at half the
 * lifetime (hours ahead of expiry), so this only bounds how long an app keeps serving the previous
 * certificate after a rotation; 5 s keeps that short at the cost of three small file reads.
 */
export const FILE_WATCHER_REFRESH = '5s';

/** The `certificate_providers` entry of a gRPC bootstrap reading these files (A29 file_watcher). */
export function fileWatcherProvider(bootstrapDir: string): object {
  const dir = join(bootstrapDir, CERT_DIR);
  return {
    default: {
      plugin_name: 'file_watcher',
      config: {
        certificate_file: join(dir, CERT_FILES.chain),
        private_key_file: join(dir, CERT_FILES.key),
        ca_certificate_file: join(dir, CERT_FILES.root),
        refresh_interval: FILE_WATCHER_REFRESH,
      },
    },
  };
}
