/** Endpoints as sent to one client, grouped by locality (EDS-5..EDS-7). */
import type { StringMap } from '../../model/config/types.js';
import type { HealthStatus } from '../../model/mesh/types.js';

export const MAX_WEIGHT = 2 ** 32 - 1;

export interface SentEndpoint {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly health: HealthStatus;
  /** `envoy.transport_socket_match` tlsMode metadata, or null when absent (EDS-9). */
  readonly tlsMode: string | null;
  readonly source: string;
  readonly network: string;
  readonly locality: string;
  readonly labels: StringMap;
  readonly serviceAccount: string | null;
  readonly namespace: string;
  readonly workloadName: string;
}

export interface LocalityGroup {
  /** The exact locality string of its endpoints ('' = none). */
  readonly locality: string;
  readonly priority: number;
  /** Sum of the endpoint weights (saturating, EDS-6); 0 when unset (a group emptied by N-5 or L-3). */
  readonly weight: number;
  readonly endpoints: readonly SentEndpoint[];
}

export function sumWeights(endpoints: readonly SentEndpoint[]): number {
  let s = 0;
  for (const e of endpoints) s += e.weight;
  return Math.min(s, MAX_WEIGHT);
}

/** EDS-5: one group per locality string, sorted by that string when there are two or more. */
export function groupByLocality(endpoints: readonly SentEndpoint[]): LocalityGroup[] {
  const byLocality = new Map<string, SentEndpoint[]>();
  for (const e of endpoints) {
    let list = byLocality.get(e.locality);
    if (!list) byLocality.set(e.locality, (list = []));
    list.push(e);
  }
  const keys = [...byLocality.keys()];
  if (keys.length >= 2) keys.sort();
  return keys.map((locality) => {
    const eps = byLocality.get(locality) ?? [];
    return { locality, priority: 0, weight: sumWeights(eps), endpoints: eps };
  });
}
