/**
 * Outbound clusters of an Envoy sidecar (Istio: networking/core/cluster.go, cluster_builder.go,
 * cluster_traffic_policy.go) built from the per-client cluster view (registry/view/clusters.ts),
 * plus Istio's fixed PassthroughCluster, BlackHoleCluster and InboundPassthroughCluster.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  Cluster_DiscoveryType,
  Cluster_DnsLookupFamily,
  Cluster_LbPolicy,
  ClusterSchema,
  type Cluster,
} from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { LocalityLbSetting, PeerAuthentication } from '../../../model/config/types.js';
import type { MeshSettings } from '../../../model/mesh/mesh-settings.js';
import { ANNOTATION } from '../../../model/mesh/labels.js';
import type { ClusterView } from '../../../registry/view/clusters.js';
import type { LocalityGroup } from '../../../registry/view/locality-groups.js';
import { ADS, duration, lbPolicy, outlierDetection } from '../common.js';
import { envoyLoadAssignment } from './endpoints.js';
import {
  BLACKHOLE_CLUSTER,
  circuitBreakers,
  connectTimeout,
  DNS_REFRESH_RATE_MS,
  httpProtocolOptions,
  INBOUND_PASSTHROUGH_BIND,
  INBOUND_PASSTHROUGH_CLUSTER,
  PASSTHROUGH_CLUSTER,
} from './filters.js';
import { clusterTls } from './tls.js';
import { withFields } from '../../../lib/objects/with-fields.js';

type ClusterInit = MessageInitShape<typeof ClusterSchema>;

/**
 * The LB policy of an Envoy cluster (Istio applyLoadBalancer). Unlike the proxyless flavour, an
 * unset or LEAST_CONN/LEAST_REQUEST policy is Envoy LEAST_REQUEST (Istio's default since 1.14);
 * ROUND_ROBIN, RANDOM, ring hash and Maglev as configured. PASSTHROUGH is handled by the caller.
 */
function envoyLb(c: ClusterView): Pick<ClusterInit, 'lbPolicy' | 'lbConfig'> {
  const lb = c.policy.loadBalancer;
  const simple = lb?.simple ?? 'UNSPECIFIED';
  if (!lb?.consistentHash && (simple === 'UNSPECIFIED' || simple === 'LEAST_CONN' || simple === 'LEAST_REQUEST')) {
    return { lbPolicy: Cluster_LbPolicy.LEAST_REQUEST };
  }
  const p = lbPolicy(c.policy, false);
  if (p.lbPolicy === Cluster_LbPolicy.RING_HASH && p.ringHash !== undefined) {
    return { lbPolicy: p.lbPolicy, lbConfig: { case: 'ringHashLbConfig', value: { minimumRingSize: BigInt(p.ringHash) } } };
  }
  const table = lb?.consistentHash?.maglev?.tableSize;
  if (p.lbPolicy === Cluster_LbPolicy.MAGLEV && table !== undefined) {
    return { lbPolicy: p.lbPolicy, lbConfig: { case: 'maglevLbConfig', value: { tableSize: BigInt(table) } } };
  }
  return { lbPolicy: p.lbPolicy };
}

/**
 * L-8: `locality_weighted_lb_config` when `distribute` is set, or when failover is active (outlier
 * detection, or a traffic-distribution preference) and `failover`/`failoverPriority` is set.
 */
function localityWeighted(c: ClusterView, mesh: MeshSettings): boolean {
  const setting: LocalityLbSetting = c.policy.loadBalancer?.localityLbSetting ?? mesh.localityLbSetting;
  if (setting.enabled === false) return false;
  if ((setting.distribute ?? []).length > 0) return true;
  const preference = (c.service.annotations['networking.istio.io/traffic-distribution'] ?? '').toLowerCase();
  if (!c.policy.loadBalancer?.localityLbSetting && ['preferclose', 'prefersamezone', 'prefersamenode'].includes(preference)) return true;
  return c.policy.outlierDetection !== undefined && ((setting.failover ?? []).length > 0 || (setting.failoverPriority ?? []).length > 0);
}

/**
 * L-11 (Istio ZoneAwareLBSettings.ApplyToCluster): a DestinationRule zoneAwareLbSetting gives the
 * cluster `zone_aware_lb_config` (with its min_cluster_size); `enabled: false` sets
 * routing_enabled 0 % so Envoy's own zone-aware routing is off too. Envoy routes by zone only with a
 * `local_cluster` (Istio's self-discovery), which meshbridge does not send: the region priorities
 * of the endpoints (registry/view) are what takes effect.
 */
function zoneAwareLbConfig(c: ClusterView): Pick<ClusterInit, 'commonLbConfig'> {
  const za = c.policy.loadBalancer?.zoneAwareLbSetting;
  if (!za) return {};
  const min = za.minClusterSize !== undefined ? { minClusterSize: BigInt(za.minClusterSize) } : {};
  const routing = za.enabled === false ? { routingEnabled: { value: 0 } } : {};
  return { commonLbConfig: { localityConfigSpecifier: { case: 'zoneAwareLbConfig', value: { ...routing, ...min } } } };
}

/** The cluster's common LB config: zone-aware (L-11) or locality-weighted (L-8), or none. */
function commonLbConfig(c: ClusterView, mesh: MeshSettings): Pick<ClusterInit, 'commonLbConfig'> {
  if (c.policy.loadBalancer?.zoneAwareLbSetting) return zoneAwareLbConfig(c);
  return localityWeighted(c, mesh) ? { commonLbConfig: { localityConfigSpecifier: { case: 'localityWeightedLbConfig', value: {} } } } : {};
}

/** C-4, C-7: a DNS cluster's inline endpoints; LOGICAL_DNS takes only the first (Envoy allows one). */
function dnsEndpoints(c: ClusterView): readonly LocalityGroup[] {
  if (c.type !== 'LOGICAL_DNS') return c.localities;
  const first = c.localities.find((g) => g.endpoints.length > 0);
  const ep = first?.endpoints[0];
  return first && ep ? [withFields(first, { weight: ep.weight, endpoints: [ep] })] : [];
}

export interface OutboundContext {
  readonly mesh: MeshSettings;
  readonly peerAuthentications: readonly PeerAuthentication[];
}

/** One outbound cluster (C-1 name, C-3 type, C-6 TLS, C-8 port override) from its view. */
export function outboundCluster(c: ClusterView, o: OutboundContext): Cluster {
  const pool = c.policy.connectionPool;
  const od = outlierDetection(c.policy.outlierDetection);
  const protocolOptions = httpProtocolOptions(c.servicePort.protocol);
  const common: ClusterInit = {
    name: c.name,
    connectTimeout: connectTimeout(pool),
    circuitBreakers: circuitBreakers(pool),
    ...(od ? { outlierDetection: od } : {}),
    ...(protocolOptions ? { typedExtensionProtocolOptions: protocolOptions } : {}),
    ...clusterTls(c, o.peerAuthentications, o.mesh),
  };
  // C-9: the view has already turned a PASSTHROUGH cluster of any resolution into ORIGINAL_DST.
  switch (c.type) {
    case 'ORIGINAL_DST': {
      const override = c.service.resolution === 'NONE' && c.servicePort.targetPort > 0 ? c.servicePort.targetPort : undefined;
      return create(
        ClusterSchema,
        withFields(common, {
          clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST },
          lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
          // C-8 / S-4: a passthrough port's targetPort replaces the original destination port.
          ...(override !== undefined ? { lbConfig: { case: 'originalDstLbConfig', value: { upstreamPortOverride: override } } } : {}),
        }),
      );
    }
    case 'EDS':
      // Named fields first: a literal that starts with a spread costs a hidden class per object (lib/objects/with-fields.ts).
      return create(
        ClusterSchema,
        withFields(common, {
          clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.EDS },
          edsClusterConfig: { serviceName: c.name, edsConfig: ADS },
          ...envoyLb(c),
          ...commonLbConfig(c, o.mesh),
        }),
      );
    case 'STRICT_DNS':
    case 'LOGICAL_DNS': {
      // S-7: the race-first annotation resolves both address families.
      const raceFirst = c.service.annotations[ANNOTATION.connectStrategy] === 'RACE_FIRST_TCP_CONNECT';
      return create(
        ClusterSchema,
        withFields(common, {
          clusterDiscoveryType: { case: 'type', value: c.type === 'LOGICAL_DNS' ? Cluster_DiscoveryType.LOGICAL_DNS : Cluster_DiscoveryType.STRICT_DNS },
          // Istio: V4_ONLY for IPv4-only proxies (the default here), dns_refresh_rate 60s, respect TTL.
          dnsLookupFamily: raceFirst ? Cluster_DnsLookupFamily.ALL : Cluster_DnsLookupFamily.V4_ONLY,
          dnsRefreshRate: duration(DNS_REFRESH_RATE_MS),
          respectDnsTtl: true,
          loadAssignment: envoyLoadAssignment(c.name, dnsEndpoints(c), o.mesh.clusterId),
          ...envoyLb(c),
          ...zoneAwareLbConfig(c),
        }),
      );
    }
  }
}

/** Istio's PassthroughCluster: connections to unknown destinations go where they were headed. */
export function passthroughCluster(): Cluster {
  return create(ClusterSchema, {
    name: PASSTHROUGH_CLUSTER,
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST },
    lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
    connectTimeout: connectTimeout(undefined),
    circuitBreakers: circuitBreakers(undefined),
    ...httpOptionsOfPassthrough(),
  });
}

function httpOptionsOfPassthrough(): Pick<ClusterInit, 'typedExtensionProtocolOptions'> {
  const o = httpProtocolOptions('');
  return o ? { typedExtensionProtocolOptions: o } : {};
}

/** Istio's BlackHoleCluster: a STATIC cluster with no endpoints. */
export function blackHoleCluster(): Cluster {
  return create(ClusterSchema, {
    name: BLACKHOLE_CLUSTER,
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.STATIC },
    connectTimeout: connectTimeout(undefined),
  });
}

/**
 * Istio's InboundPassthroughCluster: inbound connections to ports no service declares reach the
 * application at their original destination, from 127.0.0.6 (so the capture rules let them pass).
 */
export function inboundPassthroughCluster(): Cluster {
  return create(ClusterSchema, {
    name: INBOUND_PASSTHROUGH_CLUSTER,
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST },
    lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
    connectTimeout: connectTimeout(undefined),
    circuitBreakers: circuitBreakers(undefined),
    upstreamBindConfig: { sourceAddress: { address: INBOUND_PASSTHROUGH_BIND, portSpecifier: { case: 'portValue', value: 0 } } },
    ...httpOptionsOfPassthrough(),
  });
}
