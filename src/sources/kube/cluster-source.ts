/**
 * The Kubernetes cluster as a source of `serve`, beside the file or etcd store (the one entry point
 * the control plane calls): Namespaces, Services, EndpointSlices, Pods (`status.phase!=Failed`) and
 * Nodes are listed and watched by supervised informers, translated (cluster-translator.ts) into the
 * registry's cluster inputs, and the promise resolves behind the sync gate: once every informer has
 * listed once, or after `syncTimeoutMs` with a warning naming the ones that did not (the caller then
 * serves what it has, as istiod's SyncTimeout does). The Istio resources keep coming from the store.
 */
import type { Logger } from '../../lib/log/logger.js';
import type { Registry } from '../../registry/registry.js';
import { ClusterTranslator, type ClusterKind } from './cluster-translator.js';
import { Informer, waitForSync, type BackoffPolicy, type InformerState, type KubeObject } from './informer.js';
import { inClusterConfig, KubeconfigError, loadKubeconfig } from './kubeconfig.js';
import { KubeTransport } from './kube-transport.js';
import { informerMetrics, type InformerEvent } from './informer-metrics.js';
import { DiscoveryFilter, type DiscoveryChange } from './discovery-filter.js';
import type { Registry as MetricsRegistry } from 'prom-client';
import { errorMessage } from '../../lib/errors.js';

export interface ClusterSourceOptions {
  /** A kubeconfig file (`serve --kubeconfig`); absent: in-cluster (`KUBERNETES_SERVICE_HOST` and the service account). */
  readonly kubeconfig?: string;
  /** The kubeconfig context (default its `current-context`). */
  readonly context?: string;
  /** How long the first push waits for every informer's first list (default 30 s). */
  readonly syncTimeoutMs?: number;
  /** Retry backoff of the informers (default client-go's 0.8 s → 30 s). */
  readonly backoff?: BackoffPolicy;
  /** Silence after which a watch is taken as half-open (default: its timeout + 30 s); short in tests. */
  readonly watchdogMs?: number;
}

export interface ClusterSource {
  /** Where the cluster is read from (the API server URL). */
  readonly server: string;
  /** Per informer: synced, last resourceVersion, relists, restarts, last error. */
  status(): InformerState[];
  /**
   * How the sync gate opened: `timedOut` when serving started before every informer had listed
   * (`pending` names those, as they were then), and the discovery selectors in force (none: all namespaces).
   */
  gate(): { readonly timedOut: boolean; readonly pending: readonly string[]; readonly timeoutMs: number; readonly discoverySelectors: number };
  stop(): Promise<void>;
}

interface Collection {
  readonly kind: ClusterKind;
  readonly name: string;
  readonly path: string;
  readonly fieldSelector?: string;
}

/** What is read, and the kind each collection translates as. */
const COLLECTIONS: readonly Collection[] = [
  { kind: 'Namespace', name: 'namespaces', path: '/api/v1/namespaces' },
  { kind: 'Node', name: 'nodes', path: '/api/v1/nodes' },
  { kind: 'Service', name: 'services', path: '/api/v1/services' },
  { kind: 'EndpointSlice', name: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  // As istiod: Failed pods are never endpoints, and a cluster can hold many of them.
  { kind: 'Pod', name: 'pods', path: '/api/v1/pods', fieldSelector: 'status.phase!=Failed' },
];

/** The collections MeshConfig `discoverySelectors` limit (Namespaces and Nodes are always read). */
const NAMESPACED: ReadonlySet<ClusterKind> = new Set<ClusterKind>(['Service', 'EndpointSlice', 'Pod']);

function labelsOf(o: KubeObject): Record<string, string> {
  const labels = (o.metadata as { labels?: unknown }).labels;
  if (labels === null || typeof labels !== 'object') return {};
  return Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export const DEFAULT_SYNC_TIMEOUT_MS = 30_000;

/** The transport to the cluster of `o`; throws (KubeconfigError, or a file's read error) when it cannot be used. */
export function connectCluster(o: ClusterSourceOptions): KubeTransport {
  if (o.kubeconfig !== undefined) return new KubeTransport(loadKubeconfig(o.kubeconfig, o.context));
  const inCluster = inClusterConfig();
  if (inCluster === undefined) throw new KubeconfigError('in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod); pass --kubeconfig PATH');
  return new KubeTransport(inCluster);
}

/**
 * Starts reading the cluster into `registry` and resolves behind the sync gate. Throws for an unusable
 * kubeconfig. With `metrics`, the informers' metrics are registered there (informer-metrics.ts).
 */
export async function startClusterSource(o: ClusterSourceOptions, registry: Registry, log: Logger, metrics?: MetricsRegistry): Promise<ClusterSource> {
  const transport = connectCluster(o);
  const server = transport.connection.server;
  const translator = new ClusterTranslator(registry.inputs.cluster, registry.mesh.value().rootNamespace);
  const discovery = new DiscoveryFilter(registry.mesh.value().discoverySelectors);
  const handle = (kind: ClusterKind, obj: KubeObject, deleted: boolean): void => {
    try {
      translator.apply(kind, obj, deleted);
    } catch (e) {
      // A bug, not bad input (translation reads every field defensively): keep serving the rest.
      log.error('a Kubernetes object could not be translated', { kind, object: `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, error: errorMessage(e) });
    }
  };
  const observer = metrics === undefined ? undefined : informerMetrics(metrics, COLLECTIONS.map((c) => c.name));
  const read: { readonly kind: ClusterKind; readonly informer: Informer }[] = [];
  /** The objects already read in namespaces that entered or left discovery are added or removed at once. */
  const move = (change: DiscoveryChange): void =>
    translator.batch(() => {
      for (const { kind, informer } of read) {
        if (!NAMESPACED.has(kind)) continue;
        for (const ns of change.left) for (const obj of informer.listIn(ns)) handle(kind, obj, true);
        for (const ns of change.entered) for (const obj of informer.listIn(ns)) handle(kind, obj, false);
      }
    });
  const deliver =
    (c: Collection, event: InformerEvent) =>
    (obj: KubeObject): void => {
      observer?.event(c.name, event);
      const deleted = event === 'delete';
      if (c.kind === 'Namespace') {
        handle(c.kind, obj, deleted);
        move(discovery.namespace(obj.metadata.name, deleted ? undefined : labelsOf(obj)));
      } else if (!NAMESPACED.has(c.kind) || discovery.discovers(obj.metadata.namespace ?? '')) {
        handle(c.kind, obj, deleted);
      }
    };
  const unsubscribe = registry.mesh.subscribe(() => {
    const mesh = registry.mesh.value();
    translator.setSystemNamespace(mesh.rootNamespace);
    const held = read.filter((r) => NAMESPACED.has(r.kind)).flatMap((r) => r.informer.namespaces());
    move(discovery.setSelectors(mesh.discoverySelectors, held));
  });
  for (const c of COLLECTIONS) {
    const informer = new Informer(
      transport,
      {
        name: c.name,
        path: c.path,
        ...(c.fieldSelector !== undefined ? { fieldSelector: c.fieldSelector } : {}),
        ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
        ...(o.watchdogMs !== undefined ? { watchdogMs: o.watchdogMs } : {}),
        ...(observer !== undefined ? { observer } : {}),
      },
      { add: deliver(c, 'add'), update: deliver(c, 'update'), delete: deliver(c, 'delete'), batch: (run) => translator.batch(run) },
    );
    read.push({ kind: c.kind, informer });
  }
  const informers = read.map((r) => r.informer);
  for (const i of informers) i.start();
  const timeoutMs = o.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
  const gate = await waitForSync(informers, timeoutMs);
  const counts = Object.fromEntries(informers.map((i) => [i.options.name, i.status().objects]));
  if (gate.synced) log.info('Kubernetes cluster read', { server, ...counts });
  else {
    const errors = Object.fromEntries(informers.filter((i) => !i.synced).map((i) => [i.options.name, i.status().lastError]));
    log.warn(`serving before the Kubernetes cluster is fully read: ${gate.pending.join(', ')} not listed within ${timeoutMs} ms; they are added as they arrive`, { server, errors });
  }
  return {
    server,
    status: () => informers.map((i) => i.status()),
    gate: () => ({ timedOut: !gate.synced, pending: gate.pending, timeoutMs, discoverySelectors: registry.mesh.value().discoverySelectors.length }),
    stop: async () => {
      unsubscribe();
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
