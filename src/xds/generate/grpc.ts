/**
 * Resources for proxyless gRPC clients (Istio: pilot/pkg/networking/grpcgen), per service:
 * a Listener `host:port` with an api_listener, a RouteConfiguration of the same name, EDS clusters
 * (LOGICAL_DNS for a DNS service with one endpoint) and their ClusterLoadAssignments. What gRPC
 * refuses is not generated (grpc-xds-notes §3, §7): ORIGINAL_DST and STRICT_DNS clusters with
 * several endpoints, non-IP endpoint addresses, LEAST_REQUEST.
 *
 * Issue 7 (security, gRFC A29/A36): for nodes whose bootstrap has the certificate provider
 * `default` (ViewSpec.tls), clusters get an UpstreamTlsContext (`grpcClusterTls`), and a mixed
 * auto-mTLS cluster is split into `<cluster>|mtls` and `<cluster>|plaintext` parts that the
 * service's routes weigh by endpoint weights (`mixedClusterSplit`, docs/mtls-generation.md); xDS-enabled
 * servers get their inbound Listener (`grpcInboundResources`) with a DownstreamTlsContext per
 * PeerAuthentication and the RBAC of the AuthorizationPolicies that select the workload.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ListenerSchema } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import { RouteConfigurationSchema } from '../../gen/envoy/config/route/v3/route_pb.js';
import type { RouteAction_HashPolicySchema } from '../../gen/envoy/config/route/v3/route_components_pb.js';
import { HTTPFaultSchema } from '../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import { RouterSchema } from '../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { HttpConnectionManagerSchema, HttpFilterSchema, type HttpFilter } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { MergedService } from '../../model/mesh/types.js';
import type { ClusterView } from '../../registry/view/clusters.js';
import type { PortPolicy } from '../../registry/view/destination-rules.js';
import { ADS, lbPolicy, loadAssignment, outlierDetection } from './common.js';
import { grpcClusterTls, grpcUpstreamTls, mixedClusterSplit, type TlsPart } from './grpc-tls.js';
import { emptyResourceSet, type ResourceSet } from './resource-set.js';
import { routesFor } from './routes.js';
import type { ServiceClusters, ViewContext } from './view.js';
import { httpRoutesFor } from './virtual-services.js';
import { FAULT_FILTER } from './wire.js';
import { withFields } from '../../lib/objects/with-fields.js';

const ROUTER_FILTER = 'envoy.filters.http.router';

/** The name gRPC clients dial and subscribe to: `xds:///<host>:<port>`. */
export function grpcListenerName(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * The api_listener's HTTP filters, the same for every listener. Built once: the connection manager
 * holding them is serialised into its Any at once, so they are never shared mutably. Measured cause
 * (bench S1 100k, 10,000 listeners for the first proxy): packing them per listener was ~0.4 s.
 */
let grpcHttpFilters: readonly HttpFilter[] | undefined;
function apiListenerFilters(): HttpFilter[] {
  grpcHttpFilters ??= [
    create(HttpFilterSchema, { name: FAULT_FILTER, configType: { case: 'typedConfig', value: anyPack(HTTPFaultSchema, create(HTTPFaultSchema)) } }),
    create(HttpFilterSchema, { name: ROUTER_FILTER, configType: { case: 'typedConfig', value: anyPack(RouterSchema, create(RouterSchema)) } }),
  ];
  return [...grpcHttpFilters];
}

function apiListener(name: string) {
  const hcm = create(HttpConnectionManagerSchema, {
    routeSpecifier: { case: 'rds', value: { routeConfigName: name, configSource: ADS } },
    httpFilters: apiListenerFilters(),
  });
  return create(ListenerSchema, { name, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } });
}

/** Consistent hash as route hash policies (gRPC understands header and channel-id hashing). */
export function hashPolicy(policy: PortPolicy): MessageInitShape<typeof RouteAction_HashPolicySchema>[] | undefined {
  const ch = policy.loadBalancer?.consistentHash;
  if (!ch) return undefined;
  if (ch.httpHeaderName) return [{ policySpecifier: { case: 'header', value: { headerName: ch.httpHeaderName } } }];
  if (ch.useSourceIp) return [{ policySpecifier: { case: 'filterState', value: { key: 'io.grpc.channel_id' } } }];
  return undefined;
}

function grpcCluster(c: ClusterView, clusterId: string, tls: { readonly enabled: boolean; readonly autoMtls: boolean }, part?: TlsPart): Cluster | undefined {
  const lb = lbPolicy(c.policy, true);
  const od = outlierDetection(c.policy.outlierDetection);
  const transportSocket = part ? (part.kind === 'mtls' ? grpcUpstreamTls(part.sans) : undefined) : tls.enabled ? grpcClusterTls(c, tls.autoMtls) : undefined;
  const name = part ? part.name : c.name;
  const common = {
    name,
    ...(transportSocket ? { transportSocket } : {}),
    lbPolicy: lb.lbPolicy,
    ...(lb.ringHash !== undefined ? { lbConfig: { case: 'ringHashLbConfig' as const, value: { minimumRingSize: BigInt(lb.ringHash) } } } : {}),
    ...(od ? { outlierDetection: od } : {}),
  };
  if (c.type === 'EDS') {
    return create(ClusterSchema, withFields(common, { clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { serviceName: name, edsConfig: ADS } }));
  }
  const endpoints = c.localities.flatMap((g) => g.endpoints);
  if ((c.type === 'STRICT_DNS' || c.type === 'LOGICAL_DNS') && endpoints.length === 1) {
    const only = c.localities.find((g) => g.endpoints.length > 0);
    return create(
      ClusterSchema,
      withFields(common, {
        clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.LOGICAL_DNS },
        loadAssignment: loadAssignment(c.name, only ? [withFields(only, { priority: 0, weight: Math.max(1, only.weight) })] : [], { proxyless: false, clusterId }),
      }),
    );
  }
  return undefined;
}

/**
 * C-9 for proxyless clients: gRPC has no ORIGINAL_DST cluster, so a cluster that PASSTHROUGH turned
 * into one is sent as it is without PASSTHROUGH (its EDS endpoints, round robin), as Istio's gRPC
 * generator does (it ignores the PASSTHROUGH policy). A NONE-resolution service stays without cluster.
 */
function forProxyless(c: ClusterView): ClusterView {
  return c.withoutPassthrough ? withFields(c, c.withoutPassthrough) : c;
}

/** All resources one service contributes to a proxyless client's view. */
export function grpcServiceResources(ctx: ViewContext, serviceClusters: ServiceClusters, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet {
  const out = emptyResourceSet();
  const sc = { service: serviceClusters.service, clusters: serviceClusters.clusters.map(forProxyless) };
  const { service } = sc;
  const mesh = ctx.sources.mesh;
  const vs = httpRoutesFor(ctx.virtualServices, service.host, ctx.spec.client.namespace, mesh);
  const tls = { enabled: ctx.spec.tls === true, autoMtls: mesh.enableAutoMtls };
  // Issue 7: mixed clusters of this service, split for TLS-capable clients. Routes of this service
  // send to the parts; destinations at other hosts keep the original cluster (see docs).
  const splits = new Map<string, readonly TlsPart[]>();
  if (tls.enabled) {
    for (const c of sc.clusters) {
      const parts = mixedClusterSplit(c, tls.autoMtls);
      if (parts) splits.set(c.name, parts);
    }
  }
  const splitter = (cluster: string): readonly TlsPart[] | undefined => splits.get(cluster);
  for (const port of service.ports) {
    if (port.protocol === 'UDP') continue;
    const name = grpcListenerName(service.host, port.number);
    const defaultCluster = sc.clusters.find((c) => c.port === port.number && c.subset === '');
    const hp = defaultCluster ? hashPolicy(defaultCluster.policy) : undefined;
    const routes = routesFor(service, port.number, vs, servicesByHost, mesh, { proxyless: true, ...(hp ? { hashPolicy: hp } : {}), ...(splits.size > 0 ? { splitter } : {}) });
    out.listeners.set(name, apiListener(name));
    out.routes.set(
      name,
      create(RouteConfigurationSchema, { name, virtualHosts: [{ name, domains: [name, service.host], routes }] }),
    );
  }
  for (const c of sc.clusters) {
    const cluster = grpcCluster(c, mesh.clusterId, tls);
    if (!cluster) continue;
    // A split cluster keeps its original (plaintext, all endpoints, as before splitting existed):
    // VirtualServices of other hosts may route to it.
    out.clusters.set(c.name, cluster);
    if (c.type === 'EDS') out.endpoints.set(c.name, loadAssignment(c.name, c.localities, { proxyless: true, clusterId: mesh.clusterId }));
    for (const part of splits.get(c.name) ?? []) {
      const partCluster = grpcCluster(c, mesh.clusterId, tls, part);
      if (!partCluster) continue;
      out.clusters.set(part.name, partCluster);
      out.endpoints.set(part.name, loadAssignment(part.name, part.localities, { proxyless: true, clusterId: mesh.clusterId }));
    }
  }
  return out;
}

export { grpcInboundResources } from './grpc-inbound.js';
