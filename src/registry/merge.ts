/**
 * All services for one (host, namespace) merged into one view (D-1..D-5): endpoints concatenated
 * in creation order, the definition (ports, resolution) from the winning object. Pure.
 */
import { deepEqual } from '../lib/krt/equal.js';
import type { Endpoint, MergedService, ServiceBundle, ServicePort } from '../model/mesh/types.js';
import { endpointsOfHost } from './service-entries.js';
import { compareCreation } from './workloads.js';

/**
 * Kubernetes Services first (they win the definition, D-4, and their shard sorts first), then by
 * age (D-1). Two objects with the same, explicitly set creationTimestamp are ordered by name, as
 * Istio does (hostname, namespace, then the ServiceEntry name; the first two are equal here);
 * without timestamps the load order decides (cli-contract creation order).
 */
export function compareBundles(a: ServiceBundle, b: ServiceBundle): number {
  if (a.source !== b.source) return a.source === 'Service' ? -1 : 1;
  if (a.creation.timestamp !== '' && a.creation.timestamp === b.creation.timestamp && a.name !== b.name) return a.name < b.name ? -1 : 1;
  const c = compareCreation(a.creation, b.creation);
  if (c !== 0) return c;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** D-4: a younger same-namespace entry's ports are merged only when these all agree. */
function canMerge(a: ServiceBundle, b: ServiceBundle): boolean {
  return (
    a.source === b.source &&
    a.resolution === b.resolution &&
    deepEqual(a.objectLabels, b.objectLabels) &&
    deepEqual(a.selector, b.selector) &&
    deepEqual([...a.exportTo].sort(), [...b.exportTo].sort())
  );
}

export function mergeServices(host: string, namespace: string, bundles: readonly ServiceBundle[]): MergedService | undefined {
  const sorted = [...bundles].filter((b) => b.namespace === namespace && b.hosts.includes(host)).sort(compareBundles);
  const winner = sorted[0];
  if (!winner) return undefined;
  const ports: ServicePort[] = [...winner.ports];
  for (const b of sorted.slice(1)) {
    if (!canMerge(winner, b)) continue;
    for (const p of b.ports) if (!ports.some((q) => q.number === p.number)) ports.push(p);
  }
  const addresses: string[] = [];
  const endpoints: Endpoint[] = [];
  // D-3 (Istio serviceInstancesStore.addInstances): a DNS_ROUND_ROBIN entry's endpoint is skipped
  // when the ServiceEntry registry already holds an endpoint for this host, namespace and port
  // number, whatever the resolution of the entry that holds it; every added endpoint counts.
  const seenPorts = new Set<number>();
  for (const b of sorted) {
    for (const a of [...b.specAddresses, ...(b.autoAddresses[host] ?? [])]) if (!addresses.includes(a)) addresses.push(a);
    // D-2: one internal service per spec address, each with the same endpoints.
    const copies = Math.max(1, b.specAddresses.length);
    const own = endpointsOfHost(b, host);
    for (let i = 0; i < copies; i++) {
      for (const e of own) {
        if (b.source === 'ServiceEntry') {
          if (b.resolution === 'DNS_ROUND_ROBIN' && seenPorts.has(e.servicePort)) continue;
          seenPorts.add(e.servicePort);
        }
        endpoints.push(e);
      }
    }
  }
  return {
    key: `${namespace}/${host}`,
    host,
    namespace,
    definedBy: winner.key,
    source: winner.source,
    resolution: winner.resolution,
    location: winner.location,
    ports,
    addresses,
    exportTo: winner.exportTo,
    subjectAltNames: winner.subjectAltNames,
    annotations: winner.annotations,
    creation: winner.creation,
    endpoints,
    bundles: sorted.map((b) => b.key),
  };
}
