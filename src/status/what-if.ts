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
import { stringify } from 'yaml';
import { unifiedDiff } from '../lib/text/line-diff.js';
import { buildRegistry, createInputs, replaceInputs, type Registry } from '../registry/registry.js';
import { admitConfig } from '../model/config/admission.js';
import { loadConfig, type Finding, type SourceFile } from '../model/config/load.js';
import type { FindingReport } from '../model/config/format-finding.js';
import { objectKey, type ConfigObject, type StringMap } from '../model/config/types.js';
import { OfflineGenerator } from '../xds/generate/offline-view.js';
import { offlineProxyIdentity } from '../model/mesh/offline-proxy.js';
import { compareViews, type ViewChanges } from './view-diff.js';

export type {
  EndpointChange,
  EndpointField,
  EndpointState,
  EndpointsChange,
  LocalityWeightChange,
  ResourceChange,
  ResourceChangeKind,
  RouteChange,
  RouteSummary,
  ViewChanges,
} from './view-diff.js';

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

/** What one client class would see change. */
export interface ClientChanges extends ViewChanges {
  readonly client: WhatIfClient;
  /** `envoy ns=NS` (with locality, network and labels when set). */
  readonly label: string;
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
    const c = compareViews(beforeGen.generate(proxy), afterGen.generate(proxy));
    if (c.clusters.length + c.endpoints.length + c.routes.length + c.listeners.length > 0) changes.push({ client, label: clientLabel(client), ...c });
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
