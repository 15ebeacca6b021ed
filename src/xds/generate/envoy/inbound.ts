/**
 * The inbound side of a sidecar (Istio: networking/core/listener_inbound.go, cluster.go
 * buildInboundClusters): `virtualInbound` on 0.0.0.0:15006, and for a VM sidecar (a proxy whose IP
 * is a WorkloadEntry's address) one inbound cluster and filter chain per port its services reach
 * it on.
 *
 * Which ports: every service (visible to the proxy or not: X-1, a workload's own inbound still uses
 * services exported nowhere) with an endpoint from one of the proxy's own workloads; the endpoint
 * port (E-PORT-1, e.g. a targetPort) is the inbound port and names the cluster `inbound|<port>||`
 * (C-1). The protocol is that of the service port, the first service by key winning a conflict.
 *
 * Simplifications: the inbound cluster is STATIC to 127.0.0.1:<port> (Istio's form for a Sidecar
 * ingress defaultEndpoint and before 1.10; current Istio uses ORIGINAL_DST from 127.0.0.6), which
 * reaches applications listening on localhost only too. The filter chains match the destination
 * port only, in plaintext.
 * TODO(issue 7): PeerAuthentication -> DownstreamTlsContext on the inbound filter chains (mTLS
 * STRICT/PERMISSIVE with tls_inspector and transport_protocol matches); until then a VM sidecar
 * only accepts plaintext, while peers with auto mTLS (C-6) send it mTLS.
 */
import { create } from '@bufbuild/protobuf';
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { OriginalDstSchema } from '../../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js';
import type { MergedService } from '../../../model/mesh/types.js';
import { emptyResourceSet, type ResourceSet } from '../resource-set.js';
import {
  BLACKHOLE_CLUSTER,
  circuitBreakers,
  connectTimeout,
  hcmFilter,
  httpProtocolOptions,
  INBOUND_PASSTHROUGH_CLUSTER,
  isHttpPort,
  ORIGINAL_DST_FILTER,
  routeToCluster,
  socketAddress,
  tcpProxyFilter,
  typed,
  VIRTUAL_INBOUND,
  VIRTUAL_INBOUND_PORT,
} from './filters.js';

/** One port the proxy's own workloads are reached on. */
export interface InboundPort {
  readonly port: number;
  readonly protocol: string;
  /** `<namespace>/<host>` of the services reaching it, sorted. */
  readonly services: readonly string[];
}

/** C-1: the inbound cluster of an endpoint port. */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** The inbound ports of the workloads `ownKeys` (endpoint `source` keys), sorted by port. */
export function inboundPorts(services: readonly MergedService[], ownKeys: ReadonlySet<string>): InboundPort[] {
  const byPort = new Map<number, { protocol: string; services: Set<string> }>();
  for (const s of [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    for (const e of s.endpoints) {
      if (!ownKeys.has(e.source) || e.port === 0) continue; // port 0: a unix socket, nothing to listen on
      if (e.port === VIRTUAL_INBOUND_PORT) continue; // the blackhole chain owns it (a duplicate match is NACKed)
      const sp = s.ports.find((p) => p.number === e.servicePort);
      if (!sp || sp.protocol === 'UDP') continue;
      let entry = byPort.get(e.port);
      if (!entry) byPort.set(e.port, (entry = { protocol: sp.protocol, services: new Set() }));
      entry.services.add(s.key);
    }
  }
  return [...byPort]
    .sort(([a], [b]) => a - b)
    .map(([port, e]) => ({ port, protocol: e.protocol, services: [...e.services].sort() }));
}

/** `inbound|<port>||`: STATIC to the application on 127.0.0.1:<port>. */
export function inboundCluster(p: InboundPort): Cluster {
  const name = inboundClusterName(p.port);
  const protocolOptions = httpProtocolOptions(p.protocol);
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.STATIC },
    connectTimeout: connectTimeout(undefined),
    circuitBreakers: circuitBreakers(undefined),
    ...(protocolOptions ? { typedExtensionProtocolOptions: protocolOptions } : {}),
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: 'endpoint', value: { address: socketAddress('127.0.0.1', p.port) } } }] }] },
  });
}

/** The filter chain of one inbound port: HCM with an inline route (HTTP) or tcp_proxy. */
function inboundChain(p: InboundPort) {
  const cluster = inboundClusterName(p.port);
  const statPrefix = `inbound_0.0.0.0_${p.port}`;
  const filter = isHttpPort(p.protocol)
    ? hcmFilter(
        statPrefix,
        {
          case: 'routeConfig',
          value: {
            name: cluster,
            virtualHosts: [{ name: `inbound|http|${p.port}`, domains: ['*'], routes: [routeToCluster('default', cluster)] }],
            validateClusters: false,
          },
        },
        { fault: false },
      )
    : tcpProxyFilter(cluster, cluster);
  return { name: `0.0.0.0_${p.port}`, filterChainMatch: { destinationPort: p.port }, filters: [filter] };
}

/**
 * `virtualInbound`: one filter chain per inbound port, Istio's blackhole chain for connections
 * addressed to 15006 itself (no loop), and a passthrough default chain for every other port.
 */
export function virtualInbound(ports: readonly InboundPort[]): Listener {
  return create(ListenerSchema, {
    name: VIRTUAL_INBOUND,
    address: socketAddress('0.0.0.0', VIRTUAL_INBOUND_PORT),
    trafficDirection: TrafficDirection.INBOUND,
    listenerFilters: [typed(ORIGINAL_DST_FILTER, OriginalDstSchema)],
    filterChains: [
      { name: 'virtualInbound-blackhole', filterChainMatch: { destinationPort: VIRTUAL_INBOUND_PORT }, filters: [tcpProxyFilter(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)] },
      ...ports.map(inboundChain),
    ],
    defaultFilterChain: { name: 'virtualInbound-catchall-tcp', filters: [tcpProxyFilter(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER)] },
  });
}

/** Inbound clusters and the virtualInbound listener for the proxy's own workloads (maybe none). */
export function inboundResources(allServices: readonly MergedService[], ownKeys: ReadonlySet<string>): ResourceSet {
  const out = emptyResourceSet();
  const ports = ownKeys.size > 0 ? inboundPorts(allServices, ownKeys) : [];
  for (const p of ports) out.clusters.set(inboundClusterName(p.port), inboundCluster(p));
  out.listeners.set(VIRTUAL_INBOUND, virtualInbound(ports));
  return out;
}
