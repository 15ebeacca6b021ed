/**
 * The `/api/v1` routes of `serve`'s HTTP port (docs/api.md): the read models of this folder over
 * the live registry. GET except the what-if (POST, JSON body); an unknown object is a 404, a bad
 * request a 400, both as `{"error": "..."}`.
 */
import type { Registry } from '../../registry/registry.js';
import { json, type HttpHandler } from '../http-api.js';
import { apiError as error, namespacedName, only } from './route-helpers.js';
import { serviceDetailView, servicesView } from './services.js';
import { whatIfView } from './what-if.js';
import { workloadGroupsView, workloadGroupView, type WorkloadGroupsOptions } from './workload-groups.js';

export interface ApiRouteSources {
  readonly registry: Registry;
  readonly workloadGroups?: WorkloadGroupsOptions;
}


export function apiRoutes(s: ApiRouteSources): Map<string, HttpHandler> {
  const r = new Map<string, HttpHandler>();
  const groups = s.workloadGroups ?? {};
  r.set('/api/v1/services', only('GET', () => json(servicesView(s.registry))));
  r.set(
    '/api/v1/services/*',
    only('GET', (url) => {
      const at = namespacedName(url, '/api/v1/services/');
      if (at === undefined) return error('the path is /api/v1/services/{namespace}/{host}', 400);
      const detail = serviceDetailView(s.registry, at.namespace, at.name);
      return detail !== undefined ? json(detail) : error(`no service ${at.name} in namespace ${at.namespace}`, 404);
    }),
  );
  r.set('/api/v1/workloadgroups', only('GET', () => json(workloadGroupsView(s.registry, groups))));
  r.set(
    '/api/v1/workloadgroups/*',
    only('GET', (url) => {
      const at = namespacedName(url, '/api/v1/workloadgroups/');
      if (at === undefined) return error('the path is /api/v1/workloadgroups/{namespace}/{name}', 400);
      const group = workloadGroupView(s.registry, at.namespace, at.name, groups);
      return group !== undefined ? json(group) : error(`no WorkloadGroup ${at.name} in namespace ${at.namespace}`, 404);
    }),
  );
  r.set(
    '/api/v1/what-if',
    only('POST', (_url, request) => {
      let body: unknown;
      try {
        body = JSON.parse(request.body) as unknown;
      } catch (e) {
        return error(`the body is not JSON: ${e instanceof SyntaxError ? e.message : String(e)}`, 400);
      }
      const answer = whatIfView(s.registry, body);
      return json(answer.body, answer.status);
    }),
  );
  return r;
}
