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
import { ENDPOINT, LISTENER } from '../../src/xds/types/resource-types.js';
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
  // The real generator, its shared part counted.
  const counted: Generator = {
    ...envoyGenerator,
    shared: (ctx, perService, winners) => {
      sharedBuilds++;
      return (envoyGenerator.shared as NonNullable<Generator['shared']>)(ctx, perService, winners);
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
