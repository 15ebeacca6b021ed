/** The resources of one view, by xDS type; generators fill one per service and the pipeline merges them. */
import type { Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { Listener } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../../gen/envoy/config/route/v3/route_pb.js';

export interface ResourceSet {
  readonly listeners: Map<string, Listener>;
  readonly routes: Map<string, RouteConfiguration>;
  readonly clusters: Map<string, Cluster>;
  readonly endpoints: Map<string, ClusterLoadAssignment>;
}

export function emptyResourceSet(): ResourceSet {
  return { listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map() };
}

/** Adds `from` into `into` (later sets win on a name clash). */
export function mergeInto(into: ResourceSet, from: ResourceSet): void {
  for (const [k, v] of from.listeners) into.listeners.set(k, v);
  for (const [k, v] of from.routes) into.routes.set(k, v);
  for (const [k, v] of from.clusters) into.clusters.set(k, v);
  for (const [k, v] of from.endpoints) into.endpoints.set(k, v);
}
