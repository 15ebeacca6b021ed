/**
 * `GET /api/v1/proxies/{id}/config` (view 6, docs/api.md): what one proxy gets, decoded from the
 * bytes last sent on its stream: clusters → endpoints (locality, priority, weight, health; a
 * network gateway standing in for a remote network's endpoints is marked), listeners with the
 * route configurations they use, routes per virtual host; and what changed in the last push to its
 * view (status/push-history.ts).
 */
import { fromBinary, toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { Cluster_DiscoveryType, type Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { Listener } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../../gen/envoy/config/route/v3/route_pb.js';
import type { NetworkGateway } from '../../model/mesh/mesh-settings.js';
import { proxyName, TYPE_SHORT_NAMES } from '../../status/sync-status.js';
import { endpointStates, routeSummaries } from '../../status/view-diff.js';
import { ENVOY_TYPE_REGISTRY } from '../../xds/generate/envoy/index.js';
import type { StreamResources } from '../../xds/server/ads-stream.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../xds/types/resource-types.js';
import type { XdsResourceType } from '../../xds/types/resource-type.js';
import type { ProxyClusterView, ProxyConfigResponse, ProxyEndpointView, ProxyListenerView, ProxyRouteView, PushDiff } from './types.js';

/** The resources of `type` last sent on the stream, decoded. */
function sent<D extends DescMessage>(s: StreamResources, type: XdsResourceType<D>): MessageShape<D>[] {
  const t = s.types.find((x) => x.typeUrl === type.typeUrl);
  return (t?.sent?.resources ?? []).map((r) => fromBinary(type.schema, r.any.value));
}

function endpointsOf(cla: ClusterLoadAssignment | undefined, gateways: ReadonlyMap<string, string>): ProxyEndpointView[] {
  if (cla === undefined) return [];
  return [...endpointStates(cla)]
    .map(([address, e]) => ({ address, ...e, gatewayFor: gateways.get(address) ?? null }))
    .sort((a, b) => a.priority - b.priority || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

function discoveryOf(c: Cluster): string {
  return c.clusterDiscoveryType.case === 'type' ? (Cluster_DiscoveryType[c.clusterDiscoveryType.value] ?? 'UNKNOWN') : c.clusterDiscoveryType.case === 'clusterType' ? `custom ${c.clusterDiscoveryType.value.name}` : 'STATIC';
}

/** Every `routeConfigName` inside a listener's JSON (HTTP connection managers, gRPC API listeners). */
function routeConfigNames(json: JsonValue, out: Set<string>): Set<string> {
  if (Array.isArray(json)) for (const v of json) routeConfigNames(v, out);
  else if (typeof json === 'object' && json !== null) {
    for (const [k, v] of Object.entries(json)) {
      if (k === 'routeConfigName' && typeof v === 'string') out.add(v);
      else routeConfigNames(v, out);
    }
  }
  return out;
}

function listenerView(l: Listener): ProxyListenerView {
  const a = l.address?.address;
  const address = a?.case === 'socketAddress' ? `${a.value.address}:${a.value.portSpecifier.case === 'portValue' ? a.value.portSpecifier.value : ''}` : a?.case === 'pipe' ? `unix:${a.value.path}` : '';
  const json = toJson(LISTENER.schema, l, { registry: ENVOY_TYPE_REGISTRY });
  return { name: l.name, address, routeConfigurations: [...routeConfigNames(json, new Set())].sort() };
}

function routeViews(rc: RouteConfiguration): ProxyRouteView[] {
  return rc.virtualHosts.map((vh) => ({ routeConfiguration: rc.name, virtualHost: vh.name, domains: [...vh.domains], routes: routeSummaries(vh) }));
}

const byName = <T extends { readonly name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function proxyConfigView(s: StreamResources, gateways: readonly NetworkGateway[], lastPush: PushDiff | undefined): ProxyConfigResponse {
  const gatewayByAddress = new Map(gateways.map((g) => [`${g.address}:${g.port}`, g.network]));
  const assignments = new Map(sent(s, ENDPOINT).map((cla) => [cla.clusterName, cla]));
  const clusters = sent(s, CLUSTER)
    .map((c): ProxyClusterView => {
      const discovery = discoveryOf(c);
      const cla = discovery === 'EDS' ? assignments.get(c.edsClusterConfig?.serviceName || c.name) : c.loadAssignment;
      return { name: c.name, discovery, endpoints: endpointsOf(cla, gatewayByAddress) };
    })
    .sort(byName);
  const versions: Record<string, string> = {};
  for (const t of s.types) if (t.sent !== undefined) versions[TYPE_SHORT_NAMES[t.typeUrl] ?? t.typeUrl] = t.sent.version;
  return {
    id: s.stream.proxy.id,
    name: proxyName(s.stream.proxy),
    view: s.stream.view,
    versions,
    clusters,
    listeners: sent(s, LISTENER).map(listenerView).sort(byName),
    routes: sent(s, ROUTE)
      .sort(byName)
      .flatMap(routeViews),
    diffFromPrevious: lastPush ?? null,
  };
}
