/**
 * What the agent proves itself with: the registration token (re-read from the bootstrap folder,
 * an operator may replace it; renewed at half its lifetime, agent-protocol.md §7) and the workload
 * certificate when its group has a service account (issue 7, §8), with the channel credentials to
 * the control plane they give (upstream.ts). The two renewals run under one RenewalScheduler each.
 */
import { join } from 'node:path';
import { Client, Metadata } from '@grpc/grpc-js';
import { AdsSession } from './ads-session.js';
import type { AgentLog } from './agent-log.js';
import { describe, readToken, TOKEN_FILE, writeFileAtomic } from './bootstrap.js';
import { certificateRenewalDelayMs, requestCertificate, writeCertificate, type IssuedCertificate } from './certificates.js';
import type { Renewal, RenewalOutcome } from './renewal-scheduler.js';
import { renewalDelayMs, renewToken } from './token-renewal.js';
import type { ControlPlaneTargets } from './control-plane-targets.js';
import { controlPlaneChannel, ROOT_CERT_FILE, type UpstreamChannel } from './upstream.js';
import type { UpstreamProvider } from './xds-proxy.js';
import { errorMessage } from '../lib/errors.js';

/** A channel to the control plane on which certificates and tokens are renewed (the ADS session's, or identity-only mode's). */
export interface Connection {
  readonly client: Client;
}

export interface CredentialOptions {
  readonly bootstrapDir: string;
  /** The control plane's addresses and the one in use (the ADS stream and the xDS proxy move it on failure). */
  readonly controlPlane: ControlPlaneTargets;
  /** '' when the group has no identity: then no certificate. */
  readonly serviceAccount: string;
  /** The token to start with (default: read from the folder). */
  readonly token?: string | undefined;
  /** Overrides the channel to the control plane for local services (tests). */
  readonly upstream?: UpstreamProvider | undefined;
  readonly certificateTtlSeconds: number;
  readonly renewTimeoutMs: number;
  readonly random: () => number;
  readonly log: AgentLog;
}

export class AgentCredentials {
  readonly #o: CredentialOptions;
  #token: string | undefined;
  #cert: IssuedCertificate | undefined;
  #certReceivedAt = 0;
  #plaintextWarned = false;
  #renewUnimplementedLogged = false;
  /** Called with each newly issued certificate (the SDS server serves it). */
  onCertificate: (cert: IssuedCertificate) => void = () => undefined;

  constructor(o: CredentialOptions) {
    this.#o = o;
    this.#token = o.token;
  }

  get token(): string | undefined {
    return this.#token;
  }

  get certificate(): IssuedCertificate | undefined {
    return this.#cert;
  }

  /** The token file's content if readable (an operator may have replaced it), else the last one. */
  currentToken(): string | undefined {
    try {
      this.#token = readToken(this.#o.bootstrapDir);
    } catch (e) {
      if (this.#token === undefined) this.#o.log.change(`cannot read the registration token: ${errorMessage(e)}`);
    }
    return this.#token;
  }

  /** The credentials for a new channel to the control plane (upstream.ts); undefined when unreadable (logged). */
  channel(): UpstreamChannel | undefined {
    try {
      const upstream = controlPlaneChannel(this.#o.bootstrapDir, this.#o.controlPlane.current());
      if (upstream.security === 'plaintext' && !this.#plaintextWarned) {
        this.#plaintextWarned = true;
        this.#o.log.line(`warning: no ${ROOT_CERT_FILE} in ${this.#o.bootstrapDir}: talking to the control plane in plaintext (re-run workload entry configure for TLS)`);
      }
      return upstream;
    } catch (e) {
      this.#o.log.change(`cannot read the credentials for the control plane: ${describe(e)}`);
      return undefined;
    }
  }

  /**
   * Where the agent's local services (xDS proxy, inbound mode watch, identity-only renewals) reach
   * the control plane: a new channel per call (TLS, mutual TLS once the workload holds a
   * certificate). Without a client certificate the registration token rides along as the
   * credential (`authorization: Bearer`), so a VM without a service account still gets its
   * configuration on the secure port (docs/security.md).
   */
  upstream(): UpstreamProvider {
    if (this.#o.upstream !== undefined) return this.#o.upstream;
    return () => {
      const channel = this.channel();
      if (channel === undefined) throw new Error('no usable credentials for the control plane');
      const token = this.#token;
      const metadata = channel.security !== 'mtls' && token !== undefined ? AdsSession.metadata(token) : undefined;
      const failed = (): void => void this.#o.controlPlane.failed(channel.address);
      return { address: channel.address, credentials: channel.credentials, options: channel.options, failed, ...(metadata !== undefined ? { metadata } : {}) };
    };
  }

  /** The registration token's renewal: due at half its lifetime (with jitter). */
  readonly tokenRenewal: Renewal<Connection> = {
    dueInMs: () => (this.#token === undefined ? undefined : renewalDelayMs(this.#token, Date.now(), this.#o.random)),
    renew: (conn, stillCurrent) => this.#renewToken(conn, stillCurrent),
  };

  /** The workload certificate's renewal (only with a service account): at once without one, else at half its lifetime. */
  readonly certificateRenewal: Renewal<Connection> = {
    dueInMs: () => (this.#o.serviceAccount === '' ? undefined : this.#certificateDue()),
    renew: (conn, stillCurrent) => this.#renewCertificate(conn, stillCurrent),
  };

  async #renewToken(conn: Connection, stillCurrent: () => boolean): Promise<RenewalOutcome> {
    const current = this.#token;
    if (current === undefined) return 'done';
    const outcome = await renewToken(conn.client, current, AdsSession.metadata(current), this.#o.renewTimeoutMs);
    if (!stillCurrent()) return 'done';
    if (outcome.ok) {
      try {
        writeFileAtomic(join(this.#o.bootstrapDir, TOKEN_FILE), `${outcome.token}\n`, 0o600);
      } catch (e) {
        this.#o.log.line(`cannot write the renewed registration token: ${describe(e)}`);
      }
      this.#token = outcome.token;
      this.#o.log.line(`registration token renewed, expires at ${new Date(outcome.expiresAt * 1000).toISOString()}`);
      return 'renewed';
    }
    if (outcome.unimplemented) {
      // The control plane does not offer renewal (yet): keep the current token; try again on the next connection.
      if (!this.#renewUnimplementedLogged) this.#o.log.line('token renewal is not offered by the control plane; keeping the current token');
      this.#renewUnimplementedLogged = true;
      return 'done';
    }
    this.#o.log.line(`token renewal failed: ${outcome.message}`);
    return 'retry';
  }

  /** Milliseconds until the workload certificate is due (0: none yet or expired). */
  #certificateDue(): number {
    // Lifetime counted from when it arrived: the CA back-dates notBefore for clock skew.
    const cert = this.#cert;
    return cert ? certificateRenewalDelayMs({ notBefore: Math.max(cert.notBefore, this.#certReceivedAt), notAfter: cert.notAfter }, Date.now(), this.#o.random) : 0;
  }

  async #renewCertificate(conn: Connection, stillCurrent: () => boolean): Promise<RenewalOutcome> {
    const token = this.#token;
    if (token === undefined) return 'done';
    // A channel of its own, made now: once the agent holds a certificate it authenticates with it
    // (mutual TLS, renewal by certificate; the token is not sent); the ADS stream keeps its channel.
    const upstream = this.channel();
    const holdsCertificate = upstream?.security === 'mtls' && this.#cert !== undefined && this.#cert.notAfter > Date.now();
    const client = upstream !== undefined ? new Client(upstream.address, upstream.credentials, upstream.options) : conn.client;
    let outcome: Awaited<ReturnType<typeof requestCertificate>>;
    try {
      outcome = await requestCertificate(client, holdsCertificate ? new Metadata() : AdsSession.metadata(token), this.#o.certificateTtlSeconds, this.#o.renewTimeoutMs);
    } finally {
      if (client !== conn.client) client.close();
    }
    if (!stillCurrent()) return 'done';
    if (!outcome.ok) {
      this.#o.log.line(`certificate request failed: ${outcome.message}`);
      return 'retry';
    }
    try {
      writeCertificate(this.#o.bootstrapDir, outcome.cert);
    } catch (e) {
      this.#o.log.line(`cannot write the workload certificate: ${describe(e)}`);
    }
    this.#cert = outcome.cert;
    this.#certReceivedAt = Date.now();
    this.onCertificate(outcome.cert);
    this.#o.log.line(`certificate issued for ${outcome.cert.identity}, valid until ${new Date(outcome.cert.notAfter).toISOString()}${holdsCertificate ? ' (renewed by certificate)' : ''}`);
    return 'renewed';
  }
}
