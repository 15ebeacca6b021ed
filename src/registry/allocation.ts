/**
 * Automatic address allocation for ServiceEntries (Istio's "v2" allocator, A-V2-*): each
 * qualifying entry's hosts get one IPv4 from 240.240.0.0/16 and one IPv6 from 2001:2::/48.
 * Allocation is global (addresses must not collide), so it is one pure function over all entries;
 * its per-entry results are compared item by item so that only entries whose addresses changed
 * cause recomputation downstream.
 */
import type { ServiceEntry } from '../model/config/types.js';
import { LABEL } from '../model/mesh/labels.js';
import { compareCreation, creationOf } from './workloads.js';

export interface Allocation {
  /** `ServiceEntry/<ns>/<name>` */
  readonly key: string;
  /** host -> [IPv4, IPv6] */
  readonly byHost: Readonly<Record<string, readonly string[]>>;
}

/** A-V2-1 */
export function qualifiesForAllocation(se: ServiceEntry): boolean {
  const resolution = se.spec.resolution ?? 'NONE';
  if (resolution === 'NONE') return false;
  if ((se.metadata.labels[LABEL.autoAllocate] ?? '').toLowerCase() === 'false') return false;
  return (se.spec.addresses ?? []).length === 0;
}

/** A-V2-2: non-wildcard hosts (wildcards only with DYNAMIC_DNS), de-duplicated, in order. */
export function allocatableHosts(se: ServiceEntry): string[] {
  const dynamic = se.spec.resolution === 'DYNAMIC_DNS';
  return [...new Set(se.spec.hosts.filter((h) => dynamic || !h.includes('*')))];
}

const V4_BASE = 240 * 2 ** 24 + 240 * 2 ** 16; // 240.240.0.0
const V4_SIZE = 2 ** 16;

function v4(n: number): string {
  const x = V4_BASE + n;
  return `${Math.floor(x / 2 ** 24) % 256}.${Math.floor(x / 2 ** 16) % 256}.${Math.floor(x / 256) % 256}.${x % 256}`;
}
function v6(n: number): string {
  const hi = Math.floor(n / 65536);
  const lo = n % 65536;
  return hi > 0 ? `2001:2::${hi.toString(16)}:${lo.toString(16)}` : `2001:2::${lo.toString(16)}`;
}
function isAutoV4(a: string): boolean {
  return a.startsWith('240.240.');
}
function isAutoV6(a: string): boolean {
  return a.toLowerCase().startsWith('2001:2::') || a.toLowerCase().startsWith('2001:2:0:');
}

/**
 * A-V2-2..A-V2-5: keeps addresses already in `status.addresses` (oldest holder wins a conflict;
 * an address a user wrote in any `spec.addresses` is never kept), then hands out the next free
 * address in creation order, skipping every used one.
 */
export function allocateAddresses(entries: readonly ServiceEntry[]): Allocation[] {
  const sorted = [...entries].sort((a, b) => compareCreation(creationOf(a), creationOf(b)));
  const used = new Set<string>();
  for (const se of sorted) for (const a of se.spec.addresses ?? []) used.add(a.split('/')[0] ?? a);
  const result = new Map<string, Record<string, string[]>>();
  const missing: { key: string; host: string; family: 4 | 6 }[] = [];
  // A-V2-3: addresses of hosts removed from a qualifying entry are dropped from its status but not
  // immediately reused. Istio's allocator keeps them marked used in memory; here the previous status
  // (still in the input) stands for that memory. They are reserved after every kept assignment, so
  // a current holder of the same address keeps it.
  const retired: string[] = [];
  for (const se of sorted) {
    const key = `ServiceEntry/${se.metadata.namespace}/${se.metadata.name}`;
    if (!qualifiesForAllocation(se)) continue; // A-V2-5: nothing kept for an entry that no longer qualifies
    const byHost: Record<string, string[]> = {};
    result.set(key, byHost);
    const hosts = allocatableHosts(se);
    for (const s of se.status?.addresses ?? []) {
      if (s.host !== undefined && !hosts.includes(s.host) && (isAutoV4(s.value) || isAutoV6(s.value))) retired.push(s.value);
    }
    for (const host of hosts) {
      const status = (se.status?.addresses ?? []).filter((s) => s.host === host).map((s) => s.value);
      const keep4 = [...status].reverse().find((a) => isAutoV4(a) && !used.has(a));
      const keep6 = [...status].reverse().find((a) => isAutoV6(a) && !used.has(a));
      const pair: string[] = [];
      byHost[host] = pair;
      if (keep4) {
        used.add(keep4);
        pair.push(keep4);
      } else missing.push({ key, host, family: 4 });
      if (keep6) {
        used.add(keep6);
        pair.push(keep6);
      } else missing.push({ key, host, family: 6 });
    }
  }
  for (const a of retired) used.add(a);
  let cursor4 = 1;
  let cursor6 = 1;
  for (const m of missing) {
    const pair = result.get(m.key)?.[m.host];
    if (!pair) continue;
    if (m.family === 4) {
      while (cursor4 < V4_SIZE - 1 && used.has(v4(cursor4))) cursor4++;
      if (cursor4 >= V4_SIZE - 1) continue; // range exhausted: no address
      const a = v4(cursor4++);
      used.add(a);
      pair.unshift(a);
    } else {
      while (used.has(v6(cursor6))) cursor6++;
      const a = v6(cursor6++);
      used.add(a);
      pair.push(a);
    }
  }
  return [...result].map(([key, byHost]) => ({ key, byHost }));
}
