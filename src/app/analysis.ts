/**
 * `meshbridge analyze` (in the spirit of `istioctl analyze`): checks across objects that
 * validation of one object cannot make, as messages with a code, a level and the object they are
 * about. Istio's codes where Istio has the check (IST0101, IST0106, IST0118, IST0127), meshbridge's
 * own (MB01xx) for the others; docs/analyze.md lists them. Pure: objects and findings in,
 * messages out, in a stable order.
 */
import type { Finding } from '../model/config/load.js';
import { duplicateFindings } from '../model/config/duplicates.js';
import type { ConfigObject, DestinationRule, KubeService, ServiceEntry, StringMap, VirtualService, WorkloadGroup } from '../model/config/types.js';
import { objectKey } from '../model/config/types.js';
import { selectorMatches } from '../model/mesh/labels.js';
import type { Workload } from '../model/mesh/types.js';
import { canonicalProtocol } from '../registry/protocol.js';
import { registryFromObjects } from '../registry/offline-mesh.js';

export type AnalysisLevel = 'Info' | 'Warning' | 'Error';
export const ANALYSIS_LEVELS: readonly AnalysisLevel[] = ['Info', 'Warning', 'Error'];

/** The message types: code, name, level. */
export const MESSAGE_TYPES = {
  referencedResourceNotFound: { code: 'IST0101', name: 'ReferencedResourceNotFound', level: 'Error' },
  schemaValidationError: { code: 'IST0106', name: 'SchemaValidationError', level: 'Error' },
  portNameIsNotUnderNamingConvention: { code: 'IST0118', name: 'PortNameIsNotUnderNamingConvention', level: 'Info' },
  noMatchingWorkloadsFound: { code: 'IST0127', name: 'NoMatchingWorkloadsFound', level: 'Warning' },
  schemaValidationWarning: { code: 'MB0100', name: 'SchemaValidationWarning', level: 'Warning' },
  duplicateResource: { code: 'MB0101', name: 'DuplicateResource', level: 'Error' },
  routeWeightsNot100: { code: 'MB0102', name: 'RouteWeightsNot100', level: 'Warning' },
  hostWithoutEndpoints: { code: 'MB0103', name: 'HostWithoutEndpoints', level: 'Warning' },
  workloadEntryNotSelected: { code: 'MB0104', name: 'WorkloadEntryNotSelected', level: 'Warning' },
  conflictingDestinationRules: { code: 'MB0105', name: 'ConflictingDestinationRules', level: 'Warning' },
  probePortNotInTemplate: { code: 'MB0106', name: 'ProbePortNotInTemplate', level: 'Info' },
} as const satisfies Record<string, { code: string; name: string; level: AnalysisLevel }>;

type MessageType = (typeof MESSAGE_TYPES)[keyof typeof MESSAGE_TYPES];

export interface AnalysisMessage {
  readonly code: string;
  readonly name: string;
  readonly level: AnalysisLevel;
  /** `Kind namespace/name` (cluster-scoped: `Kind name`); '' for a file-level problem. */
  readonly origin: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted path of the offending field, '' when the whole object is meant. */
  readonly field: string;
  readonly message: string;
}

export interface AnalysisInput {
  /** The valid objects. */
  readonly objects: readonly ConfigObject[];
  /** Validation findings of the files (none for objects read from a store). */
  readonly findings?: readonly Finding[];
}

/** Whether `level` is at least `threshold`. */
export function atLeast(level: AnalysisLevel, threshold: AnalysisLevel): boolean {
  return ANALYSIS_LEVELS.indexOf(level) >= ANALYSIS_LEVELS.indexOf(threshold);
}

export function analyze(input: AnalysisInput): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const f of input.findings ?? []) out.push(fromFinding(f, f.severity === 'error' ? MESSAGE_TYPES.schemaValidationError : MESSAGE_TYPES.schemaValidationWarning));
  for (const f of duplicateFindings(input.objects)) out.push(fromFinding(f, MESSAGE_TYPES.duplicateResource));
  const objects = input.objects;
  const of = <K extends ConfigObject['kind']>(kind: K): Extract<ConfigObject, { kind: K }>[] => objects.filter((o): o is Extract<ConfigObject, { kind: K }> => o.kind === kind);
  const registry = registryFromObjects(objects);
  const workloads = registry.workloads.list();
  const rootNamespace = registry.mesh.value().rootNamespace;
  const destinationRules = of('DestinationRule');
  out.push(...missingSubsets(of('VirtualService'), destinationRules));
  out.push(...routeWeights(of('VirtualService')));
  out.push(...unmatchedSelectors(objects, workloads, rootNamespace));
  out.push(...conflictingDestinationRules(destinationRules));
  out.push(...portsWithoutProtocol(of('ServiceEntry'), of('Service')));
  out.push(...probePorts(of('WorkloadGroup')));
  const services = registry.services.list();
  const byKey = new Map(objects.map((o) => [objectKey(o), o]));
  for (const s of services) {
    if (s.resolution !== 'STATIC' || s.endpoints.length > 0) continue;
    const o = byKey.get(s.definedBy);
    if (o) out.push(message(MESSAGE_TYPES.hostWithoutEndpoints, o, '', `Host ${s.host} has no endpoints: no inline endpoint, and no workload matches its selector; clients of it get no backend.`));
  }
  const selected = new Set(services.flatMap((s) => s.endpoints.map((e) => e.source)));
  for (const w of of('WorkloadEntry')) {
    if (!selected.has(objectKey(w))) out.push(message(MESSAGE_TYPES.workloadEntryNotSelected, w, 'spec.labels', `No ServiceEntry or Service selects this WorkloadEntry (labels ${formatLabels(w.spec.labels ?? {})}); it receives no traffic.`));
  }
  return out.sort(byPosition);
}

function byPosition(a: AnalysisMessage, b: AnalysisMessage): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}

function originOf(o: Pick<ConfigObject, 'kind' | 'metadata'>): string {
  return `${o.kind} ${o.metadata.namespace !== '' ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

function message(type: MessageType, o: ConfigObject, field: string, text: string): AnalysisMessage {
  return { code: type.code, name: type.name, level: type.level, origin: originOf(o), file: o.origin.file, line: o.origin.line, column: o.origin.column, field, message: text };
}

function fromFinding(f: Finding, type: MessageType): AnalysisMessage {
  const origin = f.kind !== '' ? `${f.kind} ${f.namespace !== '' ? `${f.namespace}/` : ''}${f.name}` : '';
  return { code: type.code, name: type.name, level: type.level, origin, file: f.file, line: f.line, column: f.column, field: f.field, message: f.message };
}

function formatLabels(labels: StringMap): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return pairs.length > 0 ? pairs.join(',') : '(none)';
}

/** IST0101: a VirtualService routes to a subset that no DestinationRule of its host defines. */
function missingSubsets(virtualServices: readonly VirtualService[], destinationRules: readonly DestinationRule[]): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const vs of virtualServices) {
    (vs.spec.http ?? []).forEach((route, i) => {
      (route.route ?? []).forEach((d, j) => {
        const subset = d.destination.subset;
        if (subset === undefined || subset === '') return;
        const host = d.destination.host;
        const defined = destinationRules.some((dr) => sameHost(dr.spec.host, host, dr.metadata.namespace, vs.metadata.namespace) && (dr.spec.subsets ?? []).some((s) => s.name === subset));
        if (!defined) out.push(message(MESSAGE_TYPES.referencedResourceNotFound, vs, `spec.http[${i}].route[${j}].destination.subset`, `Referenced host+subset in destinationrule not found: "${host}+${subset}"`));
      });
    });
  }
  return out;
}

/** Hosts as written, with Kubernetes short names (`reviews`) completed in the object's namespace. */
function sameHost(a: string, b: string, namespaceA: string, namespaceB: string): boolean {
  const full = (h: string, ns: string): string => (h.includes('.') ? h : `${h}.${ns}.svc.cluster.local`);
  return full(a, namespaceA) === full(b, namespaceB);
}

/** MB0102: the weights of a route's destinations do not add up to 100. */
function routeWeights(virtualServices: readonly VirtualService[]): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const vs of virtualServices) {
    (vs.spec.http ?? []).forEach((route, i) => {
      const destinations = route.route ?? [];
      if (destinations.length < 2 && destinations.every((d) => d.weight === undefined)) return;
      const sum = destinations.reduce((n, d) => n + (d.weight ?? 0), 0);
      if (destinations.length === 1 && destinations[0]?.weight === undefined) return;
      if (sum !== 100) out.push(message(MESSAGE_TYPES.routeWeightsNot100, vs, `spec.http[${i}].route`, `The weights of the route's ${destinations.length} destinations add up to ${sum}, not 100; traffic is split in proportion to them.`));
    });
  }
  return out;
}

interface Selecting {
  readonly object: ConfigObject;
  readonly field: string;
  readonly selector: StringMap;
  /** Where the selected workloads may be: one namespace, or every one (root-namespace policies). */
  readonly namespace: string | undefined;
}

/** The objects that select workloads by labels, with their selector. */
function selectors(objects: readonly ConfigObject[], rootNamespace: string): Selecting[] {
  const out: Selecting[] = [];
  const policyScope = (o: ConfigObject): string | undefined => (o.metadata.namespace === rootNamespace ? undefined : o.metadata.namespace);
  for (const o of objects) {
    const ns = o.metadata.namespace;
    switch (o.kind) {
      case 'ServiceEntry': {
        const labels = (o).spec.workloadSelector?.labels;
        if (labels !== undefined) out.push({ object: o, field: 'spec.workloadSelector.labels', selector: labels, namespace: ns });
        break;
      }
      case 'Service': {
        const selector = (o).spec.selector;
        if (selector !== undefined && Object.keys(selector).length > 0) out.push({ object: o, field: 'spec.selector', selector, namespace: ns });
        break;
      }
      case 'DestinationRule': {
        const labels = (o).spec.workloadSelector?.matchLabels;
        if (labels !== undefined) out.push({ object: o, field: 'spec.workloadSelector.matchLabels', selector: labels, namespace: ns });
        break;
      }
      case 'PeerAuthentication':
      case 'AuthorizationPolicy': {
        const labels = (o).spec.selector?.matchLabels;
        if (labels !== undefined) out.push({ object: o, field: 'spec.selector.matchLabels', selector: labels, namespace: policyScope(o) });
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** IST0127: a selector that matches no workload (WorkloadEntry or Pod). */
function unmatchedSelectors(objects: readonly ConfigObject[], workloads: readonly Workload[], rootNamespace: string): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const s of selectors(objects, rootNamespace)) {
    const matched = workloads.some((w) => (s.namespace === undefined || w.namespace === s.namespace) && selectorMatches(s.selector, w.labels));
    if (!matched) out.push(message(MESSAGE_TYPES.noMatchingWorkloadsFound, s.object, s.field, `No matching workloads for this resource with the following labels: ${formatLabels(s.selector)}`));
  }
  return out;
}

/** MB0105: two DestinationRules for one host in one namespace (no workloadSelector) that both set a traffic policy or the same subset. */
function conflictingDestinationRules(destinationRules: readonly DestinationRule[]): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  const seen = new Map<string, DestinationRule[]>();
  for (const dr of destinationRules) {
    if (dr.spec.workloadSelector !== undefined) continue;
    const key = `${dr.metadata.namespace}\u0000${sameHostKey(dr)}`;
    const earlier = seen.get(key) ?? [];
    for (const other of earlier) {
      const subsets = new Set((other.spec.subsets ?? []).map((s) => s.name));
      const shared = (dr.spec.subsets ?? []).map((s) => s.name).filter((n) => subsets.has(n));
      const both = dr.spec.trafficPolicy !== undefined && other.spec.trafficPolicy !== undefined;
      if (shared.length === 0 && !both) continue;
      const what = [...(both ? ['a traffic policy'] : []), ...(shared.length > 0 ? [`subset ${shared.map((n) => JSON.stringify(n)).join(', ')}`] : [])].join(' and ');
      out.push(
        message(
          MESSAGE_TYPES.conflictingDestinationRules,
          dr,
          '',
          `DestinationRule ${other.metadata.namespace}/${other.metadata.name} (${other.origin.file}:${other.origin.line}) also sets ${what} for host ${dr.spec.host}; only the older definition applies.`,
        ),
      );
    }
    seen.set(key, [...earlier, dr]);
  }
  return out;
}

function sameHostKey(dr: DestinationRule): string {
  const h = dr.spec.host;
  return h.includes('.') ? h : `${h}.${dr.metadata.namespace}.svc.cluster.local`;
}

/** IST0118: a port whose protocol is neither set nor named (it is treated as plain TCP). */
function portsWithoutProtocol(serviceEntries: readonly ServiceEntry[], services: readonly KubeService[]): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const se of serviceEntries) {
    (se.spec.ports ?? []).forEach((p, i) => {
      if ((p.protocol ?? '') !== '') return;
      out.push(message(MESSAGE_TYPES.portNameIsNotUnderNamingConvention, se, `spec.ports[${i}].protocol`, `Port ${p.number} (${JSON.stringify(p.name)}) has no protocol; it is treated as TCP. Set protocol (HTTP, GRPC, TCP, ...).`));
    });
  }
  for (const svc of services) {
    (svc.spec.ports ?? []).forEach((p, i) => {
      const name = p.name ?? '';
      if (p.protocol === 'UDP' || (p.appProtocol ?? '') !== '' || canonicalProtocol(name.split('-')[0] ?? '') !== '') return;
      out.push(
        message(
          MESSAGE_TYPES.portNameIsNotUnderNamingConvention,
          svc,
          `spec.ports[${i}].name`,
          `Port name ${JSON.stringify(name)} (port: ${p.port}) doesn't follow the naming convention of Istio port (<protocol>[-<suffix>]) and has no appProtocol; it is treated as TCP.`,
        ),
      );
    });
  }
  return out;
}

/** MB0106: a WorkloadGroup probes a port that its template does not declare. */
function probePorts(groups: readonly WorkloadGroup[]): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const g of groups) {
    const probe = g.spec.probe;
    const checked = [
      { field: 'spec.probe.httpGet.port', port: probe?.httpGet?.port },
      { field: 'spec.probe.tcpSocket.port', port: probe?.tcpSocket?.port },
      { field: 'spec.probe.grpc.port', port: probe?.grpc?.port },
    ];
    const declared = Object.values(g.spec.template.ports ?? {});
    for (const c of checked) {
      if (c.port === undefined || declared.includes(c.port)) continue;
      out.push(message(MESSAGE_TYPES.probePortNotInTemplate, g, c.field, `The probe's port ${c.port} is not one of the template's ports (${declared.length > 0 ? declared.join(', ') : 'none'}); check that the workload listens there.`));
    }
  }
  return out;
}
