/**
 * The per-client cluster view: exactly what a client proxy receives over CDS/EDS for its outbound
 * services (C-*, EDS-*, L-*, N-*). The `endpoints` command prints it, and the xDS generators build
 * Envoy and gRPC resources from it.
 */
import type { AuthorizationPolicy, ClientTlsSettings, DestinationRule, LocalityLbSetting, PeerAuthentication } from '../../model/config/types.js';
import { isIP } from '../../model/mesh/ip.js';
import { ANNOTATION, LABEL, selectorMatches } from '../../model/mesh/labels.js';
import type { MeshSettings, NetworkGateway } from '../../model/mesh/mesh-settings.js';
import type { Endpoint, ExclusionReason, MergedService, ServicePort } from '../../model/mesh/types.js';
import type { ClientProxy } from './client.js';
import { formatLocality } from '../../model/mesh/locality.js';
import { augmentLabels } from '../workloads.js';
import { destinationRuleFor, destinationRuleTlsMode, portPolicy, type EffectiveDestinationRule, type PortPolicy } from './destination-rules.js';
import { groupByLocality, type LocalityGroup, type SentEndpoint } from './locality-groups.js';
import { applyLocalitySettings, NO_ENDPOINTS_DECISION, type EffectiveLocalitySettings, type LocalityDecision } from './locality-lb.js';
import { applyNetworkFilter, indexGateways, type GatewayIndex } from './networks.js';
export { indexGateways, type GatewayIndex };
import { effectiveMtlsMode } from './peer-authentication.js';
import { isServiceVisible, winningService } from './visibility.js';
import { withFields } from '../../lib/objects/with-fields.js';

export type ClusterType = 'EDS' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'ORIGINAL_DST';

export interface Exclusion {
  readonly source: string;
  readonly reason: ExclusionReason;
  readonly detail?: string;
}

export interface ClusterView {
  /** `outbound|<port>|<subset>|<host>` (C-1) */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly subset: string;
  readonly type: ClusterType;
  readonly service: MergedService;
  readonly servicePort: ServicePort;
  readonly policy: PortPolicy;
  readonly subsetLabels: Readonly<Record<string, string>>;
  /** Locality groups in the order sent; empty for ORIGINAL_DST. */
  readonly localities: readonly LocalityGroup[];
  readonly excluded: readonly Exclusion[];
  /**
   * C-9: set when a `PASSTHROUGH` load balancer turned this cluster into ORIGINAL_DST: the cluster
   * as it is without PASSTHROUGH (its own type and endpoints). Proxyless gRPC clients get this one
   * (gRPC has no ORIGINAL_DST; Istio's gRPC generator ignores PASSTHROUGH the same way).
   */
  readonly withoutPassthrough?: { readonly type: ClusterType; readonly localities: readonly LocalityGroup[]; readonly excluded: readonly Exclusion[] };
  /** L-1, L-11: which locality setting decided the priorities and weights (for `--explain`). */
  readonly localityDecision: LocalityDecision;
}

/** What the view is computed from: registry outputs and policies. */
export interface ViewSources {
  readonly mesh: MeshSettings;
  readonly services: readonly MergedService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  /** Issue 7: inbound RBAC (absent: no policy). */
  readonly authorizationPolicies?: readonly AuthorizationPolicy[];
  readonly gateways: readonly NetworkGateway[];
}

export interface ViewFilter {
  readonly host?: string;
  readonly port?: number;
}

export function clusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** C-3 (+ S-7 race-first annotation); undefined for services that get no outbound cluster. */
export function clusterTypeOf(service: MergedService): ClusterType | undefined {
  switch (service.resolution) {
    case 'STATIC':
      return 'EDS';
    case 'DNS':
      return service.annotations[ANNOTATION.connectStrategy] === 'RACE_FIRST_TCP_CONNECT' ? 'LOGICAL_DNS' : 'STRICT_DNS';
    case 'DNS_ROUND_ROBIN':
      return 'LOGICAL_DNS';
    case 'NONE':
      return 'ORIGINAL_DST';
    case 'DYNAMIC_DNS':
      return undefined;
  }
}

/** Services visible to the client, one per (host, namespace) (the `services` view). */
export function visibleServices(sources: ViewSources, client: ClientProxy, filter: ViewFilter = {}): MergedService[] {
  return sources.services
    .filter((s) => (filter.host === undefined || s.host === filter.host) && isServiceVisible(s, client.namespace, sources.mesh))
    .sort((a, b) => (a.host !== b.host ? (a.host < b.host ? -1 : 1) : a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
}

/** The service each visible host resolves to for this client (D-4). */
export function servicesForClient(sources: ViewSources, client: ClientProxy, filter: ViewFilter = {}): MergedService[] {
  const byHost = new Map<string, MergedService[]>();
  for (const s of visibleServices(sources, client, filter)) {
    const list = byHost.get(s.host) ?? [];
    list.push(s);
    byHost.set(s.host, list);
  }
  const out: MergedService[] = [];
  for (const list of byHost.values()) {
    const w = winningService(list, client.namespace);
    if (w) out.push(w);
  }
  return out;
}

export function buildClusters(sources: ViewSources, clientProxy: ClientProxy, filter: ViewFilter = {}): ClusterView[] {
  const client = withTopologyLabels(clientProxy, sources.mesh);
  const gateways = indexGateways(sources.gateways);
  return servicesForClient(sources, client, filter).flatMap((service) => clustersForService(sources, client, gateways, service, filter.port));
}

/** The clusters of one service (default and subsets, per port) for this client. */
export function clustersForService(
  sources: ViewSources,
  client: ClientProxy,
  gateways: GatewayIndex,
  service: MergedService,
  onlyPort?: number,
): ClusterView[] {
  const type = clusterTypeOf(service);
  if (!type) return [];
  const out: ClusterView[] = [];
  const dr = destinationRuleFor(sources.destinationRules, service.host, service.namespace, client, sources.mesh);
  for (const port of service.ports) {
    if (onlyPort !== undefined && port.number !== onlyPort) continue;
    if (port.protocol === 'UDP') continue; // C-3: UDP ports get no cluster
    const subsets = [{ name: '', labels: {} as Readonly<Record<string, string>> }, ...(dr?.subsets ?? []).map((s) => ({ name: s.name, labels: s.labels ?? {} }))];
    for (const subset of subsets) {
      const c = buildCluster(sources, client, gateways, service, port, type, dr, subset.name, subset.labels);
      if (c) out.push(c);
    }
  }
  return out;
}

function buildCluster(
  sources: ViewSources,
  client: ClientProxy,
  gateways: GatewayIndex,
  service: MergedService,
  port: ServicePort,
  type: ClusterType,
  dr: EffectiveDestinationRule | undefined,
  subset: string,
  subsetLabels: Readonly<Record<string, string>>,
): ClusterView | undefined {
  const policy = portPolicy(dr, port.number, subset);
  const base = {
    name: clusterName(port.number, subset, service.host),
    host: service.host,
    port: port.number,
    subset,
    type,
    service,
    servicePort: port,
    policy,
    subsetLabels,
  };
  if (type === 'ORIGINAL_DST') return withFields(base, { localities: [], excluded: [], localityDecision: NO_ENDPOINTS_DECISION });
  const excluded: Exclusion[] = [];
  const dns = type !== 'EDS';
  const sent: SentEndpoint[] = [];
  for (const e of service.endpoints) {
    // EDS-3 / C-7: EDS clusters match endpoints by port name, DNS clusters by port number.
    if (dns ? e.servicePort !== port.number : e.portName !== port.name) continue;
    if (!dns && e.address !== '' && e.port !== 0 && !isIP(e.address)) {
      excluded.push({ source: e.source, reason: 'address', detail: `address ${e.address} is a host name, which only DNS clusters can use` });
      continue;
    }
    if (!selectorMatches(subsetLabels, e.labels)) {
      excluded.push({ source: e.source, reason: 'subset', detail: `its labels do not match subset ${subset}` });
      continue;
    }
    // EDS-4: UNHEALTHY endpoints are sent (PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS) unless the outlier
    // detection of this port/subset sets minHealthPercent > 0; TERMINATING and DRAINING never are
    // (no persistent-session label support).
    if (e.health === 'UNHEALTHY' && (policy.outlierDetection?.minHealthPercent ?? 0) > 0) {
      excluded.push({ source: e.source, reason: 'unhealthy', detail: 'it is not ready and the outlier detection sets minHealthPercent' });
      continue;
    }
    if (e.health === 'DRAINING') {
      excluded.push({ source: e.source, reason: 'unhealthy', detail: 'it is draining' });
      continue;
    }
    // C-4: DNS clusters skip endpoints without an address (Istio buildLocalityLbEndpoints); EDS
    // clusters leave them to the network filter (N-3, N-4).
    if (dns && e.address === '') {
      excluded.push({ source: e.source, reason: 'address', detail: 'it has no address, which a DNS cluster cannot resolve' });
      continue;
    }
    sent.push(sentEndpoint(e, destinationRuleTlsMode(dr, port.number, e.labels), sources));
  }
  let groups = groupByLocality(sent);
  if (!dns) {
    const networkExcluded: { source: string; reason: 'network' | 'address'; detail: string }[] = [];
    groups = applyNetworkFilter(groups, client.network, sources.mesh.clusterId, gateways, networkExcluded);
    excluded.push(...networkExcluded);
  }
  const locality = localitySettings(service, policy, sources.mesh, dr);
  groups = applyLocalitySettings(groups, client, locality.settings);
  // C-9: PASSTHROUGH in the (port- and subset-merged) policy makes the cluster ORIGINAL_DST with no
  // endpoints, whatever its resolution. Istio decides C-5 first for the default cluster (a DNS
  // cluster with no endpoints is not generated), but not for a subset whose own policy says
  // PASSTHROUGH (buildSubsetCluster never computes its endpoints).
  const passthrough = policy.loadBalancer?.simple === 'PASSTHROUGH';
  const ownPassthrough = passthrough && subset !== '' && dr?.subsets.find((s) => s.name === subset)?.trafficPolicy?.loadBalancer?.simple === 'PASSTHROUGH';
  // C-5: a DNS cluster with no endpoints is not generated at all.
  if (dns && !ownPassthrough && groups.every((g) => g.endpoints.length === 0)) return undefined;
  if (passthrough) {
    return withFields(base, {
      type: 'ORIGINAL_DST',
      localities: [],
      excluded: [],
      withoutPassthrough: { type, localities: groups, excluded },
      localityDecision: withFields(NO_ENDPOINTS_DECISION, { detail: 'loadBalancer.simple PASSTHROUGH: ORIGINAL_DST, no endpoints are sent (C-9)' }),
    });
  }
  return withFields(base, { localities: groups, excluded, localityDecision: locality.decision });
}

/**
 * The proxy's labels as Istio sees them (ads.go setTopologyLabels): its own labels augmented with
 * the topology labels of its locality, its cluster (the mesh cluster id) and its network (E-LBL-3
 * semantics). failoverPriority (L-7, L-9) and DestinationRule workload selectors match these.
 */
export function withTopologyLabels(client: ClientProxy, mesh: MeshSettings): ClientProxy {
  return withFields(client, { labels: augmentLabels(client.labels, formatLocality(client.locality), client.network, mesh.clusterId) });
}

/**
 * EDS-9: the tlsMode metadata sent with an endpoint, or null. `drTlsMode` is the DestinationRule
 * TLS mode that applies to this endpoint (destinationRuleTlsMode), if any.
 */
export function transportSocketMatch(
  e: Endpoint,
  drTlsMode: ClientTlsSettings['mode'],
  sources: Pick<ViewSources, 'mesh' | 'peerAuthentications'>,
): string | null {
  let enabled: boolean;
  if (drTlsMode !== undefined) enabled = drTlsMode === 'ISTIO_MUTUAL';
  else {
    enabled =
      e.tlsMode === 'istio' &&
      effectiveMtlsMode(sources.peerAuthentications, sources.mesh.rootNamespace, e.namespace, e.labels, e.port) !== 'DISABLE';
  }
  return enabled && e.tlsMode !== '' && e.tlsMode !== 'disabled' ? e.tlsMode : null;
}

function sentEndpoint(e: Endpoint, drTlsMode: ClientTlsSettings['mode'], sources: ViewSources): SentEndpoint {
  return {
    address: e.address,
    port: e.port,
    weight: e.weight,
    health: e.health,
    tlsMode: transportSocketMatch(e, drTlsMode, sources),
    source: e.source,
    network: e.network,
    locality: e.locality,
    labels: e.labels,
    serviceAccount: e.serviceAccount,
    namespace: e.namespace,
    workloadName: e.workloadName,
  };
}

/**
 * L-1, L-2, L-9, L-11: which locality setting applies (DestinationRule zoneAwareLbSetting, else its
 * localityLbSetting, else a traffic-distribution preference, else the mesh localityLbSetting), and
 * a sentence saying so for `--explain`.
 */
function localitySettings(
  service: MergedService,
  policy: PortPolicy,
  mesh: MeshSettings,
  dr: EffectiveDestinationRule | undefined,
): { settings: EffectiveLocalitySettings; decision: LocalityDecision } {
  const rule = dr?.sources.join(', ') ?? '';
  const zoneAware = policy.loadBalancer?.zoneAwareLbSetting;
  if (zoneAware) {
    const on = zoneAware.enabled !== false;
    return {
      settings: { kind: 'zoneAware', setting: zoneAware },
      decision: {
        setting: 'zoneAwareLbSetting',
        source: rule,
        detail: on
          ? 'zoneAwareLbSetting: priorities by region (own region 0, failover region next, other regions last), without outlier detection (L-11)'
          : 'zoneAwareLbSetting enabled: false: locality load balancing is off for this cluster, every priority 0 (L-11)',
      },
    };
  }
  const hasOutlierDetection = policy.outlierDetection !== undefined;
  const fromRule = policy.loadBalancer?.localityLbSetting;
  if (fromRule) {
    return {
      settings: { kind: 'locality', setting: fromRule, failover: hasOutlierDetection },
      decision: { setting: 'localityLbSetting', source: rule, detail: localityDetail(fromRule, hasOutlierDetection) },
    };
  }
  const distribution = (service.annotations['networking.istio.io/traffic-distribution'] ?? '').toLowerCase();
  if (distribution === 'preferclose' || distribution === 'prefersamezone' || distribution === 'prefersamenode') {
    const keys: string[] = [LABEL.network, LABEL.region, LABEL.zone];
    if (distribution === 'prefersamenode') keys.push(LABEL.subzone, 'kubernetes.io/hostname');
    return {
      settings: { kind: 'locality', setting: { failoverPriority: keys }, failover: true },
      decision: { setting: 'trafficDistribution', source: service.definedBy, detail: `traffic distribution ${distribution}: failoverPriority ${keys.join(', ')} without outlier detection (L-9)` },
    };
  }
  return {
    settings: { kind: 'locality', setting: mesh.localityLbSetting, failover: hasOutlierDetection },
    decision: { setting: 'mesh', source: 'MeshConfig', detail: localityDetail(mesh.localityLbSetting, hasOutlierDetection) },
  };
}

function localityDetail(setting: LocalityLbSetting, hasOutlierDetection: boolean): string {
  if (setting.enabled === false) return 'localityLbSetting enabled: false: no locality priorities or weights (L-1)';
  if ((setting.distribute ?? []).length > 0) return 'localityLbSetting distribute: weights by locality (L-3)';
  if (!hasOutlierDetection) return 'localityLbSetting: no outlierDetection, so every priority 0 (L-2)';
  return (setting.failoverPriority ?? []).length > 0 ? 'localityLbSetting failoverPriority: priorities by labels (L-7)' : 'localityLbSetting failover: priorities by locality (L-4, L-5)';
}
