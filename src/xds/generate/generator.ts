/** What the push pipeline asks of a generator flavour (Envoy sidecar, proxyless gRPC). */
import type { MergedService } from '../../model/mesh/types.js';
import type { ViewSources } from '../../registry/view/clusters.js';
import type { ResourceSet } from './resource-set.js';
import type { ViewContext } from './view.js';

/** A generator flavour: per-service resources, plus resources shared by all services of a view. */
export interface Generator {
  forService(ctx: ViewContext, service: MergedService, sources: ViewSources, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet;
  /** Resources that depend on all services (Envoy: port-level routes, virtual listeners, inbound). */
  shared?(ctx: ViewContext, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet;
  /**
   * A key of everything `shared` reads besides the policies (PeerAuthentication, AuthorizationPolicy,
   * mesh settings): two contexts with equal keys under the same policies get equal `shared` parts,
   * so the class feed builds each distinct one once (Envoy: a sidecar's inbound side, from its
   * ports, namespace and labels). Optional: without it `shared` runs for every class.
   */
  sharedKey?(ctx: ViewContext): string;
  /**
   * The generator reads the client only through `clustersForService` (DestinationRules, locality
   * load balancing, network gateways) and the VirtualServices visible from its namespace, and not
   * the view's own workloads: views may then share classes and per-service results (see
   * pipeline.ts and relevance.ts).
   */
  readonly sharedAcrossViews?: boolean;
  /**
   * `forService` alone reads the client only through `clustersForService` (and the VirtualServices
   * visible from its namespace): its per-service results may be shared by classes (service-memo.ts)
   * even when `shared` keeps one class per view. Envoy: each sidecar has its own class (its inbound
   * side), but clusters and endpoints are built and encoded once for all of them (bench S6).
   */
  readonly perServiceAcrossViews?: boolean;
  /**
   * The part of `shared` that reads the client only through the attributes relevance.ts tracks and
   * the services only through the visible winners (Envoy: outbound listeners and routes): the class
   * feed builds it once for all classes of one relevance class (bench S6: 2.9 MiB per sidecar).
   */
  outbound?(ctx: ViewContext, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet;
  /**
   * Its clients subscribe to every resource by name (proxyless gRPC): when the pipeline is told the
   * streams' requests (PipelineOptions.generateOnDemand), a class holds only the hosts its streams
   * asked for (demand.ts). Requires `shared` not to read the services, and no `outbound`.
   */
  readonly onDemand?: boolean;
}
