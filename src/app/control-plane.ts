/**
 * The composition root of `meshbridge serve`: folder source → registry → push pipeline → resource
 * cache → ADS server, plus metrics and debug endpoints. Construct, then `start()`; `stop()` ends
 * everything (STYLE principle 3).
 */
import { hostname } from 'node:os';
import { HttpApi, json, type HttpHandler } from '../api/http-api.js';
import type { Logger } from '../lib/log/logger.js';
import { objectKey } from '../model/config/types.js';
import { buildRegistry, createInputs, replaceInputs, type Registry } from '../registry/registry.js';
import { ConfigFolderSource, type ReloadReport } from '../sources/file/config-folder.js';
import { createMetrics, type ControlPlaneMetrics } from '../status/metrics.js';
import { syncStatus } from '../status/sync-status.js';
import { ResourceCache } from '../xds/cache/resource-cache.js';
import { envoyGenerator } from '../xds/generate/envoy/index.js';
import { grpcGenerator, XdsPipeline, type PushInfo } from '../xds/generate/pipeline.js';
import { XdsServer } from '../xds/server/xds-server.js';
import type { XdsEvent } from '../xds/server/events.js';
import { TYPE_SHORT_NAMES } from '../status/sync-status.js';
import { formatFinding } from '../model/config/format-finding.js';
import { endpointsReport } from './endpoints-report.js';
import { StateStore } from '../lifecycle/state-store.js';
import { RegistrationController } from '../lifecycle/registration-controller.js';
import { renewServiceDefinition, renewServiceImplementation } from '../lifecycle/renew-service.js';
import { loadOrCreateCa, type CertificateAuthority } from '../security/ca.js';
import { certificateServiceDefinition, certificateServiceImplementation } from '../security/cert-service.js';
import { defaultStateDir, loadOrCreateSigningKey } from '../sources/file/state-dir.js';
import type { ConfigObject, WorkloadEntry } from '../model/config/types.js';

export interface ControlPlaneOptions {
  readonly configPaths: readonly string[];
  readonly xdsAddress: string;
  readonly httpAddress: string;
  readonly debounceMs?: number;
  readonly debounceMaxMs?: number;
  readonly watchDebounceMs?: number;
  readonly logger: Logger;
  /** Control-plane instance name (Istio: the istiod pod name). */
  readonly instance?: string;
  /** Where registered entries, status and the signing key live (default `<first config>.state`). */
  readonly stateDir?: string;
  /** PILOT_WORKLOAD_ENTRY_GRACE_PERIOD (default 10 s). */
  readonly gracePeriodMs?: number;
  /** An operator's CA in Istio's cacerts layout; default: a self-signed root in the state directory. */
  readonly cacertsDir?: string;
}

export interface Listening {
  readonly xds: string;
  readonly http: string;
}

export class ControlPlane {
  readonly registry: Registry;
  readonly metrics: ControlPlaneMetrics;
  readonly cache = new ResourceCache();
  readonly source: ConfigFolderSource;
  readonly pipeline: XdsPipeline;
  readonly xds: XdsServer;
  private readonly http: HttpApi;
  private readonly log: Logger;
  readonly instance: string;
  private lastReload: ReloadReport | undefined;
  /** (view, type url, version) → performance.now() of the first change it carries. */
  private readonly pendingConvergence = new Map<string, number>();
  private readonly viewOfStream = new Map<string, string>();
  private ready = false;
  private loaded = false;
  private ca: CertificateAuthority | undefined;
  readonly stateDir: string;
  readonly state: StateStore;
  readonly registration: RegistrationController;
  /** Operator-written WorkloadEntries by key, from the last reload (status overlays apply to these). */
  private folderEntries = new Map<string, WorkloadEntry>();

  constructor(private readonly o: ControlPlaneOptions) {
    this.log = o.logger;
    this.instance = o.instance ?? `meshbridge-${hostname()}-${process.pid}`;
    this.metrics = createMetrics();
    const inputs = createInputs();
    this.registry = buildRegistry(inputs);
    this.source = new ConfigFolderSource(o.configPaths);
    this.pipeline = new XdsPipeline({
      registry: this.registry,
      cache: this.cache,
      generators: { grpc: grpcGenerator, envoy: envoyGenerator },
      ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
      ...(o.debounceMaxMs !== undefined ? { debounceMaxMs: o.debounceMaxMs } : {}),
      onPush: (p) => this.onPush(p),
    });
    this.stateDir = o.stateDir ?? defaultStateDir(o.configPaths);
    this.state = new StateStore(this.stateDir);
    const signingKey = loadOrCreateSigningKey(this.stateDir);
    this.registration = new RegistrationController({
      store: this.state,
      group: (ns, name) => this.registry.inputs.workloadGroups.get(`WorkloadGroup/${ns}/${name}`),
      configEntry: (ns, name) => this.folderEntries.get(`WorkloadEntry/${ns}/${name}`),
      signingKey,
      instance: this.instance,
      ...(o.gracePeriodMs !== undefined ? { gracePeriodMs: o.gracePeriodMs } : {}),
      log: this.log,
    });
    this.state.subscribe((keys) => this.onStateChange(keys));
    this.registry.inputs.workloadGroups.subscribe((events) => {
      for (const e of events) if (e.new && !e.old) this.registration.onGroupAdded(e.new);
    });
    this.xds = new XdsServer({
      source: this.cache,
      viewOf: (proxy) => this.pipeline.viewOf(proxy),
      admit: (proxy, md) => this.registration.admit(proxy, md),
      extraServices: [
        { definition: renewServiceDefinition, implementation: renewServiceImplementation(signingKey) },
        {
          definition: certificateServiceDefinition,
          implementation: certificateServiceImplementation({
            ca: { issue: (csr, id, ttl, now) => this.certificateAuthority().issue(csr, id, ttl, now) },
            signingKey,
            trustDomain: () => this.registry.mesh.value().trustDomain,
          }),
        },
      ],
    });
    this.xds.onEvent((e) => this.onXdsEvent(e));
    this.http = new HttpApi(this.routes());
  }

  /** The CA; loaded (or created) by `start`. */
  certificateAuthority(): CertificateAuthority {
    if (!this.ca) throw new Error('the certificate authority is not loaded yet');
    return this.ca;
  }

  async start(): Promise<Listening> {
    const first = await this.source.load();
    this.apply(first);
    this.ca = await loadOrCreateCa(this.stateDir, this.registry.mesh.value().trustDomain, this.o.cacertsDir);
    this.registration.start();
    this.pipeline.start();
    const xds = await this.xds.start(this.o.xdsAddress);
    const http = await this.http.start(this.o.httpAddress);
    this.source.watch(
      (r) => this.apply(r),
      (e) => this.log.error('watching the configuration failed', { error: e instanceof Error ? e.message : String(e) }),
      this.o.watchDebounceMs ?? 50,
    );
    this.ready = true;
    return { xds: `${xds.host}:${xds.port}`, http: `${http.host}:${http.port}` };
  }

  async stop(): Promise<void> {
    this.ready = false;
    this.source.close();
    this.registration.stop();
    await this.pipeline.stop();
    await this.xds.stop(2000);
    await this.http.stop();
    this.state.flush();
  }

  /** A reload from the folder: refused files are reported and keep serving their last good version. */
  private apply(r: ReloadReport): void {
    this.lastReload = r;
    for (const path of r.rejected) {
      const errors = r.snapshot.findings.filter((f) => f.file === path && f.severity === 'error');
      this.metrics.rejectedConfigs.inc({ type: 'file' }, 1);
      for (const f of errors) this.metrics.rejectedConfigs.inc({ type: f.kind || 'unknown' });
      this.log.warn(`configuration change refused, serving the last good version of ${path}`, {
        errors: errors.map((f) => formatFinding(f, 'error')),
      });
    }
    const initialErrors = r.snapshot.findings.filter((f) => f.severity === 'error' && !r.rejected.includes(f.file));
    for (const f of initialErrors) this.log.warn(`invalid configuration left out: ${formatFinding(f, 'error')}`);
    if (r.applied.length > 0 || !this.loaded) {
      this.loaded = true;
      this.metrics.inboundUpdates.inc({ type: 'config' }, r.applied.length);
      this.folderEntries = new Map(
        r.snapshot.objects.filter((o): o is WorkloadEntry => o.kind === 'WorkloadEntry').map((o) => [objectKey(o), o]),
      );
      replaceInputs(this.registry.inputs, this.withState(r.snapshot.objects));
      this.metrics.services.set(this.registry.services.size);
      this.log.info('configuration applied', { files: r.applied, objects: r.snapshot.objects.length });
    }
  }

  /** The folder's objects with the state store's entries and status overlays (the folder wins a name clash). */
  private withState(objects: readonly ConfigObject[]): ConfigObject[] {
    const out = objects.map((o) => (o.kind === 'WorkloadEntry' ? this.mergedEntry(objectKey(o)) ?? o : o));
    for (const e of this.state.entries()) if (!this.folderEntries.has(objectKey(e))) out.push(e);
    return out;
  }

  private mergedEntry(key: string): WorkloadEntry | undefined {
    const folder = this.folderEntries.get(key);
    if (folder) {
      const overlay = this.state.status(key);
      return overlay ? { ...folder, status: overlay } : folder;
    }
    return this.state.entry(key);
  }

  /** A registration or health write: only the changed entries go to the registry. */
  private onStateChange(keys: readonly string[]): void {
    this.metrics.inboundUpdates.inc({ type: 'eds' }, keys.length);
    for (const key of keys) {
      const merged = this.mergedEntry(key);
      if (merged) this.registry.inputs.workloadEntries.upsert(merged);
      else this.registry.inputs.workloadEntries.delete(key);
    }
  }

  private onPush(p: PushInfo): void {
    this.metrics.debounceTime.observe(p.debounceSeconds);
    this.metrics.xdsPushTime.observe({ type: 'all' }, p.pushSeconds);
    for (const view of this.pipeline.viewSpecs()) {
      for (const typeUrl of Object.keys(TYPE_SHORT_NAMES)) {
        const v = this.cache.current(view.key, typeUrl)?.version;
        const k = `${view.key}\u0000${typeUrl}\u0000${v}`;
        if (v !== undefined && !this.pendingConvergence.has(k)) this.pendingConvergence.set(k, p.firstChangeAt);
      }
    }
    if (this.pendingConvergence.size > 100_000) this.pendingConvergence.clear();
  }

  private onXdsEvent(e: XdsEvent): void {
    switch (e.event) {
      case 'connect':
        this.registration.onConnect(e.stream.streamId, e.stream.proxy);
        this.viewOfStream.set(e.stream.streamId, e.stream.view);
        this.metrics.xdsClients.inc({ version: e.stream.proxy.kind });
        this.log.info('proxy connected', { proxy: e.stream.proxy.id, kind: e.stream.proxy.kind, protocol: e.stream.protocol });
        break;
      case 'disconnect': {
        this.registration.onDisconnect(e.streamId);
        const view = this.viewOfStream.get(e.streamId);
        this.viewOfStream.delete(e.streamId);
        if (view !== undefined) {
          this.pipeline.release(view);
          this.metrics.xdsClients.dec({ version: view.split('|')[0] ?? 'unknown' });
        }
        this.log.info('proxy disconnected', { proxy: e.proxyId, reason: e.reason });
        break;
      }
      case 'response':
        this.metrics.xdsPushes.inc({ type: (TYPE_SHORT_NAMES[e.typeUrl] ?? 'other').toLowerCase() });
        break;
      case 'ack': {
        const view = this.viewOfStream.get(e.streamId);
        const first = this.pendingConvergence.get(`${view}\u0000${e.typeUrl}\u0000${e.version}`);
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
        this.log.warn('proxy refused', { proxy: e.proxyId, reason: e.message });
        break;
      case 'request':
      case 'problem':
        if (e.event === 'problem') this.log.warn('xDS problem', { proxy: e.proxyId, type: e.typeUrl, message: e.message });
        break;
    }
  }

  private routes(): Map<string, HttpHandler> {
    const r = new Map<string, HttpHandler>();
    r.set('/ready', () => (this.ready ? { status: 200, contentType: 'text/plain', body: 'ready\n' } : { status: 503, contentType: 'text/plain', body: 'starting\n' }));
    r.set('/metrics', async () => ({ status: 200, contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }));
    r.set('/debug/syncz', () => json(syncStatus(this.xds.streams(), (view, t) => this.cache.current(view, t)?.version, this.instance, { clusterId: this.registry.mesh.value().clusterId })));
    r.set('/debug/configz', () => {
      const snap = this.lastReload?.snapshot;
      const objects = snap?.objects ?? [];
      return json({
        instance: this.instance,
        objects: objects.map((o) => objectKey(o)),
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
    r.set('/debug/endpointz', (url) => {
      const host = url.searchParams.get('host') ?? undefined;
      const report = endpointsReport(this.registry, { namespace: url.searchParams.get('namespace') ?? 'default' }, host !== undefined ? { host } : {}, false);
      return json(report.services);
    });
    r.set('/debug/krtz', () =>
      json([...this.registry.derived.values()].map((c) => ({ name: c.name, size: c.size, ...c.stats }))),
    );
    return r;
  }
}
