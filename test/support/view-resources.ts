/** The resources a view holds in a cache, per type short name: name → content version (sorted). */
import type { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';

const TYPES = [LISTENER, ROUTE, CLUSTER, ENDPOINT];

export function viewResources(cache: ResourceCache, view: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const t of TYPES) {
    const snap = cache.current(view, t.typeUrl);
    out[t.shortName] = Object.fromEntries([...(snap?.resources ?? [])].map(([n, r]): [string, string] => [n, r.version]).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return out;
}
