/**
 * The VM agent (`meshbridge agent`, agent-protocol.md): keeps one ADS stream to the control plane
 * (which registers the VM from it, AR-*), probes the workload and reports changes (H-1..H-5), re-sends
 * the last report every heartbeat and after each reconnect, reconnects with exponential backoff and
 * full jitter, renews its registration token at half its lifetime, and writes a gRPC xDS bootstrap
 * for local proxyless apps pointing at its xDS proxy (agent-protocol.md §9). With `register: false`
 * (identity-only mode, §10) it neither registers nor reports health: it only keeps the workload
 * certificate and token fresh and serves the local services. One log line per state change.
 * Construct, then `start(signal)`; aborting the signal stops it (half-closes the stream, closes the
 * local servers, clears every timer). No global state.
 */
import { join } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { AdsSession, type SessionEnd } from './ads-session.js';
import { describe, GRPC_BOOTSTRAP_FILE, loadOrCreateLocalSecret, nodeId, readToken, TOKEN_FILE, workloadEntryName, writeFileAtomic, type AgentSettings } from './bootstrap.js';
import { parseLocality, type Locality } from '../model/mesh/locality.js';
import { grpcBootstrap } from './grpc-bootstrap.js';
import { splitHostPort, XdsProxy, type UpstreamProvider } from './xds-proxy.js';
import { CertificateFiles, fallbackPolicy, InboundProxy, type InboundDefault, type InboundPort } from './inbound-proxy.js';
import { inboundListenerName, InboundModeWatcher } from './inbound-modes.js';
import { CERTIFICATE_PROVIDERS_DEFAULT } from './grpc-bootstrap.js';
import { CERTIFICATE_PROVIDERS_METADATA } from '../xds/generate/names.js';
import { SdsServer } from './sds-server.js';
import { probeCheck } from './probe-methods.js';
import { ProbeRunner, probeTiming, type ProbeResult } from './probe.js';
import { renewalDelayMs, renewToken } from './token-renewal.js';
import { certificateRenewalDelayMs, fileWatcherProvider, requestCertificate, writeCertificate, type IssuedCertificate } from './certificates.js';
import { Client, Metadata } from '@grpc/grpc-js';
import { controlPlaneChannel, ROOT_CERT_FILE, type UpstreamChannel } from './upstream.js';

export interface AgentOptions {
  /** The bootstrap folder: the token is re-read from it before each connection and renewed into it. */
  readonly bootstrapDir: string;
  readonly settings: AgentSettings;
  /** The token to start with (default: read from the folder). */
  readonly token?: string;
  /** The VM's IP (AR-2, H-2 default probe host). */
  readonly ip: string;
  /** `region/zone/subzone`; overrides `settings.locality`. */
  readonly locality?: string;
  /** One line per state change, without newline. */
  readonly log: (line: string) => void;
  readonly heartbeatMs?: number;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  readonly connectTimeoutMs?: number;
  readonly settleMs?: number;
  readonly shutdownGraceMs?: number;
  readonly renewTimeoutMs?: number;
  readonly renewRetryMs?: number;
  /** Requested workload certificate lifetime (the CA caps it; default 24 h). */
  readonly certificateTtlSeconds?: number;
  readonly random?: () => number;
  /**
   * Register the workload and report its health (default true). False: identity-only mode
   * (agent-protocol.md §10): the workload exists already (a Pod, an operator's WorkloadEntry).
   */
  readonly register?: boolean;
  /** Identity-only mode: the workload name in node ids (default the AR-2 entry name `<group>-<ip>`). */
  readonly name?: string;
  /**
   * Loopback `host:port` of the xDS proxy (§9; port 0 picks one). Absent: no proxy, and the gRPC
   * bootstrap names the control plane itself.
   */
  readonly xdsProxyAddress?: string;
  /**
   * When `xdsProxyAddress` is taken, listen on a free port of the same host instead (logged; the
   * bootstrap names the bound address). For the default address only: several agents on one host.
   */
  readonly xdsProxyFallback?: boolean;
  /** How to reach the control plane for proxied and identity-only calls (default: plaintext to `settings.controlPlane`). */
  readonly upstream?: UpstreamProvider;
  /** Inbound mTLS proxies (§11): listen on `<ip>:port`, forward to `<ip>:appPort`. */
  readonly inbound?: readonly InboundPort[];
  /** What an inbound port without a policy from the control plane does (§11; default: refuse every connection). */
  readonly inboundDefault?: InboundDefault;
  /** The SDS server's address (§12): a unix socket path or a loopback `host:port`. Absent: no SDS. */
  readonly sdsAddress?: string;
}

const DEFAULTS = {
  heartbeatMs: 30_000,
  backoffBaseMs: 200,
  backoffCapMs: 30_000,
  connectTimeoutMs: 5_000,
  settleMs: 1_000,
  shutdownGraceMs: 1_000,
  renewTimeoutMs: 5_000,
  renewRetryMs: 30_000,
  certificateTtlSeconds: 24 * 3600,
};

/** A channel to the control plane on which certificates and tokens are renewed. */
interface Connection {
  readonly client: Client;
}

type Outcome = { readonly kind: 'stopped' } | (Exclude<SessionEnd, { kind: 'stopped' }> & { readonly registered: boolean });

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)). */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}

export class Agent {
  readonly #o: AgentOptions & typeof DEFAULTS;
  readonly #random: () => number;
  readonly name: string;
  readonly locality: Locality;
  readonly grpcBootstrapPath: string;
  /** Resolves once the local services listen and the gRPC bootstrap is written. */
  readonly ready: Promise<void>;
  #markReady: () => void = () => undefined;
  #xdsProxyAddress: string | undefined;
  /** The xDS proxy's local secret (xds-proxy.ts), also in the gRPC bootstrap. */
  #localSecret: string | undefined;
  #conn: Connection | undefined;
  #sds: SdsServer | undefined;
  #sdsAddress: string | undefined;
  #token: string | undefined;
  #health: ProbeResult | undefined;
  #session: AdsSession | undefined;
  #lastLine = '';
  #renewUnimplementedLogged = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #cert: IssuedCertificate | undefined;
  #certTimer: NodeJS.Timeout | undefined;
  #plaintextWarned = false;
  #certReceivedAt = 0;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: AgentOptions) {
    this.#o = { ...DEFAULTS, ...options };
    this.#random = options.random ?? Math.random;
    this.#token = options.token;
    this.name = options.register === false && options.name !== undefined ? options.name : workloadEntryName(options.settings.group, options.ip, options.settings.network);
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
    this.locality = parseLocality(options.locality ?? options.settings.locality);
    this.grpcBootstrapPath = join(options.bootstrapDir, GRPC_BOOTSTRAP_FILE);
  }

  /** The node of the agent's ADS stream (agent-protocol.md §3). */
  node(): MessageInitShape<typeof NodeSchema> {
    const s = this.#o.settings;
    return {
      id: nodeId('sidecar', this.#o.ip, this.name, s.namespace),
      metadata: {
        AUTO_REGISTER_GROUP: s.group,
        NAMESPACE: s.namespace,
        LABELS: { ...s.labels },
        NETWORK: s.network,
        INSTANCE_IPS: this.#o.ip,
        MESHBRIDGE_AGENT: 'true',
        SERVICE_ACCOUNT: s.serviceAccount,
        CLUSTER_ID: s.clusterId,
        ...(s.probe !== undefined ? { HEALTH_CHECKS: 'true' } : {}),
      },
      locality: this.locality,
      userAgentName: 'meshbridge-agent',
    };
  }

  /** The SDS server's bound target (`unix:PATH` or `host:port`), once started. */
  get sdsAddress(): string | undefined {
    return this.#sdsAddress;
  }

  /** The bound address of the xDS proxy, once started. */
  get xdsProxyAddress(): string | undefined {
    return this.#xdsProxyAddress;
  }

  /**
   * Where the agent's local services (xDS proxy, inbound mode watch, identity-only renewals) reach
   * the control plane: a new channel per call from upstream.ts (TLS, mutual TLS once the workload
   * holds a certificate). Without a client certificate the registration token rides along as the
   * credential (`authorization: Bearer`), so a VM without a service account still gets its
   * configuration on the secure port (docs/security.md).
   */
  #upstream(): UpstreamProvider {
    if (this.#o.upstream !== undefined) return this.#o.upstream;
    return () => {
      const channel = this.#upstreamChannel();
      if (channel === undefined) throw new Error('no usable credentials for the control plane');
      const token = this.#token;
      const metadata = channel.security !== 'mtls' && token !== undefined ? AdsSession.metadata(token) : undefined;
      return { address: channel.address, credentials: channel.credentials, options: channel.options, ...(metadata !== undefined ? { metadata } : {}) };
    };
  }

  /**
   * Runs until `signal` aborts. Starts the local services first (rejects, having started nothing,
   * when one cannot listen), writes the gRPC bootstrap, resolves `ready`, then connects.
   */
  async start(signal: AbortSignal): Promise<void> {
    const stops: (() => Promise<void>)[] = [];
    try {
      if (this.#o.xdsProxyAddress !== undefined) {
        this.#localSecret = loadOrCreateLocalSecret(this.#o.bootstrapDir);
        const proxy = new XdsProxy({ upstream: this.#upstream(), log: this.#o.log, localSecret: this.#localSecret });
        this.#xdsProxyAddress = await this.#startXdsProxy(proxy, this.#o.xdsProxyAddress);
        stops.push(() => proxy.stop());
      }
      if (this.#o.sdsAddress !== undefined) {
        const sds = new SdsServer({ log: this.#o.log });
        this.#sdsAddress = await sds.start(this.#o.sdsAddress);
        this.#sds = sds;
        if (this.#cert) sds.update(this.#cert);
        stops.push(async () => {
          this.#sds = undefined;
          await sds.stop();
        });
      }
      if ((this.#o.inbound ?? []).length > 0) stops.push(await this.#startInbound(this.#o.inbound ?? []));
      this.#writeGrpcBootstrap();
      this.#markReady();
      if (this.#o.register === false) await this.#runIdentityOnly(signal);
      else await this.#runRegistered(signal);
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    }
  }

  /**
   * The workload as a proxyless node (the one its gRPC bootstrap names), for the agent's own
   * streams on behalf of local apps (the inbound Listener watch).
   */
  proxylessNode(): MessageInitShape<typeof NodeSchema> {
    const s = this.#o.settings;
    return {
      id: nodeId('proxyless', this.#o.ip, this.name, s.namespace),
      metadata: {
        GENERATOR: 'grpc',
        NAMESPACE: s.namespace,
        LABELS: { ...s.labels },
        ...(s.network !== '' ? { NETWORK: s.network } : {}),
        INSTANCE_IPS: this.#o.ip,
        CLUSTER_ID: s.clusterId,
        ...(s.serviceAccount !== '' ? { [CERTIFICATE_PROVIDERS_METADATA]: CERTIFICATE_PROVIDERS_DEFAULT } : {}),
      },
      locality: this.locality,
      userAgentName: 'meshbridge-agent',
    };
  }

  /** Starts the inbound proxies and the watch of their modes; returns how to stop them all. */
  async #startInbound(ports: readonly InboundPort[]): Promise<() => Promise<void>> {
    const certificates = new CertificateFiles(this.#o.bootstrapDir);
    const proxies: InboundProxy[] = [];
    const stopProxies = async (): Promise<void> => {
      await Promise.all(proxies.map((p) => p.stop()));
    };
    try {
      for (const p of ports) {
        const fallback = fallbackPolicy(this.#o.inboundDefault ?? 'refuse');
        const proxy = new InboundProxy({ host: this.#o.ip, port: p.port, appHost: this.#o.ip, appPort: p.appPort, certificates, log: this.#o.log, ...(fallback ? { fallback } : {}) });
        proxies.push(proxy);
        await proxy.start();
      }
    } catch (e) {
      await stopProxies();
      throw e;
    }
    const watch = new AbortController();
    const watcher = new InboundModeWatcher({
      upstream: this.#upstream(),
      node: this.proxylessNode(),
      ports: new Map(proxies.map((p) => [inboundListenerName(this.#o.ip, p.port), (policy) => p.setPolicy(policy)])),
      log: this.#o.log,
      backoffBaseMs: this.#o.backoffBaseMs,
      backoffCapMs: this.#o.backoffCapMs,
      random: this.#random,
    });
    const watching = watcher.run(watch.signal);
    return async () => {
      watch.abort();
      await watching;
      await stopProxies();
    };
  }

  async #startXdsProxy(proxy: XdsProxy, address: string): Promise<string> {
    try {
      return await proxy.start(address);
    } catch (e) {
      const host = splitHostPort(address)?.host;
      if (this.#o.xdsProxyFallback !== true || host === undefined || !/EADDRINUSE/.test(e instanceof Error ? e.message : '')) throw e;
      const bound = await proxy.start(`${host.includes(':') ? `[${host}]` : host}:0`);
      this.#o.log(`xDS proxy: ${address} is taken; listening on ${bound}`);
      return bound;
    }
  }

  /** Identity-only mode (§10): no ADS stream, no registration, no health; certificates and token only. */
  async #runIdentityOnly(signal: AbortSignal): Promise<void> {
    const target = this.#upstream()();
    const conn: Connection = { client: new Client(target.address, target.credentials, target.options ?? {}) };
    this.#conn = conn;
    this.#currentToken();
    this.#logChange(`identity only: not registering; workload ${this.name}`);
    this.#scheduleRenewal(conn, 'due');
    this.#scheduleCertificate(conn, 0);
    try {
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      this.#conn = undefined;
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      this.#renewTimer = undefined;
      this.#certTimer = undefined;
      conn.client.close();
      this.#logChange('agent stopping');
    }
  }

  async #runRegistered(signal: AbortSignal): Promise<void> {
    const probe = this.#startProbe();
    let attempt = 0;
    try {
      while (!signal.aborted) {
        const end = await this.#connectOnce(signal);
        if (end.kind === 'stopped' || signal.aborted) break;
        if (end.registered) attempt = 0;
        this.#logChange(end.kind === 'refused' ? `refused: ${end.message}` : `disconnected: ${end.message}`);
        await this.#sleep(backoffDelayMs(attempt++, this.#o.backoffBaseMs, this.#o.backoffCapMs, this.#random), signal);
      }
    } finally {
      probe?.stop();
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      this.#logChange('disconnected: agent stopping');
    }
  }

  async #connectOnce(signal: AbortSignal): Promise<Outcome> {
    const token = this.#currentToken();
    if (token === undefined) return { kind: 'unreachable', message: 'no registration token', registered: false };
    let registered = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const upstream = this.#upstreamChannel();
    if (upstream === undefined) return { kind: 'unreachable', message: 'no usable credentials for the control plane', registered: false };
    const session = new AdsSession({
      address: upstream.address,
      credentials: upstream.credentials,
      channelOptions: upstream.options,
      token,
      node: this.node(),
      connectTimeoutMs: this.#o.connectTimeoutMs,
      settleMs: this.#o.settleMs,
      shutdownGraceMs: this.#o.shutdownGraceMs,
      onOpen: () => {
        // A refused agent stays "refused" until it registers or ends otherwise: retries log nothing new.
        if (!this.#lastLine.startsWith('refused: ')) this.#logChange(`connected to ${this.#o.settings.controlPlane}`);
        // H-5: the last report is re-sent after every reconnect, and (beyond Istio) every heartbeat.
        if (this.#health !== undefined) session.sendHealth(this.#health);
        heartbeat = setInterval(() => {
          if (this.#health !== undefined) session.sendHealth(this.#health);
        }, this.#o.heartbeatMs);
      },
      onRegistered: () => {
        registered = true;
        this.#logChange(`registered as ${this.name}`);
        this.#scheduleRenewal(session, 'due');
        this.#scheduleCertificate(session, this.#certificateDue());
      },
    });
    this.#session = session;
    this.#conn = session;
    try {
      const end = await session.run(signal);
      return end.kind === 'stopped' ? end : { ...end, registered };
    } finally {
      this.#session = undefined;
      this.#conn = undefined;
      clearInterval(heartbeat);
      if (this.#renewTimer !== undefined) this.#clear(this.#renewTimer);
      this.#renewTimer = undefined;
      if (this.#certTimer !== undefined) this.#clear(this.#certTimer);
      this.#certTimer = undefined;
    }
  }

  /** The credentials for a new channel to the control plane (upstream.ts); undefined when unreadable (logged). */
  #upstreamChannel(): UpstreamChannel | undefined {
    try {
      const upstream = controlPlaneChannel(this.#o.bootstrapDir, this.#o.settings.controlPlane);
      if (upstream.security === 'plaintext' && !this.#plaintextWarned) {
        this.#plaintextWarned = true;
        this.#o.log(`warning: no ${ROOT_CERT_FILE} in ${this.#o.bootstrapDir}: talking to the control plane in plaintext (re-run workload entry configure for TLS)`);
      }
      return upstream;
    } catch (e) {
      this.#logChange(`cannot read the credentials for the control plane: ${describe(e)}`);
      return undefined;
    }
  }

  /** Milliseconds until the workload certificate is due (0: none yet or expired). */
  #certificateDue(): number {
    // Lifetime counted from when it arrived: the CA back-dates notBefore for clock skew.
    const cert = this.#cert;
    return cert ? certificateRenewalDelayMs({ notBefore: Math.max(cert.notBefore, this.#certReceivedAt), notAfter: cert.notAfter }, Date.now(), this.#random) : 0;
  }

  /** Issue 7: the workload certificate, when the group has a service account (an identity). */
  #scheduleCertificate(session: Connection, delayMs: number): void {
    if (this.#o.settings.serviceAccount === '' || this.#conn !== session) return;
    if (this.#certTimer !== undefined) this.#clear(this.#certTimer);
    this.#certTimer = this.#after(delayMs, () => {
      this.#certTimer = undefined;
      void this.#renewCertificate(session);
    });
  }

  async #renewCertificate(session: Connection): Promise<void> {
    const token = this.#token;
    if (token === undefined || this.#conn !== session) return;
    // A channel of its own, made now: once the agent holds a certificate it authenticates with it
    // (mutual TLS, renewal by certificate; the token is not sent); the ADS stream keeps its channel.
    const upstream = this.#upstreamChannel();
    const holdsCertificate = upstream?.security === 'mtls' && this.#cert !== undefined && this.#cert.notAfter > Date.now();
    const client = upstream !== undefined ? new Client(upstream.address, upstream.credentials, upstream.options) : session.client;
    let outcome: Awaited<ReturnType<typeof requestCertificate>>;
    try {
      outcome = await requestCertificate(client, holdsCertificate ? new Metadata() : AdsSession.metadata(token), this.#o.certificateTtlSeconds, this.#o.renewTimeoutMs);
    } finally {
      if (client !== session.client) client.close();
    }
    if (this.#conn !== session) return;
    if (!outcome.ok) {
      this.#o.log(`certificate request failed: ${outcome.message}`);
      this.#scheduleCertificate(session, this.#o.renewRetryMs);
      return;
    }
    try {
      writeCertificate(this.#o.bootstrapDir, outcome.cert);
    } catch (e) {
      this.#o.log(`cannot write the workload certificate: ${describe(e)}`);
    }
    this.#cert = outcome.cert;
    this.#certReceivedAt = Date.now();
    this.#sds?.update(outcome.cert);
    this.#o.log(`certificate issued for ${outcome.cert.identity}, valid until ${new Date(outcome.cert.notAfter).toISOString()}${holdsCertificate ? ' (renewed by certificate)' : ''}`);
    this.#scheduleCertificate(session, this.#certificateDue());
  }

  /** The token file's content if readable (an operator may have replaced it), else the last one. */
  #currentToken(): string | undefined {
    try {
      this.#token = readToken(this.#o.bootstrapDir);
    } catch (e) {
      if (this.#token === undefined) this.#logChange(`cannot read the registration token: ${e instanceof Error ? e.message : String(e)}`);
    }
    return this.#token;
  }

  /** At most one renewal is pending, and only while `session` is the current one. */
  #scheduleRenewal(session: Connection, when: 'due' | 'retry'): void {
    const token = this.#token;
    if (token === undefined || this.#conn !== session) return;
    const delay = when === 'retry' ? this.#o.renewRetryMs : renewalDelayMs(token, Date.now(), this.#random);
    if (delay === undefined) return; // not a token whose times can be read: nothing to schedule
    if (this.#renewTimer !== undefined) this.#clear(this.#renewTimer);
    this.#renewTimer = this.#after(delay, () => {
      this.#renewTimer = undefined;
      void this.#renew(session);
    });
  }

  async #renew(session: Connection): Promise<void> {
    const current = this.#token;
    if (current === undefined || this.#conn !== session) return;
    const outcome = await renewToken(session.client, current, AdsSession.metadata(current), this.#o.renewTimeoutMs);
    if (this.#conn !== session) return;
    if (outcome.ok) {
      try {
        writeFileAtomic(join(this.#o.bootstrapDir, TOKEN_FILE), `${outcome.token}\n`, 0o600);
      } catch (e) {
        this.#o.log(`cannot write the renewed registration token: ${describe(e)}`);
      }
      this.#token = outcome.token;
      this.#o.log(`registration token renewed, expires at ${new Date(outcome.expiresAt * 1000).toISOString()}`);
      this.#scheduleRenewal(session, 'due');
    } else if (outcome.unimplemented) {
      // The control plane does not offer renewal (yet): keep the current token; try again on the next connection.
      if (!this.#renewUnimplementedLogged) this.#o.log('token renewal is not offered by the control plane; keeping the current token');
      this.#renewUnimplementedLogged = true;
    } else {
      this.#o.log(`token renewal failed: ${outcome.message}`);
      this.#scheduleRenewal(session, 'retry');
    }
  }

  #startProbe(): ProbeRunner | undefined {
    const probe = this.#o.settings.probe;
    if (probe === undefined) return undefined; // H-1: no probe, no health reports
    const check = probeCheck(probe, this.#o.ip);
    if (check === undefined) {
      this.#o.log('the probe names no method (httpGet, tcpSocket, exec or grpc): no health reports');
      return undefined;
    }
    const runner = new ProbeRunner({
      timing: probeTiming(probe),
      check,
      onChange: (r) => {
        this.#health = r;
        this.#o.log(r.healthy ? 'healthy' : `unhealthy: ${r.message}`);
        this.#session?.sendHealth(r);
      },
    });
    runner.start();
    return runner;
  }

  #writeGrpcBootstrap(): void {
    try {
      // With an identity, local gRPC apps read the agent's certificate files (issue 7, A29).
      const doc = grpcBootstrap(this.#o.settings, this.#o.ip, this.name, this.locality, {
        xdsServer: this.#xdsProxyAddress ?? this.#o.settings.controlPlane,
        ...(this.#o.settings.serviceAccount !== '' ? { certificateProviders: fileWatcherProvider(this.#o.bootstrapDir) } : {}),
        ...(this.#localSecret !== undefined ? { localSecret: this.#localSecret } : {}),
      });
      writeFileAtomic(this.grpcBootstrapPath, `${JSON.stringify(doc, null, 2)}\n`, 0o600);
    } catch (e) {
      this.#o.log(`cannot write ${this.grpcBootstrapPath}: ${describe(e)}`);
    }
  }

  /** Logs a line unless it repeats the previous one (one line per state change). */
  #logChange(line: string): void {
    if (line === this.#lastLine) return;
    this.#lastLine = line;
    this.#o.log(line);
  }

  #after(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #clear(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.#timers.delete(t);
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = (): void => {
        this.#clear(t);
        resolve();
      };
      const t = this.#after(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
