/**
 * VirtualService HTTP routes as Envoy routes (Istio: networking/core/route/route.go), shared by the
 * gRPC and Envoy flavours.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import type { RouteSchema, RouteMatchSchema, RouteActionSchema } from '../../gen/envoy/config/route/v3/route_components_pb.js';
import type { StringMatcherSchema } from '../../gen/envoy/type/matcher/v3/string_pb.js';
import { HTTPFaultSchema } from '../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import type { HttpRoute, StringMatch, VirtualService } from '../../model/config/types.js';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService } from '../../model/mesh/types.js';
import { clusterName } from '../../registry/view/clusters.js';
import { duration, MILLION } from './common.js';
import { splitDestinations, type TlsPart } from './grpc-tls.js';
import { destinationHost, durationMs } from './virtual-services.js';
import { FAULT_FILTER } from './wire.js';
import { withFields } from '../../lib/objects/with-fields.js';

export type RouteInit = MessageInitShape<typeof RouteSchema>;
type MatchInit = MessageInitShape<typeof RouteMatchSchema>;
type ActionInit = MessageInitShape<typeof RouteActionSchema>;

function stringMatcher(m: StringMatch): MessageInitShape<typeof StringMatcherSchema> | undefined {
  if (m.exact !== undefined) return { matchPattern: { case: 'exact', value: m.exact } };
  if (m.prefix !== undefined) return { matchPattern: { case: 'prefix', value: m.prefix } };
  if (m.regex !== undefined) return { matchPattern: { case: 'safeRegex', value: { regex: m.regex } } };
  return undefined;
}

function routeMatches(route: HttpRoute, servicePort: number): MatchInit[] {
  const matches = route.match ?? [];
  if (matches.length === 0) return [{ pathSpecifier: { case: 'prefix', value: '' } }];
  const out: MatchInit[] = [];
  for (const m of matches) {
    if (m.port !== undefined && m.port !== servicePort) continue;
    let pathSpecifier: MatchInit['pathSpecifier'] = { case: 'prefix', value: '' };
    if (m.uri?.exact !== undefined) pathSpecifier = { case: 'path', value: m.uri.exact };
    else if (m.uri?.prefix !== undefined) pathSpecifier = { case: 'prefix', value: m.uri.prefix };
    else if (m.uri?.regex !== undefined) pathSpecifier = { case: 'safeRegex', value: { regex: m.uri.regex } };
    const headers = Object.entries(m.headers ?? {}).flatMap(([name, sm]) => {
      const matcher = stringMatcher(sm);
      return matcher ? [{ name, headerMatchSpecifier: { case: 'stringMatch' as const, value: matcher } }] : [];
    });
    if (m.method) {
      const matcher = stringMatcher(m.method);
      if (matcher) headers.push({ name: ':method', headerMatchSpecifier: { case: 'stringMatch', value: matcher } });
    }
    out.push({ pathSpecifier, headers });
  }
  return out;
}

/** The cluster a destination names: its port, else the only port of its service, else the route's port. */
function destinationCluster(host: string, subset: string, port: number | undefined, servicePort: number, services: ReadonlyMap<string, MergedService>): string {
  let p = port;
  if (p === undefined) {
    const svc = services.get(host);
    p = svc && svc.ports.length === 1 ? svc.ports[0]?.number : servicePort;
  }
  return clusterName(p ?? servicePort, subset, host);
}

/** Issue 7: the parts a cluster is split into for this client (proxyless, mixed auto mTLS), if any. */
export type ClusterSplitter = (cluster: string) => readonly TlsPart[] | undefined;

/**
 * The cluster specifier of destinations: one cluster, or weighted clusters. With `splitter`, a split
 * cluster is replaced by its parts (splitDestinations); without one, or when nothing is split, the
 * output is exactly what it was before splitting existed.
 */
function clusterSpecifier(dests: readonly { cluster: string; weight: number }[], splitter: ClusterSplitter | undefined): NonNullable<ActionInit['clusterSpecifier']> {
  const weighted = dests.length > 1 ? dests.filter((d) => d.weight > 0) : dests;
  const chosen = weighted.length <= 1 ? [weighted[0] ?? dests[0]].filter((d) => d !== undefined) : weighted;
  const final = splitter && chosen.some((d) => splitter(d.cluster) !== undefined) ? splitDestinations(chosen, splitter) : chosen;
  if (final.length <= 1) return { case: 'cluster', value: final[0]?.cluster ?? '' };
  return { case: 'weightedClusters', value: { clusters: final.map((d) => ({ name: d.cluster, weight: d.weight })) } };
}

function action(
  route: HttpRoute,
  vs: VirtualService,
  servicePort: number,
  services: ReadonlyMap<string, MergedService>,
  mesh: MeshSettings,
  retryOnGrpc: boolean,
  splitter: ClusterSplitter | undefined,
): ActionInit | undefined {
  const dests = (route.route ?? []).map((d) => ({
    cluster: destinationCluster(destinationHost(d.destination, vs, mesh), d.destination.subset ?? '', d.destination.port?.number, servicePort, services),
    weight: d.weight ?? 0,
  }));
  if (dests.length === 0) return undefined;
  const out: ActionInit = { clusterSpecifier: clusterSpecifier(dests, splitter) };
  const timeout = durationMs(route.timeout);
  if (timeout !== undefined) {
    out.timeout = duration(timeout);
    out.maxStreamDuration = { maxStreamDuration: duration(timeout), grpcTimeoutHeaderMax: duration(timeout) };
  }
  if (route.retries) {
    const perTry = durationMs(route.retries.perTryTimeout);
    const attempts = route.retries.attempts ?? 2;
    if (attempts > 0) {
      out.retryPolicy = {
        retryOn: route.retries.retryOn ?? (retryOnGrpc ? 'unavailable,cancelled,resource-exhausted' : 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes'),
        numRetries: attempts,
        ...(perTry !== undefined ? { perTryTimeout: duration(perTry) } : {}),
      };
    }
  }
  return out;
}

function fault(route: HttpRoute): Any | undefined {
  const f = route.fault;
  if (!f || (!f.delay && !f.abort)) return undefined;
  const pct = (v: number | undefined) => ({ numerator: Math.round((v ?? 100) * 10_000), denominator: MILLION });
  const delayMs = durationMs(f.delay?.fixedDelay);
  const msg = create(HTTPFaultSchema, {
    ...(f.delay && delayMs !== undefined ? { delay: { faultDelaySecifier: { case: 'fixedDelay', value: duration(delayMs) }, percentage: pct(f.delay.percentage?.value) } } : {}),
    ...(f.abort
      ? {
          abort: {
            errorType:
              f.abort.grpcStatus !== undefined
                ? { case: 'grpcStatus' as const, value: grpcCode(f.abort.grpcStatus) }
                : { case: 'httpStatus' as const, value: f.abort.httpStatus ?? 500 },
            percentage: pct(f.abort.percentage?.value),
          },
        }
      : {}),
  });
  return anyPack(HTTPFaultSchema, msg);
}

const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
function grpcCode(s: string): number {
  const i = GRPC_CODES.indexOf(s.toUpperCase());
  return i >= 0 ? i : Number(s) || 14;
}

/**
 * Envoy routes for one service port: the VirtualService's HTTP routes when one applies, else one
 * default route to the service's cluster. `services` resolves destination hosts to their ports.
 */
export function routesFor(
  service: MergedService,
  servicePort: number,
  vs: { source: VirtualService; routes: readonly HttpRoute[] } | undefined,
  services: ReadonlyMap<string, MergedService>,
  mesh: MeshSettings,
  options: { proxyless: boolean; hashPolicy?: ActionInit['hashPolicy']; splitter?: ClusterSplitter },
): RouteInit[] {
  const withHash = (a: ActionInit): ActionInit => (options.hashPolicy ? (withFields(a, { hashPolicy: options.hashPolicy }) as ActionInit) : a);
  const out: RouteInit[] = [];
  for (const [i, r] of (vs?.routes ?? []).entries()) {
    if (!vs) break;
    const act = action(r, vs.source, servicePort, services, mesh, options.proxyless, options.splitter);
    if (!act) continue;
    const faultConfig = fault(r);
    for (const match of routeMatches(r, servicePort)) {
      out.push({
        name: r.name ?? `${vs.source.metadata.namespace}/${vs.source.metadata.name}#${i}`,
        match,
        action: { case: 'route', value: withHash(act) },
        ...(faultConfig ? { typedPerFilterConfig: { [FAULT_FILTER]: faultConfig } } : {}),
      });
    }
  }
  if (out.length === 0) {
    out.push({
      name: 'default',
      match: { pathSpecifier: { case: 'prefix', value: '' } },
      action: { case: 'route', value: withHash({ clusterSpecifier: clusterSpecifier([{ cluster: clusterName(servicePort, '', service.host), weight: 0 }], options.splitter) }) },
    });
  }
  return out;
}
