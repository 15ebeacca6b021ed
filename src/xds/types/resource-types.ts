import type { DescMessage } from '@bufbuild/protobuf';
import { ClusterSchema } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ClusterLoadAssignmentSchema } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { ListenerSchema } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import { RouteConfigurationSchema } from '../../gen/envoy/config/route/v3/route_pb.js';
import { SecretSchema } from '../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import { NameTableSchema } from '../../gen/istio/networking/nds/v1/nds_pb.js';
import { defineResourceType, type XdsResourceType } from './resource-type.js';

/** LDS. Full state; Envoy subscribes with a wildcard, gRPC names the listener (`host:port`). */
export const LISTENER = defineResourceType({
  shortName: 'LDS',
  schema: ListenerSchema,
  fullState: true,
  legacyWildcard: true,
  pushOrder: 2,
  nameOf: (m) => m.name,
});

/** RDS. Not full state: absence never deletes, so responses may carry only what changed. */
export const ROUTE = defineResourceType({
  shortName: 'RDS',
  schema: RouteConfigurationSchema,
  fullState: false,
  legacyWildcard: false,
  pushOrder: 3,
  nameOf: (m) => m.name,
});

/** CDS. Full state, like LDS. */
export const CLUSTER = defineResourceType({
  shortName: 'CDS',
  schema: ClusterSchema,
  fullState: true,
  legacyWildcard: true,
  pushOrder: 0,
  nameOf: (m) => m.name,
});

/** EDS. Named by `cluster_name` (the cluster's `eds_cluster_config.service_name`, or its name). */
export const ENDPOINT = defineResourceType({
  shortName: 'EDS',
  schema: ClusterLoadAssignmentSchema,
  fullState: false,
  legacyWildcard: false,
  pushOrder: 1,
  nameOf: (m) => m.clusterName,
});

/** SDS, for later: certificates and keys by name. */
export const SECRET = defineResourceType({
  shortName: 'SDS',
  schema: SecretSchema,
  fullState: false,
  legacyWildcard: false,
  pushOrder: 4,
  nameOf: (m) => m.name,
});

/**
 * NDS: Istio's per-proxy DNS name table for the agent's DNS proxy (docs/dns.md). One unnamed
 * resource carrying the whole table, sent again whenever it changes; an empty request subscribes,
 * as Istio's agent sends it. The agent consumes it and never forwards it to Envoy.
 */
export const NAME_TABLE = defineResourceType({
  shortName: 'NDS',
  schema: NameTableSchema,
  fullState: true,
  legacyWildcard: true,
  pushOrder: 5,
  nameOf: () => '',
});

/** The type URLs this control plane knows, as literal types. */
export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  Secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  NameTable: 'type.googleapis.com/istio.networking.nds.v1.NameTable',
} as const;
export type KnownTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** Type URL → descriptor (STYLE principle 9: a type-URL-to-message map). */
export interface ResourceTypeMap {
  [TypeUrl.Listener]: typeof LISTENER;
  [TypeUrl.RouteConfiguration]: typeof ROUTE;
  [TypeUrl.Cluster]: typeof CLUSTER;
  [TypeUrl.ClusterLoadAssignment]: typeof ENDPOINT;
  [TypeUrl.Secret]: typeof SECRET;
  [TypeUrl.NameTable]: typeof NAME_TABLE;
}

const BY_URL: ReadonlyMap<string, XdsResourceType> = new Map<string, XdsResourceType<DescMessage>>(
  [LISTENER, ROUTE, CLUSTER, ENDPOINT, SECRET, NAME_TABLE].map((t) => [t.typeUrl, t as unknown as XdsResourceType]),
);

/** Every known descriptor, in push order (CDS, EDS, LDS, RDS, SDS, NDS). */
export const RESOURCE_TYPES: readonly XdsResourceType[] = [...BY_URL.values()].sort((a, b) => a.pushOrder - b.pushOrder);

/** The descriptor of a type URL, or undefined for a type this control plane does not serve. */
export function resourceTypeOf(typeUrl: string): XdsResourceType | undefined {
  return BY_URL.get(typeUrl);
}
