/**
 * Generation on demand: a class of a generator that serves clients which subscribe by name
 * (Generator.onDemand: proxyless gRPC, whose every Listener, RouteConfiguration, Cluster and
 * ClusterLoadAssignment request names its resources) holds the resources of the hosts its streams
 * asked for, not of every service in the mesh. Istio's gRPC generator does the same: it builds what
 * a request names.
 *
 * Measured cause (bench S3 `--variant policies`: 30,000 services, DestinationRules and
 * VirtualServices in 100 namespaces, so proxies fall into ~300 classes): every class was generated
 * over all 30,000 services (cache slots of 120,000 resources per class, ~2.7 GiB, and 500 proxies
 * not synced in 300 s), though each client dials 20 of them.
 *
 * A class's demand is the union of its views' demands, and a view's is the union of what its
 * streams ever requested while it lives (it only grows: a name a client drops stays generated until
 * its view goes). A wildcard request, or more than DEMAND_LIMIT hosts, makes the demand `all`: the
 * class is then generated in full as before, which bounds what a hostile client can make the control
 * plane remember.
 */
import type { MergedService } from '../../model/mesh/types.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types/resource-types.js';
import { INBOUND_LISTENER_PREFIX } from './names.js';

/** Hosts some stream asked for, or every host. */
export type Demand = Set<string> | 'all';

/** More hosts than this in one view or class and it is generated in full (`all`). */
export const DEMAND_LIMIT = 4096;

/**
 * The service host a requested resource name belongs to, as the proxyless generator names them
 * (grpc.ts): Listener and RouteConfiguration `<host>:<port>`, Cluster and ClusterLoadAssignment
 * `outbound|<port>|<subset>|<host>` (and its TLS parts, `...|<host>|<part>`). Undefined for inbound
 * listener names (the class's shared part answers them) and for names of no such form.
 */
export function hostOfRequestedName(typeUrl: string, name: string): string | undefined {
  if (typeUrl === LISTENER.typeUrl || typeUrl === ROUTE.typeUrl) {
    if (name.startsWith(INBOUND_LISTENER_PREFIX)) return undefined;
    const colon = name.lastIndexOf(':');
    return colon > 0 ? name.slice(0, colon) : undefined;
  }
  if (typeUrl === CLUSTER.typeUrl || typeUrl === ENDPOINT.typeUrl) {
    if (!name.startsWith('outbound|')) return undefined;
    const host = name.split('|')[3];
    return host !== undefined && host !== '' ? host : undefined;
  }
  return undefined;
}

/**
 * Adds `more` to `demand` (modified when a set): returns the demand after it and what it newly
 * holds (`all` when it became every host; an empty set when nothing is new).
 */
export function widenDemand(demand: Demand, more: Demand): { demand: Demand; added: Demand } {
  if (demand === 'all') return { demand, added: new Set() };
  if (more === 'all') return { demand: 'all', added: 'all' };
  const added = new Set<string>();
  for (const host of more) {
    if (demand.has(host)) continue;
    demand.add(host);
    added.add(host);
  }
  if (demand.size > DEMAND_LIMIT) return { demand: 'all', added: 'all' };
  return { demand, added };
}

/** Whether `added` (from widenDemand) holds anything. */
export function demandGrew(added: Demand): boolean {
  return added === 'all' || added.size > 0;
}

/**
 * The winning service of each demanded host (kept by the class feed), and of any other host on
 * request: routes resolve their destinations' ports through `get` (routes.ts), and a destination
 * need not be demanded. Other hosts are resolved afresh on each call, never remembered.
 */
export class DemandWinners extends Map<string, MergedService> {
  constructor(private readonly resolve: (host: string) => MergedService | undefined) {
    super();
  }

  override get(host: string): MergedService | undefined {
    return super.get(host) ?? this.resolve(host);
  }
}
