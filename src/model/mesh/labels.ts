import type { StringMap } from '../config/types.js';

/** Selector semantics (E-SEL-2): every selector key present in `labels` with an equal value. */
export function selectorMatches(selector: StringMap, labels: StringMap): boolean {
  for (const k in selector) {
    if (labels[k] !== selector[k]) return false;
  }
  return true;
}

/** Well-known label and annotation keys. */
export const LABEL = {
  tlsMode: 'security.istio.io/tlsMode',
  workloadName: 'service.istio.io/workload-name',
  locality: 'topology.istio.io/locality',
  legacyLocality: 'istio-locality',
  region: 'topology.kubernetes.io/region',
  zone: 'topology.kubernetes.io/zone',
  subzone: 'topology.istio.io/subzone',
  cluster: 'topology.istio.io/cluster',
  network: 'topology.istio.io/network',
  hostname: 'kubernetes.io/hostname',
  gatewayPort: 'networking.istio.io/gatewayPort',
  autoAllocate: 'networking.istio.io/enable-autoallocate-ip',
  canonicalName: 'service.istio.io/canonical-name',
  canonicalRevision: 'service.istio.io/canonical-revision',
} as const;

export const ANNOTATION = {
  healthChecksEnabled: 'proxy.istio.io/health-checks-enabled',
  autoRegistrationGroup: 'istio.io/autoRegistrationGroup',
  exportTo: 'networking.istio.io/exportTo',
  connectStrategy: 'istio.io/connect-strategy',
} as const;

/** Go's strconv.ParseBool truthy spellings (H-GATE-2). */
export function parsesAsTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}
