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
import { listenRefused } from './start-errors.js';
import { HttpApi } from '../api/http-api.js';
import { serveRoutes } from '../api/serve-routes.js';
import { partitionReport } from './partition-report.js';
import type { Logger } from '../lib/log/logger.js';
import { buildRegistry, createInputs, type Registry } from '../registry/registry.js';
import type { FilesReport } from '../model/config/store.js';
import { ConvergenceTracker } from '../status/convergence.js';
import { LiveRecorder } from '../status/live-recorder.js';
import { createMetrics, type ControlPlaneMetrics } from '../status/metrics.js';
import { ResourceCache } from '../xds/cache/resource-cache.js';
import { envoyGenerator } from '../xds/generate/envoy/index.js';
import { grpcGenerator } from '../xds/generate/grpc-generator.js';
import { XdsPipeline, type PushInfo } from '../xds/generate/pipeline.js';
import { XdsServer } from '../xds/server/xds-server.js';
import { RegistrationController } from '../lifecycle/registration-controller.js';
import { AddressStatusWriter } from '../lifecycle/address-status.js';
import { DEFAULT_TOKEN_MAX_LIFETIME_SECONDS, renewServiceDefinition, renewServiceImplementation } from '../lifecycle/renew-service.js';
import type { GroupLookup } from '../security/token-admission.js';
import type { TokenClaims } from '../security/registration-token.js';
import { ConfigFeed } from './config-feed.js';
import { reportReload } from './reload-report.js';
import type { ServeSettings } from './serve-settings.js';
import { startClusterSource, type ClusterSource } from '../sources/kube/cluster-source.js';
import { openStoreBackend, type StoreBackend } from './store-backend.js';
import { streamEventHandler } from './stream-events.js';
import type { CertificateAuthority } from '../security/ca.js';
import { ServingCertificate } from '../security/server-certificate.js';
import { streamAdmission } from '../security/stream-admission.js';
import { certificateServiceDefinition, certificateServiceImplementation } from '../security/cert-service.js';
import { errorMessage } from '../lib/errors.js';

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
  private lastReload: FilesReport | undefined;
  private readonly convergence = new ConvergenceTracker();
  private ready = false;
  private cluster: ClusterSource | undefined;
  private ca: CertificateAuthority | undefined;
  private readonly servingCertificate: ServingCertificate;
  readonly registration: RegistrationController;
  /** The dashboard's live read models: health history, event log, per-stream counters. */
  readonly live: LiveRecorder;
  /** Writes the auto-allocated VIPs into ServiceEntry status (leader only). */
  readonly addressStatus: AddressStatusWriter;
  /** The live WorkloadGroups by namespace and name (token admission, issue 11). */
  private readonly group: GroupLookup = (ns, name) => this.registry.inputs.WorkloadGroup.get(`WorkloadGroup/${ns}/${name}`);
  /** The registration-token key: filled in by `start()` from the store (shared by every replica). */
  private readonly signingKey = Buffer.alloc(32);

  constructor(private readonly o: ServeSettings) {
    this.log = o.logger;
    this.instance = o.instance ?? `meshbridge-${hostname()}-${process.pid}`;
    this.metrics = createMetrics();
    const inputs = createInputs();
    this.registry = buildRegistry(inputs);
    this.backend = openStoreBackend(o, { instance: this.instance });
    this.feed = new ConfigFeed(this.backend.store, inputs, {
      log: this.log,
      onApplied: (n) => {
        this.metrics.inboundUpdates.inc({ type: 'config' }, n);
        this.metrics.services.set(this.registry.services.size);
      },
      onConnection: (up) => this.metrics.storeConnected.set(up ? 1 : 0),
      onFiles: (r) => this.onReload(r),
    });
    this.live = new LiveRecorder({ registry: this.registry, cache: this.cache, entryOf: (id) => this.registration.entryOf(id), revision: () => this.feed.status().revision });
    this.pipeline = new XdsPipeline({
      registry: this.registry,
      cache: this.live.pushes, // forwards to this.cache, keeping each view's last push diff
      generators: { grpc: grpcGenerator, envoy: envoyGenerator },
      // Every stream request reaches the pipeline (stream-events.ts): proxyless classes hold what their clients ask for.
      generateOnDemand: true,
      ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
      ...(o.debounceMaxMs !== undefined ? { debounceMaxMs: o.debounceMaxMs } : {}),
      onPush: (p) => this.onPush(p),
      onPushError: (e) => this.log.error('xDS push failed; its changes reach proxies with the next change of the same hosts', { error: errorMessage(e) }),
    });
    const group = this.group;
    this.registration = new RegistrationController({
      store: this.backend.store,
      coordination: this.backend.coordination,
      group,
      signingKey: this.signingKey,
      ...(o.gracePeriodMs !== undefined ? { gracePeriodMs: o.gracePeriodMs } : {}),
      ...(o.reclaimRatePerSecond !== undefined ? { reclaimRate: { perInterval: o.reclaimRatePerSecond, intervalMs: 1000 } } : {}),
      log: this.log,
    });
    this.addressStatus = new AddressStatusWriter({ registry: this.registry, store: this.backend.store, coordination: this.backend.coordination, log: this.log });
    this.registry.inputs.WorkloadGroup.subscribe((events) => {
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
      admit: streamAdmission({
        ready: () => this.ready,
        anchors: () => this.certificateAuthority().trustAnchors(),
        trustDomain: () => this.registry.mesh.value().trustDomain,
        signingKey: this.signingKey,
        group,
        admitAgent: (proxy, md) => this.registration.admit(proxy, md),
      }),
      ...(o.xdsLimits !== undefined ? { limits: o.xdsLimits } : {}),
      ...(o.xdsTransport !== undefined ? { transport: o.xdsTransport } : {}),
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
            groups: () => this.registry.inputs.WorkloadGroup.list(),
          }),
        },
      ],
    });
    this.xds.onEvent(streamEventHandler({ registration: this.registration, pipeline: this.pipeline, metrics: this.metrics, convergence: this.convergence, log: this.log }));
    this.xds.onEvent(this.live.onXdsEvent); // after the lifecycle's handler: a new stream's entry is known
    this.http = new HttpApi(
      serveRoutes({
        instance: this.instance,
        registry: this.registry,
        metrics: this.metrics,
        feed: this.feed,
        storeDescription: this.backend.store.description,
        coordination: this.backend.coordination,
        streams: () => this.xds.streams(),
        streamResources: () => this.xds.streamResources(),
        currentVersion: (view, typeUrl) => this.cache.current(view, typeUrl)?.version,
        currentSnapshot: (view, typeUrl) => this.cache.current(view, typeUrl),
        ready: () => this.ready,
        lastReload: () => this.lastReload,
        cluster: () => this.cluster,
        partition: () => partitionReport({ instance: this.instance, coordination: this.backend.coordination, agentView: () => this.registration.agentView() }),
        live: this.live,
        ...(o.gracePeriodMs !== undefined ? { gracePeriodMs: o.gracePeriodMs } : {}),
      }),
    );
    this.servingCertificate = new ServingCertificate(() => this.certificateAuthority(), {
      ...(o.serverCertificateTtlSeconds !== undefined ? { ttlSeconds: o.serverCertificateTtlSeconds } : {}),
      onError: (e) => this.log.error('re-issuing the secure xDS port\'s certificate failed; retrying', { error: errorMessage(e) }),
    });
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
    this.addressStatus.start();
    return listening;
  }

  /** Reads the store, the configuration and the CA, and starts the push pipeline (start, step 3). */
  private async load(): Promise<void> {
    const key = await this.backend.start();
    if (key.length !== this.signingKey.length) throw new Error(`the signing key has ${key.length} bytes, not ${this.signingKey.length}`);
    key.copy(this.signingKey);
    await this.feed.start();
    if (this.o.kube !== undefined) this.cluster = await startClusterSource(this.o.kube, this.registry, this.log, this.metrics.registry);
    this.ca = await this.backend.loadCa(this.registry.mesh.value().trustDomain);
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
    const xdsTls = secure === undefined ? undefined : await bind('--secure-xds-address', secure, () => this.xds.startSecure(secure, this.servingCertificate));
    const http = await bind('--http-address', this.o.httpAddress, () => this.http.start(this.o.httpAddress));
    this.backend.coordination.advertise?.({ http: `${http.host}:${http.port}` });
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
    await this.addressStatus.stop();
    await this.pipeline.stop();
    await this.feed.stop();
    await this.cluster?.stop();
    await this.backend.stop();
    await this.http.stop();
    this.live.stop();
    this.backend.unlock();
  }

  /** A reload from the folder (file store): refused files are reported and keep serving their last good version. */
  private onReload(r: FilesReport): void {
    reportReload(r, this.lastReload === undefined, this.metrics, this.log);
    this.live.noteReload();
    this.lastReload = r;
  }

  /** Push metrics, and when the changes of each new snapshot version began (status/convergence.ts). */
  private onPush(p: PushInfo): void {
    this.metrics.debounceTime.observe(p.debounceSeconds);
    this.metrics.xdsPushTime.observe({ type: 'all' }, p.pushSeconds);
    this.convergence.recordPush(this.cache.takeMintedVersions(), p.firstChangeAt);
    this.live.onPush(p);
  }
}
