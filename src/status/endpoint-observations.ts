/**
 * What a change of a WorkloadEntry or a Pod tells about the endpoint's health and connection (the
 * health history's observations, health-history.ts). Pure.
 *
 * - WorkloadEntry health: not health checked → healthy; health checked → its `Healthy` condition
 *   (True healthy, False unhealthy, none unknown). Source: `probe` when the condition carries a
 *   `lastProbeTime` (written from an agent's probe reports), `operator` otherwise.
 * - WorkloadEntry connection (auto-registered entries): `istio.io/disconnectedAt` → disconnected, else
 *   `istio.io/connectedAt` → connected; source `connection`.
 * - Pod health: Ready → healthy, otherwise unhealthy with the reason; source `kubernetes`.
 * - Deleted: health `absent`.
 */
import { parseIsoNano } from '../lifecycle/entry-writes.js';
import { ANNOTATIONS } from '../lifecycle/workload-entry-from-group.js';
import type { Condition, Pod, WorkloadEntry } from '../model/config/types.js';
import { ANNOTATION, parsesAsTrue } from '../model/mesh/labels.js';
import { podReadiness } from '../registry/workloads.js';
import type { Observation } from './health-history.js';
import { withFields } from '../lib/objects/with-fields.js';

const entryKey = (we: WorkloadEntry): string => `WorkloadEntry/${we.metadata.namespace}/${we.metadata.name}`;
const podKey = (pod: Pod): string => `Pod/${pod.metadata.namespace}/${pod.metadata.name}`;

/** An unquoted YAML `True` arrives as a boolean; it means the same. */
const isTrue = (status: unknown): boolean => status === true || (typeof status === 'string' && status.toLowerCase() === 'true');

export function healthyCondition(we: WorkloadEntry): Condition | undefined {
  return (we.status?.conditions ?? []).find((c) => c.type === 'Healthy');
}

function workloadEntryHealth(we: WorkloadEntry): Observation {
  const base = { endpoint: entryKey(we), kind: 'WorkloadEntry' as const, address: we.spec.address ?? '', dimension: 'health' as const };
  if (!parsesAsTrue(we.metadata.annotations[ANNOTATION.healthChecksEnabled])) return withFields(base, { state: 'healthy' as const, reason: 'not health checked', source: 'operator' as const });
  const c = healthyCondition(we);
  if (c === undefined) return withFields(base, { state: 'unknown' as const, reason: 'health checked, no Healthy condition reported yet', source: 'operator' as const });
  const probedAt = parseIsoNano(c.lastProbeTime);
  const known = probedAt !== undefined ? { source: 'probe' as const, reportedAt: probedAt } : { source: 'operator' as const };
  const detail = c.message ?? c.reason ?? '';
  if (isTrue(c.status)) return withFields(base, withFields(known, { state: 'healthy' as const, reason: 'Healthy condition True' }));
  return withFields(base, withFields(known, { state: 'unhealthy' as const, reason: `Healthy condition ${String(c.status)}${detail !== '' ? `: ${detail}` : ''}` }));
}

function workloadEntryConnection(we: WorkloadEntry): Observation | undefined {
  const a = we.metadata.annotations;
  const base = { endpoint: entryKey(we), kind: 'WorkloadEntry' as const, address: we.spec.address ?? '', dimension: 'connection' as const, source: 'connection' as const };
  const controller = a[ANNOTATIONS.controller] ?? '';
  const connectedAt = a[ANNOTATIONS.connectedAt];
  const disconnectedAt = a[ANNOTATIONS.disconnectedAt];
  const at = (iso: string): { reportedAt?: number } => {
    const ms = parseIsoNano(iso);
    return ms !== undefined ? { reportedAt: ms } : {};
  };
  if (disconnectedAt !== undefined) return withFields(base, withFields(at(disconnectedAt), { state: 'disconnected' as const, reason: `agent disconnected from ${controller} at ${disconnectedAt}` }));
  if (connectedAt !== undefined) return withFields(base, withFields(at(connectedAt), { state: 'connected' as const, reason: `agent connected to ${controller} at ${connectedAt}` }));
  return undefined;
}

/** The observations of one WorkloadEntry event (added, updated or deleted). */
export function workloadEntryObservations(old: WorkloadEntry | undefined, now: WorkloadEntry | undefined): Observation[] {
  if (now === undefined) {
    if (old === undefined) return [];
    const auto = old.metadata.annotations[ANNOTATIONS.group] !== undefined;
    return [{ endpoint: entryKey(old), kind: 'WorkloadEntry', address: old.spec.address ?? '', dimension: 'health', state: 'absent', reason: auto ? 'the auto-registered WorkloadEntry was removed' : 'the WorkloadEntry was deleted', source: auto ? 'connection' : 'operator' }];
  }
  const connection = workloadEntryConnection(now);
  return connection !== undefined ? [connection, workloadEntryHealth(now)] : [workloadEntryHealth(now)];
}

/** The observation of one Pod event. */
export function podObservations(old: Pod | undefined, now: Pod | undefined): Observation[] {
  const pod = now ?? old;
  if (pod === undefined) return [];
  const address = pod.status?.podIP ?? '';
  const base = { endpoint: podKey(pod), kind: 'Pod' as const, address, dimension: 'health' as const, source: 'kubernetes' as const };
  if (now === undefined) return [withFields(base, { state: 'absent' as const, reason: 'the pod was deleted' })];
  const r = podReadiness(now);
  return [r.ready ? withFields(base, { state: 'healthy' as const, reason: 'the pod is Ready' }) : withFields(base, { state: 'unhealthy' as const, reason: r.detail })];
}
