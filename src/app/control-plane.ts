/**
 * The composition root of `meshbridge serve`: store (file or etcd, store-backend.ts) → config feed
 * → registry → push pipeline → resource cache → ADS server, plus the lifecycle (registration and
 * health, writing through the same store), metrics and debug endpoints. Construct, then
 * `start()`; `stop()` ends everything (STYLE principle 3).
 *
 * Replicas: any number of `serve --store etcd://...` processes share one configuration; each
 * serves xDS from its own registry fed by the store's watch, and coordinates with the others
 * through the store (sessions, leader election: lifecycle/coordination.ts).
 */
import { hostname } from 'node:os';
import { status as grpcStatus } from '@grpc/grpc-js';
import { listenRefused } from './start-errors.js';
import { HttpApi, json, type HttpHandler } from '../api/http-api.js';
import { introspectionRoutes } from '../api/introspection-routes.js';
import type { Logger } from '../lib/log/logger.js';
import { objectKey } from '../model/config/types.js';
import { buildRegistry, createInputs, type Registry } from '../registry/registry.js';
import type { ReloadReport } from '../sources/file/config-folder.js';
import { createMetrics, type ControlPlaneMetrics } from '../status/metrics.js';
import { syncStatus } from '../status/sync-status.js';
import { ResourceCache } from '../xds/cache/resource-cache.js';
import { envoyGenerator } from '../xds/generate/envoy/index.js';
import { grpcGenerator, XdsPipeline, type PushInfo } from '../xds/generate/pipeline.js';
import { XdsServer } from '../xds/server/xds-server.js';
import type { XdsEvent } from '../xds/server/events.js';
import { TYPE_SHORT_NAMES } from '../status/sync-status.js';
import { LISTENER } from '../xds/types/resource-types.js';
import { formatFinding } from '../model/config/format-finding.js';
import { endpointsReport } from './endpoints-report.js';
import { RegistrationController } from '../lifecycle/registration-controller.js';
import { DEFAULT_TOKEN_MAX_LIFETIME_SECONDS, renewServiceDefinition, renewServiceImplementation } from '../lifecycle/renew-service.js';
import { tokenRefusal, type GroupLookup } from '../lifecycle/token-admission.js';
import type { TokenClaims } from '../lifecycle/registration-token.js';
import { ConfigFeed } from './config-feed.js';
import { startClusterSource, type ClusterSource, type ClusterSourceOptions } from '../sources/kube/cluster-source.js';
import { openStoreBackend, type StoreBackend } from './store-backend.js';
import type { EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import type { SecretsKeyring } from '../security/secrets-at-rest.js';
import { loadOrCreateCa, loadOrCreateSharedCa, type CertificateAuthority } from '../security/ca.js';
import { authenticate, namespaceRefusal, spiffeId } from '../security/peer-identity.js';
import { ServingCertificate } from '../security/server-certificate.js';
import type { Admission, StreamTransport } from '../xds/server/ads-stream.js';
import type { ProxyIdentity } from '../xds/server/node-identity.js';
import { RESOURCE_EXHAUSTED, type XdsLimits } from '../xds/server/limits.js';
import { certificateServiceDefinition, certificateServiceImplementation } from '../security/cert-service.js';

export interface ControlPlaneOptions {
  /** The config folders of the file store (when `store` is not given). */
  readonly configPaths?: readonly string[];
  /** `file://DIR` or `etcd://h:p[,h:p...]` (cli-contract `--store`); default: the file store on `configPaths`. */
  readonly store?: string;
  /** TLS and user/password for an etcd store (`--etcd-*`; override the URL's options). */
  readonly etcd?: EtcdSecurityFlags;
  /** Seals the CA key and the token signing key at rest (`--secrets-key-file`; docs/security.md §7). */
  readonly secrets?: SecretsKeyring;
  /** etcd session TTL in seconds: how long after a crash a replica's workloads are reclaimed (default 5). */
  readonly sessionTtlSeconds?: number;
  /** The plaintext xDS port (loopback development; the CLI refuses other addresses unless asked). */
  readonly xdsAddress: string;
  /** false: no plaintext xDS port (`--no-plaintext-xds`). Default true. */
  readonly plaintextXds?: boolean;
  /** The secure (TLS) xDS port; absent: none (the CLI's default is 127.0.0.1:15012). */
  readonly secureXdsAddress?: string;
  /** Lifetime of the secure port's serving certificate (re-issued at half of it; default 24 h). */
  readonly serverCertificateTtlSeconds?: number;
  readonly httpAddress: string;
  readonly debounceMs?: number;
  readonly debounceMaxMs?: number;
  readonly watchDebounceMs?: number;
  readonly logger: Logger;
  /** Control-plane instance name (Istio: the istiod pod name). */
  readonly instance?: string;
  /** File store: where registered entries, status and the signing key live (default `<first config>.state`). */
  readonly stateDir?: string;
  /** PILOT_WORKLOAD_ENTRY_GRACE_PERIOD (default 10 s). */
  readonly gracePeriodMs?: number;
  /** An operator's CA in Istio's cacerts layout; default: a self-signed root in the state directory. */
  readonly cacertsDir?: string;
  /** Bounds on xDS clients (issue 11; `serve --max-*` flags); unset ones keep DEFAULT_XDS_LIMITS. */
  readonly xdsLimits?: Partial<XdsLimits>;
  /** How long a registration token lineage may be renewed from its original issue (default 30 days; issue 11). */
  readonly tokenMaxLifetimeSeconds?: number;
  /** Pods, Services, EndpointSlices, Nodes and Namespaces read from a Kubernetes cluster beside the store (`--kubeconfig`). */
  readonly kube?: ClusterSourceOptions;
}

export interface Listening {
  /** The plaintext xDS port ('' when turned off). */
  readonly xds: string;
  /** The secure xDS port, when configured. */
  readonly xdsTls?: string;
  readonly http: string;
}

export class ControlPlane {
  readonly registry: Registry;
  readonly metrics: ControlPlaneMetrics;
  readonly cache = new ResourceCache();
  readonly backend: StoreBackend;
  readonly feed: ConfigFeed;
  readonly pipeline: XdsPipeline;
  readonly xds: XdsServer;
  private readonly http: HttpApi;
  private readonly log: Logger;
  readonly instance: string;
  private lastReload: ReloadReport | undefined;
  /** Snapshot version → performance.now() of the first change it carries. */
  private readonly pendingConvergence = new Map<string, number>();
  private readonly viewOfStream = new Map<string, string>();
  /** Delta streams: their LDS requests carry subscription changes, not the subscription. */
  private readonly deltaStreams = new Set<string>();
  private ready = false;
  private cluster: ClusterSource | undefined;
  private ca: CertificateAuthority | undefined;
  private readonly servingCertificate: ServingCertificate;
  readonly registration: RegistrationController;
  /** The live WorkloadGroups by namespace and name (token admission, issue 11). */
  private readonly group: GroupLookup = (ns, name) => this.registry.inputs.workloadGroups.get(`WorkloadGroup/${ns}/${name}`);
  /** The registration-token key: filled in by `start()` from the store (shared by every replica). */
  private readonly signingKey = Buffer.alloc(32);

  constructor(private readonly o: ControlPlaneOptions) {
    this.log = o.logger;
    this.instance = o.instance ?? `meshbridge-${hostname()}-${process.pid}`;
    this.metrics = createMetrics();
    const inputs = createInputs();
    this.registry = buildRegistry(inputs);
    this.backend = openStoreBackend({
      configPaths: o.configPaths ?? [],
      ...(o.store !== undefined ? { store: o.store } : {}),
      ...(o.etcd !== undefined ? { etcd: o.etcd } : {}),
      ...(o.secrets !== undefined ? { secrets: o.secrets } : {}),
      ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
      ...(o.sessionTtlSeconds !== undefined ? { sessionTtlSeconds: o.sessionTtlSeconds } : {}),
      instance: this.instance,
      watchDebounceMs: o.watchDebounceMs ?? 50,
      onReload: (r) => this.onReload(r),
      log: this.log,
    });
    this.feed = new ConfigFeed(this.backend.store, inputs, {
      log: this.log,
      onApplied: (n) => {
        this.metrics.inboundUpdates.inc({ type: 'config' }, n);
        this.metrics.services.set(this.registry.services.size);
      },
      onConnection: (up) => this.metrics.storeConnected.set(up ? 1 : 0),
    });
    this.pipeline = new XdsPipeline({
      registry: this.registry,
      cache: this.cache,
      generators: { grpc: grpcGenerator, envoy: envoyGenerator },
      ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
      ...(o.debounceMaxMs !== undefined ? { debounceMaxMs: o.debounceMaxMs } : {}),
      onPush: (p) => this.onPush(p),
    });
    const group = this.group;
    this.registration = new RegistrationController({
      store: this.backend.store,
      coordination: this.backend.coordination,
      group,
      signingKey: this.signingKey,
      ...(o.gracePeriodMs !== undefined ? { gracePeriodMs: o.gracePeriodMs } : {}),
      log: this.log,
    });
    this.registry.inputs.workloadGroups.subscribe((events) => {
      for (const e of events) if (e.new && !e.old) this.registration.onGroupAdded(e.new);
      // Issue 11: a group deleted, its service account changed or a token revoked ends the agent
      // streams admitted with such tokens (they are refused when they come back).
      // Only the streams of the groups that changed are checked again (work grows with the change).
      const changed = new Set(events.map((e) => e.new ?? e.old).filter((g) => g !== undefined).map((g) => `${g.metadata.namespace}/${g.metadata.name}`));
      for (const { streamId, refusal } of this.registration.refusedStreams(changed)) {
        if (this.xds.endStream(streamId, refusal.code, refusal.reason)) this.log.warn('agent stream ended: its registration token is no longer admitted', { stream: streamId, reason: refusal.reason });
      }
    });
    this.xds = new XdsServer({
      source: this.cache,
      viewOf: (proxy) => this.pipeline.viewOf(proxy),
      admit: (proxy, md, transport) => this.admitStream(proxy, md, transport),
      ...(o.xdsLimits !== undefined ? { limits: o.xdsLimits } : {}),
      extraServices: [
        {
          definition: renewServiceDefinition,
          implementation: renewServiceImplementation({
            signingKey: this.signingKey,
            group,
            trustDomain: () => this.registry.mesh.value().trustDomain,
            anchors: () => this.certificateAuthority().trustAnchors(),
            maxLifetimeSeconds: o.tokenMaxLifetimeSeconds ?? DEFAULT_TOKEN_MAX_LIFETIME_SECONDS,
            connectedAndHealthy: (claims: TokenClaims) => this.registration.connectedAndHealthy(claims),
          }),
        },
        {
          definition: certificateServiceDefinition,
          implementation: certificateServiceImplementation({
            ca: { issue: (csr, id, ttl, now) => this.certificateAuthority().issue(csr, id, ttl, now) },
            signingKey: this.signingKey,
            trustDomain: () => this.registry.mesh.value().trustDomain,
            anchors: () => this.certificateAuthority().trustAnchors(),
            group,
            groups: () => this.registry.inputs.workloadGroups.list(),
          }),
        },
      ],
    });
    this.xds.onEvent((e) => this.onXdsEvent(e));
    this.http = new HttpApi(this.routes());
    this.servingCertificate = new ServingCertificate(() => this.certificateAuthority(), {
      ...(o.serverCertificateTtlSeconds !== undefined ? { ttlSeconds: o.serverCertificateTtlSeconds } : {}),
      onError: (e) => this.log.error('re-issuing the secure xDS port\'s certificate failed; retrying', { error: e instanceof Error ? e.message : String(e) }),
    });
  }

  /**
   * Stream admission (docs/security.md). Plaintext port: agents' registration tokens (admission.ts),
   * everyone else as they are (loopback development). Secure port: a credential is required (client
   * certificate, else registration token); the proxy's namespace must be the credential's; agents
   * also pass their registration rules.
   */
  private admitStream(proxy: ProxyIdentity, md: Readonly<Record<string, string>>, transport: StreamTransport): Admission {
    // Bound but still loading (start): nothing is served or written for a stream yet; it retries.
    if (!this.ready) return { ok: false, code: grpcStatus.UNAVAILABLE, message: 'the control plane is starting; retry' };
    if (!transport.secure) return this.registration.admit(proxy, md);
    const check = authenticate(
      { certificate: transport.certificate, authorization: md['authorization'] },
      {
        anchors: this.certificateAuthority().trustAnchors(),
        trustDomain: this.registry.mesh.value().trustDomain,
        signingKey: this.signingKey,
        now: Date.now(),
        admitToken: (claims) => tokenRefusal(claims, this.group),
      },
    );
    if (!check.ok) return { ok: false, code: check.code, message: check.reason };
    const refusal = namespaceRefusal(check.identity, proxy.namespace ?? '');
    if (refusal) return { ok: false, code: refusal.code, message: refusal.reason };
    const agent = this.registration.admit(proxy, md);
    if (!agent.ok) return agent;
    const identity = check.identity.serviceAccount !== '' ? spiffeId(check.identity) : `registration token of namespace ${check.identity.namespace}`;
    return { ok: true, identity };
  }

  /** The CA; loaded (or created) by `start`. */
  certificateAuthority(): CertificateAuthority {
    if (!this.ca) throw new Error('the certificate authority is not loaded yet');
    return this.ca;
  }

  /** The file store's state directory (undefined with etcd). */
  get stateDir(): string | undefined {
    return this.backend.stateDir;
  }

  /**
   * Starts in an order that keeps a refused start harmless (issue 13): (1) the store's exclusive
   * lock (file store: the state directory's; another live serve there refuses the start), (2) every
   * listening address is bound (a taken port refuses the start) — before any state is read or
   * written; streams arriving meanwhile are refused UNAVAILABLE ("starting") and retry; (3) the
   * store, the configuration and the CA are loaded; (4) the process serves, and only then does the
   * lifecycle start writing (reclaiming entries of an earlier run). A refused start releases what
   * it took and throws StateDirLocked or ListenRefused.
   */
  async start(): Promise<Listening> {
    this.backend.lock();
    let listening: Listening;
    try {
      listening = await this.bindAll();
    } catch (e) {
      await this.xds.stop(0);
      await this.http.stop();
      this.backend.unlock();
      throw e;
    }
    try {
      await this.load();
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e;
    }
    this.ready = true;
    this.registration.start();
    return listening;
  }

  /** Reads the store, the configuration and the CA, and starts the push pipeline (start, step 3). */
  private async load(): Promise<void> {
    const key = await this.backend.start();
    if (key.length !== this.signingKey.length) throw new Error(`the signing key has ${key.length} bytes, not ${this.signingKey.length}`);
    key.copy(this.signingKey);
    await this.feed.start();
    if (this.o.kube !== undefined) this.cluster = await startClusterSource(this.o.kube, this.registry, this.log);
    // Issue 7: the CA of the file store lives in its state directory; with etcd in etcd, shared by
    // every replica (the first creates it); an operator's cacerts folder takes precedence.
    const trustDomain = this.registry.mesh.value().trustDomain;
    if (this.backend.sharedCa !== undefined) this.ca = await loadOrCreateSharedCa(trustDomain, this.backend.sharedCa, this.o.cacertsDir);
    else if (this.backend.stateDir !== undefined) this.ca = await loadOrCreateCa(this.backend.stateDir, trustDomain, this.o.cacertsDir, this.o.secrets);
    else throw new Error('the store keeps no certificate authority');
    if (this.o.secureXdsAddress !== undefined) await this.servingCertificate.start();
    this.metrics.storeConnected.set(1);
    this.metrics.services.set(this.registry.services.size);
    this.log.info('configuration loaded', { store: this.backend.store.description, revision: this.feed.status().revision, instance: this.instance });
    this.pipeline.start();
  }

  /** Binds the plaintext xDS, secure xDS and HTTP addresses (in that order); a failure names the serve flag. */
  private async bindAll(): Promise<Listening> {
    const bind = async <T>(option: string, address: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (e) {
        throw listenRefused(option, address, e);
      }
    };
    const xds = this.o.plaintextXds === false ? undefined : await bind('--xds-address', this.o.xdsAddress, () => this.xds.start(this.o.xdsAddress));
    const secure = this.o.secureXdsAddress;
    const xdsTls = secure === undefined ? undefined : await bind('--secure-xds-address', secure, () => this.xds.startSecure(secure, this.servingCertificate.credentials));
    const http = await bind('--http-address', this.o.httpAddress, () => this.http.start(this.o.httpAddress));
    return {
      xds: xds !== undefined ? `${xds.host}:${xds.port}` : '',
      ...(xdsTls !== undefined ? { xdsTls: `${xdsTls.host}:${xdsTls.port}` } : {}),
      http: `${http.host}:${http.port}`,
    };
  }

  async stop(): Promise<void> {
    this.ready = false;
    this.servingCertificate.stop();
    await this.xds.stop(2000); // streams end: their disconnects are written before the store closes
    await this.registration.stop();
    await this.pipeline.stop();
    await this.feed.stop();
    await this.cluster?.stop();
    await this.backend.stop();
    await this.http.stop();
    this.backend.unlock();
  }

  /** A reload from the folder (file store): refused files are reported and keep serving their last good version. */
  private onReload(r: ReloadReport): void {
    const first = this.lastReload === undefined;
    this.lastReload = r;
    for (const path of r.rejected) {
      const errors = r.snapshot.findings.filter((f) => f.file === path && f.severity === 'error');
      this.metrics.rejectedConfigs.inc({ type: 'file' }, 1);
      for (const f of errors) this.metrics.rejectedConfigs.inc({ type: f.kind || 'unknown' });
      this.log.warn(`configuration change refused, serving the last good version of ${path}`, {
        errors: errors.map((f) => formatFinding(f, 'error')),
      });
    }
    if (first) {
      for (const f of r.snapshot.findings.filter((x) => x.severity === 'error' && !r.rejected.includes(x.file))) {
        this.log.warn(`invalid configuration left out: ${formatFinding(f, 'error')}`);
      }
    }
    // Issue 13: an accepted file's warnings (unknown fields with their did-you-mean, ...) are said too.
    const applied = new Set(r.applied);
    for (const f of r.snapshot.findings) {
      if (f.severity === 'warning' && applied.has(f.file)) this.log.warn(`configuration warning: ${formatFinding(f, 'warning')}`);
    }
    for (const d of r.duplicates) this.log.warn(`${d.key} is defined in more than one file (${d.places.join(', ')}); the last one is served: define each object once`);
    if (r.applied.length > 0) this.log.info('configuration applied', { files: r.applied, objects: r.objectCount });
  }

  /**
   * Records when the changes of each new snapshot version began (for pilot_proxy_convergence_time
   * on its ACKs). Versions are unique per cache, and views of one class share their class's: the
   * cost follows the snapshots the push made, not the number of views (measured cause, bench S2:
   * reading 2,000 views × 4 types after every push was 9% of the control plane's CPU).
   */
  private onPush(p: PushInfo): void {
    this.metrics.debounceTime.observe(p.debounceSeconds);
    this.metrics.xdsPushTime.observe({ type: 'all' }, p.pushSeconds);
    for (const version of this.cache.takeMintedVersions()) {
      if (!this.pendingConvergence.has(version)) this.pendingConvergence.set(version, p.firstChangeAt);
    }
    if (this.pendingConvergence.size > 100_000) {
      let excess = this.pendingConvergence.size - 50_000;
      for (const version of this.pendingConvergence.keys()) {
        if (excess-- <= 0) break;
        this.pendingConvergence.delete(version); // the oldest first (insertion order)
      }
    }
  }

  private onXdsEvent(e: XdsEvent): void {
    switch (e.event) {
      case 'connect':
        this.registration.onConnect(e.stream.streamId, e.stream.proxy);
        this.viewOfStream.set(e.stream.streamId, e.stream.view);
        if (e.stream.protocol === 'delta') this.deltaStreams.add(e.stream.streamId);
        this.metrics.xdsClients.inc({ version: e.stream.proxy.kind });
        this.log.info('proxy connected', { proxy: e.stream.proxy.id, kind: e.stream.proxy.kind, protocol: e.stream.protocol });
        break;
      case 'disconnect': {
        this.registration.onDisconnect(e.streamId);
        const view = this.viewOfStream.get(e.streamId);
        this.viewOfStream.delete(e.streamId);
        this.deltaStreams.delete(e.streamId);
        if (view !== undefined) {
          this.pipeline.release(view, e.streamId);
          this.metrics.xdsClients.dec({ version: view.split('|')[0] ?? 'unknown' });
        }
        this.log.info('proxy disconnected', { proxy: e.proxyId, reason: e.reason });
        break;
      }
      case 'response':
        this.metrics.xdsPushes.inc({ type: (TYPE_SHORT_NAMES[e.typeUrl] ?? 'other').toLowerCase() });
        break;
      case 'ack': {
        const first = this.pendingConvergence.get(e.version);
        if (first !== undefined) this.metrics.proxyConvergenceTime.observe((performance.now() - first) / 1000);
        break;
      }
      case 'nack':
        this.metrics.xdsRejects.inc({ type: (TYPE_SHORT_NAMES[e.typeUrl] ?? 'other').toLowerCase() });
        this.log.warn('proxy rejected configuration (NACK)', { proxy: e.proxyId, type: TYPE_SHORT_NAMES[e.typeUrl], version: e.version, error: e.error.message });
        break;
      case 'health':
        this.registration.onHealth(e.streamId, e.healthy, e.message);
        this.log.info(e.healthy ? 'workload healthy' : 'workload unhealthy', { proxy: e.proxyId, ...(e.healthy ? {} : { reason: e.message }) });
        break;
      case 'refused':
        // A limit's refusal was logged by its 'limit' event.
        if (e.code !== RESOURCE_EXHAUSTED) this.log.warn('proxy refused', { proxy: e.proxyId, reason: e.message });
        break;
      case 'limit':
        // The stream is refused and ends: one line and one count per stream.
        this.metrics.xdsLimitExceeded.inc({ limit: e.exceeded.limit });
        this.log.warn('xDS limit exceeded, stream refused', { proxy: e.proxyId, limit: e.exceeded.limit, value: e.exceeded.value, requested: e.exceeded.observed });
        break;
      case 'request': {
        // Issue 7: xDS-enabled gRPC servers subscribe to their inbound listeners by name (SotW:
        // `names` is the whole subscription; grpc-js-xds speaks SotW only).
        const view = this.viewOfStream.get(e.streamId);
        if (e.typeUrl === LISTENER.typeUrl && view !== undefined && !this.deltaStreams.has(e.streamId)) this.pipeline.noteRequestedListeners(view, e.names, e.streamId);
        break;
      }
      case 'problem':
        if (e.event === 'problem') this.log.warn('xDS problem', { proxy: e.proxyId, type: e.typeUrl, message: e.message });
        break;
    }
  }

  /** One sentence per file whose version on disk is not (entirely) what is served (/ready). */
  private configWarnings(): string[] {
    const out: string[] = [];
    for (const f of this.lastReload?.snapshot.files ?? []) {
      const errors = f.findings.filter((x) => x.severity === 'error').length;
      if (errors === 0) continue;
      const what = `${f.path} has ${errors} error${errors === 1 ? '' : 's'}`;
      if (!f.rejected) out.push(`${what}: its invalid objects are left out (see /debug/configz)`);
      else if (f.objects.length > 0) out.push(`${what}: refused, serving its last good version (see /debug/configz)`);
      else out.push(`${what}: refused, nothing of it is served (see /debug/configz)`);
    }
    return out;
  }

  private routes(): Map<string, HttpHandler> {
    const r = new Map<string, HttpHandler>();
    // 200 once serving, 503 before; `warnings`: what is served differs from the files on disk.
    r.set('/ready', () => (this.ready ? json({ status: 'ready', warnings: this.configWarnings() }) : json({ status: 'starting', warnings: [] }, 503)));
    r.set('/metrics', async () => ({ status: 200, contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }));
    r.set('/debug/syncz', () => json(syncStatus(this.xds.streams(), (view, t) => this.cache.current(view, t)?.version, this.instance, { clusterId: this.registry.mesh.value().clusterId })));
    r.set('/debug/configz', () => {
      const snap = this.lastReload?.snapshot;
      const i = this.registry.inputs;
      const objects = [i.meshConfigs, i.meshNetworks, i.nodes, i.destinationRules, i.virtualServices, i.peerAuthentications, i.authorizationPolicies, i.workloadGroups, i.workloadEntries, i.pods, i.serviceEntries, i.services].flatMap((c) => c.list().map((o) => objectKey(o)));
      return json({
        instance: this.instance,
        store: this.backend.store.description,
        revision: this.feed.status().revision,
        objects,
        files: (snap?.files ?? []).map((f) => ({
          path: f.path,
          rejected: f.rejected,
          objects: f.objects.length,
          errors: f.findings.filter((x) => x.severity === 'error'),
          warnings: f.findings.filter((x) => x.severity === 'warning'),
        })),
        rejectedFiles: (snap?.files ?? []).filter((f) => f.rejected).map((f) => f.path),
      });
    });
    r.set('/debug/storez', () => {
      const c = this.backend.coordination;
      const live = 'liveInstances' in c && typeof c.liveInstances === 'function' ? (c.liveInstances as () => string[])() : [this.instance];
      return json({ ...this.feed.status(), instance: this.instance, leader: c.leadership() !== undefined, replicas: live });
    });
    r.set('/debug/sourcez', () => json({ kubernetes: this.cluster !== undefined ? { server: this.cluster.server, informers: this.cluster.status() } : null }));
    r.set('/debug/endpointz', (url) => {
      const host = url.searchParams.get('host') ?? undefined;
      const report = endpointsReport(this.registry, { namespace: url.searchParams.get('namespace') ?? 'default' }, host !== undefined ? { host } : {}, false);
      return json(report.services);
    });
    r.set('/debug/krtz', () =>
      json([...this.registry.derived.values()].map((c) => ({ name: c.name, size: c.size, ...c.stats }))),
    );
    for (const [path, handler] of introspectionRoutes({ registry: this.registry, streams: () => this.xds.streamResources(), instance: this.instance })) r.set(path, handler);
    return r;
  }
}
