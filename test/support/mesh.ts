/**
 * Test support: build a mesh from Istio-style YAML and look at it the way the `endpoints` command
 * does (cli-contract). Tests read like the configurations Istio users write:
 *
 *   const r = endpoints(`
 *     apiVersion: networking.istio.io/v1
 *     kind: ServiceEntry
 *     ...`, { client: { namespace: 'ns1' } });
 *   assert.deepEqual(addresses(cluster(r, 'outbound|80||a.example.com')), ['1.1.1.1:80']);
 *
 * Objects are loaded with `loadConfig` (parse + validation + decode), so the configurations must be
 * valid; `objectsFrom` fails the test on any error finding.
 */
import assert from 'node:assert/strict';
import { registryFromObjects, viewSourcesOf } from '../../src/registry/offline-mesh.js';
import { endpointsReport, type ClusterReport, type EndpointsReport, type ServiceReport } from '../../src/status/endpoints-report.js';
import { loadConfig } from '../../src/model/config/load.js';
import type { ConfigObject } from '../../src/model/config/types.js';
import type { Registry } from '../../src/registry/registry.js';
import { clientCandidates, resolveClientProxy, type ClientProxyOptions } from '../../src/registry/view/client.js';
import { buildClusters, type ClusterView, type ViewFilter } from '../../src/registry/view/clusters.js';

/** Removes the common indentation of a template literal, so YAML can be indented with the code. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const min = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(min)).join('\n');
}

/** Joins YAML documents (each possibly indented) into one multi-document file. */
export function yamlDocs(...docs: readonly string[]): string {
  return docs.map((d) => dedent(d).trimEnd()).join('\n---\n') + '\n';
}

/** Loads the documents (one file per argument, named in order) and fails on any error finding. */
export function objectsFrom(...files: readonly string[]): ConfigObject[] {
  const loaded = loadConfig(files.map((text, i) => ({ path: `t${String(i).padStart(2, '0')}.yaml`, text: dedent(text) })));
  const errors = loaded.findings.filter((f) => f.severity === 'error');
  assert.deepEqual(errors, [], 'the test configuration must be valid');
  return loaded.objects;
}

export function registryFrom(...files: readonly string[]): Registry {
  return registryFromObjects(objectsFrom(...files));
}

export interface ReportOptions {
  readonly client?: ClientProxyOptions;
  readonly host?: string;
  readonly port?: number;
  readonly explain?: boolean;
}

function filterOf(o: ReportOptions): ViewFilter {
  return { ...(o.host !== undefined ? { host: o.host } : {}), ...(o.port !== undefined ? { port: o.port } : {}) };
}

/** The `endpoints` report for a configuration (one file) or a registry. */
export function endpoints(config: string | Registry, o: ReportOptions = {}): EndpointsReport {
  const registry = typeof config === 'string' ? registryFrom(config) : config;
  return endpointsReport(registry, o.client ?? { namespace: 'ns1' }, filterOf(o), o.explain ?? false);
}

/** The internal cluster views (with priorities, policies, ...) for a client. */
export function clusterViews(config: string | Registry, o: ReportOptions = {}): ClusterView[] {
  const registry = typeof config === 'string' ? registryFrom(config) : config;
  const client = resolveClientProxy(o.client ?? { namespace: 'ns1' }, clientCandidates(registry.workloads.list(), registry.services.list()));
  return buildClusters(viewSourcesOf(registry), client, filterOf(o));
}

/** The cluster with that name; fails the test when it is missing. */
export function cluster(r: EndpointsReport, name: string): ClusterReport {
  const c = r.clusters.find((x) => x.name === name);
  assert.ok(c, `cluster ${name} is missing; present: ${r.clusters.map((x) => x.name).join(', ') || '(none)'}`);
  return c;
}

export function clusterNames(r: EndpointsReport): string[] {
  return r.clusters.map((c) => c.name).sort();
}

/** The services entries for a host (and namespace); fails when there is none. */
export function service(r: EndpointsReport, host: string, namespace?: string): ServiceReport {
  const s = r.services.find((x) => x.host === host && (namespace === undefined || x.namespace === namespace));
  assert.ok(s, `service ${host}${namespace ? ` in ${namespace}` : ''} is missing`);
  return s;
}

export type ClusterEndpoint = ClusterReport['localities'][number]['endpoints'][number];

/** All endpoints of a cluster, in the order sent, whatever their locality group. */
export function sent(c: ClusterReport): ClusterEndpoint[] {
  return c.localities.flatMap((g) => g.endpoints);
}

/** `address:port` of each endpoint, in order. */
export function addresses(x: ClusterReport | readonly { address: string; port: number }[]): string[] {
  const list: readonly { address: string; port: number }[] = 'localities' in x ? sent(x) : x;
  return list.map((e) => `${e.address}:${e.port}`);
}

/** `address:port` of each endpoint, sorted (for multiset comparisons). */
export function sortedAddresses(x: ClusterReport | readonly { address: string; port: number }[]): string[] {
  return addresses(x).sort();
}

/** `source reason` of each exclusion, sorted. */
export function exclusions(x: { excluded?: readonly { source: string; reason: string }[] }): string[] {
  return (x.excluded ?? []).map((e) => `${e.source} ${e.reason}`).sort();
}

// ---- small builders for the objects most tests need ----

/** A WorkloadEntry document. `spec` and `extraMeta` are YAML fragments (without indentation). */
export function workloadEntry(name: string, namespace: string, spec: string, extraMeta = ''): string {
  return [
    'apiVersion: networking.istio.io/v1',
    'kind: WorkloadEntry',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    ...indent(dedent(extraMeta), 2),
    'spec:',
    ...indent(dedent(spec), 2),
  ].join('\n');
}

/** A running, Ready pod with an IP; `labels` and `spec` are YAML fragments. */
export function pod(name: string, namespace: string, ip: string, labels: string, spec = '', extra = ''): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    '  labels:',
    ...indent(dedent(labels), 4),
    ...indent(dedent(extra), 2),
    'spec:',
    ...indent(dedent(spec === '' ? 'containers:\n- name: app' : spec), 2),
    'status:',
    `  podIP: ${ip}`,
    '  phase: Running',
    '  conditions:',
    '  - type: Ready',
    '    status: "True"',
  ].join('\n');
}

function indent(text: string, n: number): string[] {
  if (text.trim() === '') return [];
  return text.trimEnd().split('\n').map((l) => ' '.repeat(n) + l);
}

export interface ServiceEntryOptions {
  readonly resolution?: 'STATIC' | 'DNS';
  /** `number/name/protocol` of the single port; default 80/http/HTTP. */
  readonly port?: { readonly number: number; readonly name: string; readonly protocol: string };
  /** The label value of `app` its workloadSelector selects; default the entry's name. */
  readonly app?: string;
}

/** A MESH_INTERNAL ServiceEntry for one host and port, selecting workloads labelled `app: <app>`. */
export function serviceEntry(name: string, namespace: string, host: string, o: ServiceEntryOptions = {}): string {
  const port = o.port ?? { number: 80, name: 'http', protocol: 'HTTP' };
  return [
    'apiVersion: networking.istio.io/v1',
    'kind: ServiceEntry',
    `metadata: {name: ${name}, namespace: ${namespace}}`,
    'spec:',
    `  hosts: [${host}]`,
    '  location: MESH_INTERNAL',
    `  ports: [{number: ${port.number}, name: ${port.name}, protocol: ${port.protocol}}]`,
    `  resolution: ${o.resolution ?? 'STATIC'}`,
    `  workloadSelector: {labels: {app: ${o.app ?? name}}}`,
  ].join('\n');
}

/** A DestinationRule; `spec` is a YAML fragment of its spec after `host` (without indentation). */
export function destinationRule(name: string, namespace: string, host: string, spec = ''): string {
  return ['apiVersion: networking.istio.io/v1', 'kind: DestinationRule', `metadata: {name: ${name}, namespace: ${namespace}}`, 'spec:', `  host: "${host}"`, ...indent(dedent(spec), 2)].join('\n');
}

/** The mesh's MeshConfig with `localityLbSetting` (a YAML flow value). */
export function meshLocalityConfig(localityLbSetting: string): string {
  return ['apiVersion: meshbridge.io/v1alpha1', 'kind: MeshConfig', 'metadata: {name: mesh}', 'spec:', `  localityLbSetting: ${localityLbSetting}`].join('\n');
}

/** MeshNetworks with one network whose endpoints are the addresses in `cidr`. */
export function meshNetworkFromCidr(network: string, cidr: string): string {
  return ['apiVersion: meshbridge.io/v1alpha1', 'kind: MeshNetworks', 'metadata: {name: networks}', 'spec:', '  networks:', `    ${network}:`, `      endpoints: [{fromCidr: ${cidr}}]`].join('\n');
}
