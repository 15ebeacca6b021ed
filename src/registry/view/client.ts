/** Who is asking: the client proxy whose point of view a cluster view is computed from. */
import type { StringMap } from '../../model/config/types.js';
import { LABEL } from '../../model/mesh/labels.js';
import { NO_LOCALITY, parseLocality, type Locality } from '../../model/mesh/locality.js';
import type { Workload } from '../../model/mesh/types.js';

export interface ClientProxy {
  readonly namespace: string;
  readonly locality: Locality;
  /** True when the client's locality is known (from flags, node metadata or its WorkloadEntry). */
  readonly hasLocality: boolean;
  readonly network: string;
  readonly labels: StringMap;
  readonly ip?: string;
}

export interface ClientProxyOptions {
  readonly namespace?: string;
  readonly locality?: string;
  readonly network?: string;
  readonly labels?: StringMap;
  readonly ip?: string;
}

/**
 * L-10: a proxy's registry labels carry its locality when they have any of the region, zone and
 * subzone topology labels (Istio ads.go localityFromProxyLabels); missing parts are empty.
 */
function localityFromLabels(labels: StringMap | undefined): string | undefined {
  if (!labels) return undefined;
  const region = labels[LABEL.region];
  const zone = labels[LABEL.zone];
  const subzone = labels[LABEL.subzone];
  if (region === undefined && zone === undefined && subzone === undefined) return undefined;
  return `${region ?? ''}/${zone ?? ''}/${subzone ?? ''}`;
}

/**
 * L-10: a client whose IP is a WorkloadEntry's address takes that entry's locality, network and
 * labels where the options give none. Candidates are searched in the client's namespace first.
 * Without a locality option, topology labels among the client labels give the locality.
 */
export function resolveClientProxy(options: ClientProxyOptions, workloads: readonly Workload[]): ClientProxy {
  const namespace = options.namespace ?? 'default';
  let own: Workload | undefined;
  if (options.ip !== undefined && options.ip !== '') {
    const matches = workloads
      .filter((w) => w.kind === 'WorkloadEntry' && w.address === options.ip)
      .sort((a, b) => Number(b.namespace === namespace) - Number(a.namespace === namespace) || (a.key < b.key ? -1 : 1));
    own = matches[0];
  }
  const localityString = options.locality ?? localityFromLabels(options.labels) ?? own?.locality;
  return {
    namespace,
    locality: localityString !== undefined ? parseLocality(localityString) : NO_LOCALITY,
    hasLocality: localityString !== undefined && localityString !== '',
    network: options.network ?? own?.network ?? '',
    labels: options.labels ?? own?.labels ?? {},
    ...(options.ip !== undefined ? { ip: options.ip } : {}),
  };
}
