/**
 * `GET /api/v1/localities?client=region/zone/subzone&network=N&namespace=NS[&host=H]` (view 7,
 * docs/api.md): for a chosen client locality and network, per service cluster the endpoints grouped
 * by priority exactly as the generator assigns them (registry/view/clusters.ts: locality priorities,
 * failover, network gateways), plus every locality and network with endpoints (for the picker).
 */
import { viewSourcesOf } from '../../registry/offline-mesh.js';
import type { Registry } from '../../registry/registry.js';
import { clientCandidates, resolveClientProxy } from '../../registry/view/client.js';
import { buildClusters } from '../../registry/view/clusters.js';
import type { LocalityGroup } from '../../registry/view/locality-groups.js';
import type { FailoverEndpoint, LocalitiesResponse, PriorityGroup, ServiceFailover } from './types.js';

function priorityGroups(groups: readonly LocalityGroup[]): PriorityGroup[] {
  const byPriority = new Map<number, { localities: Set<string>; endpoints: FailoverEndpoint[] }>();
  for (const g of groups) {
    let p = byPriority.get(g.priority);
    if (p === undefined) byPriority.set(g.priority, (p = { localities: new Set(), endpoints: [] }));
    p.localities.add(g.locality);
    for (const e of g.endpoints) {
      const gateway = e.source.startsWith('Gateway/');
      p.endpoints.push({ address: `${e.address}:${e.port}`, locality: e.locality, network: e.network, weight: e.weight, health: e.health, source: gateway ? 'gateway' : e.source, gatewayFor: gateway ? e.network : null });
    }
  }
  return [...byPriority.entries()].sort(([a], [b]) => a - b).map(([priority, p]) => ({ priority, localities: [...p.localities].sort(), endpoints: p.endpoints }));
}

export function localitiesView(registry: Registry, q: URLSearchParams): LocalitiesResponse {
  const locality = q.get('client') ?? '';
  const network = q.get('network') ?? '';
  const namespace = q.get('namespace') ?? 'default';
  const host = q.get('host');
  const client = resolveClientProxy({ namespace, ...(locality !== '' ? { locality } : {}), ...(network !== '' ? { network } : {}) }, clientCandidates(registry.workloads.list(), registry.services.list()));
  const clusters = buildClusters(viewSourcesOf(registry), client, host !== null ? { host } : {});
  const services = clusters.map(
    (c): ServiceFailover => ({
      host: c.host,
      namespace: c.service.namespace,
      port: c.port,
      cluster: c.name,
      localityAware: c.localities.some((g) => g.priority > 0),
      localityLb: { setting: c.localityDecision.setting, source: c.localityDecision.source, detail: c.localityDecision.detail },
      priorities: priorityGroups(c.localities),
    }),
  );
  const counts = new Map<string, { locality: string; network: string; addresses: Set<string> }>();
  for (const w of registry.workloads.list()) {
    if (w.address === '') continue;
    const key = `${w.locality}\u0000${w.network}`;
    let c = counts.get(key);
    if (c === undefined) counts.set(key, (c = { locality: w.locality, network: w.network, addresses: new Set() }));
    c.addresses.add(w.address);
  }
  const localities = [...counts.values()]
    .map((c) => ({ locality: c.locality, network: c.network, endpoints: c.addresses.size }))
    .sort((a, b) => a.network.localeCompare(b.network) || a.locality.localeCompare(b.locality));
  return { client: { locality, network, namespace }, services, localities };
}
