/**
 * The difference between two generated views of one proxy (what-if, status/what-if.ts): per xDS
 * type what would be added, removed or changed, at the level an operator reads it: clusters and
 * listeners by name (with a diff of their Envoy JSON), endpoints per cluster by address (weight,
 * priority, locality, health) and locality group weights, routes per virtual host (each route as
 * `match -> action`). Pure.
 */
import { toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { HealthStatus } from '../gen/envoy/config/core/v3/health_check_pb.js';
import type { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { LbEndpoint, LocalityLbEndpoints } from '../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHostSchema, type VirtualHost } from '../gen/envoy/config/route/v3/route_components_pb.js';
import { unifiedDiff } from '../lib/text/line-diff.js';
import { ENVOY_TYPE_REGISTRY } from '../xds/generate/envoy/index.js';
import type { GeneratedResources } from '../xds/generate/offline-view.js';
import { CLUSTER, LISTENER } from '../xds/types/resource-types.js';
import type { XdsResourceType } from '../xds/types/resource-type.js';

export type ResourceChangeKind = 'added' | 'removed' | 'changed';

/** A cluster or listener that would change: `changed` carries a unified diff of its Envoy JSON. */
export interface ResourceChange {
  readonly name: string;
  readonly change: ResourceChangeKind;
  readonly diff?: string;
}

/** One endpoint of a ClusterLoadAssignment, as the proxy would get it. */
export interface EndpointState {
  readonly locality: string;
  readonly priority: number;
  /** The endpoint's load-balancing weight (0: none set). */
  readonly weight: number;
  /** HEALTHY, UNHEALTHY, ... (Envoy's HealthStatus). */
  readonly health: string;
}

export type EndpointField = keyof EndpointState;

export interface EndpointChange {
  /** `IP:PORT` or `unix:PATH`. */
  readonly address: string;
  readonly change: ResourceChangeKind;
  readonly before?: EndpointState;
  readonly after?: EndpointState;
  /** `changed`: which attributes differ. */
  readonly fields?: readonly EndpointField[];
}

/** A locality group whose load-balancing weight would change (0 or absent: none set). */
export interface LocalityWeightChange {
  readonly locality: string;
  readonly priority: number;
  readonly before?: number;
  readonly after?: number;
}

/** A cluster's endpoints (its ClusterLoadAssignment) that would change. */
export interface EndpointsChange {
  readonly cluster: string;
  readonly change: ResourceChangeKind;
  readonly endpoints: readonly EndpointChange[];
  /** Locality groups of the cluster (present before and after) whose weight changes. */
  readonly localityWeights: readonly LocalityWeightChange[];
}

/** One route entry, summarised: its match and where it sends. */
export interface RouteSummary {
  readonly match: string;
  readonly action: string;
}

/** A virtual host of a route configuration that would change. */
export interface RouteChange {
  readonly routeConfiguration: string;
  readonly virtualHost: string;
  readonly change: ResourceChangeKind;
  readonly before?: readonly RouteSummary[];
  readonly after?: readonly RouteSummary[];
  /** `changed`: a unified diff of the virtual host's Envoy JSON. */
  readonly diff?: string;
}

/** What one view would change. */
export interface ViewChanges {
  readonly clusters: readonly ResourceChange[];
  readonly endpoints: readonly EndpointsChange[];
  readonly routes: readonly RouteChange[];
  readonly listeners: readonly ResourceChange[];
}

export function compareViews(before: GeneratedResources, after: GeneratedResources): ViewChanges {
  return {
    clusters: compareMessages(CLUSTER, before.clusters, after.clusters),
    endpoints: compareEndpoints(before.endpoints, after.endpoints),
    routes: compareRoutes(before.routes, after.routes),
    listeners: compareMessages(LISTENER, before.listeners, after.listeners),
  };
}

function jsonText(schema: DescMessage, message: MessageShape<DescMessage>): string {
  return JSON.stringify(toJson(schema, message, { registry: ENVOY_TYPE_REGISTRY }), null, 2);
}

/** Names in either map, sorted. */
function allNames(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].sort();
}

/** Added, removed, or changed by its JSON (with the diff), per name; unchanged ones left out. */
function diffByName<T>(
  before: ReadonlyMap<string, T>,
  after: ReadonlyMap<string, T>,
  text: (value: T) => string,
  label: string,
): { name: string; change: ResourceChangeKind; before?: T; after?: T; diff?: string }[] {
  const out: { name: string; change: ResourceChangeKind; before?: T; after?: T; diff?: string }[] = [];
  for (const name of allNames(before, after)) {
    const a = before.get(name);
    const b = after.get(name);
    if (a === undefined && b !== undefined) out.push({ name, change: 'added', after: b });
    else if (a !== undefined && b === undefined) out.push({ name, change: 'removed', before: a });
    else if (a !== undefined && b !== undefined) {
      const diff = unifiedDiff(text(a), text(b), { before: `${label} ${name} (current)`, after: `${label} ${name} (changed)` });
      if (diff !== '') out.push({ name, change: 'changed', before: a, after: b, diff });
    }
  }
  return out;
}

function compareMessages<D extends DescMessage>(type: XdsResourceType<D>, before: ReadonlyMap<string, MessageShape<D>>, after: ReadonlyMap<string, MessageShape<D>>): ResourceChange[] {
  return diffByName(before, after, (m) => jsonText(type.schema, m), type.shortName).map((c) => (c.diff !== undefined ? { name: c.name, change: c.change, diff: c.diff } : { name: c.name, change: c.change }));
}

export function endpointAddress(e: LbEndpoint): string {
  if (e.hostIdentifier.case !== 'endpoint') return e.hostIdentifier.case === 'endpointName' ? e.hostIdentifier.value : '';
  const a = e.hostIdentifier.value.address?.address;
  if (a?.case === 'socketAddress') return `${a.value.address}:${a.value.portSpecifier.case === 'portValue' ? a.value.portSpecifier.value : a.value.portSpecifier.value ?? ''}`;
  if (a?.case === 'pipe') return `unix:${a.value.path}`;
  return '';
}

export function localityOf(g: LocalityLbEndpoints): string {
  return [g.locality?.region ?? '', g.locality?.zone ?? '', g.locality?.subZone ?? ''].join('/').replace(/\/+$/, '');
}

/** The endpoints of a ClusterLoadAssignment by address. */
export function endpointStates(cla: ClusterLoadAssignment): Map<string, EndpointState> {
  const out = new Map<string, EndpointState>();
  for (const g of cla.endpoints) {
    const locality = localityOf(g);
    for (const e of g.lbEndpoints) out.set(endpointAddress(e), { locality, priority: g.priority, weight: e.loadBalancingWeight ?? 0, health: HealthStatus[e.healthStatus] });
  }
  return out;
}

/** A ClusterLoadAssignment as compared: its endpoints by address and its locality groups' weights by `priority locality`. */
export interface EndpointsSummary {
  readonly endpoints: ReadonlyMap<string, EndpointState>;
  readonly weights: ReadonlyMap<string, { readonly locality: string; readonly priority: number; readonly weight: number }>;
}

export function endpointsSummary(cla: ClusterLoadAssignment): EndpointsSummary {
  return { endpoints: endpointStates(cla), weights: new Map(cla.endpoints.map((g) => [`${g.priority} ${localityOf(g)}`, { locality: localityOf(g), priority: g.priority, weight: g.loadBalancingWeight ?? 0 }])) };
}

const ENDPOINT_FIELDS: readonly EndpointField[] = ['locality', 'priority', 'weight', 'health'];
const NO_ENDPOINTS: EndpointsSummary = { endpoints: new Map(), weights: new Map() };

/** What changes for one cluster's endpoints from `a` to `b` (undefined: absent); undefined when nothing does. */
export function compareClusterEndpoints(cluster: string, a: EndpointsSummary | undefined, b: EndpointsSummary | undefined): EndpointsChange | undefined {
  const ea = (a ?? NO_ENDPOINTS).endpoints;
  const eb = (b ?? NO_ENDPOINTS).endpoints;
  const endpoints: EndpointChange[] = [];
  for (const address of allNames(ea, eb)) {
    const x = ea.get(address);
    const y = eb.get(address);
    if (x === undefined && y !== undefined) endpoints.push({ address, change: 'added', after: y });
    else if (x !== undefined && y === undefined) endpoints.push({ address, change: 'removed', before: x });
    else if (x !== undefined && y !== undefined) {
      const fields = ENDPOINT_FIELDS.filter((f) => x[f] !== y[f]);
      if (fields.length > 0) endpoints.push({ address, change: 'changed', before: x, after: y, fields });
    }
  }
  const weights: LocalityWeightChange[] = [];
  const wa = (a ?? NO_ENDPOINTS).weights;
  const wb = (b ?? NO_ENDPOINTS).weights;
  for (const key of a !== undefined && b !== undefined ? allNames(wa, wb) : []) {
    const x = wa.get(key);
    const y = wb.get(key);
    if (x !== undefined && y !== undefined && x.weight !== y.weight) weights.push({ locality: x.locality, priority: x.priority, before: x.weight, after: y.weight });
  }
  const change: ResourceChangeKind = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
  return change !== 'changed' || endpoints.length > 0 || weights.length > 0 ? { cluster, change, endpoints, localityWeights: weights } : undefined;
}

function compareEndpoints(before: ReadonlyMap<string, ClusterLoadAssignment>, after: ReadonlyMap<string, ClusterLoadAssignment>): EndpointsChange[] {
  const out: EndpointsChange[] = [];
  for (const cluster of allNames(before, after)) {
    const a = before.get(cluster);
    const b = after.get(cluster);
    const c = compareClusterEndpoints(cluster, a ? endpointsSummary(a) : undefined, b ? endpointsSummary(b) : undefined);
    if (c !== undefined) out.push(c);
  }
  return out;
}

function virtualHostsOf(routes: ReadonlyMap<string, RouteConfiguration>): Map<string, VirtualHost> {
  const out = new Map<string, VirtualHost>();
  for (const [name, rc] of routes) for (const vh of rc.virtualHosts) out.set(`${name}\u0000${vh.name}`, vh);
  return out;
}

function compareRoutes(before: ReadonlyMap<string, RouteConfiguration>, after: ReadonlyMap<string, RouteConfiguration>): RouteChange[] {
  return diffByName(virtualHostsOf(before), virtualHostsOf(after), (vh) => jsonText(VirtualHostSchema, vh), 'virtual host').map((c) => {
    const [routeConfiguration = '', virtualHost = ''] = c.name.split('\u0000');
    return {
      routeConfiguration,
      virtualHost,
      change: c.change,
      ...(c.before ? { before: routeSummaries(c.before) } : {}),
      ...(c.after ? { after: routeSummaries(c.after) } : {}),
      ...(c.diff !== undefined ? { diff: c.diff.replaceAll('\u0000', ' ') } : {}),
    };
  });
}

/** Each route of a virtual host as `match → action` (from its Envoy JSON). */
export function routeSummaries(vh: VirtualHost): RouteSummary[] {
  const json = toJson(VirtualHostSchema, vh, { registry: ENVOY_TYPE_REGISTRY });
  const routes = isObject(json) && Array.isArray(json['routes']) ? json['routes'] : [];
  return routes.map((r) => (isObject(r) ? { match: describeMatch(r['match']), action: describeAction(r) } : { match: '', action: '' }));
}

function isObject(v: JsonValue | undefined): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalar(v: JsonValue | undefined): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v ?? null);
}

function describeMatch(m: JsonValue | undefined): string {
  if (!isObject(m)) return '*';
  const path = ['prefix', 'path', 'safeRegex', 'pathSeparatedPrefix'].map((k) => (m[k] !== undefined ? `${k} ${JSON.stringify(m[k])}` : '')).find((s) => s !== '') ?? '*';
  const extra = Object.keys(m).filter((k) => !['prefix', 'path', 'safeRegex', 'pathSeparatedPrefix'].includes(k));
  return extra.length > 0 ? `${path} ${extra.map((k) => `${k}=${JSON.stringify(m[k])}`).join(' ')}` : path;
}

function describeAction(r: { [k: string]: JsonValue }): string {
  const route = r['route'];
  if (isObject(route)) {
    if (typeof route['cluster'] === 'string') return `cluster ${route['cluster']}`;
    const weighted = route['weightedClusters'];
    if (isObject(weighted) && Array.isArray(weighted['clusters'])) {
      return `weighted ${weighted['clusters'].map((c) => (isObject(c) ? `${scalar(c['name'])}=${scalar(c['weight'] ?? 0)}` : '')).join(', ')}`;
    }
    return 'route';
  }
  if (isObject(r['redirect'])) return `redirect ${JSON.stringify(r['redirect'])}`;
  if (isObject(r['directResponse'])) return `direct response ${JSON.stringify(r['directResponse'])}`;
  return 'none';
}
