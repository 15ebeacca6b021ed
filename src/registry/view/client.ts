/** Who is asking: the client proxy whose point of view a cluster view is computed from. */
import type { StringMap } from '../../model/config/types.js';
import { LABEL } from '../../model/mesh/labels.js';
import { NO_LOCALITY, parseLocality, type Locality } from '../../model/mesh/locality.js';
import type { MergedService } from '../../model/mesh/types.js';

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

/** What a client found by its IP takes its locality, network and labels from (L-10). */
export interface ClientCandidate {
  /** `WorkloadEntry/<ns>/<name>`, `Pod/<ns>/<name>` or `ServiceEntry/<ns>/<name>#<i>`. */
  readonly key: string;
  readonly address: string;
  readonly namespace: string;
  readonly locality: string;
  readonly network: string;
  readonly labels: StringMap;
}

/** WorkloadEntries first, then pods, then inline ServiceEntry endpoints. */
function candidateRank(key: string): number {
  return key.startsWith('WorkloadEntry/') ? 0 : key.startsWith('Pod/') ? 1 : 2;
}

/**
 * L-10: a client whose IP is the address of a WorkloadEntry (or, as in Istio's TestLocality, of a
 * pod or an inline ServiceEntry endpoint) takes that workload's locality, network and labels where
 * the options give none. Candidates in the client's namespace come first, then by kind (entries,
 * pods, inline endpoints) and key. Without a locality option, topology labels among the client
 * labels give the locality (ads.go localityFromProxyLabels).
 */
export function resolveClientProxy(options: ClientProxyOptions, candidates: readonly ClientCandidate[]): ClientProxy {
  const namespace = options.namespace ?? 'default';
  let own: ClientCandidate | undefined;
  if (options.ip !== undefined && options.ip !== '') {
    const matches = candidates
      .filter((w) => w.address === options.ip)
      .sort(
        (a, b) =>
          Number(b.namespace === namespace) - Number(a.namespace === namespace) ||
          candidateRank(a.key) - candidateRank(b.key) ||
          (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
      );
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

/** Client candidates (L-10): every pod and WorkloadEntry, and the inline endpoints of ServiceEntries. */
export function clientCandidates(workloads: readonly ClientCandidate[], services: readonly MergedService[]): ClientCandidate[] {
  const out: ClientCandidate[] = [...workloads];
  const seen = new Set<string>();
  for (const s of services) {
    for (const e of s.endpoints) {
      if (!e.source.startsWith('ServiceEntry/') || !e.source.includes('#') || seen.has(e.source)) continue;
      seen.add(e.source);
      out.push({ key: e.source, address: e.address, namespace: e.namespace, locality: e.locality, network: e.network, labels: e.labels });
    }
  }
  return out;
}
