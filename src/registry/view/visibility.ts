/** Which services a client sees (X-*) and which definition wins for a host (D-4). */
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService } from '../../model/mesh/types.js';
import { compareCreation } from '../workloads.js';

/**
 * exportTo empty => mesh default; `.` own namespace; a name; `*` everyone; `~` no one.
 * `ownNamespace` is the namespace of the object carrying exportTo.
 */
export function isExportedTo(exportTo: readonly string[], ownNamespace: string, clientNamespace: string, mesh: MeshSettings): boolean {
  const list = exportTo.length > 0 ? exportTo : mesh.defaultServiceExportTo;
  for (const e of list) {
    if (e === '*') return true;
    if (e === '~') continue;
    if (e === '.' ? ownNamespace === clientNamespace : e === clientNamespace) return true;
  }
  return false;
}

export function isServiceVisible(s: MergedService, clientNamespace: string, mesh: MeshSettings): boolean {
  return isExportedTo(s.exportTo, s.namespace, clientNamespace, mesh);
}

/**
 * D-4 (different namespaces): among the visible services for one host, the one in the client's
 * namespace wins; else a Kubernetes Service; else the oldest.
 */
export function winningService(candidates: readonly MergedService[], clientNamespace: string): MergedService | undefined {
  const own = candidates.find((s) => s.namespace === clientNamespace);
  if (own) return own;
  const sorted = [...candidates].sort((a, b) => {
    if (a.source !== b.source) return a.source === 'Service' ? -1 : 1;
    // Istio SortServicesByCreationTime: equal (set) timestamps are ordered by host, then namespace.
    if (a.creation.timestamp !== '' && a.creation.timestamp === b.creation.timestamp) return a.namespace < b.namespace ? -1 : 1;
    return compareCreation(a.creation, b.creation) || (a.namespace < b.namespace ? -1 : 1);
  });
  return sorted[0];
}
