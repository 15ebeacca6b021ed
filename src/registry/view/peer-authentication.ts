/**
 * The mutual TLS mode a workload accepts on a port (Istio: authn policy applier,
 * EffectivePolicy/getMutualTLSModeForPort): workload-selecting policy, else namespace policy, else
 * the mesh-wide policy in the root namespace; UNSET inherits; a port-level setting of the
 * workload policy overrides for that port. The mesh default is PERMISSIVE.
 */
import type { MtlsMode, PeerAuthentication, StringMap } from '../../model/config/types.js';
import { selectorMatches } from '../../model/mesh/labels.js';
import { compareCreation, creationOf } from '../workloads.js';

function oldest(list: PeerAuthentication[]): PeerAuthentication | undefined {
  return [...list].sort((a, b) => compareCreation(creationOf(a), creationOf(b)))[0];
}

function hasSelector(pa: PeerAuthentication): boolean {
  return Object.keys(pa.spec.selector?.matchLabels ?? {}).length > 0;
}

export function effectiveMtlsMode(
  policies: readonly PeerAuthentication[],
  rootNamespace: string,
  namespace: string,
  labels: StringMap,
  port: number,
): Exclude<MtlsMode, 'UNSET'> {
  const mesh = oldest(policies.filter((p) => p.metadata.namespace === rootNamespace && !hasSelector(p)));
  const ns = oldest(policies.filter((p) => p.metadata.namespace === namespace && !hasSelector(p)));
  const workload = oldest(
    policies.filter((p) => p.metadata.namespace === namespace && hasSelector(p) && selectorMatches(p.spec.selector?.matchLabels ?? {}, labels)),
  );
  let mode: Exclude<MtlsMode, 'UNSET'> = 'PERMISSIVE';
  for (const p of [mesh, ns, workload]) {
    const m = p?.spec.mtls?.mode;
    if (m && m !== 'UNSET') mode = m;
  }
  const portMode = workload?.spec.portLevelMtls?.[String(port)]?.mode;
  if (portMode && portMode !== 'UNSET') mode = portMode;
  return mode;
}
