/**
 * Which client attributes some policy in the mesh can read (namespace, network, locality, labels),
 * derived from the registry as collections (krt style): nothing here is kept up to date by hand.
 * The push pipeline groups views in classes keyed by these attributes only (view-classes.ts), and
 * memoises per-service results under the attributes that can change that service (service-memo.ts).
 *
 *   Services ──> distribution-annotated services ─┐
 *            ──> restricted-export services ──────┼──> Relevance (singleton)
 *            ──> hosts in several namespaces ─────┤
 *   mesh, DestinationRules, VirtualServices, gateways ┘
 */
import { derive, singleton, type Collection, type Singleton } from '../../lib/krt/index.js';
import type { DestinationRule } from '../../model/config/types.js';
import { meshSettingsFrom, type MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService } from '../../model/mesh/types.js';
import type { Registry } from '../../registry/registry.js';

/** Which client attributes some policy in the mesh can read; a change re-classifies every view. */
export interface Relevance {
  /**
   * Namespaces see different services or policies: a service not exported everywhere, a host
   * defined in several namespaces (D-4 prefers the client's), any DestinationRule or VirtualService.
   */
  readonly namespace: boolean;
  /** Network gateways exist: the client's network decides split-horizon EDS (N-*). */
  readonly network: boolean;
  /** Some locality-aware setting exists (a DestinationRule, mesh `distribute`, traffic-distribution). */
  readonly locality: boolean;
  /** Label keys read by DestinationRule workload selectors, or all labels when failoverPriority is used. */
  readonly labels: 'all' | readonly string[];
  readonly anyVirtualService: boolean;
  readonly meshDistribute: boolean;
  readonly rules: readonly DestinationRule[];
  /** The attributes above (not the rules) as one string: equal signatures classify views alike. */
  readonly signature: string;
}

/** The per-service facts behind Relevance and the Relevance they add up to, kept by the registry's collections. */
export interface RelevanceCollections {
  /** Keys of services with the traffic-distribution annotation (locality-aware without any policy). */
  readonly distributionAnnotated: Collection<string>;
  /** Keys of services not exported to every namespace (their own exportTo, or the mesh default). */
  readonly restrictedExport: Collection<string>;
  /** Hosts defined in more than one namespace. */
  readonly sharedHosts: Collection<string>;
  readonly relevance: Singleton<Relevance>;
}

const TRAFFIC_DISTRIBUTION = 'networking.istio.io/traffic-distribution';

/**
 * Derives the relevance facts from `registry`. The collections follow the registry for as long as it
 * lives (like every derived collection): build them once per pipeline.
 */
export function deriveRelevance(registry: Registry): RelevanceCollections {
  const { services, servicesByHost } = registry;
  const meshOf = (fetched: readonly MeshSettings[]): MeshSettings => fetched[0] ?? meshSettingsFrom([]);
  const distributionAnnotated = derive('xds/DistributionAnnotatedServices', services, (_ctx, s) => (hasTrafficDistribution(s) ? s.key : undefined), (key) => key);
  const restrictedExport = derive(
    'xds/RestrictedExportServices',
    services,
    (ctx, s) => (isExportRestricted(s, meshOf(ctx.fetch(registry.mesh))) ? s.key : undefined),
    (key) => key,
  );
  const sharedHosts = derive(
    'xds/SharedHosts',
    services,
    (ctx, s) => (ctx.fetch(services, { index: servicesByHost, value: s.host }).length > 1 ? s.host : undefined),
    (host) => host,
  );
  const relevance = singleton('xds/Relevance', (ctx) =>
    relevanceFrom({
      mesh: meshOf(ctx.fetch(registry.mesh)),
      rules: ctx.fetch(registry.inputs.destinationRules),
      anyVirtualService: ctx.fetch(registry.inputs.virtualServices).length > 0,
      anyGateway: (ctx.fetch(registry.gateways)[0] ?? []).length > 0,
      anyDistributionAnnotated: ctx.fetch(distributionAnnotated).length > 0,
      anyRestrictedExport: ctx.fetch(restrictedExport).length > 0,
      anySharedHost: ctx.fetch(sharedHosts).length > 0,
    }),
  );
  return { distributionAnnotated, restrictedExport, sharedHosts, relevance };
}

export function hasTrafficDistribution(service: MergedService): boolean {
  return (service.annotations[TRAFFIC_DISTRIBUTION] ?? '') !== '';
}

export function isExportRestricted(service: MergedService, mesh: MeshSettings): boolean {
  const exportTo = service.exportTo.length > 0 ? service.exportTo : mesh.defaultServiceExportTo;
  return !exportTo.includes('*');
}

export interface RelevanceInputs {
  readonly mesh: MeshSettings;
  readonly rules: readonly DestinationRule[];
  readonly anyVirtualService: boolean;
  readonly anyGateway: boolean;
  readonly anyDistributionAnnotated: boolean;
  readonly anyRestrictedExport: boolean;
  readonly anySharedHost: boolean;
}

export function relevanceFrom(i: RelevanceInputs): Relevance {
  const { rules, anyVirtualService } = i;
  const meshLb = i.mesh.localityLbSetting;
  const meshDistribute = (meshLb?.distribute?.length ?? 0) > 0;
  const failoverPriority = (meshLb?.failoverPriority?.length ?? 0) > 0 || i.anyDistributionAnnotated || rules.some(usesFailoverPriority);
  const selectorKeys = [...new Set(rules.flatMap((dr) => Object.keys(dr.spec.workloadSelector?.matchLabels ?? {})))].sort();
  const rel = {
    namespace: rules.length > 0 || anyVirtualService || i.anyRestrictedExport || i.anySharedHost,
    network: i.anyGateway,
    locality: rules.length > 0 || meshDistribute || i.anyDistributionAnnotated,
    labels: failoverPriority ? ('all' as const) : selectorKeys,
    anyVirtualService,
    meshDistribute,
    rules,
  };
  return { ...rel, signature: JSON.stringify([rel.namespace, rel.network, rel.locality, rel.labels, anyVirtualService, meshDistribute]) };
}

/**
 * Whether a DestinationRule sets `failoverPriority` in any of its traffic policies (top level, per
 * port, per subset, per subset port). A structural look at the fields Istio defines: issue 11 found
 * that serialising whole specs on this path let an alias bomb kill the process.
 */
function usesFailoverPriority(dr: DestinationRule): boolean {
  const policies = [dr.spec.trafficPolicy, ...(dr.spec.subsets ?? []).map((s) => s.trafficPolicy)];
  return policies.some((p) => p !== undefined && [p, ...(p.portLevelSettings ?? [])].some((l) => l.loadBalancer?.localityLbSetting?.failoverPriority !== undefined));
}
