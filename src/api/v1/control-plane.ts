/**
 * `GET /api/v1/controlplane` (view 10, docs/api.md): this replica (instance, version, readiness,
 * leadership, the live replicas), its sources (the store's connection, the file watcher's last
 * reload, the Kubernetes informers), pushes with the p50/p99 of pilot_proxy_convergence_time and
 * pilot_xds_push_time, counts, and whether anything shown may be stale.
 */
import type { FilesReport } from '../../model/config/store.js';
import type { Registry } from '../../registry/registry.js';
import { inputObjects } from '../../registry/registry.js';
import type { FeedStatus } from '../../status/feed-status.js';
import type { LatencySummary } from './types.js';
import type { InformerState } from '../../sources/kube/informer.js';
import type { ControlPlaneResponse, JsonValue } from './types.js';

export interface ControlPlaneInputs {
  readonly instance: string;
  readonly version: string;
  readonly startedAt: string;
  readonly ready: boolean;
  readonly leader: boolean;
  readonly replicas: readonly string[];
  readonly storeDescription: string;
  readonly feed: FeedStatus;
  /** The file store's last report (undefined with etcd). */
  readonly lastReload: FilesReport | undefined;
  readonly kubernetes: { readonly server: string; readonly informers: readonly InformerState[] } | undefined;
  readonly push: { readonly pushes: number; readonly lastPushAt: string | null; readonly lastReloadAt: string | null };
  readonly convergence: LatencySummary;
  readonly pushTime: LatencySummary;
  readonly proxies: number;
  readonly sseClients: number;
  readonly staleReasons: readonly string[];
}

export function controlPlaneView(registry: Registry, i: ControlPlaneInputs): ControlPlaneResponse {
  const fileStore = i.storeDescription.startsWith('file:') || i.lastReload !== undefined;
  const { problems, ...feed } = i.feed;
  return {
    instance: i.instance,
    version: i.version,
    startedAt: i.startedAt,
    ready: i.ready,
    leader: i.leader,
    replicas: [...i.replicas],
    store: { description: i.storeDescription, kind: fileStore ? 'file' : i.storeDescription.split(':')[0] ?? '', connected: feed.connected, since: feed.since, revision: feed.revision, message: feed.message, changesApplied: feed.changesApplied, resyncs: feed.resyncs, problems: [...problems] },
    files: fileStore ? { lastReloadAt: i.push.lastReloadAt, files: i.lastReload?.files.length ?? 0, rejected: (i.lastReload?.files ?? []).filter((f) => f.rejected).map((f) => f.path) } : null,
    kubernetes: i.kubernetes !== undefined ? { server: i.kubernetes.server, synced: i.kubernetes.informers.every((x) => x.synced), informers: i.kubernetes.informers as unknown as JsonValue } : null,
    push: { pushes: i.push.pushes, lastPushAt: i.push.lastPushAt, convergence: i.convergence, pushTime: i.pushTime },
    counts: {
      proxies: i.proxies,
      services: registry.services.size,
      workloadEntries: registry.inputs.WorkloadEntry.size,
      pods: registry.inputs.Pod.size + registry.inputs.cluster.Pod.size,
      workloadGroups: registry.inputs.WorkloadGroup.size,
      objects: inputObjects(registry.inputs).length,
      sseClients: i.sseClients,
    },
    mayBeStale: i.staleReasons.length > 0,
    staleReasons: [...i.staleReasons],
  };
}
