/** Envoy message pieces shared by the gRPC and Envoy flavours (Istio: networking/util, cluster_builder). */
import { create } from '@bufbuild/protobuf';
import { type Duration, DurationSchema } from '@bufbuild/protobuf/wkt';
import { Cluster_LbPolicy, type Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { OutlierDetectionSchema, type OutlierDetection as EnvoyOutlierDetection } from '../../gen/envoy/config/cluster/v3/outlier_detection_pb.js';
import { ApiVersion, type ConfigSource } from '../../gen/envoy/config/core/v3/config_source_pb.js';
import { HealthStatus } from '../../gen/envoy/config/core/v3/health_check_pb.js';
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { LbEndpointSchema, LocalityLbEndpointsSchema } from '../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import type { MetadataSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { ConfigSourceSchema } from '../../gen/envoy/config/core/v3/config_source_pb.js';
import { FractionalPercent_DenominatorType } from '../../gen/envoy/type/v3/percent_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { OutlierDetection } from '../../model/config/types.js';
import { parseLocality } from '../../model/mesh/locality.js';
import type { HealthStatus as MeshHealth } from '../../model/mesh/types.js';
import { MAX_WEIGHT, type LocalityGroup, type SentEndpoint } from '../../registry/view/locality-groups.js';
import type { PortPolicy } from '../../registry/view/destination-rules.js';
import { durationMs } from './virtual-services.js';
import { withFields } from '../../lib/objects/with-fields.js';

export const ADS: MessageInitShape<typeof ConfigSourceSchema> = {
  configSourceSpecifier: { case: 'ads', value: {} },
  resourceApiVersion: ApiVersion.V3,
};
export type { ConfigSource };

export function duration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

export function healthStatus(h: MeshHealth): HealthStatus {
  switch (h) {
    case 'HEALTHY':
      return HealthStatus.HEALTHY;
    case 'UNHEALTHY':
      return HealthStatus.UNHEALTHY;
    case 'DRAINING':
      return HealthStatus.DRAINING;
    case 'UNKNOWN':
      return HealthStatus.UNKNOWN;
  }
}

/** `envoy.transport_socket_match` (EDS-9) and `istio` telemetry metadata (EDS-10) of an endpoint. */
export function endpointMetadata(e: SentEndpoint, clusterId: string): MessageInitShape<typeof MetadataSchema> | undefined {
  const canonicalName =
    e.labels['service.istio.io/canonical-name'] ?? e.labels['app.kubernetes.io/name'] ?? e.labels['app'] ?? e.workloadName;
  const rev = e.labels['service.istio.io/canonical-revision'] ?? e.labels['app.kubernetes.io/version'] ?? e.labels['version'] ?? 'latest';
  // protobuf-es v2 represents google.protobuf.Struct fields as plain JSON objects.
  const filterMetadata: Record<string, Record<string, string>> = {};
  if (e.tlsMode !== null) filterMetadata['envoy.transport_socket_match'] = { tlsMode: e.tlsMode };
  if (e.workloadName !== '') {
    filterMetadata['istio'] = { workload: `${e.workloadName};${e.namespace};${canonicalName};${rev === 'latest' ? '' : rev};${clusterId}` };
  }
  return Object.keys(filterMetadata).length > 0 ? { filterMetadata } : undefined;
}

export interface ClaOptions {
  /**
   * gRPC: only IP endpoints, no duplicates, no empty groups, priorities re-compacted, one group per
   * locality and priority (grpc-xds-notes §7).
   */
  readonly proxyless: boolean;
  readonly clusterId: string;
}

function socketEndpoint(e: SentEndpoint): NonNullable<MessageInitShape<typeof LbEndpointSchema>['hostIdentifier']> {
  if (e.address.startsWith('unix://')) {
    return { case: 'endpoint', value: { address: { address: { case: 'pipe', value: { path: e.address.slice('unix://'.length), mode: 0 } } } } };
  }
  return {
    case: 'endpoint',
    value: { address: { address: { case: 'socketAddress', value: { address: e.address, portSpecifier: { case: 'portValue', value: e.port } } } } },
  };
}

const IP_LIKE = /^[0-9a-fA-F.:]+$/;

/** The ClusterLoadAssignment (EDS) or inline load assignment (DNS clusters) of locality groups. */
export function loadAssignment(name: string, groups: readonly LocalityGroup[], o: ClaOptions): ClusterLoadAssignment {
  let list = groups;
  if (o.proxyless) {
    const seen = new Set<string>();
    list = groups
      .map((g) =>
        withFields(g, {
          endpoints: g.endpoints.filter((e) => {
            const k = `${e.address}:${e.port}`;
            if (!IP_LIKE.test(e.address) || seen.has(k)) return false;
            seen.add(k);
            return true;
          }),
        }),
      )
      .filter((g) => g.endpoints.length > 0);
    const used = [...new Set(list.map((g) => g.priority))].sort((a, b) => a - b);
    list = mergeSameLocality(list.map((g) => withFields(g, { priority: used.indexOf(g.priority) })));
  }
  list = fitPriorityWeights(list);
  const endpoints: MessageInitShape<typeof LocalityLbEndpointsSchema>[] = list.map((g) => {
    const l = parseLocality(g.locality);
    return {
      locality: { region: l.region, zone: l.zone, subZone: l.subZone },
      ...(g.weight > 0 ? { loadBalancingWeight: g.weight } : {}),
      priority: g.priority,
      lbEndpoints: g.endpoints.map((e) => {
        const metadata = endpointMetadata(e, o.clusterId);
        return {
          hostIdentifier: socketEndpoint(e),
          healthStatus: healthStatus(e.health),
          loadBalancingWeight: e.weight,
          ...(metadata ? { metadata } : {}),
        };
      }),
    };
  });
  return create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints });
}

/**
 * Bug fix (found end to end, test/e2e/locality-weights.test.ts): gRPC NACKs a ClusterLoadAssignment
 * that names one locality twice at one priority ("endpoints[1].locality is a duplicate of another
 * locality", grpc-js-xds endpoint-resource-type.ts), and then never gets this cluster's endpoints.
 * Groups are keyed by the locality *string*, but strings that differ only after the third segment
 * or by a trailing '/' ("r/z/s", "r/z/s/rack-7") are one locality on the wire (E-ATTR-4). Such
 * groups are merged for gRPC: endpoints concatenated, weights added (saturating). Only the
 * proxyless output is merged; what the Envoy generator sends is left as it was.
 */
function mergeSameLocality(groups: readonly LocalityGroup[]): LocalityGroup[] {
  const out: LocalityGroup[] = [];
  const byKey = new Map<string, number>();
  for (const g of groups) {
    const l = parseLocality(g.locality);
    const key = `${g.priority}\u0000${l.region}\u0000${l.zone}\u0000${l.subZone}`;
    const i = byKey.get(key);
    const first = i === undefined ? undefined : out[i];
    if (i === undefined || first === undefined) {
      byKey.set(key, out.length);
      out.push(g);
      continue;
    }
    out[i] = withFields(first, { weight: Math.min(MAX_WEIGHT, first.weight + g.weight), endpoints: [...first.endpoints, ...g.endpoints] });
  }
  return out;
}

/**
 * Bug fix (found end to end): the locality weights of one priority must add up to at most
 * 2^32 - 1. gRPC NACKs more ("priority 0 has total weight greater than UINT32_MAX"), and Envoy's API
 * states the same limit. Group weights are sums of endpoint weights saturated at that maximum
 * (EDS-6), so two heavy localities at one priority overflow. They are scaled down in proportion
 * (each at least 1) only when the sum would overflow.
 */
function fitPriorityWeights(groups: readonly LocalityGroup[]): LocalityGroup[] {
  const totals = new Map<number, { sum: number; n: number }>();
  for (const g of groups) {
    const t = totals.get(g.priority) ?? { sum: 0, n: 0 };
    totals.set(g.priority, { sum: t.sum + g.weight, n: t.n + 1 });
  }
  return groups.map((g) => {
    const t = totals.get(g.priority);
    if (t === undefined || t.sum <= MAX_WEIGHT || g.weight === 0) return g;
    // Budget MAX - n: floors plus the at-most-n bumps to 1 stay within MAX.
    return withFields(g, { weight: Math.max(1, Math.floor((g.weight * (MAX_WEIGHT - t.n)) / t.sum)) });
  });
}

/** DestinationRule outlierDetection as Envoy's (Istio cluster_traffic_policy.go applyOutlierDetection). */
export function outlierDetection(od: OutlierDetection | undefined): EnvoyOutlierDetection | undefined {
  if (!od) return undefined;
  const consecutive5xx = od.consecutive5xxErrors ?? od.consecutiveErrors;
  const interval = durationMs(od.interval);
  const baseEjection = durationMs(od.baseEjectionTime);
  return create(OutlierDetectionSchema, {
    ...(consecutive5xx !== undefined ? { consecutive5xx, enforcingConsecutive5xx: consecutive5xx > 0 ? 100 : 0 } : {}),
    ...(od.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayFailure: od.consecutiveGatewayErrors, enforcingConsecutiveGatewayFailure: 100 } : {}),
    ...(interval !== undefined ? { interval: duration(interval) } : {}),
    ...(baseEjection !== undefined ? { baseEjectionTime: duration(baseEjection) } : {}),
    ...(od.maxEjectionPercent !== undefined ? { maxEjectionPercent: od.maxEjectionPercent } : {}),
    enforcingSuccessRate: 0,
  });
}

/** LB policy of a cluster (Istio applyLoadBalancer); `proxyless` avoids what gRPC NACKs. */
export function lbPolicy(policy: PortPolicy, proxyless: boolean): Pick<Cluster, 'lbPolicy'> & { ringHash?: number } {
  const lb = policy.loadBalancer;
  if (lb?.consistentHash) {
    if (lb.consistentHash.maglev && !proxyless) return { lbPolicy: Cluster_LbPolicy.MAGLEV };
    return { lbPolicy: Cluster_LbPolicy.RING_HASH, ringHash: lb.consistentHash.ringHash?.minimumRingSize ?? lb.consistentHash.minimumRingSize ?? 1024 };
  }
  switch (lb?.simple) {
    case 'LEAST_CONN':
    case 'LEAST_REQUEST':
      return { lbPolicy: proxyless ? Cluster_LbPolicy.ROUND_ROBIN : Cluster_LbPolicy.LEAST_REQUEST };
    case 'RANDOM':
      return { lbPolicy: proxyless ? Cluster_LbPolicy.ROUND_ROBIN : Cluster_LbPolicy.RANDOM };
    default:
      return { lbPolicy: Cluster_LbPolicy.ROUND_ROBIN };
  }
}

export const MILLION = FractionalPercent_DenominatorType.MILLION;

