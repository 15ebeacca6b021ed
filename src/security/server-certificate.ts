/**
 * The secure xDS port's own certificate (docs/security.md): issued by the control plane's CA for the
 * stable server name clients verify (`grpc.ssl_target_name_override`), re-issued at half its
 * lifetime, and handed to grpc-js through a certificate provider (and to the native transport as
 * TLS options, `tls`) so a rotation applies to new connections without restarting the server. The same provider hands out the CA certificates that
 * client certificates are requested against.
 */
import type { SecureContextOptions } from 'node:tls';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { CertificateAuthority } from './ca.js';

/** The names in the server certificate; clients use the first as their TLS server name. */
export const CONTROL_PLANE_SERVER_NAMES = ['meshbridge.meshbridge-system.svc', 'istiod.istio-system.svc'] as const;
export const CONTROL_PLANE_SERVER_NAME = CONTROL_PLANE_SERVER_NAMES[0];

export const DEFAULT_SERVER_CERTIFICATE_TTL_SECONDS = 24 * 3600;

type CaListener = (update: { caCertificate: Buffer } | null) => void;
type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;

/** A grpc-js CertificateProvider whose certificates are set in memory. */
class MemoryCertificateProvider {
  #ca: { caCertificate: Buffer } | null = null;
  #identity: { certificate: Buffer; privateKey: Buffer } | null = null;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();

  readonly #tlsListeners = new Set<(material: SecureContextOptions) => void>();

  set(caPem: string, certChainPem: string, keyPem: string): void {
    this.#ca = { caCertificate: Buffer.from(caPem) };
    this.#identity = { certificate: Buffer.from(certChainPem), privateKey: Buffer.from(keyPem) };
    for (const l of this.#caListeners) l(this.#ca);
    for (const l of this.#identityListeners) l(this.#identity);
    const material = this.tlsMaterial();
    if (material !== undefined) for (const l of this.#tlsListeners) l(material);
  }

  /** The same certificates as Node TLS options (the native xDS transport's `setSecureContext`). */
  tlsMaterial(): SecureContextOptions | undefined {
    if (this.#ca === null || this.#identity === null) return undefined;
    return { ca: this.#ca.caCertificate, cert: this.#identity.certificate, key: this.#identity.privateKey };
  }

  onTlsMaterial(listener: (material: SecureContextOptions) => void): () => void {
    this.#tlsListeners.add(listener);
    return () => this.#tlsListeners.delete(listener);
  }

  // The current certificates reach a new listener asynchronously, as grpc-js's file watcher does:
  // grpc-js registers its own watcher only after adding the listener.
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    setImmediate(() => {
      if (this.#ca && this.#caListeners.has(listener)) listener(this.#ca);
    });
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    setImmediate(() => {
      if (this.#identity && this.#identityListeners.has(listener)) listener(this.#identity);
    });
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}

export interface ServingCertificateOptions {
  readonly ttlSeconds?: number;
  readonly onError?: (e: unknown) => void;
  readonly onIssued?: (notAfter: number) => void;
}

/**
 * The secure port's credentials: TLS with the CA-issued serving certificate; client certificates are
 * requested but optional and not rejected by TLS (`rejectUnauthorized: false`): peer-identity.ts
 * judges them so refusals carry reasons. `start` issues the first certificate; `stop` ends rotation.
 */
export class ServingCertificate {
  readonly #provider = new MemoryCertificateProvider();
  readonly credentials: ServerCredentials;
  /** The same certificate as Node TLS options and their rotations, for a server on node:http2. */
  readonly tls: { current(): SecureContextOptions | undefined; onChange(listener: (material: SecureContextOptions) => void): () => void } = {
    current: () => this.#provider.tlsMaterial(),
    onChange: (listener) => this.#provider.onTlsMaterial(listener),
  };
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly ca: () => CertificateAuthority,
    private readonly o: ServingCertificateOptions = {},
  ) {
    // One provider for both roles, so the argument order of this experimental API does not matter.
    this.credentials = experimental.createCertificateProviderServerCredentials(this.#provider, this.#provider, false);
  }

  async start(): Promise<void> {
    await this.#issue();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #issue(): Promise<void> {
    const ca = this.ca();
    const ttl = this.o.ttlSeconds ?? DEFAULT_SERVER_CERTIFICATE_TTL_SECONDS;
    const issued = await ca.issueServerCertificate(CONTROL_PLANE_SERVER_NAMES, ttl);
    const anchors = ca.trustAnchors().map((c) => c.toString()).join('');
    this.#provider.set(anchors, issued.certChain, issued.keyPem);
    this.o.onIssued?.(issued.notAfter);
    this.#schedule(Math.max(1000, (ttl * 1000) / 2));
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#issue().catch((e: unknown) => {
        this.o.onError?.(e);
        this.#schedule(30_000);
      });
    }, delayMs);
    this.#timer.unref();
  }
}
