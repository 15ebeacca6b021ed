/**
 * DestinationRule lookup for a client and a service host, and the traffic policy that applies to one
 * port and subset (Istio: push_context destinationRule, MergeTrafficPolicy).
 */
import type {
  ClientTlsSettings,
  DestinationRule,
  LoadBalancerSettings,
  OutlierDetection,
  StringMap,
  Subset,
  TrafficPolicy,
} from '../../model/config/types.js';
import { selectorMatches } from '../../model/mesh/labels.js';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import { compareCreation, creationOf } from '../workloads.js';
import { withFields } from '../../lib/objects/with-fields.js';

/** The DestinationRules that apply to one host for one client, merged. */
export interface EffectiveDestinationRule {
  /** `DestinationRule/<ns>/<name>` of every merged rule, in merge order (oldest first). */
  readonly sources: readonly string[];
  readonly trafficPolicy?: TrafficPolicy;
  readonly subsets: readonly Subset[];
}

/** A DestinationRule's host, with short names completed in its own namespace. */
export function destinationRuleHost(dr: DestinationRule, mesh: MeshSettings): string {
  const h = dr.spec.host;
  if (h.includes('.') || h.includes('*')) return h;
  return `${h}.${dr.metadata.namespace}.svc.${mesh.domainSuffix}`;
}

/** Whether a (possibly wildcard) rule host matches a service host; wildcards match by suffix. */
export function hostMatches(ruleHost: string, serviceHost: string): boolean {
  if (ruleHost === serviceHost) return true;
  if (ruleHost === '*') return true;
  if (ruleHost.startsWith('*')) return serviceHost.endsWith(ruleHost.slice(1));
  return false;
}

/** More specific first: exact hosts before wildcards, longer wildcards before shorter. */
function specificity(ruleHost: string): number {
  return ruleHost.startsWith('*') ? ruleHost.length : Number.MAX_SAFE_INTEGER;
}

/**
 * A rule's exportTo as Istio indexes it (push_context setDestinationRules): a rule with a workload
 * selector is private (`.`) whatever it says.
 */
function exportSetOf(dr: DestinationRule): ReadonlySet<string> {
  return dr.spec.workloadSelector ? new Set(['.']) : new Set(dr.spec.exportTo ?? []);
}

/**
 * DRS-1: a rule of namespace C serves C's own clients when its exportTo is empty, or has `*`,
 * `.` or C itself (Istio's namespaceLocal index).
 */
function servesOwnNamespace(exportTo: ReadonlySet<string>, ns: string): boolean {
  return exportTo.size === 0 || exportTo.has('*') || exportTo.has('.') || exportTo.has(ns);
}

/**
 * A rule is private when its exportTo is exactly `.` or its own namespace, or empty while the mesh
 * default for DestinationRules (`defaultDestinationRuleExportTo`, default `*`) has `.` (Istio
 * isPrivateOnly).
 */
function isPrivateOnly(exportTo: ReadonlySet<string>, ns: string, mesh: MeshSettings): boolean {
  if (exportTo.size === 0) return mesh.defaultDestinationRuleExportTo.includes('.');
  return exportTo.size === 1 && (exportTo.has('.') || exportTo.has(ns));
}

/**
 * Whether `dr` can apply to clients of namespace `clientNamespace` at all (whatever the host): a
 * private rule (isPrivateOnly) serves its own namespace only (DRS-1, DRS-5); another may be exported
 * to any namespace (DRS-2, DRS-3, a superset: exportTo is not looked at further).
 */
export function mayServeNamespace(dr: DestinationRule, clientNamespace: string, mesh: MeshSettings): boolean {
  const ns = dr.metadata.namespace;
  return ns === clientNamespace || !isPrivateOnly(exportSetOf(dr), ns, mesh);
}

/** DRS-2, DRS-3: an exported (not private) rule reaches client namespace C when exportTo is empty, has `*` or C. */
function exportedTo(exportTo: ReadonlySet<string>, clientNamespace: string): boolean {
  return exportTo.size === 0 || exportTo.has('*') || exportTo.has(clientNamespace);
}

/** Rules with a workload selector first, then oldest first, then by name (Istio sortConfigBySelectorAndCreationTime). */
function compareRules(a: DestinationRule, b: DestinationRule): number {
  const sa = a.spec.workloadSelector ? 0 : 1;
  const sb = b.spec.workloadSelector ? 0 : 1;
  if (sa !== sb) return sa - sb;
  const c = compareCreation(creationOf(a), creationOf(b));
  if (c !== 0) return c;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** One consolidated rule: rules of one namespace and host merged (Istio ConsolidatedDestRule). */
interface ConsolidatedRule {
  readonly namespace: string;
  readonly exportTo: ReadonlySet<string>;
  readonly selector: StringMap | undefined;
  readonly from: string[];
  readonly subsets: Subset[];
  trafficPolicy: TrafficPolicy | undefined;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function sameLabels(a: StringMap, b: StringMap): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * DRS-6, Istio mergeDestinationRule (with ENABLE_ENHANCED_DESTINATIONRULE_MERGE, its default): a
 * rule merges into each earlier consolidated rule of its host whose exportTo it equals (or is a
 * superset of) and whose workload selector is compatible - its new subset names are appended, its
 * top-level traffic policy only fills an empty one (the oldest wins) - and it stands as a rule of
 * its own when no merge absorbed it. Rules with different exportTo thus stay separate.
 */
function consolidate(list: ConsolidatedRule[], dr: DestinationRule): void {
  const exportTo = exportSetOf(dr);
  const selector = dr.spec.workloadSelector?.matchLabels ?? (dr.spec.workloadSelector ? {} : undefined);
  const key = `DestinationRule/${dr.metadata.namespace}/${dr.metadata.name}`;
  let appendSeparately = true;
  for (const m of list) {
    if (sameSet(exportTo, m.exportTo)) appendSeparately = false;
    else if (m.exportTo.size > 0 && [...m.exportTo].every((x) => exportTo.has(x))) appendSeparately = true;
    else {
      appendSeparately = true;
      continue;
    }
    const bothWith = selector !== undefined && m.selector !== undefined;
    if (bothWith && !sameLabels(selector, m.selector ?? {})) {
      appendSeparately = true;
      continue;
    }
    if (bothWith || (selector === undefined && m.selector === undefined)) appendSeparately = false;
    m.from.push(key);
    for (const s of dr.spec.subsets ?? []) if (!m.subsets.some((x) => x.name === s.name)) m.subsets.push(s);
    m.trafficPolicy ??= dr.spec.trafficPolicy;
  }
  if (appendSeparately) {
    list.push({ namespace: dr.metadata.namespace, exportTo, selector, from: [key], subsets: [...(dr.spec.subsets ?? [])], trafficPolicy: dr.spec.trafficPolicy });
  }
}

/**
 * Istio MostSpecificHostMatch over one index: the rules of the most specific host matching `host`
 * (exact before wildcards, longer wildcards first), consolidated in Istio's order.
 */
function mostSpecific(rules: readonly DestinationRule[], host: string, mesh: MeshSettings): ConsolidatedRule[] {
  const matching = rules.filter((dr) => hostMatches(destinationRuleHost(dr, mesh), host));
  if (matching.length === 0) return [];
  const best = Math.max(...matching.map((dr) => specificity(destinationRuleHost(dr, mesh))));
  // Two different wildcards of one length cannot both match a host; equal specificity = one host.
  const chosen = matching.filter((dr) => specificity(destinationRuleHost(dr, mesh)) === best).sort(compareRules);
  const out: ConsolidatedRule[] = [];
  for (const dr of chosen) consolidate(out, dr);
  return out;
}

/**
 * DRS-1..DRS-6 (Istio push_context destinationRule and SidecarScope.DestinationRule). The first of
 * these that has a rule for the host decides, later ones are not consulted:
 * 1. a client outside the root namespace: the rules of its own namespace that serve it (DRS-1);
 *    a client in the root namespace: the root namespace's private rules (DRS-5);
 * 2. the service's namespace: its exported rules that reach the client (DRS-2);
 * 3. the root namespace: its exported rules that reach the client (DRS-3).
 * No other namespace is ever consulted (DRS-4). Within the deciding step the most specific host
 * wins and rules merge per DRS-6; of the resulting consolidated rules, the first whose workload
 * selector (same namespace as the client) matches the client's labels applies, else the last one
 * without a selector, else none (a step with only non-matching selector rules still decides).
 */
export function destinationRuleFor(
  rules: readonly DestinationRule[],
  host: string,
  serviceNamespace: string,
  client: { namespace: string; labels: StringMap },
  mesh: MeshSettings,
): EffectiveDestinationRule | undefined {
  const root = mesh.rootNamespace;
  const inNamespace = (ns: string) => rules.filter((dr) => dr.metadata.namespace === ns);
  // Istio getExportedDestinationRuleFromNamespace: the most specific host among all the
  // namespace's exported rules, then only its consolidated rules that reach the client.
  const exported = (ns: string) =>
    mostSpecific(
      inNamespace(ns).filter((dr) => !isPrivateOnly(exportSetOf(dr), ns, mesh)),
      host,
      mesh,
    ).filter((m) => exportedTo(m.exportTo, client.namespace));
  const own = () =>
    mostSpecific(
      client.namespace === root
        ? inNamespace(root).filter((dr) => isPrivateOnly(exportSetOf(dr), root, mesh))
        : inNamespace(client.namespace).filter((dr) => servesOwnNamespace(exportSetOf(dr), client.namespace)),
      host,
      mesh,
    );
  for (const step of [own, () => exported(serviceNamespace), () => exported(root)]) {
    const consolidated = step();
    if (consolidated.length > 0) return applicableRule(consolidated, client);
  }
  return undefined;
}

/** Istio SidecarScope.DestinationRule: a matching selector rule of the client's namespace, else the last catch-all. */
function applicableRule(list: readonly ConsolidatedRule[], client: { namespace: string; labels: StringMap }): EffectiveDestinationRule | undefined {
  let catchAll: ConsolidatedRule | undefined;
  for (const m of list) {
    if (m.selector === undefined) catchAll = m;
    else if (m.namespace === client.namespace && selectorMatches(m.selector, client.labels)) return effective(m);
  }
  return catchAll ? effective(catchAll) : undefined;
}

function effective(m: ConsolidatedRule): EffectiveDestinationRule {
  return { sources: [...m.from], ...(m.trafficPolicy ? { trafficPolicy: m.trafficPolicy } : {}), subsets: [...m.subsets] };
}

/** The settings that apply to one port (and subset): what the cluster for it is built from. */
export interface PortPolicy {
  readonly loadBalancer?: LoadBalancerSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTlsSettings;
  readonly connectionPool?: Readonly<Record<string, unknown>>;
}

/** Top-level policy, overridden field by field by the port-level settings for `port`. */
function forPort(policy: TrafficPolicy | undefined, port: number): PortPolicy {
  if (!policy) return {};
  const out: { -readonly [K in keyof PortPolicy]: PortPolicy[K] } = {};
  if (policy.loadBalancer) out.loadBalancer = policy.loadBalancer;
  if (policy.outlierDetection) out.outlierDetection = policy.outlierDetection;
  if (policy.tls) out.tls = policy.tls;
  if (policy.connectionPool) out.connectionPool = policy.connectionPool;
  const pl = (policy.portLevelSettings ?? []).find((p) => p.port?.number === port);
  if (pl) {
    if (pl.loadBalancer) out.loadBalancer = pl.loadBalancer;
    if (pl.outlierDetection) out.outlierDetection = pl.outlierDetection;
    if (pl.tls) out.tls = pl.tls;
    if (pl.connectionPool) out.connectionPool = pl.connectionPool;
  }
  return out;
}

/** A TLS setting's mode; a `tls` block without `mode` is DISABLE (the enum's zero value). */
function tlsMode(tls: ClientTlsSettings | undefined): NonNullable<ClientTlsSettings['mode']> | undefined {
  return tls ? (tls.mode ?? 'DISABLE') : undefined;
}

/** Istio trafficPolicyTLSModeForPort: the port-level TLS for `port`, else the policy's own TLS. */
function tlsModeForPort(policy: TrafficPolicy | undefined, port: number): NonNullable<ClientTlsSettings['mode']> | undefined {
  if (!policy) return undefined;
  const pl = (policy.portLevelSettings ?? []).find((p) => p.port?.number === port && p.tls);
  return tlsMode(pl?.tls ?? policy.tls);
}

/**
 * EDS-9: the DestinationRule TLS mode that decides an endpoint's mTLS (Istio
 * mtlsChecker.mtlsModeForDestinationRule). It depends on the *endpoint*, not on the cluster's
 * subset: the first subset whose labels the endpoint carries gives its TLS mode for the port if it
 * sets one; otherwise (no such subset, or it sets no TLS) the rule's top-level/port-level mode.
 * The doc's "applies to this port/subset" is read as Istio's code reads it.
 */
export function destinationRuleTlsMode(
  dr: EffectiveDestinationRule | undefined,
  port: number,
  endpointLabels: StringMap,
): NonNullable<ClientTlsSettings['mode']> | undefined {
  if (!dr) return undefined;
  const root = tlsModeForPort(dr.trafficPolicy, port);
  const subset = dr.subsets.find((s) => selectorMatches(s.labels ?? {}, endpointLabels));
  return tlsModeForPort(subset?.trafficPolicy, port) ?? root;
}

/** Istio MergeTrafficPolicy: the subset's (port-merged) policy overrides the rule's, field by field. */
export function portPolicy(dr: EffectiveDestinationRule | undefined, port: number, subset: string): PortPolicy {
  if (!dr) return {};
  const base = forPort(dr.trafficPolicy, port);
  const s = subset === '' ? undefined : dr.subsets.find((x) => x.name === subset);
  if (!s?.trafficPolicy) return base;
  return withFields(base, forPort(s.trafficPolicy, port));
}
