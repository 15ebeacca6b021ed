/**
 * Which client attributes some policy in the mesh can read (namespace, network, locality, labels),
 * derived from the registry as collections (krt style): nothing here is kept up to date by hand.
 * The push pipeline groups views in classes keyed by these attributes only (view-classes.ts), and
 * memoises per-service results under the attributes that can change that service (service-memo.ts).
 *
 *   Services ──> relevance facts (per service: traffic-distribution annotation, restricted
 *                export, host in several namespaces), indexed by kind ──┐
 *   mesh, DestinationRules, VirtualServices, gateways ─────────────────┴──> Relevance (singleton)
 */
import { deriveMany, singleton, type Collection, type Context, type Index, type Singleton } from '../../lib/krt/index.js';
import type { DestinationRule, VirtualService } from '../../model/config/types.js';
import { meshSettingsFrom, type MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService } from '../../model/mesh/types.js';
import type { Registry } from '../../registry/registry.js';
import { withFields } from '../../lib/objects/with-fields.js';
import { hostMatches } from '../../registry/view/destination-rules.js';
import { qualifyHost } from './virtual-services.js';

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
  /** The hosts VirtualServices name (qualified in their namespaces): only these hosts' resources depend on the client's namespace through one. */
  readonly virtualServiceHosts: VirtualServiceHosts;
  readonly meshDistribute: boolean;
  readonly rules: readonly DestinationRule[];
  /** The attributes above (not the rules) as one string: equal signatures classify views alike. */
  readonly signature: string;
}

/**
 * A per-service fact behind Relevance: `traffic-distribution` (the service has the annotation:
 * locality-aware without any policy; `id` its key), `restricted-export` (not exported to every
 * namespace, by its own exportTo or the mesh default; `id` its key), `shared-host` (`id`, a host, is
 * defined in more than one namespace).
 */
export interface RelevanceFact {
  readonly kind: 'traffic-distribution' | 'restricted-export' | 'shared-host';
  readonly id: string;
}

export interface RelevanceCollections {
  /** Every fact, keyed by factKey. One derived collection (one state per service, not one per fact). */
  readonly facts: Collection<RelevanceFact>;
  readonly factsByKind: Index<RelevanceFact>;
  readonly relevance: Singleton<Relevance>;
}

export function factKey(kind: RelevanceFact['kind'], id: string): string {
  return `${kind}|${id}`;
}

const TRAFFIC_DISTRIBUTION = 'networking.istio.io/traffic-distribution';

/**
 * Derives the relevance facts from `registry`. The collections follow the registry for as long as it
 * lives (like every derived collection): build them once per pipeline.
 */
export function deriveRelevance(registry: Registry): RelevanceCollections {
  const { services, servicesByHost } = registry;
  const meshOf = (fetched: readonly MeshSettings[]): MeshSettings => fetched[0] ?? meshSettingsFrom([]);
  const facts = deriveMany(
    'xds/RelevanceFacts',
    services,
    (ctx, s): RelevanceFact[] => [
      ...(hasTrafficDistribution(s) ? [{ kind: 'traffic-distribution' as const, id: s.key }] : []),
      ...(isExportRestricted(s, meshOf(ctx.fetch(registry.mesh))) ? [{ kind: 'restricted-export' as const, id: s.key }] : []),
      ...(ctx.fetch(services, { index: servicesByHost, value: s.host }).length > 1 ? [{ kind: 'shared-host' as const, id: s.host }] : []),
    ],
    (f) => factKey(f.kind, f.id),
  );
  const factsByKind = facts.index('kind', (f) => [f.kind]);
  const any = (ctx: Context, kind: RelevanceFact['kind']): boolean => ctx.fetch(facts, { index: factsByKind, value: kind }).length > 0;
  const relevance = singleton('xds/Relevance', (ctx) =>
    relevanceFrom({
      mesh: meshOf(ctx.fetch(registry.mesh)),
      rules: ctx.fetch(registry.inputs.DestinationRule),
      virtualServices: ctx.fetch(registry.inputs.VirtualService),
      anyGateway: (ctx.fetch(registry.gateways)[0] ?? []).length > 0,
      anyDistributionAnnotated: any(ctx, 'traffic-distribution'),
      anyRestrictedExport: any(ctx, 'restricted-export'),
      anySharedHost: any(ctx, 'shared-host'),
    }),
  );
  return { facts, factsByKind, relevance };
}

export function hasTrafficDistribution(service: MergedService): boolean {
  return (service.annotations[TRAFFIC_DISTRIBUTION] ?? '') !== '';
}

export function isExportRestricted(service: MergedService, mesh: MeshSettings): boolean {
  const exportTo = service.exportTo.length > 0 ? service.exportTo : mesh.defaultServiceExportTo;
  return !exportTo.includes('*');
}

/** Hosts named by some VirtualService: exact ones, and patterns (`*`, `*.suffix`). */
export interface VirtualServiceHosts {
  readonly exact: ReadonlySet<string>;
  readonly patterns: readonly string[];
}

/** Whether some VirtualService names `host` (exactly or by a pattern), in any namespace. */
export function namedByVirtualService(hosts: VirtualServiceHosts, host: string): boolean {
  return hosts.exact.has(host) || hosts.patterns.some((p) => hostMatches(p, host));
}

function virtualServiceHostsOf(all: readonly VirtualService[], mesh: MeshSettings): VirtualServiceHosts {
  const exact = new Set<string>();
  const patterns = new Set<string>();
  for (const vs of all) {
    for (const h of vs.spec.hosts) {
      const q = qualifyHost(h, vs.metadata.namespace, mesh);
      (q.includes('*') ? patterns : exact).add(q);
    }
  }
  return { exact, patterns: [...patterns].sort() };
}

export interface RelevanceInputs {
  readonly mesh: MeshSettings;
  readonly rules: readonly DestinationRule[];
  readonly virtualServices: readonly VirtualService[];
  readonly anyGateway: boolean;
  readonly anyDistributionAnnotated: boolean;
  readonly anyRestrictedExport: boolean;
  readonly anySharedHost: boolean;
}

export function relevanceFrom(i: RelevanceInputs): Relevance {
  const { rules } = i;
  const anyVirtualService = i.virtualServices.length > 0;
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
    virtualServiceHosts: virtualServiceHostsOf(i.virtualServices, i.mesh),
    meshDistribute,
    rules,
  };
  return withFields(rel, { signature: JSON.stringify([rel.namespace, rel.network, rel.locality, rel.labels, anyVirtualService, meshDistribute]) });
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
