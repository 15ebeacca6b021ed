/**
 * Test helpers for the xDS generators (Envoy and proxyless gRPC): a registry from YAML,
 * an Istio-style sidecar node, and the resources the push pipeline hands the cache for that node's
 * view, recorded by a fake sink (the same path `serve` uses: XdsPipeline.viewOf → generator).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import type { Cluster } from '../../src/gen/envoy/config/cluster/v3/cluster_pb.js';
import { NodeSchema } from '../../src/gen/envoy/config/core/v3/base_pb.js';
import type { ClusterLoadAssignment } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { Listener } from '../../src/gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../../src/gen/envoy/config/route/v3/route_pb.js';
import { registryFromObjects } from '../../src/registry/offline-mesh.js';
import { loadConfig, type SourceFile } from '../../src/model/config/load.js';
import type { Registry } from '../../src/registry/registry.js';
import type { ResourceSink } from '../../src/xds/cache/resource-cache.js';
import { proxyIdentityFromNode, type ProxyIdentity } from '../../src/model/mesh/proxy-identity.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';
import type { XdsResourceType } from '../../src/xds/types/resource-type.js';
import { XdsPipeline, type PipelineOptions } from '../../src/xds/generate/pipeline.js';
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

export interface SidecarOptions {
  readonly namespace: string;
  readonly ip?: string;
  readonly name?: string;
  readonly locality?: string;
  readonly network?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** The identity of an Envoy sidecar as istio-agent announces it (node id `sidecar~ip~name.ns~ns.svc.cluster.local`). */
export function sidecar(o: SidecarOptions): ProxyIdentity {
  const [region = '', zone = '', subZone = ''] = (o.locality ?? '').split('/');
  return proxyIdentityFromNode(
    create(NodeSchema, {
      id: `sidecar~${o.ip ?? ''}~${o.name ?? 'client'}.${o.namespace}~${o.namespace}.svc.cluster.local`,
      metadata: {
        NAMESPACE: o.namespace,
        ...(o.network !== undefined ? { NETWORK: o.network } : {}),
        ...(o.labels ? { LABELS: { ...o.labels } } : {}),
      },
      locality: { region, zone, subZone },
    }),
  );
}

/** The identity of a proxyless gRPC client (node id `proxyless~10.9.0.1~client.<ns>~...`, GENERATOR grpc). */
export function proxylessClient(namespace: string, locality = ''): ProxyIdentity {
  const [region = '', zone = '', subZone = ''] = locality.split('/');
  return proxyIdentityFromNode(
    create(NodeSchema, {
      id: `proxyless~10.9.0.1~client.${namespace}~${namespace}.svc.cluster.local`,
      metadata: { GENERATOR: 'grpc', NAMESPACE: namespace },
      locality: { region, zone, subZone },
    }),
  );
}

export interface EnvoyResources {
  readonly listeners: ReadonlyMap<string, Listener>;
  readonly routes: ReadonlyMap<string, RouteConfiguration>;
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly endpoints: ReadonlyMap<string, ClusterLoadAssignment>;
}

/** Generates the view of `proxy` through the push pipeline and returns what reached the cache. */
/** `requestedListeners`: the LDS names the proxy subscribes to (a proxyless server asks for its inbound listeners by name). */
export function generateFor(registry: Registry, proxy: ProxyIdentity, generators: PipelineOptions['generators'] = { envoy: envoyGenerator }, requestedListeners?: readonly string[]): EnvoyResources {
  // A recording sink: per view and type the resources as handed in; aliases resolved on read.
  const views = new Map<string, Map<string, Map<string, unknown>>>();
  const aliases = new Map<string, string>();
  const slot = (view: string, typeUrl: string): Map<string, unknown> => {
    let byType = views.get(view);
    if (!byType) views.set(view, (byType = new Map<string, Map<string, unknown>>()));
    let m = byType.get(typeUrl);
    if (!m) byType.set(typeUrl, (m = new Map<string, unknown>()));
    return m;
  };
  const sink: ResourceSink = {
    setResources(view, type, resources) {
      const m = slot(view, type.typeUrl);
      m.clear();
      for (const [name, r] of resources) m.set(name, r.message);
    },
    updateResources(view, type, upserts, removals) {
      const m = slot(view, type.typeUrl);
      for (const name of removals) m.delete(name);
      for (const [name, r] of upserts) m.set(name, r.message);
    },
    alias(view, target) {
      if (target === undefined) aliases.delete(view);
      else aliases.set(view, target);
    },
    dropView(view) {
      views.delete(view);
    },
  };
  const pipeline = new XdsPipeline({ registry, cache: sink, generators });
  const viewKey = pipeline.viewOf(proxy);
  if (requestedListeners !== undefined) pipeline.noteRequestedListeners(viewKey, requestedListeners);
  let resolved = viewKey;
  for (let i = 0; i < 10 && aliases.has(resolved); i++) resolved = aliases.get(resolved) ?? resolved;
  const get = <D extends DescMessage>(t: XdsResourceType<D>) => (views.get(resolved)?.get(t.typeUrl) ?? new Map()) as Map<string, MessageShape<D>>;
  return { listeners: get(LISTENER), routes: get(ROUTE), clusters: get(CLUSTER), endpoints: get(ENDPOINT) };
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
