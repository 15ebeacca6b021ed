/**
 * VirtualService lookup for a client and a host (Istio: sidecar scope, mesh gateway only), with
 * short names completed in the VirtualService's namespace.
 */
import type { Destination, HttpRoute, VirtualService } from '../../model/config/types.js';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import { hostMatches } from '../../registry/view/destination-rules.js';
import { isExportedTo } from '../../registry/view/visibility.js';
import { compareCreation, creationOf } from '../../registry/workloads.js';

export function qualifyHost(host: string, namespace: string, mesh: MeshSettings): string {
  if (host.includes('.') || host.includes('*')) return host;
  return `${host}.${namespace}.svc.${mesh.domainSuffix}`;
}

function appliesToMesh(vs: VirtualService): boolean {
  const gws = vs.spec.gateways ?? [];
  return gws.length === 0 || gws.includes('mesh');
}

/**
 * The HTTP routes for `host` seen by a client in `clientNamespace`: the oldest visible mesh
 * VirtualService naming the host exactly wins; otherwise the most specific wildcard. Undefined when
 * none applies (the default route is used).
 */
export function httpRoutesFor(
  all: readonly VirtualService[],
  host: string,
  clientNamespace: string,
  mesh: MeshSettings,
): { readonly source: VirtualService; readonly routes: readonly HttpRoute[] } | undefined {
  const candidates = all
    .filter((vs) => appliesToMesh(vs) && isExportedTo(vs.spec.exportTo ?? [], vs.metadata.namespace, clientNamespace, mesh))
    .map((vs) => ({ vs, hosts: vs.spec.hosts.map((h) => qualifyHost(h, vs.metadata.namespace, mesh)) }))
    .filter((c) => c.hosts.some((h) => hostMatches(h, host)))
    .sort((a, b) => {
      const exactA = a.hosts.includes(host) ? 0 : 1;
      const exactB = b.hosts.includes(host) ? 0 : 1;
      return exactA - exactB || compareCreation(creationOf(a.vs), creationOf(b.vs));
    });
  const chosen = candidates[0];
  if (!chosen) return undefined;
  return { source: chosen.vs, routes: chosen.vs.spec.http ?? [] };
}

/** The fully qualified host of a route destination. */
export function destinationHost(d: Destination, vs: VirtualService, mesh: MeshSettings): string {
  return qualifyHost(d.host, vs.metadata.namespace, mesh);
}

/** Go/protobuf duration ("1.5s", "100ms", "1m") in milliseconds; undefined when unparsable. */
export function durationMs(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    const unit = m[2];
    const factor = unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : unit === 'ms' ? 1 : unit === 'ns' ? 1e-6 : 1e-3;
    total += n * factor;
    consumed += m[0].length;
  }
  return consumed === s.length && consumed > 0 ? total : undefined;
}
