/**
 * `GET /api/v1/timeline` (docs/api.md): health history per endpoint from the live recorder,
 * filtered by `service=ns/host` (the service's pods and VMs, as the service detail lists them) or
 * `endpoint=Kind/ns/name`; without a filter, every endpoint the history holds.
 */
import type { Registry } from '../../registry/registry.js';
import type { HealthHistory } from '../../status/health-history.js';
import { serviceDetailView } from './services.js';
import type { TimelineResponse } from './types.js';

export type TimelineAnswer = { readonly ok: true; readonly body: TimelineResponse } | { readonly ok: false; readonly status: number; readonly error: string };

export function timelineView(registry: Registry, history: HealthHistory, q: URLSearchParams): TimelineAnswer {
  const service = q.get('service');
  const endpoint = q.get('endpoint');
  let keys: string[] | undefined;
  if (service !== null) {
    const slash = service.indexOf('/');
    if (slash <= 0 || slash === service.length - 1) return { ok: false, status: 400, error: `service must be namespace/host, not ${JSON.stringify(service)}` };
    const detail = serviceDetailView(registry, service.slice(0, slash), service.slice(slash + 1));
    if (detail === undefined) return { ok: false, status: 404, error: `no service ${service.slice(slash + 1)} in namespace ${service.slice(0, slash)}` };
    keys = [...new Set(detail.members.filter((m) => m.kind !== 'inline').map((m) => m.source))];
    if (endpoint !== null) keys = keys.filter((k) => k === endpoint);
  } else if (endpoint !== null) keys = [endpoint];
  return {
    ok: true,
    body: { service, endpoint, endpoints: history.timelines(keys), limits: history.apiLimits(), evictedEndpoints: history.evictedEndpoints },
  };
}
