/**
 * Read model of `/api/v1/workloadgroups` (dashboard view 3): each WorkloadGroup with its template
 * and the WorkloadEntries registered from it (`istio.io/autoRegistrationGroup`), with the
 * auto-registration lifecycle Istio keeps on the entry: controller, connectedAt, disconnectedAt,
 * the cleanup deadline (disconnectedAt + serve's --grace-period) and the Healthy condition.
 */
import type { WorkloadEntry, WorkloadGroup } from '../../model/config/types.js';
import { ANNOTATION, parsesAsTrue } from '../../model/mesh/labels.js';
import { ANNOTATIONS } from '../../lifecycle/workload-entry-from-group.js';
import type { Registry } from '../../registry/registry.js';
import { healthGate } from '../../registry/workloads.js';
import { locationOf } from './services.js';
import type { GroupEntry, HealthCondition, WorkloadGroupsResponse, WorkloadGroupView } from './types.js';

export interface WorkloadGroupsOptions {
  /** serve's --grace-period: how long a disconnected entry is kept (default 10 s, as serve's). */
  readonly gracePeriodMs?: number;
}

const DEFAULT_GRACE_MS = 10_000;

function healthCondition(we: WorkloadEntry): HealthCondition | undefined {
  if (!parsesAsTrue(we.metadata.annotations[ANNOTATION.healthChecksEnabled])) return undefined;
  const c = (we.status?.conditions ?? []).find((x) => x.type === 'Healthy');
  if (c === undefined) return { status: null };
  return {
    status: c.status,
    ...(c.reason !== undefined ? { reason: c.reason } : {}),
    ...(c.message !== undefined ? { message: c.message } : {}),
    ...(c.lastTransitionTime !== undefined ? { lastTransitionTime: c.lastTransitionTime } : {}),
    ...(c.lastProbeTime !== undefined ? { lastProbeTime: c.lastProbeTime } : {}),
  };
}

/** disconnectedAt + grace, as RFC 3339; null when not disconnected or the time does not parse. */
function cleanupDeadline(disconnectedAt: string | null, graceMs: number): string | null {
  if (disconnectedAt === null) return null;
  const t = Date.parse(disconnectedAt);
  return Number.isNaN(t) ? null : new Date(t + graceMs).toISOString();
}

function groupEntry(we: WorkloadEntry, graceMs: number): GroupEntry {
  const a = we.metadata.annotations;
  const connectedAt = a[ANNOTATIONS.connectedAt] ?? null;
  const disconnectedAt = a[ANNOTATIONS.disconnectedAt] ?? null;
  const health = healthCondition(we);
  return {
    name: we.metadata.name,
    namespace: we.metadata.namespace,
    address: we.spec.address ?? '',
    labels: { ...(we.spec.labels ?? {}), ...we.metadata.labels },
    locality: we.spec.locality ?? '',
    network: we.spec.network ?? '',
    controller: a[ANNOTATIONS.controller] ?? null,
    connectedAt,
    disconnectedAt,
    state: disconnectedAt !== null ? 'disconnected' : connectedAt !== null ? 'connected' : 'unknown',
    cleanupDeadline: cleanupDeadline(disconnectedAt, graceMs),
    ...(health !== undefined ? { health } : {}),
    inEndpoints: healthGate(we).selectable,
    location: locationOf(we),
  };
}

function groupView(g: WorkloadGroup, entries: readonly WorkloadEntry[], graceMs: number): WorkloadGroupView {
  const t = g.spec.template;
  const rows = entries.map((e) => groupEntry(e, graceMs)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    name: g.metadata.name,
    namespace: g.metadata.namespace,
    location: locationOf(g),
    template: {
      labels: { ...(t.labels ?? {}), ...(g.spec.metadata?.labels ?? {}) },
      ports: { ...(t.ports ?? {}) },
      serviceAccount: t.serviceAccount ?? '',
      network: t.network ?? '',
      locality: t.locality ?? '',
      weight: t.weight ?? 0,
    },
    probe: g.spec.probe !== undefined,
    entries: rows,
    counts: {
      connected: rows.filter((r) => r.state === 'connected').length,
      disconnected: rows.filter((r) => r.state === 'disconnected').length,
      healthy: rows.filter((r) => r.health?.status === 'True').length,
      unhealthy: rows.filter((r) => r.health !== undefined && r.health.status !== 'True').length,
    },
  };
}

/** `GET /api/v1/workloadgroups`: every WorkloadGroup by namespace then name, with its registered entries. */
export function workloadGroupsView(registry: Registry, o: WorkloadGroupsOptions = {}): WorkloadGroupsResponse {
  const graceMs = o.gracePeriodMs ?? DEFAULT_GRACE_MS;
  const entries = registry.inputs.WorkloadEntry.list();
  const groups = registry.inputs.WorkloadGroup
    .list()
    .sort((a, b) => (a.metadata.namespace < b.metadata.namespace ? -1 : a.metadata.namespace > b.metadata.namespace ? 1 : a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  return {
    workloadGroups: groups.map((g) =>
      groupView(
        g,
        entries.filter((e) => e.metadata.namespace === g.metadata.namespace && e.metadata.annotations[ANNOTATIONS.group] === g.metadata.name),
        graceMs,
      ),
    ),
  };
}

/** `GET /api/v1/workloadgroups/{namespace}/{name}`; undefined when there is no such group (404). */
export function workloadGroupView(registry: Registry, namespace: string, name: string, o: WorkloadGroupsOptions = {}): WorkloadGroupView | undefined {
  return workloadGroupsView(registry, o).workloadGroups.find((g) => g.namespace === namespace && g.name === name);
}
