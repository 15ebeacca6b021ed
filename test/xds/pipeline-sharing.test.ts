/**
 * The push pipeline shares configuration between views (classes keyed by the client attributes some
 * policy reads, per-service results memoised across classes) and applies service changes
 * incrementally. Both are optimisations only: after every change, every proxy's resources must be
 * byte for byte what a fresh, unshared, full generation gives it. The steps walk through what
 * makes labels, locality, network and namespace matter (DestinationRule workload selectors and
 * outlier detection, VirtualServices, network gateways, mesh distribute and failoverPriority, the
 * traffic-distribution annotation) and back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectKey, type ConfigObject } from '../../src/model/config/types.js';
import { buildRegistry, createInputs, replaceInputs, type Registry, type RegistryInputs } from '../../src/registry/registry.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import type { Generator } from '../../src/xds/generate/generator.js';
import { grpcGenerator } from '../../src/xds/generate/grpc-generator.js';
import { XdsPipeline } from '../../src/xds/generate/pipeline.js';
import type { ProxyIdentity } from '../../src/model/mesh/proxy-identity.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';
import { objectsFrom } from '../support/mesh.js';
import { testProxy } from '../support/proxy-identity.js';

const BASE = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: s1, namespace: a }
spec:
  hosts: [s1.example.com]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: s1 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: s2, namespace: b }
spec:
  hosts: [s2.example.com]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: s2 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: s3, namespace: a }
spec:
  hosts: [s3.example.com]
  exportTo: ["."]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: s3 } }
`;

function entry(name: string, ns: string, app: string, address: string, o: { locality?: string; network?: string; weight?: number; version?: string } = {}): string {
  return `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: ${ns} }
spec:
  address: ${address}
  serviceAccount: sa
  locality: ${o.locality ?? 'r1/z1'}
${o.network ? `  network: ${o.network}\n` : ''}${o.weight ? `  weight: ${o.weight}\n` : ''}  labels: { app: ${app}, version: ${o.version ?? 'v1'} }
`;
}

const ENTRIES = [
  entry('e1', 'a', 's1', '127.0.5.1', { locality: 'r1/z1', network: 'n1', version: 'v1' }),
  entry('e2', 'a', 's1', '127.0.5.2', { locality: 'r1/z2', network: 'n2', version: 'v2' }),
  entry('e3', 'a', 's1', '127.0.5.3', { locality: 'r2/z1', network: 'n1', version: 'v2' }),
  entry('e4', 'b', 's2', '127.0.5.4', { locality: 'r1/z1' }),
  entry('e5', 'b', 's2', '127.0.5.5', { locality: 'r2/z2' }),
  entry('e6', 'a', 's3', '127.0.5.6'),
];

const DR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: s1, namespace: a }
spec:
  host: s1.example.com
  workloadSelector: { matchLabels: { app: c1 } }
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s }
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;

const VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: s1, namespace: a }
spec:
  hosts: [s1.example.com]
  http:
  - route:
    - { destination: { host: s1.example.com, subset: v1 }, weight: 80 }
    - { destination: { host: s1.example.com, subset: v2 }, weight: 20 }
`;

const NETWORKS = `
apiVersion: meshbridge.io/v1alpha1
kind: MeshNetworks
metadata: { name: mesh-networks }
spec:
  networks:
    n1: { gateways: [{ address: 127.0.3.1, port: 15443 }] }
    n2: { gateways: [{ address: 127.0.3.2, port: 15443 }] }
`;

function meshConfig(lb: string): string {
  return `
apiVersion: meshbridge.io/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  localityLbSetting:
${lb}
`;
}

function proxy(n: number, ns: string, labels: Record<string, string>, zone: string, network?: string): ProxyIdentity {
  return testProxy({ type: 'proxyless', ip: `127.0.9.${n}`, name: `p${n}`, namespace: ns, labels, network: network || undefined, locality: { region: 'r1', zone, subZone: '' } });
}

const PROXIES = [
  proxy(1, 'a', { app: 'c1', pod: 'x1' }, 'z1', 'n1'),
  proxy(2, 'a', { app: 'c1', pod: 'x2' }, 'z2', 'n1'),
  proxy(3, 'a', { app: 'c2', pod: 'x3' }, 'z1', 'n2'),
  proxy(4, 'b', { app: 'c1', pod: 'x4' }, 'z1', 'n1'),
  proxy(5, 'b', { app: 'c3', pod: 'x5' }, 'z2'),
];

const TYPES = [LISTENER, ROUTE, CLUSTER, ENDPOINT];

/** Every proxy's resources as content versions, by type and name. */
function resourcesOf(cache: ResourceCache, views: readonly string[]): Record<string, Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, Record<string, string>>> = {};
  views.forEach((view, i) => {
    const byType: Record<string, Record<string, string>> = {};
    for (const t of TYPES) {
      const snap = cache.current(view, t.typeUrl);
      const entries: [string, string][] = snap ? [...snap.resources].map(([n, r]) => [n, r.version]) : [];
      byType[t.shortName] = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    out[`p${i + 1}`] = byType;
  });
  return out;
}

/** A fresh, unshared, full generation for the same registry state (the reference). */
function reference(registry: Registry): Record<string, Record<string, Record<string, string>>> {
  const cache = new ResourceCache();
  const unshared: Generator = { forService: (ctx, service, sources, byHost) => grpcGenerator.forService(ctx, service, sources, byHost) };
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: unshared } });
  const views = PROXIES.map((p) => pipeline.viewOf(p));
  return resourcesOf(cache, views);
}

test('shared classes and incremental pushes give every proxy exactly what a fresh unshared generation gives it', async () => {
  const inputs: RegistryInputs = createInputs();
  const registry = buildRegistry(inputs);
  let objects: ConfigObject[] = objectsFrom(BASE, ...ENTRIES);
  replaceInputs(inputs, objects);
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000 });
  pipeline.start();
  try {
    const views = PROXIES.map((p) => pipeline.viewOf(p));
    /** Compares with the reference; returns how many distinct configurations the proxies have. */
    const check = async (step: string): Promise<number> => {
      await pipeline.flush();
      const got = resourcesOf(cache, views);
      assert.deepEqual(got, reference(registry), step);
      return new Set(Object.values(got).map((r) => JSON.stringify(r))).size;
    };
    const set = (...texts: string[]): void => {
      const changed = objectsFrom(...texts);
      const keys = new Set(changed.map(objectKey));
      objects = [...objects.filter((o) => !keys.has(objectKey(o))), ...changed];
      replaceInputs(inputs, objects);
    };
    const remove = (...keys: string[]): void => {
      const before = objects.length;
      objects = objects.filter((o) => !keys.includes(objectKey(o)));
      assert.equal(before - objects.length, keys.length, `removed ${keys.join(', ')}`);
      replaceInputs(inputs, objects);
    };
    assert.equal(await check('base'), 2, 'namespaces a and b differ (s3 is exported to a only)');
    set(entry('e1', 'a', 's1', '127.0.5.1', { locality: 'r1/z1', network: 'n1', weight: 7 }));
    await check('a weight changed (incremental)');
    set(entry('e7', 'b', 's2', '127.0.5.7', { locality: 'r2/z1' }));
    remove('WorkloadEntry/b/e5');
    await check('an entry added and one removed');
    set(entry('e6', 'a', 's3-moved', '127.0.5.6'));
    await check('an entry leaves its service by its labels (s3 has no endpoint left)');
    set(DR);
    assert.equal(await check('a DestinationRule with a workload selector, outlier detection and subsets'), 4, 'in a, c1 proxies in z1 and z2 and the c2 proxy differ');
    set(entry('e2', 'a', 's1', '127.0.5.2', { locality: 'r1/z2', network: 'n2', version: 'v1', weight: 3 }));
    await check('an entry of the ruled service changed');
    set(VS);
    await check('a VirtualService');
    set(NETWORKS);
    assert.equal(await check('network gateways'), 5, 'every proxy differs');
    set(entry('e3', 'a', 's1', '127.0.5.3', { locality: 'r2/z1', network: 'n2', version: 'v2' }));
    await check('an entry moved network');
    set(meshConfig('    enabled: true\n    distribute:\n    - from: "r1/*"\n      to: { "r1/z1": 70, "r2/*": 30 }'));
    await check('mesh distribute');
    set(meshConfig('    enabled: true\n    failoverPriority: [topology.istio.io/network, app]'));
    await check('mesh failoverPriority');
    remove('DestinationRule/a/s1', 'VirtualService/a/s1', 'MeshNetworks/mesh-networks', 'MeshConfig/mesh');
    assert.equal(await check('policies removed (classes merge back)'), 2);
    set(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: s2
  namespace: b
  annotations: { networking.istio.io/traffic-distribution: PreferClose }
spec:
  hosts: [s2.example.com]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: s2 } }
`);
    await check('a service annotated with traffic-distribution');
    set(entry('e4', 'b', 's2', '127.0.5.4', { locality: 'r1/z2', weight: 9 }));
    await check('an entry of the annotated service changed');
  } finally {
    await pipeline.stop();
  }
});

test('views with the same relevant attributes share one snapshot; a change is generated once', async () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  const objects = objectsFrom(BASE, ...ENTRIES);
  replaceInputs(inputs, objects);
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000 });
  pipeline.start();
  let rebuilt = 0;
  try {
    const views = PROXIES.map((p) => pipeline.viewOf(p));
    assert.equal(new Set(views).size, PROXIES.length, 'every proxy has its own view');
    const a = views.filter((_, i) => PROXIES[i]?.namespace === 'a');
    // No policy reads labels, locality or network: the namespace alone decides.
    assert.ok(a.every((v) => cache.current(v, ENDPOINT.typeUrl) === cache.current(a[0] ?? '', ENDPOINT.typeUrl)));
    assert.notEqual(cache.current(views[0] ?? '', ENDPOINT.typeUrl), cache.current(views[3] ?? '', ENDPOINT.typeUrl), 'namespaces b and a differ (s3 is exported to a only)');
    const p2 = new XdsPipeline({ registry, cache: new ResourceCache(), generators: { grpc: grpcGenerator }, debounceMs: 60_000, onPush: (i) => (rebuilt += i.regeneratedServices) });
    p2.start();
    PROXIES.forEach((p) => p2.viewOf(p));
    replaceInputs(inputs, [...objects.filter((o) => objectKey(o) !== 'WorkloadEntry/b/e4'), ...objectsFrom(entry('e4', 'b', 's2', '127.0.5.4', { weight: 5 }))]);
    await p2.flush();
    await p2.stop();
    assert.equal(rebuilt, 1, 's2 is regenerated once for both namespaces');
  } finally {
    await pipeline.stop();
  }
});

test('a VirtualService makes the namespace matter only for the hosts it names: a change of another service is generated once for every namespace', async () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  const open = BASE.split('---').filter((d) => !d.includes('name: s3')).join('---');
  const routeS1 = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: s1-timeout, namespace: a }
spec:
  hosts: [s1.example.com]
  exportTo: ["."]
  http: [{ timeout: 3s, route: [{ destination: { host: s1.example.com } }] }]
`;
  let objects = objectsFrom(open, routeS1, ...ENTRIES.slice(0, 5));
  replaceInputs(inputs, objects);
  let rebuilt = 0;
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000, onPush: (i) => (rebuilt += i.regeneratedServices) });
  pipeline.start();
  try {
    const views = PROXIES.map((p) => pipeline.viewOf(p));
    const change = async (name: string, ns: string, app: string, address: string, weight: number): Promise<number> => {
      objects = [...objects.filter((o) => objectKey(o) !== `WorkloadEntry/${ns}/${name}`), ...objectsFrom(entry(name, ns, app, address, { weight }))];
      replaceInputs(inputs, objects);
      rebuilt = 0;
      await pipeline.flush();
      assert.deepEqual(resourcesOf(cache, views), reference(registry), `after ${name}'s weight ${weight}`);
      return rebuilt;
    };
    assert.equal(await change('e4', 'b', 's2', '127.0.5.4', 5), 1, 's2 (no VirtualService names it) is regenerated once for namespaces a and b');
    assert.equal(await change('e1', 'a', 's1', '127.0.5.1', 5), 2, 's1 (its VirtualService is exported to a only) is regenerated once per namespace');
  } finally {
    await pipeline.stop();
  }
});

test('with every service exported everywhere the namespace does not matter, until a service or a host says otherwise', async () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  const open = BASE.split('---').filter((d) => !d.includes('name: s3')).join('---');
  let objects = objectsFrom(open, ...ENTRIES.slice(0, 5));
  replaceInputs(inputs, objects);
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000 });
  pipeline.start();
  try {
    const views = PROXIES.map((p) => pipeline.viewOf(p));
    const distinct = (): number => new Set(views.map((v) => cache.current(v, ENDPOINT.typeUrl))).size;
    const check = async (step: string): Promise<void> => {
      await pipeline.flush();
      assert.deepEqual(resourcesOf(cache, views), reference(registry), step);
    };
    assert.equal(distinct(), 1, 'one snapshot for all five proxies');
    await check('open mesh');
    objects = [...objects, ...objectsFrom(BASE.split('---').find((d) => d.includes('name: s3')) ?? '', ENTRIES[5] ?? '')];
    replaceInputs(inputs, objects);
    await check('a service exported to its namespace only');
    assert.equal(distinct(), 2);
    const twin = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: s2-local, namespace: a }
spec:
  hosts: [s2.example.com]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: s1 } }
`;
    objects = [...objects.filter((o) => objectKey(o) !== 'ServiceEntry/a/s3'), ...objectsFrom(twin)];
    replaceInputs(inputs, objects);
    await check('a host defined in two namespaces (each namespace prefers its own)');
    assert.equal(distinct(), 2);
    objects = objects.filter((o) => objectKey(o) !== 'ServiceEntry/a/s2-local');
    replaceInputs(inputs, objects);
    await check('back to an open mesh');
    assert.equal(distinct(), 1);
  } finally {
    await pipeline.stop();
  }
});

test('released views leave their class; the last one drops it, and proxies that come back get a fresh one', async () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  replaceInputs(inputs, objectsFrom(BASE, ...ENTRIES, DR));
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000 });
  pipeline.start();
  try {
    const views = PROXIES.map((p) => pipeline.viewOf(p));
    const again = pipeline.viewOf(PROXIES[0] as ProxyIdentity);
    assert.equal(again, views[0], 'a second stream of a proxy joins its view');
    for (const v of views) pipeline.release(v);
    assert.ok(cache.current(views[0] ?? '', ENDPOINT.typeUrl), 'the first proxy still has a stream');
    pipeline.release(again);
    for (const v of views) assert.equal(cache.current(v, ENDPOINT.typeUrl), undefined);
    assert.equal(pipeline.viewSpecs().length, 0);
    const back = PROXIES.map((p) => pipeline.viewOf(p));
    await pipeline.flush();
    assert.deepEqual(resourcesOf(cache, back), reference(registry));
  } finally {
    await pipeline.stop();
  }
});

test('a DestinationRule private to its namespace makes only that namespace\'s classes generate its host apart (DRS-1, DRS-4)', async () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  const open = BASE.split('---').filter((d) => !d.includes('name: s3')).join('---');
  const privateRule = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: s1-private, namespace: a }
spec:
  host: s1.example.com
  exportTo: ["."]
  trafficPolicy:
    loadBalancer: { localityLbSetting: { enabled: true } }
    outlierDetection: { consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s }
`;
  let objects = objectsFrom(open, privateRule, ...ENTRIES.slice(0, 5));
  replaceInputs(inputs, objects);
  let rebuilt = 0;
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000, onPush: (i) => (rebuilt += i.regeneratedServices) });
  pipeline.start();
  try {
    const views = PROXIES.map((p) => pipeline.viewOf(p));
    // Namespace and locality matter (a rule exists): a|z1 (p1, p3), a|z2 (p2), b|z1 (p4), b|z2 (p5).
    assert.equal(new Set(views.map((v) => cache.current(v, CLUSTER.typeUrl))).size, 4);
    const change = async (name: string, ns: string, app: string, address: string, weight: number, locality: string): Promise<number> => {
      objects = [...objects.filter((o) => objectKey(o) !== `WorkloadEntry/${ns}/${name}`), ...objectsFrom(entry(name, ns, app, address, { weight, locality }))];
      replaceInputs(inputs, objects);
      rebuilt = 0;
      await pipeline.flush();
      assert.deepEqual(resourcesOf(cache, views), reference(registry), `after ${name}'s weight ${weight}`);
      return rebuilt;
    };
    assert.equal(await change('e1', 'a', 's1', '127.0.5.1', 5, 'r1/z1'), 3, "s1 is generated for each of a's two classes, and once for b's (the rule is a's only)");
    assert.equal(await change('e4', 'b', 's2', '127.0.5.4', 5, 'r1/z1'), 1, 's2 (no rule) is generated once');
  } finally {
    await pipeline.stop();
  }
});
