/**
 * Split-horizon EDS (N-*): endpoints on a remote network that has gateways are replaced by those
 * gateways, with weights scaled so that every endpoint keeps its share.
 */
import { LABEL } from '../../model/mesh/labels.js';
import type { NetworkGateway } from '../../model/mesh/mesh-settings.js';
import { MAX_WEIGHT, sumWeights, type LocalityGroup, type SentEndpoint } from './locality-groups.js';
import { withFields } from '../../lib/objects/with-fields.js';

export interface GatewayIndex {
  readonly byNetwork: ReadonlyMap<string, readonly NetworkGateway[]>;
  readonly byNetworkCluster: ReadonlyMap<string, readonly NetworkGateway[]>;
  /** N-2: least common multiple of the gateway counts per network and per network+cluster. */
  readonly scaleFactor: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function indexGateways(gateways: readonly NetworkGateway[]): GatewayIndex {
  const byNetwork = new Map<string, NetworkGateway[]>();
  const byNetworkCluster = new Map<string, NetworkGateway[]>();
  for (const g of gateways) {
    const a = byNetwork.get(g.network) ?? [];
    a.push(g);
    byNetwork.set(g.network, a);
    // Keyed by network and cluster, the empty cluster of address gateways included (as Istio's
    // byNetworkAndCluster): it counts for the scale factor; no endpoint has an empty cluster.
    const k = `${g.network}\u0000${g.cluster}`;
    const b = byNetworkCluster.get(k) ?? [];
    b.push(g);
    byNetworkCluster.set(k, b);
  }
  let scaleFactor = 1;
  for (const list of [...byNetwork.values(), ...byNetworkCluster.values()]) {
    scaleFactor = (scaleFactor * list.length) / gcd(scaleFactor, list.length);
  }
  return { byNetwork, byNetworkCluster, scaleFactor };
}

/** N-4: the endpoint's network+cluster gateways if any, else its network's. */
function gatewaysFor(index: GatewayIndex, network: string, cluster: string): readonly NetworkGateway[] {
  return index.byNetworkCluster.get(`${network}\u0000${cluster}`) ?? index.byNetwork.get(network) ?? [];
}

export interface NetworkExclusion {
  readonly source: string;
  readonly reason: 'network' | 'address';
  readonly detail: string;
}

/**
 * N-1..N-5. Without any gateway in the mesh, endpoints are sent as they are, except those with no
 * address (a network-only entry is reachable only through a gateway; Istio would send it, which
 * Envoy cannot use). `cluster` is the registry's cluster id (all local endpoints belong to it).
 */
export function applyNetworkFilter(
  groups: readonly LocalityGroup[],
  clientNetwork: string,
  cluster: string,
  index: GatewayIndex,
  excluded?: NetworkExclusion[],
): LocalityGroup[] {
  if (index.byNetwork.size === 0) {
    return groups.map((g) => {
      const endpoints = g.endpoints.filter((e) => {
        if (e.address !== '') return true;
        excluded?.push({ source: e.source, reason: 'address', detail: 'it has no address and no network gateway exists' });
        return false;
      });
      return endpoints.length === g.endpoints.length ? g : withFields(g, { endpoints, weight: endpoints.length > 0 ? sumWeights(endpoints) : 0 });
    });
  }
  const factor = index.scaleFactor;
  return groups.map((g) => {
    const direct: SentEndpoint[] = [];
    const viaGateway = new Map<string, { gw: NetworkGateway; weight: number }>();
    for (const e of g.endpoints) {
      const weight = Math.min(e.weight * factor, MAX_WEIGHT);
      const gws = e.network === '' || e.network === clientNetwork ? [] : gatewaysFor(index, e.network, cluster);
      if (gws.length === 0) {
        if (e.address !== '') direct.push(withFields(e, { weight }));
        else excluded?.push({ source: e.source, reason: 'address', detail: `it has no address and its network ${JSON.stringify(e.network)} is the client's or has no gateway` });
        continue;
      }
      if (e.tlsMode !== 'istio') {
        excluded?.push({ source: e.source, reason: 'network', detail: `it is on network ${JSON.stringify(e.network)}, reachable only through a gateway, and does not use Istio mutual TLS` });
        continue;
      }
      const share = Math.floor(weight / gws.length);
      for (const gw of gws) {
        const k = `${gw.address}\u0000${gw.port}`;
        const acc = viaGateway.get(k) ?? { gw, weight: 0 };
        acc.weight = Math.min(acc.weight + share, MAX_WEIGHT);
        viaGateway.set(k, acc);
      }
    }
    const gatewayEndpoints = [...viaGateway.values()]
      .sort((a, b) => (a.gw.address !== b.gw.address ? (a.gw.address < b.gw.address ? -1 : 1) : a.gw.port - b.gw.port))
      .map(({ gw, weight }): SentEndpoint => ({
        address: gw.address,
        port: gw.port,
        weight: Math.max(1, weight),
        health: 'UNKNOWN',
        tlsMode: 'istio',
        source: `Gateway/${gw.network}`,
        network: gw.network,
        locality: g.locality,
        // Istio labels the gateway endpoint with its network and cluster (AugmentLabels), which
        // failoverPriority (L-7) may match after this filter.
        labels: { [LABEL.network]: gw.network, ...(gw.cluster !== '' ? { [LABEL.cluster]: gw.cluster } : {}) },
        serviceAccount: null,
        namespace: '',
        workloadName: '',
      }));
    const endpoints = [...direct, ...gatewayEndpoints];
    return withFields(g, { endpoints, weight: endpoints.length > 0 ? sumWeights(endpoints) : 0 });
  });
}
