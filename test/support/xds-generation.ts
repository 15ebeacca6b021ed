/**
 * Test helpers for the xDS generators (Envoy and proxyless gRPC): a registry from YAML,
 * an Istio-style sidecar node, and the resources the push pipeline hands the cache for that node's
 * view (offline-view.ts: the same path `serve` uses, XdsPipeline.viewOf → generator).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { registryFromObjects } from '../../src/registry/offline-mesh.js';
import { loadConfig, type SourceFile } from '../../src/model/config/load.js';
import type { Registry } from '../../src/registry/registry.js';
import type { ProxyIdentity } from '../../src/model/mesh/proxy-identity.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';
import type { XdsResourceType } from '../../src/xds/types/resource-type.js';
import type { PipelineOptions } from '../../src/xds/generate/pipeline.js';
import { OfflineGenerator, type GeneratedResources } from '../../src/xds/generate/offline-view.js';
import { offlineProxyIdentity, type OfflineProxy } from '../../src/model/mesh/offline-proxy.js';
import { ENVOY_TYPE_REGISTRY, envoyGenerator } from '../../src/xds/generate/envoy/index.js';
import { PROJECT_ROOT } from './paths.js';

export function exampleFiles(): SourceFile[] {
  const dir = join(PROJECT_ROOT, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ path: join('examples', f), text: readFileSync(join(dir, f), 'utf8') }));
}

/** A registry from one YAML text (several documents). */
export function registryOfYaml(text: string): Registry {
  return registryOf([{ path: 'test.yaml', text }]);
}

/** A registry from files; throws when an object is refused (tests must not silently lose input). */
export function registryOf(files: readonly SourceFile[]): Registry {
  const loaded = loadConfig(files);
  const errors = loaded.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) throw new Error(`invalid test configuration: ${JSON.stringify(errors)}`);
  return registryFromObjects(loaded.objects);
}

export type SidecarOptions = Omit<OfflineProxy, 'kind'>;

/** The identity of an Envoy sidecar as istio-agent announces it (node id `sidecar~ip~name.ns~ns.svc.cluster.local`). */
export function sidecar(o: SidecarOptions): ProxyIdentity {
  return offlineProxyIdentity({ kind: 'envoy', ...o });
}

/** The identity of a proxyless gRPC client (node id `proxyless~10.9.0.1~client.<ns>~...`, GENERATOR grpc). */
export function proxylessClient(namespace: string, locality = ''): ProxyIdentity {
  return offlineProxyIdentity({ kind: 'grpc', namespace, ip: '10.9.0.1', locality });
}

export type EnvoyResources = GeneratedResources;

/** Generates the view of `proxy` through the push pipeline and returns what reached the cache. */
/** `requestedListeners`: the LDS names the proxy subscribes to (a proxyless server asks for its inbound listeners by name). */
export function generateFor(registry: Registry, proxy: ProxyIdentity, generators: PipelineOptions['generators'] = { envoy: envoyGenerator }, requestedListeners?: readonly string[]): EnvoyResources {
  return new OfflineGenerator(registry, generators).generate(proxy, requestedListeners);
}

/** Every resource with its type descriptor, in a stable order (type, then name). */
export function allResources(r: EnvoyResources): { type: XdsResourceType; name: string; message: MessageShape<DescMessage> }[] {
  const out: { type: XdsResourceType; name: string; message: MessageShape<DescMessage> }[] = [];
  const add = <D extends DescMessage>(type: XdsResourceType<D>, m: ReadonlyMap<string, MessageShape<D>>) => {
    for (const name of [...m.keys()].sort()) out.push({ type, name, message: m.get(name) as MessageShape<DescMessage> });
  };
  add(CLUSTER, r.clusters);
  add(ENDPOINT, r.endpoints);
  add(LISTENER, r.listeners);
  add(ROUTE, r.routes);
  return out;
}

/** `@type` first in every packed Any, for reading (protobuf-es writes it last). */
function typeFirst(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(typeFirst);
  if (typeof v !== 'object' || v === null) return v;
  const entries = Object.entries(v).map(([k, x]): [string, JsonValue] => [k, typeFirst(x)]);
  return Object.fromEntries([...entries.filter(([k]) => k === '@type'), ...entries.filter(([k]) => k !== '@type')]);
}

/** The golden form: one JSON array per xDS type, each resource in protobuf JSON, sorted by name. */
export function goldenJson(r: EnvoyResources): JsonValue {
  const out: Record<string, JsonValue[]> = { clusters: [], endpoints: [], listeners: [], routes: [] };
  const key: Record<string, string> = { CDS: 'clusters', EDS: 'endpoints', LDS: 'listeners', RDS: 'routes' };
  for (const { type, message } of allResources(r)) out[key[type.shortName] ?? type.shortName]?.push(typeFirst(toJson(type.schema, message, { registry: ENVOY_TYPE_REGISTRY })));
  return out;
}

/** The Envoy configuration of a few example proxies, the subjects of the golden files. */
export const GOLDEN_PROXIES: Readonly<Record<string, SidecarOptions>> = {
  // (a) a sidecar in vm-demo: sees svc1 (subsets, VirtualService), the unix-socket service, ratings.
  'sidecar-vm-demo': { namespace: 'vm-demo', ip: '10.20.0.5', name: 'sleep-6d9f' },
  // (b) a sidecar in bookinfo, in network-1 and the VM's failure domain (L-4 priorities, N-3/N-4 gateways).
  'sidecar-bookinfo-network-1': { namespace: 'bookinfo', ip: '10.20.0.6', name: 'productpage-7c4b', locality: 'us-east1/us-east1-b/rack-1', network: 'network-1' },
  // (c) the details VM's own sidecar: its IP is WorkloadEntry bookinfo/details-svc (inbound 80 -> 8080).
  'details-vm': { namespace: 'bookinfo', ip: '127.0.2.20', name: 'details-vm' },
  // (d) a sidecar in bookinfo-dns: sees its own DNS details.bookinfo.com (STRICT_DNS, C-3/C-4/C-7).
  'sidecar-bookinfo-dns': { namespace: 'bookinfo-dns', ip: '10.20.0.7', name: 'reviews-5f7d' },
};
