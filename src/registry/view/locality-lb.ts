/**
 * Locality priorities and weights relative to the client (L-*; Istio
 * networking/core/loadbalancer/loadbalancer.go ApplyLocalityLoadBalancer).
 */
import type { LocalityLbSetting, StringMap, ZoneAwareLbSetting } from '../../model/config/types.js';
import { LABEL } from '../../model/mesh/labels.js';
import { parseLocality, type Locality } from '../../model/mesh/locality.js';
import { sumWeights, type LocalityGroup, type SentEndpoint } from './locality-groups.js';
import { withFields } from '../../lib/objects/with-fields.js';

/** Istio util.LocalityMatch: `*` matches anything; empty zone/subzone act as wildcards, an empty region does not. */
export function localityMatches(l: Locality, rule: string): boolean {
  const r = parseLocality(rule);
  const region = r.region === '*' || l.region === r.region;
  const zone = r.zone === '*' || r.zone === '' || l.zone === r.zone;
  const subzone = r.subZone === '*' || r.subZone === '' || l.subZone === r.subZone;
  return region && zone && subzone;
}

/** L-4: 0 same region+zone+subzone, 1 same region+zone, 2 same region, 3 otherwise. */
export function lbPriority(client: Locality, endpoints: Locality): number {
  if (client.region !== endpoints.region) return 3;
  if (client.zone !== endpoints.zone) return 2;
  return client.subZone === endpoints.subZone ? 0 : 1;
}

/** The locality setting that applies to one cluster (L-1): a localityLbSetting or a zoneAwareLbSetting. */
export type EffectiveLocalitySettings =
  | {
      readonly kind: 'locality';
      readonly setting: LocalityLbSetting | undefined;
      /** Whether failover priorities apply: outlier detection (L-2) or a traffic-distribution preference (L-9). */
      readonly failover: boolean;
    }
  | { readonly kind: 'zoneAware'; readonly setting: ZoneAwareLbSetting };

/** Which setting decided a cluster's priorities and weights, as `endpoints --explain` prints it. */
export interface LocalityDecision {
  readonly setting: 'zoneAwareLbSetting' | 'localityLbSetting' | 'trafficDistribution' | 'mesh' | 'none';
  /** The DestinationRule(s) (`DestinationRule/<ns>/<name>`), the service, `MeshConfig`, or '' for none. */
  readonly source: string;
  readonly detail: string;
}

export const NO_ENDPOINTS_DECISION: LocalityDecision = { setting: 'none', source: '', detail: 'ORIGINAL_DST: no endpoints are sent, so no locality setting applies' };

/** L-1: applies whichever setting decided. */
export function applyLocalitySettings(
  groups: readonly LocalityGroup[],
  client: { locality: Locality; labels: StringMap; network: string },
  settings: EffectiveLocalitySettings,
): LocalityGroup[] {
  return settings.kind === 'zoneAware' ? applyZoneAware(groups, client, settings.setting) : applyLocalityLb(groups, client, settings.setting, settings.failover);
}

/**
 * L-11 (Istio ApplyZoneAwareLoadBalancer): with `enabled: false` nothing at all (every priority 0).
 * Otherwise, without needing outlier detection: label priorities from `failoverPriority` if any,
 * then region buckets on top (priority x 3 + bucket): the client's region 0 (all its zones and
 * subzones alike), the `to` region of the first `failover` rule whose `from` is the client's region
 * 1, every other region 2; then compacted (L-6), so with no matching rule other regions are at 1.
 */
export function applyZoneAware(
  groups: readonly LocalityGroup[],
  client: { locality: Locality; labels: StringMap; network: string },
  setting: ZoneAwareLbSetting,
): LocalityGroup[] {
  if (setting.enabled === false) return [...groups];
  const labelled = setting.failoverPriority && setting.failoverPriority.length > 0 ? applyPriorityFailover(groups, client, setting.failoverPriority, undefined) : [...groups];
  const region = client.locality.region;
  const rule = (setting.failover ?? []).find((f) => f.from === region);
  return compact(
    labelled.map((g) => {
      const r = parseLocality(g.locality).region;
      const bucket = r === region ? 0 : rule !== undefined && r === rule.to ? 1 : 2;
      return withFields(g, { priority: g.priority * 3 + bucket });
    }),
  );
}

/**
 * L-1..L-9. `setting` is the effective locality LB setting (undefined or enabled:false = nothing);
 * `enableFailover` says whether the effective traffic policy has outlier detection (L-2).
 */
export function applyLocalityLb(
  groups: readonly LocalityGroup[],
  client: { locality: Locality; labels: StringMap; network: string },
  setting: LocalityLbSetting | undefined,
  enableFailover: boolean,
): LocalityGroup[] {
  if (!setting || setting.enabled === false) return [...groups];
  if (setting.distribute && setting.distribute.length > 0) return applyDistribute(groups, client.locality, setting.distribute);
  if (!enableFailover) return [...groups];
  if (setting.failoverPriority && setting.failoverPriority.length > 0) {
    return applyPriorityFailover(groups, client, setting.failoverPriority, setting.failover);
  }
  return compact(groups.map((g) => (withFields(g, { priority: failoverPriority(client.locality, g.locality, setting.failover) }))));
}

/** L-4 + L-5: raw priority with the `failover` rules applied. */
function failoverPriority(client: Locality, groupLocality: string, failover: LocalityLbSetting['failover']): number {
  const l = parseLocality(groupLocality);
  let p = lbPriority(client, l);
  if (p === 3) {
    const rule = (failover ?? []).find((f) => f.from === client.region);
    if (rule && l.region !== rule.to) p = 4;
  }
  return p;
}

/** L-6: priorities made contiguous from 0, order kept. */
function compact(groups: LocalityGroup[]): LocalityGroup[] {
  const used = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  const rank = new Map(used.map((p, i) => [p, i]));
  return groups.map((g) => (withFields(g, { priority: rank.get(g.priority) ?? 0 })));
}

/**
 * L-3: the first rule whose `from` matches the client; each `to` pattern takes the not yet matched
 * groups it matches and shares its percentage between them in proportion to their weights
 * (ceil); unmatched groups are emptied. `to` patterns are taken in the order written (Istio
 * iterates a map: the order is unspecified there; here it is defined).
 */
function applyDistribute(groups: readonly LocalityGroup[], client: Locality, distribute: NonNullable<LocalityLbSetting['distribute']>): LocalityGroup[] {
  const rule = distribute.find((d) => localityMatches(client, d.from ?? ''));
  if (!rule) return [...groups];
  const out = [...groups];
  const unmatched = new Set(out.map((_, i) => i));
  for (const [pattern, percent] of Object.entries(rule.to ?? {})) {
    const matched: number[] = [];
    let total = 0;
    for (const i of unmatched) {
      const g = out[i];
      if (g && localityMatches(parseLocality(g.locality), pattern)) matched.push(i);
    }
    for (const i of matched) {
      unmatched.delete(i);
      total += out[i]?.weight || 1;
    }
    for (const i of matched) {
      const g = out[i];
      if (!g) continue;
      const w = Math.ceil(((g.weight || 1) * percent) / total);
      if (w > 0) out[i] = withFields(g, { weight: w });
    }
  }
  for (const i of unmatched) {
    const g = out[i];
    if (g) out[i] = withFields(g, { endpoints: [] });
  }
  return out;
}

/**
 * L-7: each locality group is split by how many leading `failoverPriority` labels of an endpoint
 * match the client's (a `key=value` entry overrides the client's value). With `failover` rules
 * too, locality failover is added on top (label priority x 5 + locality priority).
 */
function applyPriorityFailover(
  groups: readonly LocalityGroup[],
  client: { locality: Locality; labels: StringMap; network: string },
  priorities: readonly string[],
  failover: LocalityLbSetting['failover'],
): LocalityGroup[] {
  const n = priorities.length;
  // `client.labels` are the proxy's augmented labels (withTopologyLabels): they carry its network,
  // locality and cluster. As in Istio (Go maps), a missing label reads as "": a proxy and an
  // endpoint that both lack a label match on it.
  const clientLabels = client.labels;
  const out: LocalityGroup[] = [];
  for (const g of groups) {
    const byPriority = new Map<number, SentEndpoint[]>();
    for (const e of g.endpoints) {
      let matched = 0;
      let networkMismatch = false;
      for (let j = 0; j < n; j++) {
        const entry = priorities[j] ?? '';
        const eq = entry.indexOf('=');
        const key = eq >= 0 ? entry.slice(0, eq) : entry;
        const want = eq >= 0 ? entry.slice(eq + 1) : (clientLabels[key] ?? '');
        const have = e.labels[key] ?? '';
        if (have === want) {
          matched++;
          continue;
        }
        if (j === 0 && key === LABEL.network) {
          networkMismatch = true;
          continue;
        }
        break;
      }
      let p = n - matched + (networkMismatch ? n : 0);
      if (failover && failover.length > 0) p = p * 5 + failoverPriority(client.locality, g.locality, failover);
      const list = byPriority.get(p) ?? [];
      list.push(e);
      byPriority.set(p, list);
    }
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      const eps = byPriority.get(p) ?? [];
      out.push({ locality: g.locality, priority: p, weight: sumWeights(eps), endpoints: eps });
    }
    // A group without endpoints (emptied by the network filter) yields no group at all, as in
    // Istio's applyFailoverPriorityPerLocality; it must not take part in the compaction either.
  }
  return compact(out);
}
