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
  /**
   * The proxy's own workloads (Envoy inbound side, xDS-enabled gRPC servers), keys only: resolved at
   * generation time.
   */
  readonly ownWorkloads: readonly string[];
  /**
   * Issue 7: the proxy's bootstrap has the certificate-provider instance `default` (node metadata
   * CERTIFICATE_PROVIDERS): generated resources may use TLS. Proxies that differ here never share a
   * view or a class.
   */
  readonly tls?: boolean;
  /**
   * Inbound listener names (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`) the proxy subscribed to,
   * sorted: its xDS-enabled servers. Set after connection (XdsPipeline.noteRequestedListeners).
   */
  readonly inboundRequests?: readonly string[];
}

/** An inbound listener a proxyless server asked for, and the workload at its IP (if any). */
export interface InboundRequest {
  readonly name: string;
  readonly ip: string;
  readonly port: number;
  readonly workload?: Workload;
}

export function viewKeyOf(kind: GeneratorKind, client: ClientProxy, ownWorkloads: readonly string[], tls = false): string {
  const labels = Object.entries(client.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const key = [kind, client.namespace, formatLocality(client.locality), client.network, labels, ownWorkloads.join(',')].join('|');
  return tls ? `${key}|tls` : key;
}

/** Everything a generator reads for one view. */
export interface ViewContext {
  readonly spec: ViewSpec;
  readonly sources: ViewSources;
  readonly virtualServices: readonly VirtualService[];
  readonly ownWorkloads: readonly Workload[];
  /** ViewSpec.inboundRequests, resolved (gRPC). */
  readonly inboundRequests?: readonly InboundRequest[];
}

/** One service as this view sees it: the service and its clusters (from registry/view). */
export interface ServiceClusters {
  readonly service: MergedService;
  readonly clusters: readonly ClusterView[];
}

export type Labels = StringMap;

/** Orders workloads (or anything keyed) by key: the registry's order is not defined. */
export function byKey(a: { readonly key: string }, b: { readonly key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
