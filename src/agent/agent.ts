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
 *
 * The parts: agent-node.ts (who the agent is), credentials.ts (token, certificate, channels to the
 * control plane), renewal-scheduler.ts (one scheduler, for the token and the certificate),
 * local-services.ts (xDS proxy, SDS, inbound proxies, gRPC bootstrap), ads-loop.ts (the ADS stream).
 */
import { Client } from '@grpc/grpc-js';
import type { Locality } from '../model/mesh/locality.js';
import { AdsLoop, type ConnectionSlot } from './ads-loop.js';
import { AgentLog } from './agent-log.js';
import { agentIdentity, proxylessNode, registeringNode, type AgentIdentity, type AgentNode } from './agent-node.js';
import type { AgentSettings } from './bootstrap.js';
import { ControlPlaneTargets, parseControlPlane, type HostResolver } from './control-plane-targets.js';
import { AgentCredentials, type Connection } from './credentials.js';
import type { InboundDefault, InboundPort } from './inbound-proxy.js';
import { LocalServices } from './local-services.js';
import { RenewalScheduler } from './renewal-scheduler.js';
import type { UpstreamProvider } from './xds-proxy.js';

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
  /** Resolves control-plane host names to all their addresses (default: the system resolver). */
  readonly resolveHost?: HostResolver;
  /** The SDS server's address (§12): a unix socket path or a loopback `host:port`. Absent: no SDS. */
  readonly sdsAddress?: string;
  /**
   * The DNS proxy's loopback `host:port`, UDP and TCP (docs/dns.md). The agent subscribes to its
   * NameTable (NDS) on its ADS stream. Absent: no DNS proxy.
   */
  readonly dnsAddress?: string;
  /** When `dnsAddress` is taken, listen on a free port of the same host instead (logged; the default address only). */
  readonly dnsFallback?: boolean;
  /** The resolv.conf giving the DNS proxy its upstreams and search domains (default /etc/resolv.conf). */
  readonly resolvConf?: string;
  /** The agent's loopback HTTP port (`/metrics`, `/debug/ndsz`). Absent: none. */
  readonly httpAddress?: string;
  /** When `httpAddress` is taken, listen on a free port of the same host instead. */
  readonly httpFallback?: boolean;
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

export class Agent {
  readonly #o: AgentOptions & typeof DEFAULTS & { readonly random: () => number };
  readonly #identity: AgentIdentity;
  readonly #log: AgentLog;
  readonly #credentials: AgentCredentials;
  readonly #targets: ControlPlaneTargets;
  readonly #services: LocalServices;
  /** The connection the renewals run on: the registered ADS stream, or identity-only mode's channel. */
  readonly #slot: ConnectionSlot = { current: undefined };
  readonly #renewals: readonly RenewalScheduler<Connection>[];
  /** Resolves once the local services listen and the gRPC bootstrap is written. */
  readonly ready: Promise<void>;
  #markReady: () => void = () => undefined;

  constructor(options: AgentOptions) {
    const o = { ...DEFAULTS, ...options, random: options.random ?? Math.random };
    this.#o = o;
    this.#identity = agentIdentity(options);
    this.#log = new AgentLog(options.log);
    const entries = parseControlPlane(o.settings.controlPlane);
    if (typeof entries === 'string') throw new Error(`controlPlane ${entries}`);
    this.#targets = new ControlPlaneTargets(entries, o.random, o.resolveHost);
    this.#credentials = new AgentCredentials({ ...o, controlPlane: this.#targets, serviceAccount: o.settings.serviceAccount, log: this.#log });
    this.#services = new LocalServices(o, this.#identity, this.#credentials.upstream(), this.#log);
    this.#credentials.onCertificate = (cert) => this.#services.updateCertificate(cert);
    const isCurrent = (conn: Connection): boolean => this.#slot.current === conn;
    this.#renewals = [new RenewalScheduler(this.#credentials.tokenRenewal, o.renewRetryMs, isCurrent), new RenewalScheduler(this.#credentials.certificateRenewal, o.renewRetryMs, isCurrent)];
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
  }

  get name(): string {
    return this.#identity.name;
  }

  get locality(): Locality {
    return this.#identity.locality;
  }

  get grpcBootstrapPath(): string {
    return this.#services.grpcBootstrapPath;
  }

  /** The node of the agent's ADS stream (agent-protocol.md §3). */
  node(): AgentNode {
    return registeringNode(this.#identity);
  }

  /**
   * The workload as a proxyless node (the one its gRPC bootstrap names), for the agent's own
   * streams on behalf of local apps (the inbound Listener watch).
   */
  proxylessNode(): AgentNode {
    return proxylessNode(this.#identity);
  }

  /** The SDS server's bound target (`unix:PATH` or `host:port`), once started. */
  get sdsAddress(): string | undefined {
    return this.#services.sdsAddress;
  }

  /** The bound address of the xDS proxy, once started. */
  get xdsProxyAddress(): string | undefined {
    return this.#services.xdsProxyAddress;
  }

  /** The DNS proxy's bound address, once started. */
  get dnsAddress(): string | undefined {
    return this.#services.dnsAddress;
  }

  /** The bound address of the agent's HTTP port (`/metrics`, `/debug/ndsz`), once started. */
  get httpAddress(): string | undefined {
    return this.#services.httpAddress;
  }

  /**
   * Runs until `signal` aborts. Starts the local services first (rejects, having started nothing,
   * when one cannot listen), writes the gRPC bootstrap, resolves `ready`, then connects.
   */
  async start(signal: AbortSignal): Promise<void> {
    await this.#services.start(this.#credentials.certificate);
    try {
      this.#markReady();
      await this.#targets.resolve();
      if (this.#o.register === false) await this.#runIdentityOnly(signal);
      else await new AdsLoop(this.#identity, this.#credentials, this.#targets, this.#renewals, this.#slot, this.#o, this.#log, this.#services.subscriptions).run(signal);
    } finally {
      for (const renewal of this.#renewals) renewal.cancel();
      await this.#services.stop();
    }
  }

  /** Identity-only mode (§10): no ADS stream, no registration, no health; certificates and token only. */
  async #runIdentityOnly(signal: AbortSignal): Promise<void> {
    const target = this.#credentials.upstream()();
    const conn: Connection = { client: new Client(target.address, target.credentials, target.options ?? {}) };
    this.#slot.current = conn;
    this.#credentials.currentToken();
    this.#log.change(`identity only: not registering; workload ${this.#identity.name}`);
    for (const renewal of this.#renewals) renewal.schedule(conn);
    try {
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      this.#slot.current = undefined;
      for (const renewal of this.#renewals) renewal.cancel();
      conn.client.close();
      this.#log.change('agent stopping');
    }
  }
}
