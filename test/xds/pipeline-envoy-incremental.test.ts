/**
 * Issue 15 (bench S6): an Envoy view's shared part (outbound listeners and routes, the inbound
 * listeners of its own workloads) is rebuilt only when a service's definition or the set of
 * workloads behind a host changed, not on every endpoint change. After every step the view's
 * resources are exactly those of a fresh full generation, and the shared part was built only for
 * the steps that need it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectKey, type ConfigObject } from '../../src/model/config/types.js';
import { buildRegistry, createInputs, replaceInputs, type Registry, type RegistryInputs } from '../../src/registry/registry.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { envoyGenerator } from '../../src/xds/generate/envoy/index.js';
import type { Generator } from '../../src/xds/generate/generator.js';
import { XdsPipeline } from '../../src/xds/generate/pipeline.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';
import { objectsFrom } from '../support/mesh.js';
import { testProxy } from '../support/proxy-identity.js';
import { viewResources } from '../support/view-resources.js';

function service(name: string, ports: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: a }
spec:
  hosts: [${name}.example.com]
  location: MESH_INTERNAL
  ports: [${ports}]
  resolution: STATIC
  workloadSelector: { labels: { app: ${name} } }
`;
}

function entry(name: string, address: string, app: string, weight: number): string {
  return `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: a }
spec:
  address: ${address}
  weight: ${weight}
  labels: { app: ${app} }
`;
}

const HTTP80 = '{ number: 80, name: http, protocol: HTTP }';
const TCP9000 = '{ number: 9000, name: tcp, protocol: TCP }';
/** A sidecar on e1's address: its view owns e1 (inbound listeners for s1's port). */
const OWNER = testProxy({ type: 'sidecar', ip: '127.0.6.1', name: 'e1', namespace: 'a', labels: { app: 's1' } });
/** A sidecar on no workload's address. */
const CLIENT = testProxy({ type: 'sidecar', ip: '127.0.7.1', name: 'c1', namespace: 'a', labels: { app: 'c1' } });


function reference(registry: Registry, proxy: typeof OWNER): Record<string, Record<string, string>> {
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: envoyGenerator } });
  return viewResources(cache, pipeline.viewOf(proxy));
}

test('Envoy views: endpoint changes skip the shared part; definition and membership changes rebuild it (incremental push = full generation)', async () => {
  const inputs: RegistryInputs = createInputs();
  const registry = buildRegistry(inputs);
  let objects: ConfigObject[] = objectsFrom(service('s1', HTTP80), service('s2', HTTP80), entry('e1', '127.0.6.1', 's1', 1), entry('e2', '127.0.6.2', 's2', 1));
  replaceInputs(inputs, objects);
  let sharedBuilds = 0;
  // The real generator, its shared part counted; without its sharedKey, so that every time the
  // pipeline asks for a shared part it is built (the memo is tested below).
  const counted: Generator = {
    forService: (ctx, service, sources, byHost) => envoyGenerator.forService(ctx, service, sources, byHost),
    outbound: (ctx, byHost) => (envoyGenerator.outbound as NonNullable<Generator['outbound']>)(ctx, byHost),
    perServiceAcrossViews: true,
    shared: (ctx, winners) => {
      sharedBuilds++;
      return (envoyGenerator.shared as NonNullable<Generator['shared']>)(ctx, winners);
    },
  };
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: counted }, debounceMs: 60_000 });
  pipeline.start();
  try {
    const owner = pipeline.viewOf(OWNER);
    const client = pipeline.viewOf(CLIENT);
    const set = (...texts: string[]): void => {
      const changed = objectsFrom(...texts);
      const keys = new Set(changed.map(objectKey));
      objects = [...objects.filter((o) => !keys.has(objectKey(o))), ...changed];
      replaceInputs(inputs, objects);
    };
    /** Pushes, checks both views against a fresh generation, returns the shared builds of the push. */
    const step = async (name: string): Promise<number> => {
      const before = sharedBuilds;
      await pipeline.flush();
      assert.deepEqual(viewResources(cache, owner), reference(registry, OWNER), `${name}: the owner's view`);
      assert.deepEqual(viewResources(cache, client), reference(registry, CLIENT), `${name}: the client's view`);
      return sharedBuilds - before;
    };
    await step('initial');
    const ownerListeners = cache.current(owner, LISTENER.typeUrl)?.resources;
    const sharedListeners = [...(cache.current(client, LISTENER.typeUrl)?.resources ?? [])].filter(([name, r]) => ownerListeners?.get(name) === r);
    assert.ok(sharedListeners.length > 0, 'the outbound listeners are built and encoded once for both sidecars (Generator.outbound)');
    const listenersBefore = cache.current(client, LISTENER.typeUrl)?.version;
    const endpointsBefore = cache.current(client, ENDPOINT.typeUrl)?.version;

    set(entry('e2', '127.0.6.2', 's2', 7));
    assert.equal(await step('a weight changes'), 0, 'no shared part rebuilt for an endpoint weight');
    assert.notEqual(cache.current(client, ENDPOINT.typeUrl)?.version, endpointsBefore, 'the endpoints were pushed');
    assert.equal(cache.current(client, LISTENER.typeUrl)?.version, listenersBefore, 'the listeners did not change');

    set(service('s2', `${HTTP80}, ${TCP9000}`));
    assert.equal(await step('a port is added to s2'), 2, 'both views rebuild their shared part');
    assert.notEqual(cache.current(client, LISTENER.typeUrl)?.version, listenersBefore, 'the new port has a listener');

    set(entry('e3', '127.0.6.3', 's2', 1));
    assert.equal(await step('another workload joins s2'), 0, 'a workload of another view joining changes no shared part');

    set(service('s2', `${HTTP80}, ${TCP9000}`).replace('app: s2', 'app: s1'));
    assert.equal(await step("s2 now selects the owner's workload (same definition)"), 1, "only the owner's view rebuilds (its inbound side)");

    set(service('s3', TCP9000).replace('app: s3', 'app: s1'));
    assert.equal(await step('a new service selects the owner\'s workload'), 2, 'a new host: every shared part');
  } finally {
    await pipeline.stop();
  }
});

/** A sidecar on e2's address: a class of its own (it owns e2), the same relevance class as OWNER. */
const OTHER_OWNER = testProxy({ type: 'sidecar', ip: '127.0.6.2', name: 'e2', namespace: 'a', labels: { app: 's2' } });

test('sidecars with different own workloads read one EDS and RDS slot; an endpoint change reaches both, an own workload change only its sidecar’s LDS and CDS', async () => {
  const inputs: RegistryInputs = createInputs();
  const registry = buildRegistry(inputs);
  let objects: ConfigObject[] = objectsFrom(service('s1', HTTP80), service('s2', HTTP80), service('s3', TCP9000), entry('e1', '127.0.6.1', 's1', 1), entry('e2', '127.0.6.2', 's2', 1));
  replaceInputs(inputs, objects);
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: envoyGenerator }, debounceMs: 60_000 });
  pipeline.start();
  const set = (text: string): void => {
    const changed = objectsFrom(text);
    const keys = new Set(changed.map(objectKey));
    objects = [...objects.filter((o) => !keys.has(objectKey(o))), ...changed];
    replaceInputs(inputs, objects);
  };
  /** Arms a watch on every (view, type) and returns the ones that fired after the push. */
  const pushAndSeeWhatFired = async (views: Record<string, string>): Promise<string[]> => {
    const fired: string[] = [];
    const cancels: (() => void)[] = [];
    for (const [who, view] of Object.entries(views)) {
      for (const type of [CLUSTER, ENDPOINT, LISTENER, ROUTE]) {
        cancels.push(cache.watch(view, type.typeUrl, cache.current(view, type.typeUrl)?.version, () => fired.push(`${who} ${type.shortName}`)));
      }
    }
    await pipeline.flush();
    await new Promise((resolve) => setImmediate(resolve));
    for (const cancel of cancels) cancel();
    for (const [who, view] of Object.entries(views)) {
      const proxy = who === 'owner' ? OWNER : OTHER_OWNER;
      assert.deepEqual(viewResources(cache, view), reference(registry, proxy), `${who}: the view equals a fresh full generation`);
    }
    return fired.sort();
  };
  try {
    const owner = pipeline.viewOf(OWNER);
    const other = pipeline.viewOf(OTHER_OWNER);
    await pipeline.flush();
    for (const type of [ENDPOINT, ROUTE]) {
      const mine = cache.current(owner, type.typeUrl);
      assert.ok(mine !== undefined && mine.resources.size > 0, `${type.shortName} is generated`);
      assert.equal(cache.current(other, type.typeUrl), mine, `${type.shortName}: one snapshot object, one version for both sidecars`);
    }
    for (const type of [CLUSTER, LISTENER]) {
      assert.equal(cache.current(owner, type.typeUrl), cache.current(other, type.typeUrl), `${type.shortName}: their inbound sides are alike (port 80, HTTP): one own-part slot`);
    }

    set(entry('e2', '127.0.6.2', 's2', 7));
    assert.deepEqual(await pushAndSeeWhatFired({ owner, other }), ['other EDS', 'owner EDS'], 'an endpoint weight reaches both, once, and nothing else');
    assert.equal(cache.current(owner, ENDPOINT.typeUrl), cache.current(other, ENDPOINT.typeUrl), 'still one snapshot');

    set(entry('e1', '127.0.6.1', 's3', 1));
    const fired = await pushAndSeeWhatFired({ owner, other });
    assert.deepEqual(
      fired.filter((f) => f.endsWith('LDS') || f.endsWith('CDS')),
      ['owner CDS', 'owner LDS'],
      'e1 now serves s3 (port 9000): only its own sidecar gets new inbound listeners and clusters',
    );
    assert.ok(fired.includes('other EDS') && fired.includes('owner EDS'), "s1's and s3's endpoints changed for both");
    assert.notEqual(cache.current(owner, LISTENER.typeUrl), cache.current(other, LISTENER.typeUrl), 'LDS: the inbound sides differ now: two own-part slots');

    pipeline.release(owner);
    set(entry('e2', '127.0.6.2', 's2', 3));
    assert.deepEqual(await pushAndSeeWhatFired({ other }), ['other EDS'], 'the shared slot outlives a class that left');
  } finally {
    await pipeline.stop();
  }
});

test('a host change is generated once per relevance class, not once per sidecar class (even for a host with a DestinationRule)', async () => {
  const inputs: RegistryInputs = createInputs();
  const registry = buildRegistry(inputs);
  const rule = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: s2, namespace: a }\nspec: { host: s2.example.com, trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } } }';
  replaceInputs(inputs, objectsFrom(service('s1', HTTP80), service('s2', HTTP80), rule, entry('e1', '127.0.6.1', 's1', 1), entry('e2', '127.0.6.2', 's2', 1)));
  const built: string[] = [];
  const counted: Generator = {
    ...envoyGenerator,
    forService: (ctx, service, sources, winners) => {
      built.push(service.host);
      return envoyGenerator.forService(ctx, service, sources, winners);
    },
  };
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: counted }, debounceMs: 60_000 });
  pipeline.start();
  try {
    const proxies = [OWNER, OTHER_OWNER, CLIENT];
    const views = proxies.map((proxy) => ({ proxy, view: pipeline.viewOf(proxy) }));
    await pipeline.flush();
    assert.deepEqual(built.sort(), ['s1.example.com', 's2.example.com'], 'three sidecar classes, one relevance class: each service built once');
    built.length = 0;
    replaceInputs(inputs, objectsFrom(service('s1', HTTP80), service('s2', HTTP80), rule, entry('e1', '127.0.6.1', 's1', 1), entry('e2', '127.0.6.2', 's2', 5)));
    await pipeline.flush();
    assert.deepEqual(built, ['s2.example.com'], 'the changed host (DestinationRule-ruled, memoised per class before) is built once for all three');
    for (const { proxy, view } of views) {
      assert.deepEqual(viewResources(cache, view), reference(registry, proxy), 'every view equals a fresh full generation');
    }
  } finally {
    await pipeline.stop();
  }
});

test('sidecar classes of one relevance class made in one push generation write the shared EDS and RDS once; after a push and with a class made after it, every view equals a fresh generation', async () => {
  const inputs: RegistryInputs = createInputs();
  const registry = buildRegistry(inputs);
  let objects = objectsFrom(service('s1', HTTP80), service('s2', HTTP80), entry('e1', '127.0.6.1', 's1', 1), entry('e2', '127.0.6.2', 's2', 1));
  replaceInputs(inputs, objects);
  const sharedWrites: string[] = [];
  class CountingCache extends ResourceCache {
    override setResources(...args: Parameters<ResourceCache['setResources']>): void {
      const [view, type] = args;
      if (view.startsWith('shared|') && !view.includes('|own:')) sharedWrites.push(type.shortName); // not the own-part slots
      super.setResources(...args);
    }
  }
  const cache = new CountingCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: envoyGenerator }, debounceMs: 60_000 });
  pipeline.start();
  try {
    const owner = pipeline.viewOf(OWNER);
    const other = pipeline.viewOf(OTHER_OWNER);
    assert.deepEqual(sharedWrites.sort(), ['EDS', 'RDS'], 'the second class reads what the first wrote');
    replaceInputs(inputs, (objects = [...objects.filter((o) => objectKey(o) !== 'WorkloadEntry/a/e2'), ...objectsFrom(entry('e2', '127.0.6.2', 's2', 5))]));
    await pipeline.flush();
    const client = pipeline.viewOf(CLIENT);
    for (const [view, proxy] of [[owner, OWNER], [other, OTHER_OWNER], [client, CLIENT]] as const) {
      assert.deepEqual(viewResources(cache, view), reference(registry, proxy), `${proxy.id}: the view equals a fresh full generation`);
    }
  } finally {
    await pipeline.stop();
  }
});

test('sidecars with the same inbound side build it once (Generator.sharedKey); a policy change builds it again', async () => {
  const inputs: RegistryInputs = createInputs();
  const registry = buildRegistry(inputs);
  const peerAuthentication = (mode: string): string => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: a }
spec: { mtls: { mode: ${mode} } }
`;
  let objects: ConfigObject[] = objectsFrom(
    service('s1', HTTP80),
    service('s2', TCP9000),
    entry('e1', '127.0.6.1', 's1', 1),
    entry('e1b', '127.0.6.11', 's1', 1).replace('labels: { app: s1 }', 'labels: { app: s1, pod: e1b }'),
    entry('e2', '127.0.6.2', 's2', 1),
    service('s3', HTTP80),
    entry('e3', '127.0.6.3', 's3', 1),
    peerAuthentication('STRICT'),
  );
  replaceInputs(inputs, objects);
  let builds = 0;
  const counted: Generator = {
    ...envoyGenerator,
    shared: (ctx, winners) => {
      builds++;
      return (envoyGenerator.shared as NonNullable<Generator['shared']>)(ctx, winners);
    },
  };
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: counted }, debounceMs: 60_000 });
  pipeline.start();
  const sidecars = [
    OWNER,
    testProxy({ type: 'sidecar', ip: '127.0.6.11', name: 'e1b', namespace: 'a', labels: { app: 's1' } }),
    testProxy({ type: 'sidecar', ip: '127.0.6.2', name: 'e2', namespace: 'a', labels: { app: 's2' } }),
    testProxy({ type: 'sidecar', ip: '127.0.6.3', name: 'e3', namespace: 'a', labels: { app: 's3' } }),
  ];
  try {
    const views = sidecars.map((p) => pipeline.viewOf(p));
    assert.equal(builds, 2, "e1's, e1b's (no policy reads the label `pod`) and e3's (another service, the same port) sidecars share one inbound side; e2's has its own");
    const check = (step: string): void => sidecars.forEach((p, i) => assert.deepEqual(viewResources(cache, views[i] ?? ''), reference(registry, p), `${step}: ${p.id}`));
    check('initial');
    objects = [...objects.filter((o) => objectKey(o) !== 'PeerAuthentication/a/default'), ...objectsFrom(peerAuthentication('PERMISSIVE'))];
    replaceInputs(inputs, objects);
    builds = 0;
    await pipeline.flush();
    check('PERMISSIVE');
    assert.equal(builds, 2, 'a policy change builds each distinct inbound side again, once');
    const byPod = `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: e1b, namespace: a }
spec: { selector: { matchLabels: { pod: e1b } }, mtls: { mode: DISABLE } }
`;
    objects = [...objects, ...objectsFrom(byPod)];
    replaceInputs(inputs, objects);
    builds = 0;
    await pipeline.flush();
    check('a policy selecting by `pod`');
    assert.equal(builds, 3, 'a policy reads `pod`: e1b has an inbound side of its own');
  } finally {
    await pipeline.stop();
  }
});
