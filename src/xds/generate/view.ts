/**
 * A view: the resources one group of proxies receives. Proxies whose generator kind, namespace,
 * locality, network and labels agree (and, for Envoy, whose own workload is the same) see the same
 * configuration, so they share one view and its encoded bytes (issue 3: "proxies that share a
 * view share encoded bytes").
 */
import type { StringMap, VirtualService } from '../../model/config/types.js';
import { formatLocality } from '../../model/mesh/locality.js';
import type { MergedService, Workload } from '../../model/mesh/types.js';
import type { ClientProxy } from '../../registry/view/client.js';
import type { ClusterView, ViewSources } from '../../registry/view/clusters.js';

export type GeneratorKind = 'grpc' | 'envoy';

export interface ViewSpec {
  readonly key: string;
  readonly kind: GeneratorKind;
  readonly client: ClientProxy;
  /** The proxy's own workloads (Envoy inbound side), keys only: resolved at generation time. */
  readonly ownWorkloads: readonly string[];
}

export function viewKeyOf(kind: GeneratorKind, client: ClientProxy, ownWorkloads: readonly string[]): string {
  const labels = Object.entries(client.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return [kind, client.namespace, formatLocality(client.locality), client.network, labels, ownWorkloads.join(',')].join('|');
}

/** Everything a generator reads for one view. */
export interface ViewContext {
  readonly spec: ViewSpec;
  readonly sources: ViewSources;
  readonly virtualServices: readonly VirtualService[];
  readonly ownWorkloads: readonly Workload[];
}

/** One service as this view sees it: the service and its clusters (from registry/view). */
export interface ServiceClusters {
  readonly service: MergedService;
  readonly clusters: readonly ClusterView[];
}

export type Labels = StringMap;
