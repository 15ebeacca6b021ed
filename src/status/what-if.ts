/**
 * What-if (issue 18): what a configuration change would do before it is applied. The changed files
 * are admitted as `apply` admits them (all or nothing); their objects replace the current objects
 * of the same kind, namespace and name, or are added. Both configurations run through the real
 * registry and push pipeline offline, and per client class the generated clusters, endpoints
 * (ClusterLoadAssignments), routes (per virtual host) and listeners are compared.
 *
 * Pure: file texts in, a typed result out (the `meshbridge diff` command formats it; the HTTP API
 * and the dashboard use the same `WhatIfResult`). Nothing is applied and nothing is served.
 */
import { toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { stringify } from 'yaml';
import { HealthStatus } from '../gen/envoy/config/core/v3/health_check_pb.js';
import type { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { LbEndpoint, LocalityLbEndpoints } from '../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHostSchema, type VirtualHost } from '../gen/envoy/config/route/v3/route_components_pb.js';
import { unifiedDiff } from '../lib/text/line-diff.js';
import { buildRegistry, createInputs, replaceInputs, type Registry } from '../registry/registry.js';
import { admitConfig } from '../model/config/admission.js';
import { loadConfig, type Finding, type SourceFile } from '../model/config/load.js';
import type { FindingReport } from '../model/config/format-finding.js';
import { objectKey, type ConfigObject, type StringMap } from '../model/config/types.js';
import { ENVOY_TYPE_REGISTRY } from '../xds/generate/envoy/index.js';
import { OfflineGenerator, type GeneratedResources } from '../xds/generate/offline-view.js';
import { offlineProxyIdentity } from '../xds/server/offline-proxy.js';
import { CLUSTER, LISTENER } from '../xds/types/resource-types.js';
import type { XdsResourceType } from '../xds/types/resource-type.js';

/** A client class: the attributes of the proxies whose view is compared. */
export interface WhatIfClient {
  /** `envoy`: a sidecar; `grpc`: a proxyless gRPC client. */
  readonly kind: 'envoy' | 'grpc';
  readonly namespace: string;
  /** `region/zone/subzone`, parts optional. */
  readonly locality?: string;
  readonly network?: string;
  readonly labels?: StringMap;
}

export interface WhatIfInput {
  /** The current configuration (as `serve --config` reads it: objects with errors are left out). */
  readonly current: readonly SourceFile[];
  /** The changed files: admitted strictly, as `apply` would. */
  readonly changed: readonly SourceFile[];
  /** Which client classes to compare (default: all of `clientClasses`). */
  readonly clients?: ClientSelection;
}

/**
 * A selection of client classes: each namespace given (default: every namespace that holds an object
 * in either configuration) as each kind given (default: a sidecar and a proxyless gRPC client), all
 * with the locality, network and labels given.
 */
export interface ClientSelection {
  readonly namespace?: string;
  readonly kind?: WhatIfClient['kind'];
  readonly locality?: string;
  readonly network?: string;
  readonly labels?: StringMap;
}

/** A finding with its position (file, line, column), as `validate -o json` reports it (cli-contract `Finding`). */
export type WhatIfFinding = FindingReport;

export type ObjectChangeKind = 'created' | 'configured' | 'unchanged';

export interface ObjectChange {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly change: ObjectChangeKind;
  /** Where the changed object is defined. */
  readonly file: string;
  readonly line: number;
  /** `configured`: a unified diff of the object (metadata and spec, YAML) current → changed. */
  readonly diff?: string;
}

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

export interface ClientChanges {
  readonly client: WhatIfClient;
  /** `envoy ns=NS` (with locality, network and labels when set). */
  readonly label: string;
  readonly clusters: readonly ResourceChange[];
  readonly endpoints: readonly EndpointsChange[];
  readonly routes: readonly RouteChange[];
  readonly listeners: readonly ResourceChange[];
}

export interface WhatIfResult {
  /** false: a changed file has errors (`errors`); nothing would be applied and nothing is compared. */
  readonly applicable: boolean;
  /** Errors and warnings of the changed files, positioned. */
  readonly errors: readonly WhatIfFinding[];
  readonly warnings: readonly WhatIfFinding[];
  readonly objects: readonly ObjectChange[];
  /** Per client class, only classes whose configuration would change. */
  readonly clients: readonly ClientChanges[];
  /** Something would change: an object created or configured, or any generated resource. */
  readonly changed: boolean;
  /** The client classes compared (labels), changed or not. */
  readonly compared: readonly string[];
}

export function whatIf(input: WhatIfInput): WhatIfResult {
  return whatIfOnObjects(loadConfig(input.current).objects, input.changed, input.clients ?? {});
}

/**
 * The same comparison against the objects a running control plane holds (`current`: every object
 * of its registry inputs, registered WorkloadEntries included), for `/api/v1/what-if`.
 */
export function whatIfOnObjects(before: readonly ConfigObject[], changedFiles: readonly SourceFile[], selection: ClientSelection): WhatIfResult {
  const admission = admitConfig(changedFiles);
  const findings = { errors: admission.refused.map(findingReport), warnings: admission.warnings.map(findingReport) };
  if (admission.refused.length > 0) return { applicable: false, ...findings, objects: [], clients: [], changed: false, compared: [] };
  const currentByKey = new Map(before.map((o) => [objectKey(o), o]));
  const objects = admission.objects.map((o) => objectChange(currentByKey.get(objectKey(o)), o));
  const after = applied(before, admission.objects);
  const clients = clientClasses([...before, ...after], selection);
  const beforeGen = new OfflineGenerator(registryOf(before));
  const afterGen = new OfflineGenerator(registryOf(after));
  const changes: ClientChanges[] = [];
  for (const client of clients) {
    const proxy = offlineProxyIdentity({ ...client, name: 'what-if' });
    const c = compareViews(client, beforeGen.generate(proxy), afterGen.generate(proxy));
    if (c.clusters.length + c.endpoints.length + c.routes.length + c.listeners.length > 0) changes.push(c);
  }
  const changed = changes.length > 0 || objects.some((o) => o.change !== 'unchanged');
  return { applicable: true, ...findings, objects, clients: changes, changed, compared: clients.map(clientLabel) };
}

/**
 * The configuration after the change, as the store would hold it after `apply`: an object that
 * replaces another takes its place and its creation (order and creationTimestamp: a Kubernetes
 * update keeps them), so creation-ordered outcomes (the oldest ServiceEntry wins a host, VIP
 * allocation, DestinationRule precedence) do not move; new objects are created after all others.
 * The changed object keeps its own file and line.
 */
function applied(before: readonly ConfigObject[], changed: readonly ConfigObject[]): ConfigObject[] {
  const changedByKey = new Map(changed.map((o) => [objectKey(o), o]));
  const replaced = new Set<string>();
  const after = before.map((current): ConfigObject => {
    const key = objectKey(current);
    const next = changedByKey.get(key);
    if (next === undefined) return current;
    replaced.add(key);
    const creationTimestamp = next.metadata.creationTimestamp ?? current.metadata.creationTimestamp;
    return { ...next, metadata: { ...next.metadata, ...(creationTimestamp !== undefined ? { creationTimestamp } : {}) }, origin: { ...next.origin, order: current.origin.order } };
  });
  let order = Math.max(-1, ...before.map((o) => o.origin.order));
  for (const o of changed) if (!replaced.has(objectKey(o))) after.push({ ...o, origin: { ...o.origin, order: ++order } });
  return after;
}

function findingReport(f: Finding): FindingReport {
  const { severity: _severity, ...rest } = f;
  return rest;
}

/** A registry of one snapshot, wired as `serve` wires it. */
function registryOf(objects: readonly ConfigObject[]): Registry {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  replaceInputs(inputs, objects);
  return registry;
}

/** The client classes of a selection (see ClientSelection), in namespace order, sidecar first. */
export function clientClasses(objects: readonly ConfigObject[], s: ClientSelection): WhatIfClient[] {
  const namespaces = s.namespace !== undefined ? [s.namespace] : [...new Set(objects.map((o) => o.metadata.namespace).filter((n) => n !== ''))].sort();
  const kinds: WhatIfClient['kind'][] = s.kind !== undefined ? [s.kind] : ['envoy', 'grpc'];
  const attributes = {
    ...(s.locality !== undefined ? { locality: s.locality } : {}),
    ...(s.network !== undefined ? { network: s.network } : {}),
    ...(s.labels !== undefined ? { labels: s.labels } : {}),
  };
  return namespaces.flatMap((namespace) => kinds.map((kind): WhatIfClient => ({ kind, namespace, ...attributes })));
}

export function clientLabel(c: WhatIfClient): string {
  const parts = [c.kind, `ns=${c.namespace}`];
  if (c.locality !== undefined) parts.push(`locality=${c.locality}`);
  if (c.network !== undefined) parts.push(`network=${c.network}`);
  const labels = Object.entries(c.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) parts.push(`labels=${labels.join(',')}`);
  return parts.join(' ');
}

/**
 * What kubectl diff compares: the object without its position in a file and without the metadata
 * the store manages (an apply keeps or sets them: creation time, resource version, generation, uid).
 */
function comparable(o: ConfigObject): unknown {
  const { origin: _origin, apiVersion, kind, metadata, ...rest } = o;
  const { creationTimestamp: _created, resourceVersion: _version, generation: _generation, uid: _uid, ...meta } = metadata;
  return { apiVersion, kind, metadata: meta, ...rest };
}

function objectChange(current: ConfigObject | undefined, changed: ConfigObject): ObjectChange {
  const base = (change: ObjectChangeKind) => ({ kind: changed.kind, namespace: changed.metadata.namespace, name: changed.metadata.name, change, file: changed.origin.file, line: changed.origin.line });
  if (current === undefined) return base('created');
  const a = stringify(comparable(current), { lineWidth: 0 }).trimEnd();
  const b = stringify(comparable(changed), { lineWidth: 0 }).trimEnd();
  if (a === b) return base('unchanged');
  const label = `${changed.kind} ${changed.metadata.namespace !== '' ? `${changed.metadata.namespace}/` : ''}${changed.metadata.name}`;
  return { ...base('configured'), diff: unifiedDiff(a, b, { before: `${label} (${current.origin.file}:${current.origin.line})`, after: `${label} (${changed.origin.file}:${changed.origin.line})` }) };
}

function compareViews(client: WhatIfClient, before: GeneratedResources, after: GeneratedResources): ClientChanges {
  return {
    client,
    label: clientLabel(client),
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

function endpointAddress(e: LbEndpoint): string {
  if (e.hostIdentifier.case !== 'endpoint') return e.hostIdentifier.case === 'endpointName' ? e.hostIdentifier.value : '';
  const a = e.hostIdentifier.value.address?.address;
  if (a?.case === 'socketAddress') return `${a.value.address}:${a.value.portSpecifier.case === 'portValue' ? a.value.portSpecifier.value : a.value.portSpecifier.value ?? ''}`;
  if (a?.case === 'pipe') return `unix:${a.value.path}`;
  return '';
}

function localityOf(g: LocalityLbEndpoints): string {
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

/** The locality groups' weights by `priority locality`. */
function localityWeights(cla: ClusterLoadAssignment | undefined): Map<string, { locality: string; priority: number; weight: number }> {
  return new Map((cla?.endpoints ?? []).map((g) => [`${g.priority} ${localityOf(g)}`, { locality: localityOf(g), priority: g.priority, weight: g.loadBalancingWeight ?? 0 }]));
}

function compareLocalityWeights(a: ClusterLoadAssignment | undefined, b: ClusterLoadAssignment | undefined): LocalityWeightChange[] {
  const wa = localityWeights(a);
  const wb = localityWeights(b);
  const out: LocalityWeightChange[] = [];
  for (const key of allNames(wa, wb)) {
    const x = wa.get(key);
    const y = wb.get(key);
    if (x !== undefined && y !== undefined && x.weight !== y.weight) out.push({ locality: x.locality, priority: x.priority, before: x.weight, after: y.weight });
  }
  return out;
}

const ENDPOINT_FIELDS: readonly EndpointField[] = ['locality', 'priority', 'weight', 'health'];

function compareEndpoints(before: ReadonlyMap<string, ClusterLoadAssignment>, after: ReadonlyMap<string, ClusterLoadAssignment>): EndpointsChange[] {
  const out: EndpointsChange[] = [];
  const empty = new Map<string, EndpointState>();
  for (const cluster of allNames(before, after)) {
    const a = before.get(cluster);
    const b = after.get(cluster);
    const ea = a ? endpointStates(a) : empty;
    const eb = b ? endpointStates(b) : empty;
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
    const weights = compareLocalityWeights(a, b);
    const change: ResourceChangeKind = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
    if (change !== 'changed' || endpoints.length > 0 || weights.length > 0) out.push({ cluster, change, endpoints, localityWeights: weights });
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
