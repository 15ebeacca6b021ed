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
import { isExportedTo } from './visibility.js';

/** The DestinationRules that apply to one host for one client, merged. */
export interface EffectiveDestinationRule {
  /** `DestinationRule/<ns>/<name>` of every merged rule, oldest first. */
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
 * Lookup order (Istio's): rules in the client's namespace, then in the service's namespace (if
 * exported to the client), then in the root namespace, then any other namespace exporting to the
 * client. Within the first namespace that has a match, the most specific host wins, and rules with
 * the same host are merged oldest first (subsets appended unless the name is taken; the first
 * traffic policy wins).
 */
export function destinationRuleFor(
  rules: readonly DestinationRule[],
  host: string,
  serviceNamespace: string,
  client: { namespace: string; labels: StringMap },
  mesh: MeshSettings,
): EffectiveDestinationRule | undefined {
  const applicable = rules.filter((dr) => {
    if (!hostMatches(destinationRuleHost(dr, mesh), host)) return false;
    const sel = dr.spec.workloadSelector?.matchLabels;
    if (sel && !(dr.metadata.namespace === client.namespace && selectorMatches(sel, client.labels))) return false;
    return dr.metadata.namespace === client.namespace || isExportedTo(dr.spec.exportTo ?? [], dr.metadata.namespace, client.namespace, mesh);
  });
  const order = [client.namespace, serviceNamespace, mesh.rootNamespace];
  let chosen: DestinationRule[] = [];
  for (const ns of order) {
    chosen = applicable.filter((dr) => dr.metadata.namespace === ns);
    if (chosen.length > 0) break;
  }
  // Istio (push_context destinationRule) looks only in these three namespaces: a rule in any other
  // namespace never applies, even when exported to the client.
  if (chosen.length === 0) return undefined;
  const best = Math.max(...chosen.map((dr) => specificity(destinationRuleHost(dr, mesh))));
  const ns = chosen.map((dr) => dr.metadata.namespace).sort()[0];
  const same = chosen
    .filter((dr) => specificity(destinationRuleHost(dr, mesh)) === best && dr.metadata.namespace === ns)
    .sort((a, b) => compareCreation(creationOf(a), creationOf(b)));
  const subsets: Subset[] = [];
  let trafficPolicy: TrafficPolicy | undefined;
  for (const dr of same) {
    trafficPolicy ??= dr.spec.trafficPolicy;
    for (const s of dr.spec.subsets ?? []) if (!subsets.some((x) => x.name === s.name)) subsets.push(s);
  }
  return {
    sources: same.map((dr) => `DestinationRule/${dr.metadata.namespace}/${dr.metadata.name}`),
    ...(trafficPolicy ? { trafficPolicy } : {}),
    subsets,
  };
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
  return { ...base, ...forPort(s.trafficPolicy, port) };
}
