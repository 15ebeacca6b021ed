/**
 * Read models of `/api/v1/services` and `/api/v1/services/{namespace}/{host}` (dashboard views 1
 * and 2): one table across sources, and a service's pods and VMs side by side. Pure functions of
 * the registry `serve` keeps (the same one `endpoints` and xDS read); nothing is cached here.
 */
import type { ConfigObject, Pod, WorkloadEntry } from '../../model/config/types.js';
import { ANNOTATION, LABEL, parsesAsTrue } from '../../model/mesh/labels.js';
import type { Endpoint, MergedService, Workload } from '../../model/mesh/types.js';
import type { Registry } from '../../registry/registry.js';
import { explainBundle } from '../../registry/view/explain.js';
import { healthGate, podReadiness } from '../../registry/workloads.js';
import type { EndpointCounts, EndpointHealth, EndpointKind, LeftOut, MemberPort, ObjectSource, ServiceDetail, ServiceMember, ServicesResponse, ServiceSummary } from './types.js';

/** `file:line` for files; the origin's description otherwise (a store key has no line). */
export function locationOf(o: Pick<ConfigObject, 'origin'>): string {
  return o.origin.line > 0 ? `${o.origin.file}:${o.origin.line}` : o.origin.file;
}

function inputObject(registry: Registry, key: string): ConfigObject | undefined {
  const [kind] = key.split('/');
  const i = registry.inputs;
  // The store's object, else (Pods, Services) the one read from a cluster.
  if (kind === 'ServiceEntry' || kind === 'WorkloadEntry') return i[kind].get(key);
  if (kind === 'Service' || kind === 'Pod') return i[kind].get(key) ?? i.cluster[kind].get(key);
  return undefined;
}

function objectSource(registry: Registry, key: string): ObjectSource {
  const o = inputObject(registry, key);
  return { key, location: o ? locationOf(o) : '' };
}

function kindOf(source: string): EndpointKind {
  if (source.startsWith('Pod/')) return 'Pod';
  if (source.startsWith('WorkloadEntry/')) return 'WorkloadEntry';
  return 'inline';
}

/**
 * The service's members: its endpoints grouped by source, plus the candidates left out as unhealthy.
 * `everyNamespace`: also say which workloads of other namespaces match a selector (the detail view;
 * the table looks only at each selector's namespace, which is all its counts need).
 */
function membersOf(registry: Registry, s: MergedService, everyNamespace: boolean): { members: ServiceMember[]; leftOut: LeftOut[] } {
  const bySource = new Map<string, Endpoint[]>();
  for (const e of s.endpoints) bySource.set(e.source, [...(bySource.get(e.source) ?? []), e]);
  const members: ServiceMember[] = [];
  const leftOut: LeftOut[] = [];
  const everyWorkload = everyNamespace ? registry.workloads.list() : undefined;
  for (const bundleKey of s.bundles) {
    const bundle = registry.bundles.get(bundleKey);
    if (!bundle) continue;
    for (const [source, endpoints] of bySource) {
      if (!bundle.endpoints.some((e) => e.source === source)) continue;
      members.push(memberOf(registry, source, endpoints, bundleKey, bundle.selector));
      bySource.delete(source);
    }
    for (const x of explainBundle(bundle, everyWorkload ?? registry.workloadsByNamespace.lookup(bundle.namespace))) {
      const w = registry.workloads.get(x.source);
      if (x.reason === 'unhealthy' && w !== undefined) members.push(leftOutMember(registry, w, s, bundleKey, bundle.selector, x.detail ?? ''));
      else leftOut.push({ source: x.source, reason: x.reason, detail: x.detail ?? '' });
    }
  }
  // Endpoints no bundle lists by itself (a DNS host's own endpoints): from the defining object.
  for (const [source, endpoints] of bySource) members.push(memberOf(registry, source, endpoints, s.definedBy, null));
  const order: Record<EndpointKind, number> = { Pod: 0, WorkloadEntry: 1, inline: 2 };
  members.sort((a, b) => order[a.kind] - order[b.kind] || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  return { members, leftOut };
}

function portsOf(endpoints: readonly Endpoint[]): MemberPort[] {
  return endpoints.map((e) => ({ servicePort: e.servicePort, portName: e.portName, port: e.port })).sort((a, b) => a.servicePort - b.servicePort);
}

function memberOf(registry: Registry, source: string, endpoints: readonly Endpoint[], selectedBy: string, selector: Readonly<Record<string, string>> | null): ServiceMember {
  const first = endpoints[0] as Endpoint;
  const kind = kindOf(source);
  const object = kind === 'inline' ? undefined : inputObject(registry, source);
  const [, namespace = first.namespace, name = source] = kind === 'inline' ? [] : source.split('/');
  return {
    kind,
    source,
    name: kind === 'inline' ? source : name,
    namespace,
    address: first.address,
    ports: portsOf(endpoints),
    labels: first.labels,
    network: first.network,
    locality: first.locality,
    localitySource: localitySource(registry, source, first.locality),
    weight: first.weight,
    identity: first.serviceAccount,
    tlsMode: first.tlsMode === '' ? null : first.tlsMode,
    health: first.health,
    healthReason: healthReason(registry, source, first.health),
    inEndpoints: true,
    selectedBy,
    selector: kind === 'inline' ? null : selector,
    ...(object ? { location: locationOf(object) } : {}),
  };
}

/** A workload the selector matched but the health check keeps out of EDS. */
function leftOutMember(registry: Registry, w: Workload, s: MergedService, selectedBy: string, selector: Readonly<Record<string, string>> | null, detail: string): ServiceMember {
  const object = inputObject(registry, w.key);
  const ports = s.ports.flatMap((p): MemberPort[] => {
    const port = w.ports[p.name] ?? (p.targetPort > 0 ? p.targetPort : p.number);
    return [{ servicePort: p.number, portName: p.name, port }];
  });
  return {
    kind: w.kind,
    source: w.key,
    name: w.name,
    namespace: w.namespace,
    address: w.address,
    ports,
    labels: w.labels,
    network: w.network,
    locality: w.locality,
    localitySource: localitySource(registry, w.key, w.locality),
    weight: Math.max(1, w.weight),
    identity: w.identity,
    tlsMode: w.tlsMode === '' ? null : w.tlsMode,
    health: 'UNHEALTHY',
    healthReason: detail,
    inEndpoints: false,
    selectedBy,
    selector,
    ...(object ? { location: locationOf(object) } : {}),
  };
}

/** Where a member's locality came from (E-ATTR-3, pods: label, else node topology labels). */
function localitySource(registry: Registry, source: string, locality: string): string {
  if (locality === '') return 'none';
  const object = inputObject(registry, source.split('#')[0] ?? source);
  if (object?.kind === 'ServiceEntry') return `ServiceEntry ${source.split('#')[0] ?? ''} spec.endpoints[${source.split('#')[1] ?? ''}].locality`;
  if (object?.kind === 'WorkloadEntry' && (object.spec.locality ?? '') !== '') return 'WorkloadEntry spec.locality';
  const labels = object?.kind === 'WorkloadEntry' ? { ...(object.spec.labels ?? {}), ...object.metadata.labels } : (object?.metadata.labels ?? {});
  for (const label of [LABEL.locality, LABEL.legacyLocality]) if ((labels[label] ?? '') !== '') return `label ${label}`;
  if (object?.kind === 'Pod' && object.spec.nodeName !== undefined) return `Node ${object.spec.nodeName} labels`;
  return 'unknown';
}

function healthReason(registry: Registry, source: string, health: EndpointHealth): string {
  const object = inputObject(registry, source);
  if (object?.kind === 'WorkloadEntry') return workloadEntryHealthReason(object);
  if (object?.kind === 'Pod') return podHealthReason(object);
  return `an inline endpoint: not health checked (sent as ${health})`;
}

function workloadEntryHealthReason(we: WorkloadEntry): string {
  if (!parsesAsTrue(we.metadata.annotations[ANNOTATION.healthChecksEnabled])) return 'not health checked (no proxy.istio.io/health-checks-enabled): sent as UNKNOWN, which Envoy treats as healthy';
  const gate = healthGate(we);
  if (!gate.selectable) return gate.detail;
  const c = (we.status?.conditions ?? []).find((x) => x.type === 'Healthy');
  // Past the gate the condition is True. E-ATTR-7: a WorkloadEntry carries no health status in EDS,
  // so the healthy entry is sent as UNKNOWN: say so, or the UNKNOWN next to "True" reads as a contradiction.
  return `Healthy condition ${c?.status ?? ''}${c?.lastProbeTime ? ` (probed ${c.lastProbeTime})` : ''}: healthy, sent to proxies as UNKNOWN as every WorkloadEntry is (E-ATTR-7), which Envoy treats as healthy`;
}

function podHealthReason(pod: Pod): string {
  const r = podReadiness(pod);
  return r.ready ? 'the pod is Ready' : r.detail;
}

function counts(members: readonly ServiceMember[]): EndpointCounts {
  const byKind: Record<EndpointKind, number> = { Pod: 0, WorkloadEntry: 0, inline: 0 };
  const byHealth: Record<EndpointHealth, number> = { HEALTHY: 0, UNHEALTHY: 0, UNKNOWN: 0, DRAINING: 0 };
  for (const m of members) {
    byKind[m.kind]++;
    byHealth[m.health]++;
  }
  return { total: members.length, byKind, byHealth, leftOutUnhealthy: members.filter((m) => !m.inEndpoints).length };
}

function summaryOf(registry: Registry, s: MergedService, members: readonly ServiceMember[]): ServiceSummary {
  const bundles = s.bundles.map((k) => registry.bundles.get(k)).filter((b) => b !== undefined);
  const auto = [...new Set(bundles.flatMap((b) => b.autoAddresses[s.host] ?? []))];
  return {
    host: s.host,
    namespace: s.namespace,
    kind: s.source,
    resolution: s.resolution,
    location: s.location,
    ports: s.ports.map((p) => ({ number: p.number, name: p.name, protocol: p.protocol, ...(p.targetPortName !== undefined ? { targetPort: p.targetPortName } : p.targetPort > 0 ? { targetPort: p.targetPort } : {}) })),
    addresses: { spec: s.addresses.filter((a) => !auto.includes(a)), auto },
    definedBy: objectSource(registry, s.definedBy),
    sources: s.bundles.map((k) => objectSource(registry, k)),
    endpoints: counts(members),
  };
}

function byNamespaceAndHost(a: MergedService, b: MergedService): number {
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.host < b.host ? -1 : a.host > b.host ? 1 : 0;
}

/** `GET /api/v1/services`: every service of every source, by namespace then host. */
export function servicesView(registry: Registry): ServicesResponse {
  const services = registry.services.list().sort(byNamespaceAndHost);
  return { services: services.map((s) => summaryOf(registry, s, membersOf(registry, s, false).members)) };
}

/** `GET /api/v1/services/{namespace}/{host}`; undefined when there is no such service (404). */
export function serviceDetailView(registry: Registry, namespace: string, host: string): ServiceDetail | undefined {
  const s = registry.services.get(`${namespace}/${host}`);
  if (s === undefined) return undefined;
  const { members, leftOut } = membersOf(registry, s, true);
  return { ...summaryOf(registry, s, members), members, leftOut };
}
