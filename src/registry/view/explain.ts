/**
 * `--explain`: for a service, the candidate workloads its selectors left out, and why. Computed on
 * demand (not part of the incremental graph): it looks at every workload once.
 */
import { selectorMatches } from '../../model/mesh/labels.js';
import type { ServiceBundle, Workload } from '../../model/mesh/types.js';
import { isDnsResolution } from '../service-entries.js';
import type { Exclusion } from './clusters.js';

export function explainBundle(bundle: ServiceBundle, workloads: readonly Workload[]): Exclusion[] {
  const selector = bundle.selector;
  if (!selector || (bundle.source === 'Service' && Object.keys(selector).length === 0)) return [];
  const keys = Object.keys(selector);
  const out: Exclusion[] = [];
  const sorted = [...workloads].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const w of sorted) {
    const matches = selectorMatches(selector, w.labels);
    if (w.namespace !== bundle.namespace) {
      if (matches) out.push({ source: w.key, reason: 'namespace', detail: `its labels match, but it is in namespace ${w.namespace} and ${bundle.key} selects only in ${bundle.namespace}` });
      continue;
    }
    if (!matches) {
      if (keys.some((k) => w.labels[k] !== undefined)) {
        const diff = keys.filter((k) => w.labels[k] !== selector[k]).map((k) => `${k}=${w.labels[k] ?? '(unset)'} (wanted ${selector[k]})`);
        out.push({ source: w.key, reason: 'labels', detail: `labels do not match the selector: ${diff.join(', ')}` });
      }
      continue;
    }
    if (bundle.source === 'Service' ? !w.listedByServices : !w.selectable) {
      out.push({ source: w.key, reason: w.exclusion?.reason ?? 'unhealthy', detail: w.exclusion?.detail ?? 'not selectable' });
      continue;
    }
    if (bundle.source === 'ServiceEntry' && (w.addressKind === 'dns' || w.addressKind === 'unix') && !isDnsResolution(bundle.resolution)) {
      out.push({ source: w.key, reason: 'resolution', detail: `its address ${w.address} is a ${w.addressKind === 'dns' ? 'DNS name' : 'unix socket'}; only DNS and DNS_ROUND_ROBIN ServiceEntries use such workloads (E-SEL-6)` });
      continue;
    }
    if (bundle.source === 'Service') {
      if (w.kind === 'WorkloadEntry' && (w.addressKind === 'dns' || w.addressKind === 'unix')) {
        out.push({ source: w.key, reason: 'address', detail: 'Kubernetes Services never select WorkloadEntries whose address is a DNS name or a unix socket (E-SEL-10)' });
        continue;
      }
      const missing = bundle.ports.filter((p) => p.targetPortName !== undefined && w.ports[p.targetPortName] === undefined);
      if (missing.length > 0) {
        out.push({ source: w.key, reason: 'port', detail: `it has no port named ${missing.map((p) => p.targetPortName).join(', ')} (the Service's targetPort)` });
      }
    }
  }
  return out;
}
