/**
 * The HTTP routes of `serve` (its --http-address): readiness, Prometheus metrics and the debug
 * pages, plus the live introspection of introspection-routes.ts.
 * - `/ready`: 200 once serving, 503 before; `warnings`: what is served differs from the files on disk.
 * - `/metrics`: the control plane's metrics (status/metrics.ts).
 * - `/debug/syncz`: per proxy and xDS type SYNCED / STALE / NACKED / NOT SENT (status/sync-status.ts).
 * - `/debug/configz`: the objects served, the store's revision and each file's findings.
 * - `/debug/storez`: the store's connection (FeedStatus), leadership, the live replicas, and whether
 *   this replica is partitioned from the leader or its agents (`partition`, app/partition-report.ts).
 * - `/debug/endpointz?namespace=&host=`: the endpoints report's services for one client namespace.
 * - `/debug/krtz`: the registry's derived collections with their sizes and statistics.
 * - `/api/v1/...`: the dashboard's JSON API (docs/api.md): the registry's views (v1/routes.ts) and,
 *   given the live recorder, proxies, proxy config, timeline, events (SSE), localities, config and
 *   control plane (v1/live-routes.ts).
 * - `/debug/ndsz?proxy=P`: one proxy's DNS name table (introspection-routes.ts).
 * - `/ui/`: the dashboard's static files (ui-routes.ts).
 */
import type { FeedStatus } from '../status/feed-status.js';
import type { ClusterSource } from '../sources/kube/cluster-source.js';
import { endpointsReport } from '../status/endpoints-report.js';
import type { Coordination } from '../lifecycle/coordination.js';
import { objectKey } from '../model/config/types.js';
import { inputObjects, type Registry } from '../registry/registry.js';
import type { FilesReport } from '../model/config/store.js';
import type { ControlPlaneMetrics } from '../status/metrics.js';
import { syncStatus } from '../status/sync-status.js';
import type { StreamResources } from '../xds/server/ads-stream.js';
import type { StreamStatus } from '../xds/server/events.js';
import type { TypeSnapshot } from '../xds/cache/resource-cache.js';
import { json, type HttpHandler } from './http-api.js';
import { apiRoutes } from './v1/routes.js';
import { liveRoutes } from './v1/live-routes.js';
import type { LiveRecorder } from '../status/live-recorder.js';
import { introspectionRoutes } from './introspection-routes.js';
import { uiRoutes } from './ui-routes.js';

/** What the routes read of a running control plane (all read at request time). */
export interface ServeRouteSources {
  readonly instance: string;
  readonly registry: Registry;
  readonly metrics: ControlPlaneMetrics;
  readonly feed: { status(): FeedStatus };
  readonly storeDescription: string;
  readonly coordination: Coordination;
  readonly streams: () => readonly StreamStatus[];
  readonly streamResources: () => readonly StreamResources[];
  /** The version of a view's current snapshot of a type (the resource cache). */
  readonly currentVersion: (view: string, typeUrl: string) => string | undefined;
  /** A view's current snapshot of a type (the resource cache), for `/debug/ndsz`. */
  readonly currentSnapshot: (view: string, typeUrl: string) => TypeSnapshot | undefined;
  /** Whether the control plane serves (start finished). */
  readonly ready: () => boolean;
  /** The file store's last folder report (undefined with etcd, or before the first). */
  readonly lastReload: () => FilesReport | undefined;
  /** PILOT_WORKLOAD_ENTRY_GRACE_PERIOD, for the WorkloadGroup views' cleanup deadlines. */
  readonly gracePeriodMs?: number;
  /** The Kubernetes cluster source (`--kubeconfig`), if any. */
  readonly cluster: () => ClusterSource | undefined;
  /** Issue 16: whether this replica is cut off from the leader or its agents (app/partition-report.ts). */
  readonly partition?: () => Promise<unknown>;
  /** The dashboard's live read models (the `/api/v1` proxies, timeline and events routes). */
  readonly live?: LiveRecorder;
}

export function serveRoutes(s: ServeRouteSources): Map<string, HttpHandler> {
  const r = new Map<string, HttpHandler>();
  r.set('/ready', () => (s.ready() ? json({ status: 'ready', warnings: configWarnings(s.lastReload()) }) : json({ status: 'starting', warnings: [] }, 503)));
  r.set('/metrics', async () => ({ status: 200, contentType: s.metrics.registry.contentType, body: await s.metrics.registry.metrics() }));
  r.set('/debug/syncz', () => json(syncStatus(s.streams(), s.currentVersion, s.instance, { clusterId: s.registry.mesh.value().clusterId })));
  r.set('/debug/configz', () => {
    const snap = s.lastReload();
    const objects = inputObjects(s.registry.inputs).map(objectKey);
    return json({
      instance: s.instance,
      store: s.storeDescription,
      revision: s.feed.status().revision,
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
  r.set('/debug/storez', async () => {
    const partition = s.partition !== undefined ? await s.partition() : null;
    return json({ ...s.feed.status(), instance: s.instance, leader: s.coordination.leadership() !== undefined, replicas: replicasOf(s.coordination, s.instance), partition });
  });
  r.set('/debug/endpointz', (url) => {
    const host = url.searchParams.get('host') ?? undefined;
    const report = endpointsReport(s.registry, { namespace: url.searchParams.get('namespace') ?? 'default' }, host !== undefined ? { host } : {}, false);
    return json(report.services);
  });
  r.set('/debug/sourcez', () => {
    const cluster = s.cluster();
    return json({ kubernetes: cluster !== undefined ? { server: cluster.server, syncGate: cluster.gate(), informers: cluster.status() } : null });
  });
  r.set('/debug/krtz', () => json([...s.registry.derived.values()].map((c) => ({ name: c.name, size: c.size, ...c.stats }))));
  for (const [path, handler] of apiRoutes({ registry: s.registry, workloadGroups: s.gracePeriodMs !== undefined ? { gracePeriodMs: s.gracePeriodMs } : {} })) r.set(path, handler);
  if (s.live !== undefined) {
    const live = liveRoutes({
      instance: s.instance,
      registry: s.registry,
      live: s.live,
      streams: s.streams,
      streamResources: s.streamResources,
      currentVersion: s.currentVersion,
      feed: () => s.feed.status(),
      cluster: s.cluster,
      storeDescription: s.storeDescription,
      lastReload: s.lastReload,
      ready: s.ready,
      leader: () => s.coordination.leadership() !== undefined,
      replicas: () => replicasOf(s.coordination, s.instance),
      metrics: s.metrics,
    });
    for (const [path, handler] of live.routes) r.set(path, handler);
  }
  for (const [path, handler] of introspectionRoutes({ registry: s.registry, streams: s.streamResources, instance: s.instance, current: s.currentSnapshot })) r.set(path, handler);
  for (const [path, handler] of uiRoutes()) r.set(path, handler);
  return r;
}

/** The live replicas the coordination knows (only this one without a shared store). */
function replicasOf(c: Coordination, instance: string): string[] {
  return 'liveInstances' in c && typeof c.liveInstances === 'function' ? (c.liveInstances as () => string[])() : [instance];
}

/** One sentence per file whose version on disk is not (entirely) what is served (/ready). */
function configWarnings(lastReload: FilesReport | undefined): string[] {
  const out: string[] = [];
  for (const f of lastReload?.files ?? []) {
    const errors = f.findings.filter((x) => x.severity === 'error').length;
    if (errors === 0) continue;
    const what = `${f.path} has ${errors} error${errors === 1 ? '' : 's'}`;
    if (!f.rejected) out.push(`${what}: its invalid objects are left out (see /debug/configz)`);
    else if (f.objects.length > 0) out.push(`${what}: refused, serving its last good version (see /debug/configz)`);
    else out.push(`${what}: refused, nothing of it is served (see /debug/configz)`);
  }
  return out;
}
