/**
 * The agent's services for the workload on its VM, all on local addresses: the xDS proxy (§9), the
 * SDS server (§12), the inbound mTLS proxies with the watch of their modes (§11), and the gRPC xDS
 * bootstrap that points local proxyless apps at them. Started before the agent connects; a service
 * that cannot listen fails the start, having stopped those already started.
 */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { errorMessage } from '../lib/errors.js';
import { AgentHttp } from './agent-http.js';
import type { AgentDns } from './dns/agent-dns.js';
import type { DiscoveryResponse } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { AgentLog } from './agent-log.js';
import { proxylessNode, type AgentIdentity } from './agent-node.js';
import { describe, ENVOY_BOOTSTRAP_FILE, GRPC_BOOTSTRAP_FILE, loadOrCreateLocalSecret, writeFileAtomic } from './bootstrap.js';
import { fileWatcherProvider, type IssuedCertificate } from './certificates.js';
import { grpcBootstrap } from './grpc-bootstrap.js';
import { inboundListenerName, InboundModeWatcher } from './inbound-modes.js';
import { CertificateFiles, fallbackPolicy, InboundProxy, type InboundDefault, type InboundPort } from './inbound-proxy.js';
import { SdsServer } from './sds-server.js';
import { firstControlPlane } from './control-plane-targets.js';
import { ListenError, splitHostPort, XdsProxy, type UpstreamProvider } from './xds-proxy.js';

export interface LocalServiceOptions {
  readonly bootstrapDir: string;
  readonly xdsProxyAddress?: string | undefined;
  readonly xdsProxyFallback?: boolean | undefined;
  readonly sdsAddress?: string | undefined;
  readonly inbound?: readonly InboundPort[] | undefined;
  readonly inboundDefault?: InboundDefault | undefined;
  /** The DNS proxy's loopback `host:port` (docs/dns.md); absent: none. */
  readonly dnsAddress?: string | undefined;
  /** When `dnsAddress` is taken, listen on a free port of the same host instead (the default address only). */
  readonly dnsFallback?: boolean | undefined;
  /** The resolv.conf giving the DNS proxy its upstreams and search domains (default /etc/resolv.conf). */
  readonly resolvConf?: string | undefined;
  /** The agent's HTTP port (`/metrics`, `/debug/ndsz`): loopback `host:port`; absent: none. */
  readonly httpAddress?: string | undefined;
  /** When `httpAddress` is taken, listen on a free port of the same host instead. */
  readonly httpFallback?: boolean | undefined;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly random: () => number;
}

export class LocalServices {
  readonly #o: LocalServiceOptions;
  readonly #identity: AgentIdentity;
  readonly #upstream: UpstreamProvider;
  readonly #log: AgentLog;
  readonly #stops: (() => Promise<void>)[] = [];
  readonly grpcBootstrapPath: string;
  #xdsProxyAddress: string | undefined;
  /** The xDS proxy's local secret (xds-proxy.ts), also in the gRPC bootstrap. */
  #localSecret: string | undefined;
  #sds: SdsServer | undefined;
  #sdsAddress: string | undefined;
  #dns: AgentDns | undefined;
  #dnsAddress: string | undefined;
  #httpAddress: string | undefined;
  /** The agent's metrics (the DNS proxy's counters), served on its HTTP port; made when DNS or that port is on. */
  #metrics: Registry | undefined;
  /** Writing envoy-bootstrap.yaml, in the background after the start (its Envoy types take seconds to load). */
  #envoyBootstrap: Promise<void> | undefined;
  /** The types the agent consumes on its ADS stream, by type URL (NDS when the DNS proxy runs). */
  readonly subscriptions = new Map<string, (response: DiscoveryResponse) => void>();

  constructor(o: LocalServiceOptions, identity: AgentIdentity, upstream: UpstreamProvider, log: AgentLog) {
    this.#o = o;
    this.#identity = identity;
    this.#upstream = upstream;
    this.#log = log;
    this.grpcBootstrapPath = join(o.bootstrapDir, GRPC_BOOTSTRAP_FILE);
  }

  /** The bound address of the xDS proxy, once started. */
  get xdsProxyAddress(): string | undefined {
    return this.#xdsProxyAddress;
  }

  /** The SDS server's bound target (`unix:PATH` or `host:port`), once started. */
  get sdsAddress(): string | undefined {
    return this.#sdsAddress;
  }

  /** The DNS proxy's bound address, once started (undefined: no DNS proxy). */
  get dnsAddress(): string | undefined {
    return this.#dnsAddress;
  }

  /** The bound address of the agent's HTTP port, once started. */
  get httpAddress(): string | undefined {
    return this.#httpAddress;
  }

  /** Serves a newly issued workload certificate over SDS (if it runs). */
  updateCertificate(cert: IssuedCertificate): void {
    this.#sds?.update(cert);
  }

  /** Starts the configured services and writes the gRPC bootstrap; on failure stops what started and rejects. */
  async start(currentCertificate: IssuedCertificate | undefined): Promise<void> {
    try {
      if (this.#o.xdsProxyAddress !== undefined) {
        this.#localSecret = loadOrCreateLocalSecret(this.#o.bootstrapDir);
        const proxy = new XdsProxy({ upstream: this.#upstream, log: this.#log.line, localSecret: this.#localSecret });
        this.#xdsProxyAddress = await this.#listen('xDS proxy', this.#o.xdsProxyAddress, this.#o.xdsProxyFallback === true, (a) => proxy.start(a));
        this.#stops.push(() => proxy.stop());
      }
      if (this.#o.dnsAddress !== undefined || this.#o.httpAddress !== undefined) this.#metrics = new (await import('prom-client')).Registry();
      const metrics = this.#metrics;
      if (this.#o.dnsAddress !== undefined && metrics !== undefined) {
        // Loaded on demand, as every optional service: an agent with `--dns-address off` does not pay for it.
        const { AgentDns, DEFAULT_RESOLV_CONF, NAME_TABLE_TYPE_URL } = await import('./dns/agent-dns.js');
        const dns = new AgentDns({ resolvConfPath: this.#o.resolvConf ?? DEFAULT_RESOLV_CONF, namespace: this.#identity.settings.namespace, metrics, log: this.#log.line });
        this.#dnsAddress = await this.#listen('DNS proxy', this.#o.dnsAddress, this.#o.dnsFallback === true, (a) => dns.start(a));
        this.#dns = dns;
        this.subscriptions.set(NAME_TABLE_TYPE_URL, dns.onResponse);
        this.#stops.push(() => dns.stop());
      }
      if (this.#o.httpAddress !== undefined && metrics !== undefined) {
        const dns = this.#dns;
        const http = new AgentHttp({ metrics, ...(dns !== undefined ? { nameTable: () => dns.describe() } : {}) });
        this.#httpAddress = await this.#listen("agent's HTTP port", this.#o.httpAddress, this.#o.httpFallback === true, (a) => http.start(a));
        this.#stops.push(() => http.stop());
      }
      if (this.#o.sdsAddress !== undefined) {
        const sds = new SdsServer({ log: this.#log.line });
        this.#sdsAddress = await sds.start(this.#o.sdsAddress);
        this.#sds = sds;
        if (currentCertificate) sds.update(currentCertificate);
        this.#stops.push(async () => {
          this.#sds = undefined;
          await sds.stop();
        });
      }
      if ((this.#o.inbound ?? []).length > 0) this.#stops.push(await this.#startInbound(this.#o.inbound ?? []));
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.#writeGrpcBootstrap();
    this.#envoyBootstrap = this.#writeEnvoyBootstrap();
  }

  /** Stops every started service, the last started first. Never rejects. */
  async stop(): Promise<void> {
    await this.#envoyBootstrap;
    for (const stop of this.#stops.splice(0).reverse()) await stop().catch(() => undefined);
  }

  /**
   * Starts a local listener on `address`; when it is taken and `fallback` is set, on a free port of
   * the same host instead (logged: several agents on one host with default addresses). Failures are
   * ListenErrors naming what could not listen.
   */
  async #listen(what: string, address: string, fallback: boolean, start: (address: string) => Promise<string>): Promise<string> {
    try {
      return await start(address);
    } catch (e) {
      const host = splitHostPort(address)?.host;
      if (!fallback || host === undefined || !/EADDRINUSE/.test(errorMessage(e))) throw e instanceof ListenError ? e : new ListenError(`cannot listen on ${address} for the ${what}: ${errorMessage(e)}`);
      const bound = await start(`${host.includes(':') ? `[${host}]` : host}:0`);
      this.#log.line(`${what}: ${address} is taken; listening on ${bound}`);
      return bound;
    }
  }

  /** Starts the inbound proxies and the watch of their modes; returns how to stop them all. */
  async #startInbound(ports: readonly InboundPort[]): Promise<() => Promise<void>> {
    const certificates = new CertificateFiles(this.#o.bootstrapDir);
    const ip = this.#identity.ip;
    const proxies: InboundProxy[] = [];
    const stopProxies = async (): Promise<void> => {
      await Promise.all(proxies.map((p) => p.stop()));
    };
    try {
      for (const p of ports) {
        const fallback = fallbackPolicy(this.#o.inboundDefault ?? 'refuse');
        const proxy = new InboundProxy({ host: ip, port: p.port, appHost: ip, appPort: p.appPort, certificates, log: this.#log.line, ...(fallback ? { fallback } : {}) });
        proxies.push(proxy);
        await proxy.start();
      }
    } catch (e) {
      await stopProxies();
      throw e;
    }
    const watch = new AbortController();
    const watcher = new InboundModeWatcher({
      upstream: this.#upstream,
      node: proxylessNode(this.#identity),
      ports: new Map(proxies.map((p) => [inboundListenerName(ip, p.port), (policy) => p.setPolicy(policy)])),
      log: this.#log.line,
      backoffBaseMs: this.#o.backoffBaseMs,
      backoffCapMs: this.#o.backoffCapMs,
      random: this.#o.random,
    });
    const watching = watcher.run(watch.signal);
    return async () => {
      watch.abort();
      await watching;
      await stopProxies();
    };
  }

  /**
   * `DIR/envoy-bootstrap.yaml` for a sidecar Envoy on the VM (docs/envoy-on-vms.md): rewritten at
   * every start with the bound xDS proxy and SDS addresses, when both run (Envoy needs them). In the
   * background: the Envoy types take seconds to load and must not delay the agent's start. A failure
   * is logged: the agent still serves.
   */
  async #writeEnvoyBootstrap(): Promise<void> {
    const xdsProxy = this.#xdsProxyAddress;
    const sds = this.#sdsAddress;
    if (xdsProxy === undefined || sds === undefined) return;
    const { settings, ip, name, locality } = this.#identity;
    const file = join(this.#o.bootstrapDir, ENVOY_BOOTSTRAP_FILE);
    try {
      const { writeEnvoyBootstrap } = await import('./envoy-bootstrap.js');
      writeEnvoyBootstrap(this.#o.bootstrapDir, settings, ip, name, locality, {
        xdsProxy,
        sdsAddress: sds.startsWith('unix:') ? sds.slice('unix:'.length) : sds,
        ...(this.#localSecret !== undefined ? { localSecret: this.#localSecret } : {}),
      });
    } catch (e) {
      this.#log.line(`cannot write ${file}: ${describe(e)}`);
    }
  }

  #writeGrpcBootstrap(): void {
    const { settings, ip, name, locality } = this.#identity;
    try {
      // With an identity, local gRPC apps read the agent's certificate files (issue 7, A29).
      const doc = grpcBootstrap(settings, ip, name, locality, {
        xdsServer: this.#xdsProxyAddress ?? firstControlPlane(settings.controlPlane),
        ...(settings.serviceAccount !== '' ? { certificateProviders: fileWatcherProvider(this.#o.bootstrapDir) } : {}),
        ...(this.#localSecret !== undefined ? { localSecret: this.#localSecret } : {}),
      });
      writeFileAtomic(this.grpcBootstrapPath, `${JSON.stringify(doc, null, 2)}\n`, 0o600);
    } catch (e) {
      this.#log.line(`cannot write ${this.grpcBootstrapPath}: ${describe(e)}`);
    }
  }
}
