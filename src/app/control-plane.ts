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
import { grpcGenerator, XdsPipeline, type PushInfo } from '../xds/generate/pipeline.js';
import { XdsServer } from '../xds/server/xds-server.js';
import type { XdsEvent } from '../xds/server/events.js';
import { TYPE_SHORT_NAMES } from '../status/sync-status.js';
import { formatFinding } from '../model/config/format-finding.js';
import { endpointsReport } from './endpoints-report.js';

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
      generators: { grpc: grpcGenerator },
      ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
      ...(o.debounceMaxMs !== undefined ? { debounceMaxMs: o.debounceMaxMs } : {}),
      onPush: (p) => this.onPush(p),
    });
    this.xds = new XdsServer({ source: this.cache, viewOf: (proxy) => this.pipeline.viewOf(proxy) });
    this.xds.onEvent((e) => this.onXdsEvent(e));
    this.http = new HttpApi(this.routes());
  }

  async start(): Promise<Listening> {
    const first = await this.source.load();
    this.apply(first);
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
    await this.pipeline.stop();
    await this.xds.stop(2000);
    await this.http.stop();
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
    if (r.applied.length > 0) {
      this.metrics.inboundUpdates.inc({ type: 'config' }, r.applied.length);
      replaceInputs(this.registry.inputs, r.snapshot.objects);
      this.metrics.services.set(this.registry.services.size);
      this.log.info('configuration applied', { files: r.applied, objects: r.snapshot.objects.length });
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
        this.viewOfStream.set(e.stream.streamId, e.stream.view);
        this.metrics.xdsClients.inc({ version: e.stream.proxy.kind });
        this.log.info('proxy connected', { proxy: e.stream.proxy.id, kind: e.stream.proxy.kind, protocol: e.stream.protocol });
        break;
      case 'disconnect': {
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
      case 'request':
      case 'problem':
        if (e.event === 'problem') this.log.warn('xDS problem', { proxy: e.proxyId, type: e.typeUrl, message: e.message });
        break;
      case 'health':
      case 'refused':
        // Agents' health reports and refusals: handled by the lifecycle side (issue 4, control plane).
        break;
    }
  }

  private routes(): Map<string, HttpHandler> {
    const r = new Map<string, HttpHandler>();
    r.set('/ready', () => (this.ready ? { status: 200, contentType: 'text/plain', body: 'ready\n' } : { status: 503, contentType: 'text/plain', body: 'starting\n' }));
    r.set('/metrics', async () => ({ status: 200, contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }));
    r.set('/debug/syncz', () => json(syncStatus(this.xds.streams(), (view, t) => this.cache.current(view, t)?.version, this.instance)));
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
