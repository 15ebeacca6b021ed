/**
 * Proxyless classes generated on demand (src/xds/generate/demand.ts): with `generateOnDemand`, a
 * class holds the hosts its streams requested by name, not every service. An optimisation only: after
 * every change each proxy must hold, for the hosts it asked for, byte for byte what a full generation
 * gives it, and nothing of other hosts; a wildcard request gives it everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectKey, type ConfigObject } from '../../src/model/config/types.js';
import { buildRegistry, createInputs, replaceInputs, type Registry } from '../../src/registry/registry.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { DEMAND_LIMIT, hostOfRequestedName } from '../../src/xds/generate/demand.js';
import { grpcGenerator } from '../../src/xds/generate/grpc-generator.js';
import { XdsPipeline } from '../../src/xds/generate/pipeline.js';
import type { ProxyIdentity } from '../../src/model/mesh/proxy-identity.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';
import { objectsFrom } from '../support/mesh.js';
import { testProxy } from '../support/proxy-identity.js';

function service(name: string, ns: string, o: { exportTo?: string } = {}): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${ns} }
spec:
  hosts: [${name}.example.com]
${o.exportTo ? `  exportTo: ["${o.exportTo}"]\n` : ''}  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: ${name} } }
`;
}

function entry(name: string, ns: string, app: string, address: string, o: { weight?: number; version?: string; zone?: string } = {}): string {
  return `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: ${ns} }
spec:
  address: ${address}
  locality: r1/${o.zone ?? 'z1'}
${o.weight ? `  weight: ${o.weight}\n` : ''}  labels: { app: ${app}, version: ${o.version ?? 'v1'} }
`;
}

const MESH = [
  service('s1', 'a'),
  service('s2', 'b'),
  service('s3', 'a', { exportTo: '.' }),
  entry('e1', 'a', 's1', '127.0.6.1', { version: 'v1' }),
  entry('e2', 'a', 's1', '127.0.6.2', { version: 'v2', zone: 'z2' }),
  entry('e3', 'b', 's2', '127.0.6.3'),
  entry('e4', 'a', 's3', '127.0.6.4'),
];

/** A DestinationRule and a VirtualService (exported to `a` only) that routes s1 to s2's cluster by weight. */
const POLICIES = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: s1, namespace: a }
spec:
  host: s1.example.com
  exportTo: ["."]
  trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: true } }, outlierDetection: { consecutive5xxErrors: 5 } }
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: s1, namespace: a }
spec:
  hosts: [s1.example.com]
  exportTo: ["."]
  http:
  - route:
    - { destination: { host: s1.example.com, subset: v2 }, weight: 70 }
    - { destination: { host: s2.example.com }, weight: 30 }
`;

function proxy(n: number, ns: string, zone: string): ProxyIdentity {
  return testProxy({ type: 'proxyless', ip: `127.0.9.${n}`, name: `p${n}`, namespace: ns, labels: { app: `c${n}` }, locality: { region: 'r1', zone, subZone: '' } });
}

const P1 = proxy(1, 'a', 'z1');
const P2 = proxy(2, 'a', 'z2');
const P3 = proxy(3, 'b', 'z1');
const PROXIES = [P1, P2, P3];
const TYPES = [LISTENER, ROUTE, CLUSTER, ENDPOINT];

type Resources = Record<string, Record<string, string>>;

/** One view's resources as content versions, by type and name; `keep` filters the names. */
function resourcesOf(cache: ResourceCache, view: string, keep: (typeUrl: string, name: string) => boolean = () => true): Resources {
  const out: Resources = {};
  for (const t of TYPES) {
    const snap = cache.current(view, t.typeUrl);
    const entries = snap ? [...snap.resources].filter(([n]) => keep(t.typeUrl, n)).map(([n, r]): [string, string] => [n, r.version]) : [];
    out[t.shortName] = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return out;
}

/** What a full generation (every class holds every visible service) gives each proxy, restricted to the hosts it asked for. */
function reference(registry: Registry, asked: readonly (ReadonlySet<string> | 'all')[]): Resources[] {
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator } });
  return PROXIES.map((p, i) => {
    const hosts = asked[i] ?? new Set<string>();
    return resourcesOf(cache, pipeline.viewOf(p), (typeUrl, name) => hosts === 'all' || hosts.has(hostOfRequestedName(typeUrl, name) ?? ''));
  });
}

test('proxyless classes generated on demand hold exactly the requested hosts, as a full generation gives them, through changes', async () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  let objects: ConfigObject[] = objectsFrom(...MESH);
  replaceInputs(inputs, objects);
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000, generateOnDemand: true });
  pipeline.start();
  try {
    const views = PROXIES.map((p) => pipeline.viewOf(p));
    const asked: (Set<string> | 'all')[] = PROXIES.map(() => new Set<string>());
    const request = (i: number, typeUrl: string, names: string[], wildcard = false): void => {
      pipeline.noteRequested(views[i] ?? '', typeUrl, names, wildcard);
      const set = asked[i];
      if (wildcard) asked[i] = 'all';
      else if (set !== 'all' && set !== undefined) for (const n of names) set.add(hostOfRequestedName(typeUrl, n) ?? '');
    };
    /**
     * Each proxy holds what it asked for, as a full generation gives it; it may hold more only of the
     * hosts another proxy of its class asked for (a class generates the union), and those as a full
     * generation gives them too.
     */
    const check = async (step: string): Promise<void> => {
      await pipeline.flush();
      const anyone = asked.includes('all') ? 'all' : new Set(asked.flatMap((a) => (a === 'all' ? [] : [...a])));
      const own = reference(registry, asked);
      const union = reference(registry, PROXIES.map(() => anyone));
      views.forEach((view, i) => {
        const got = resourcesOf(cache, view);
        for (const t of TYPES) {
          const name = t.shortName;
          const mine = own[i]?.[name] ?? {};
          assert.deepEqual(Object.fromEntries(Object.keys(mine).map((n) => [n, got[name]?.[n]])), mine, `${step}: p${i + 1} ${name}: what it asked for`);
          const full = union[i]?.[name] ?? {};
          for (const [n, v] of Object.entries(got[name] ?? {})) assert.equal(v, full[n], `${step}: p${i + 1} ${name} ${n}: only what some proxy asked for, as generated in full`);
        }
      });
    };
    const set = (...texts: string[]): void => {
      const changed = objectsFrom(...texts);
      const keys = new Set(changed.map(objectKey));
      objects = [...objects.filter((o) => !keys.has(objectKey(o))), ...changed];
      replaceInputs(inputs, objects);
    };

    await check('no request yet: nothing is generated');
    assert.equal(cache.current(views[0] ?? '', CLUSTER.typeUrl)?.resources.size ?? 0, 0);
    // Answered at once (no push): the request's hosts are generated before it is answered.
    request(0, LISTENER.typeUrl, ['s1.example.com:80']);
    assert.deepEqual([...(cache.current(views[0] ?? '', CLUSTER.typeUrl)?.resources.keys() ?? [])], ['outbound|80||s1.example.com']);
    request(2, CLUSTER.typeUrl, ['outbound|80||s2.example.com']);
    request(2, ENDPOINT.typeUrl, ['outbound|80||s2.example.com']);
    await check('p1 asked for s1, p3 for s2 (by its cluster)');
    request(0, ROUTE.typeUrl, ['s1.example.com:80']);
    request(0, LISTENER.typeUrl, ['s1.example.com:80', 'no-port.example.com', 'xds.istio.io/grpc/lds/inbound/127.0.9.1:80']);
    await check('ACKs repeat the names; names of no host are ignored');

    set(entry('e1', 'a', 's1', '127.0.6.1', { version: 'v1', weight: 9 }), entry('e3', 'b', 's2', '127.0.6.3', { weight: 4 }));
    await check('endpoint changes of demanded hosts');
    set(entry('e4', 'a', 's3', '127.0.6.4', { weight: 2 }));
    await check('an endpoint change of a host nobody asked for');

    request(1, LISTENER.typeUrl, ['s4.example.com:80']);
    await check('p2 asked for a host that does not exist yet');
    set(service('s4', 'a'), entry('e5', 'a', 's4', '127.0.6.5'));
    await check('the host appears: p2 gets it');

    set(POLICIES);
    await check('a DestinationRule and a VirtualService (namespace and locality now matter)');
    const route = cache.current(views[0] ?? '', ROUTE.typeUrl)?.resources.get('s1.example.com:80');
    assert.ok(route !== undefined && Buffer.from(route.any.value).includes('outbound|80||s2.example.com'), "s1's route sends to s2's cluster, which p1 did not ask for");
    request(0, CLUSTER.typeUrl, ['outbound|80|v2|s1.example.com', 'outbound|80||s2.example.com']);
    await check('p1 follows the route to s2');
    set(entry('e2', 'a', 's1', '127.0.6.2', { version: 'v2', zone: 'z2', weight: 5 }));
    await check('an endpoint change under the policies');

    request(2, LISTENER.typeUrl, [], true);
    await check('a wildcard request: p3 gets every service it sees');
    assert.ok((cache.current(views[2] ?? '', CLUSTER.typeUrl)?.resources.size ?? 0) >= 3);

    pipeline.release(views[1] ?? '');
    const again = pipeline.viewOf(P2);
    assert.equal(cache.current(again, LISTENER.typeUrl)?.resources.has('s4.example.com:80'), false, 'a view that comes back starts with no demand');
  } finally {
    await pipeline.stop();
  }
});

test('a view asking for more hosts than the limit is generated in full', async () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  replaceInputs(inputs, objectsFrom(...MESH));
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000, generateOnDemand: true });
  pipeline.start();
  try {
    const view = pipeline.viewOf(P3);
    pipeline.noteRequested(view, LISTENER.typeUrl, ['s2.example.com:80'], false);
    assert.equal(cache.current(view, CLUSTER.typeUrl)?.resources.size, 1);
    const names = Array.from({ length: DEMAND_LIMIT }, (_, k) => `nothing-${k}.example.com:80`);
    pipeline.noteRequested(view, LISTENER.typeUrl, names, false);
    // Namespace b sees s1 and s2 (s3 is exported to a only).
    assert.deepEqual([...(cache.current(view, CLUSTER.typeUrl)?.resources.keys() ?? [])].sort(), ['outbound|80||s1.example.com', 'outbound|80||s2.example.com']);
  } finally {
    await pipeline.stop();
  }
});

test('hostOfRequestedName reads the proxyless names and nothing else', () => {
  assert.equal(hostOfRequestedName(LISTENER.typeUrl, 'a.b.svc.cluster.local:8080'), 'a.b.svc.cluster.local');
  assert.equal(hostOfRequestedName(ROUTE.typeUrl, 'a.example.com:80'), 'a.example.com');
  assert.equal(hostOfRequestedName(LISTENER.typeUrl, 'xds.istio.io/grpc/lds/inbound/127.0.0.1:80'), undefined);
  assert.equal(hostOfRequestedName(LISTENER.typeUrl, 'no-port'), undefined);
  assert.equal(hostOfRequestedName(CLUSTER.typeUrl, 'outbound|80|v1|a.example.com'), 'a.example.com');
  assert.equal(hostOfRequestedName(ENDPOINT.typeUrl, 'outbound|80||a.example.com|mtls'), 'a.example.com');
  assert.equal(hostOfRequestedName(CLUSTER.typeUrl, 'inbound|80||a.example.com'), undefined);
  assert.equal(hostOfRequestedName(CLUSTER.typeUrl, 'outbound|80|'), undefined);
});
