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
 * reaches applications listening on localhost only too.
 *
 * Issue 7, mTLS per PeerAuthentication (Istio listener_inbound.go / authn): the mode of each port
 * (effectiveMtlsMode of the proxy's first own workload, port-level settings included) decides its
 * chains. STRICT: one chain matching the port with a DownstreamTlsContext (SDS `default`/`ROOTCA`
 * from istio-agent, client certificate required), so plaintext fails the handshake. PERMISSIVE:
 * two chains told apart by the tls_inspector listener filter: `transport_protocol: tls` (mTLS, as
 * STRICT) and `raw_buffer` (plaintext). Unlike Istio, the TLS chain does not require the `istio*`
 * ALPN, so proxyless gRPC clients (ALPN `h2` only) are served mTLS too. DISABLE: plaintext only.
 * AuthorizationPolicies selecting the workload become RBAC HTTP filters (authz.ts) in the HCM of
 * HTTP-family ports, and network RBAC filters before tcp_proxy on TCP ports (layer `tcp`: HTTP-only
 * attributes drop an ALLOW rule and are ignored in a DENY rule, as Istio's TCP builder does).
 */
import { create } from '@bufbuild/protobuf';
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { OriginalDstSchema } from '../../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js';
import { TlsInspectorSchema } from '../../../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { HttpFilterSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { FilterSchema } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { DownstreamTlsContextSchema } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { TlsParameters_TlsProtocol } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js';
import type { AuthorizationPolicy, MtlsMode, PeerAuthentication } from '../../../model/config/types.js';
import type { MeshSettings } from '../../../model/mesh/mesh-settings.js';
import type { MergedService, Workload } from '../../../model/mesh/types.js';
import { effectiveMtlsMode } from '../../../registry/view/peer-authentication.js';
import { inboundRbac, rbacHttpFilters, rbacNetworkFilters } from '../authz.js';
import { agentSds, SDS_DEFAULT, SDS_ROOT } from './tls.js';
import { emptyResourceSet, type ResourceSet } from '../resource-set.js';
import {
  BLACKHOLE_CLUSTER,
  circuitBreakers,
  connectTimeout,
  hcmFilter,
  httpProtocolOptions,
  INBOUND_PASSTHROUGH_CLUSTER,
  routeToCluster,
  tcpProxyFilter,
  VIRTUAL_INBOUND,
  VIRTUAL_INBOUND_PORT,
} from './filters.js';
import { isHttpPort, ORIGINAL_DST_FILTER, socketAddress, TLS_TRANSPORT_SOCKET, typed } from '../wire.js';

/** One port the proxy's own workloads are reached on. */
export interface InboundPort {
  readonly port: number;
  readonly protocol: string;
  /** `<namespace>/<host>` of the services reaching it, sorted (for explanations: no resource reads it, see inboundKey). */
  readonly services: readonly string[];
}

/** C-1: the inbound cluster of an endpoint port. */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** The inbound ports of the workloads `ownKeys` (endpoint `source` keys), sorted by port. */
export function inboundPorts(services: readonly MergedService[], ownKeys: ReadonlySet<string>): InboundPort[] {
  const byPort = new Map<number, { protocol: string; services: Set<string> }>();
  // The services reaching an own workload, then sorted: measured (bench S6 connect, 1,000 services)
  // copying and sorting every service for each sidecar was 2.5 % of the connect CPU.
  const reaching = services.filter((s) => s.endpoints.some((e) => ownKeys.has(e.source)));
  for (const s of reaching.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
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

export const TLS_INSPECTOR_FILTER = 'envoy.filters.listener.tls_inspector';

/** What decides the security of an inbound port (issue 7); defaults: PERMISSIVE, no RBAC. */
export interface InboundSecurity {
  readonly mtlsMode: Exclude<MtlsMode, 'UNSET'>;
  readonly rbacFilters: readonly MessageInitShape<typeof HttpFilterSchema>[];
  /** The network RBAC filters of TCP ports (before tcp_proxy); none by default. */
  readonly rbacNetworkFilters?: readonly MessageInitShape<typeof FilterSchema>[];
}

const PLAINTEXT: InboundSecurity = { mtlsMode: 'DISABLE', rbacFilters: [] };

/**
 * Istio's inbound DownstreamTlsContext: workload certificate and root from istio-agent (SDS),
 * client certificates required, TLS 1.2+, Istio's ALPN (ALPNDownstreamWithMxc for HTTP ports,
 * ALPNInMeshWithMxc otherwise).
 */
export function inboundTlsSocket(protocol: string) {
  return typed(TLS_TRANSPORT_SOCKET, DownstreamTlsContextSchema, {
    commonTlsContext: {
      tlsParams: { tlsMinimumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_2, tlsMaximumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_3 },
      tlsCertificateSdsSecretConfigs: [agentSds(SDS_DEFAULT)],
      validationContextType: { case: 'combinedValidationContext', value: { defaultValidationContext: {}, validationContextSdsSecretConfig: agentSds(SDS_ROOT) } },
      alpnProtocols: isHttpPort(protocol) ? ['istio-peer-exchange', 'h2', 'http/1.1'] : ['istio-peer-exchange', 'istio'],
    },
    requireClientCertificate: true,
  });
}

/** The filter chains of one inbound port: HCM with an inline route (HTTP) or tcp_proxy, per mTLS mode. */
function inboundChains(p: InboundPort, security: InboundSecurity) {
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
        { fault: false, before: security.rbacFilters },
      )
    : tcpProxyFilter(cluster, cluster);
  const filters = isHttpPort(p.protocol) ? [filter] : [...(security.rbacNetworkFilters ?? []), filter];
  const name = `0.0.0.0_${p.port}`;
  switch (security.mtlsMode) {
    case 'DISABLE':
      return [{ name, filterChainMatch: { destinationPort: p.port }, filters }];
    case 'STRICT':
      return [{ name, filterChainMatch: { destinationPort: p.port }, filters, transportSocket: inboundTlsSocket(p.protocol) }];
    case 'PERMISSIVE':
      return [
        { name: `${name}-mtls`, filterChainMatch: { destinationPort: p.port, transportProtocol: 'tls' }, filters, transportSocket: inboundTlsSocket(p.protocol) },
        { name, filterChainMatch: { destinationPort: p.port, transportProtocol: 'raw_buffer' }, filters },
      ];
  }
}

/**
 * The catch-all chains of `virtualInbound` (connections to ports no service names), Istio's
 * passthrough chains (listener_inbound.go buildInboundPassthroughChains): tcp_proxy to the original
 * destination behind the network RBAC filters, with the mTLS of `security.mtlsMode`: STRICT = the
 * default chain terminates mTLS; PERMISSIVE = a chain matching `transport_protocol: tls` terminates
 * mTLS and the default chain takes plaintext; DISABLE = plaintext only.
 */
function catchAllChains(security: InboundSecurity) {
  const filters = [...(security.rbacNetworkFilters ?? []), tcpProxyFilter(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER)];
  const mtls = { filters, transportSocket: inboundTlsSocket('TCP') };
  const name = 'virtualInbound-catchall-tcp';
  switch (security.mtlsMode) {
    case 'STRICT':
      return { chains: [], defaultChain: { name, ...mtls } };
    case 'PERMISSIVE':
      return { chains: [{ name: `${name}-mtls`, filterChainMatch: { transportProtocol: 'tls' }, ...mtls }], defaultChain: { name, filters } };
    case 'DISABLE':
      return { chains: [], defaultChain: { name, filters } };
  }
}

/**
 * `virtualInbound`: the filter chains of each inbound port, Istio's blackhole chain for
 * connections addressed to 15006 itself (no loop), and the catch-all chains for every other port
 * with `passthrough`'s mTLS and RBAC (default: plaintext, no RBAC). The tls_inspector listener
 * filter is added when some port, or the catch-all, is PERMISSIVE.
 */
export function virtualInbound(ports: readonly InboundPort[], securityOf: (p: InboundPort) => InboundSecurity = () => PLAINTEXT, passthrough: InboundSecurity = PLAINTEXT): Listener {
  const chains = ports.map((p) => inboundChains(p, securityOf(p)));
  const catchAll = catchAllChains(passthrough);
  // The transport_protocol matches of PERMISSIVE chains need the tls_inspector.
  const inspect = passthrough.mtlsMode === 'PERMISSIVE' || ports.some((p) => securityOf(p).mtlsMode === 'PERMISSIVE');
  return create(ListenerSchema, {
    name: VIRTUAL_INBOUND,
    address: socketAddress('0.0.0.0', VIRTUAL_INBOUND_PORT),
    trafficDirection: TrafficDirection.INBOUND,
    listenerFilters: [typed(ORIGINAL_DST_FILTER, OriginalDstSchema), ...(inspect ? [typed(TLS_INSPECTOR_FILTER, TlsInspectorSchema)] : [])],
    filterChains: [
      { name: 'virtualInbound-blackhole', filterChainMatch: { destinationPort: VIRTUAL_INBOUND_PORT }, filters: [tcpProxyFilter(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)] },
      ...chains.flat(),
      ...catchAll.chains,
    ],
    defaultFilterChain: catchAll.defaultChain,
  });
}

export interface InboundPolicies {
  readonly mesh: MeshSettings;
  /** The proxy's namespace: the scope of the catch-all chains of a proxy without a workload (default: the mesh's root namespace). */
  readonly proxyNamespace?: string;
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
}

/** What inboundResources reads besides the policies: the own ports, the first own workload and the policy target. */
function inboundInputs(allServices: readonly MergedService[], own: readonly Workload[], policies: Pick<InboundPolicies, 'mesh' | 'proxyNamespace'>) {
  const ports = own.length > 0 ? inboundPorts(allServices, new Set(own.map((w) => w.key))) : [];
  const w = [...own].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))[0];
  const target = w ? { namespace: w.namespace, labels: w.labels } : { namespace: policies.proxyNamespace ?? policies.mesh.rootNamespace, labels: {} };
  return { ports, w, target };
}

/**
 * A key of everything inboundResources reads besides the policies: equal keys under the same
 * policies give equal resources (Generator.sharedKey).
 */
export function inboundKey(allServices: readonly MergedService[], own: readonly Workload[], policies: InboundPolicies): string {
  const { ports, w, target } = inboundInputs(allServices, own, policies);
  // The policies select workloads by `selector.matchLabels` only: other labels cannot change the
  // result (measured, bench S6: a key with every label was one per sidecar).
  const read = new Set<string>();
  for (const p of [...policies.peerAuthentications, ...policies.authorizationPolicies]) for (const k of Object.keys(p.spec.selector?.matchLabels ?? {})) read.add(k);
  const labels = [...read].sort().map((k) => [k, target.labels[k]]);
  // InboundPort.services is not read by the resources: sidecars of different services on one port share them.
  return JSON.stringify([ports.map((p) => [p.port, p.protocol]), w !== undefined, target.namespace, labels]);
}

/**
 * Inbound clusters and the virtualInbound listener for the proxy's own workloads (maybe none). The
 * first own workload (by key) decides PeerAuthentication and AuthorizationPolicy selection; the
 * catch-all chains get its workload-level mode (no port-level setting) and its TCP RBAC, or for a
 * proxy without a workload its namespace's (or the mesh's) mode and selector-less policies: never
 * an open passthrough in a STRICT namespace or under a mesh-wide DENY (issue 11).
 */
export function inboundResources(allServices: readonly MergedService[], own: readonly Workload[], policies: InboundPolicies): ResourceSet {
  const out = emptyResourceSet();
  const { ports, w, target } = inboundInputs(allServices, own, policies);
  for (const p of ports) out.clusters.set(inboundClusterName(p.port), inboundCluster(p));
  const rbacFilters = w ? rbacHttpFilters(inboundRbac(policies.authorizationPolicies, target, policies.mesh), false) : [];
  const rbacNetwork = rbacNetworkFilters(inboundRbac(policies.authorizationPolicies, target, policies.mesh, 'tcp'));
  const modeAt = (port: number) => effectiveMtlsMode(policies.peerAuthentications, policies.mesh.rootNamespace, target.namespace, target.labels, port);
  const securityOf = (p: InboundPort): InboundSecurity => (w ? { mtlsMode: modeAt(p.port), rbacFilters, rbacNetworkFilters: rbacNetwork } : PLAINTEXT);
  const passthrough: InboundSecurity = { mtlsMode: modeAt(0), rbacFilters: [], rbacNetworkFilters: rbacNetwork };
  out.listeners.set(VIRTUAL_INBOUND, virtualInbound(ports, securityOf, passthrough));
  return out;
}
