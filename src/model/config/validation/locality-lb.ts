/**
 * `localityLbSetting` of DestinationRule load balancers and of MeshConfig (Istio
 * `ValidateLocalityLbSetting`): `distribute` and `failover` exclude each other; each `distribute`
 * entry's `to` weights are 1..100 and sum to 100; localities use at most one trailing `*` and do
 * not overlap; failover names regions only, different ones, without wildcards.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import type { JsonObject, Problems } from './json.js';
import { asInteger, asObjectItem, childPath, quote, readBoolean, readInteger, readList, readObject, readString, readStringList, warnUnknownFields } from './json.js';

const TOPOLOGY_LABELS = ['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone'] as const;

export interface LocalityLbOptions {
  /** Whether the surrounding traffic policy has outlierDetection (failover needs it, L-2). */
  readonly hasOutlierDetection: boolean;
}

export function checkLocalityLbSetting(parent: JsonObject, key: string, path: FieldPath, options: LocalityLbOptions, out: Problems): void {
  const setting = readObject(parent, key, path, out);
  if (setting === undefined) return;
  const at = childPath(path, key);
  warnUnknownFields(setting, ['distribute', 'failover', 'failoverPriority', 'enabled'], at, out);
  readBoolean(setting, 'enabled', at, out);
  const distribute = readList(setting, 'distribute', at, out) ?? [];
  const failover = readList(setting, 'failover', at, out) ?? [];
  const failoverPriority = readStringList(setting, 'failoverPriority', at, out) ?? [];
  if (distribute.length > 0 && failover.length > 0) {
    out.push(error(at, "localityLbSetting cannot set both 'distribute' and 'failover'; choose one."));
    return;
  }
  if (failover.length > 0) {
    const topology = failoverPriority.find((label) => label !== undefined && (TOPOLOGY_LABELS as readonly string[]).includes(label));
    if (topology !== undefined) {
      out.push(error(childPath(at, 'failoverPriority'), `failoverPriority cannot contain the topology label ${quote(topology)} when 'failover' is set.`));
    }
  }
  checkDistribute(distribute, childPath(at, 'distribute'), out);
  if ((failover.length > 0 || failoverPriority.length > 0) && !options.hasOutlierDetection) {
    out.push(warning(at, 'Locality failover has no effect without an outlierDetection policy in the same traffic policy.'));
  }
  checkFailover(failover, childPath(at, 'failover'), out);
}

/**
 * `zoneAwareLbSetting` of a DestinationRule load balancer (Istio `ValidateZoneAwareLbSetting`, L-11):
 * failover names regions only, different ones, without wildcards; failoverPriority must not name the
 * region, zone or subzone topology labels (region buckets and zones are automatic); failover or
 * failoverPriority without outlier detection is a warning; minClusterSize is a whole number >= 0.
 */
export function checkZoneAwareLbSetting(parent: JsonObject, key: string, path: FieldPath, options: LocalityLbOptions, out: Problems): void {
  const setting = readObject(parent, key, path, out);
  if (setting === undefined) return;
  const at = childPath(path, key);
  warnUnknownFields(setting, ['enabled', 'failover', 'failoverPriority', 'minClusterSize'], at, out);
  readBoolean(setting, 'enabled', at, out);
  readInteger(setting, 'minClusterSize', at, out, { min: 0, max: Number.MAX_SAFE_INTEGER });
  const failover = readList(setting, 'failover', at, out) ?? [];
  const failoverPriority = readStringList(setting, 'failoverPriority', at, out) ?? [];
  failoverPriority.forEach((label, i) => {
    if (label !== undefined && (TOPOLOGY_LABELS as readonly string[]).includes(label)) {
      out.push(
        error(
          childPath(childPath(at, 'failoverPriority'), i),
          `zoneAwareLbSetting.failoverPriority must not use the topology label ${quote(label)}; region- and zone-level routing are handled automatically.`,
        ),
      );
    }
  });
  if ((failover.length > 0 || failoverPriority.length > 0) && !options.hasOutlierDetection) {
    out.push(warning(at, 'Zone-aware failover needs an outlierDetection policy in the same traffic policy: Envoy leaves a priority only when its endpoints are ejected or unhealthy.'));
  }
  checkFailover(failover, childPath(at, 'failover'), out);
}

function checkDistribute(distribute: readonly unknown[], path: FieldPath, out: Problems): void {
  const sources: Array<{ readonly locality: string; readonly path: FieldPath }> = [];
  distribute.forEach((item, i) => {
    const at = childPath(path, i);
    const entry = asObjectItem(item, at, out, 'A distribute entry');
    if (entry === undefined) return;
    warnUnknownFields(entry, ['from', 'to'], at, out);
    const from = readString(entry, 'from', at, out) ?? '';
    sources.push({ locality: from, path: childPath(at, 'from') });
    const to = readObject(entry, 'to', at, out) ?? {};
    const toPath = childPath(at, 'to');
    let total = 0;
    let weightsValid = true;
    const targets: Array<{ readonly locality: string; readonly path: FieldPath }> = [];
    for (const [locality, rawWeight] of Object.entries(to)) {
      const weightPath = childPath(toPath, locality);
      targets.push({ locality, path: weightPath });
      const weight = asInteger(rawWeight, weightPath, out);
      if (weight === undefined) weightsValid = false;
      else if (weight < 1 || weight > 100) {
        out.push(error(weightPath, `Locality weight ${weight} for ${quote(locality)} must be in the range 1..100.`));
        weightsValid = false;
      } else total += weight;
    }
    if (weightsValid && total !== 100) {
      out.push(error(toPath, `The locality weights of distribute[${i}] add up to ${total}; they must add up to 100.`));
    }
    checkLocalities(targets, out);
  });
  checkLocalities(sources, out);
}

function checkFailover(failover: readonly unknown[], path: FieldPath, out: Problems): void {
  failover.forEach((item, i) => {
    const at = childPath(path, i);
    const entry = asObjectItem(item, at, out, 'A failover entry');
    if (entry === undefined) return;
    warnUnknownFields(entry, ['from', 'to'], at, out);
    const from = readString(entry, 'from', at, out) ?? '';
    const to = readString(entry, 'to', at, out) ?? '';
    if (from === to) out.push(error(at, `Locality failover must name two different regions, not ${quote(from)} twice.`));
    if (from.includes('/') || to.includes('/')) out.push(error(at, 'Locality failover names regions only (no "/").'));
    if (from.includes('*') || to.includes('*')) out.push(error(at, 'Locality failover regions must not contain the "*" wildcard.'));
  });
}

/**
 * Localities are `region[/zone[/subzone]]` with no empty part and at most one `*`, only at the end;
 * a locality may not overlap one listed before it (Istio `validateLocalities`, including its
 * order-dependence: "*" after other localities is accepted, before them it is not). The first
 * problem of the list is reported, as Istio does.
 */
function checkLocalities(localities: ReadonlyArray<{ readonly locality: string; readonly path: FieldPath }>, out: Problems): void {
  const regions = new Map<string, Map<string, Set<string>>>();
  for (const { locality, path } of localities) {
    const stars = locality.split('*').length - 1;
    if (stars > 1 || (stars === 1 && !locality.endsWith('*'))) {
      out.push(error(path, `Locality ${quote(locality)} may contain one "*" wildcard, only at the end.`));
      return;
    }
    const overlap = error(path, `Locality ${quote(locality)} overlaps a locality listed before it.`);
    if (regions.has('*')) {
      out.push(overlap);
      return;
    }
    const parts = splitLocality(locality);
    if (parts.some((p) => p === '')) {
      out.push(error(path, `Locality ${quote(locality)} must not contain an empty region, zone or subzone.`));
      return;
    }
    if (!addLocality(regions, parts)) {
      out.push(overlap);
      return;
    }
  }
}

/** Go `strings.SplitN(locality, "/", 3)`. */
function splitLocality(locality: string): string[] {
  const parts = locality.split('/');
  return parts.length <= 3 ? parts : [parts[0] ?? '', parts[1] ?? '', parts.slice(2).join('/')];
}

/** Records a locality; false when it overlaps one recorded before. `*` marks "everything below". */
function addLocality(regions: Map<string, Map<string, Set<string>>>, parts: readonly string[]): boolean {
  const [region = '', zone = '', subzone = ''] = parts;
  const zones = regions.get(region);
  if (parts.length === 1) {
    if (zones !== undefined) return false;
    regions.set(region, new Map([['*', new Set(['*'])]]));
    return true;
  }
  if (zones === undefined) {
    regions.set(region, new Map([[zone, new Set([parts.length === 2 ? '*' : subzone])]]));
    return true;
  }
  if (zones.has('*')) return false;
  const subzones = zones.get(zone);
  if (parts.length === 2) {
    if (subzones !== undefined) return false;
    zones.set(zone, new Set(['*']));
    return true;
  }
  if (subzones === undefined) {
    zones.set(zone, new Set([subzone]));
    return true;
  }
  if (subzones.has('*') || subzones.has(subzone)) return false;
  subzones.add(subzone);
  return true;
}
