/**
 * Issue 7: for TLS-capable proxyless clients the routes of a service depend on which of its
 * endpoints accept mTLS (a mixed cluster is split into `|mtls` and `|plaintext` parts). When
 * endpoints change so a cluster becomes mixed or stops being mixed, the incremental push must update
 * RDS, CDS and EDS together: after every step the proxy's resources are exactly those of a fresh
 * full generation, and the route names the parts only while they exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { RouteConfigurationSchema } from '../../src/gen/envoy/config/route/v3/route_pb.js';
import { objectKey, type ConfigObject } from '../../src/model/config/types.js';
import { buildRegistry, createInputs, replaceInputs, type Registry, type RegistryInputs } from '../../src/registry/registry.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { grpcGenerator } from '../../src/xds/generate/grpc-generator.js';
import { XdsPipeline } from '../../src/xds/generate/pipeline.js';
import type { ProxyIdentity } from '../../src/model/mesh/proxy-identity.js';
import { CLUSTER, ROUTE } from '../../src/xds/types/resource-types.js';
import { objectsFrom } from '../support/mesh.js';
import { testProxy } from '../support/proxy-identity.js';
import { viewResources } from '../support/view-resources.js';

const SERVICE = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: s1, namespace: a }
spec:
  hosts: [s1.example.com]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: s1 } }
`;

function entry(name: string, address: string, serviceAccount?: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: a }
spec:
  address: ${address}
${serviceAccount ? `  serviceAccount: ${serviceAccount}\n` : ''}  labels: { app: s1 }
`;
}

const PROXY: ProxyIdentity = testProxy({ type: 'proxyless', ip: '127.0.9.1', name: 'p1', namespace: 'a', labels: { app: 'c1' }, certificateProviders: ['default'] });

const CLUSTER_NAME = 'outbound|80||s1.example.com';


function reference(registry: Registry): Record<string, Record<string, string>> {
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator } });
  return viewResources(cache, pipeline.viewOf(PROXY));
}

/** The clusters the route of s1:80 sends to. */
function routeTargets(cache: ResourceCache, view: string): string[] {
  const r = cache.current(view, ROUTE.typeUrl)?.resources.get('s1.example.com:80');
  assert.ok(r, 'route configuration present');
  const rc = anyUnpack(r.any, RouteConfigurationSchema);
  const action = rc?.virtualHosts[0]?.routes[0]?.action;
  assert.equal(action?.case, 'route');
  const cs = action.value.clusterSpecifier;
  if (cs.case === 'cluster') return [cs.value];
  assert.equal(cs.case, 'weightedClusters');
  return (cs.value?.clusters ?? []).map((c) => `${c.name}=${c.weight ?? 0}`);
}

test('mixed <-> un-mixed endpoint changes update routes, clusters and endpoints together (incremental push = full generation)', async () => {
  const inputs: RegistryInputs = createInputs();
  const registry = buildRegistry(inputs);
  let objects: ConfigObject[] = objectsFrom(SERVICE, entry('e1', '127.0.5.1', 'sa1'));
  replaceInputs(inputs, objects);
  const cache = new ResourceCache();
  const pipeline = new XdsPipeline({ registry, cache, generators: { grpc: grpcGenerator }, debounceMs: 60_000 });
  pipeline.start();
  try {
    const view = pipeline.viewOf(PROXY);
    const check = async (step: string): Promise<void> => {
      await pipeline.flush();
      assert.deepEqual(viewResources(cache, view), reference(registry), step);
    };
    const set = (...texts: string[]): void => {
      const changed = objectsFrom(...texts);
      const keys = new Set(changed.map(objectKey));
      objects = [...objects.filter((o) => !keys.has(objectKey(o))), ...changed];
      replaceInputs(inputs, objects);
    };
    const remove = (key: string): void => {
      objects = objects.filter((o) => objectKey(o) !== key);
      replaceInputs(inputs, objects);
    };
    const clusters = () => Object.keys(viewResources(cache, view)[CLUSTER.shortName] ?? {});

    await check('one TLS endpoint');
    assert.deepEqual(routeTargets(cache, view), [CLUSTER_NAME]);
    assert.deepEqual(clusters(), [CLUSTER_NAME]);

    set(entry('e2', '127.0.5.2'));
    await check('a plaintext endpoint joins: mixed');
    assert.deepEqual(routeTargets(cache, view), [`${CLUSTER_NAME}|mtls=1`, `${CLUSTER_NAME}|plaintext=1`]);
    assert.deepEqual(clusters().sort(), [CLUSTER_NAME, `${CLUSTER_NAME}|mtls`, `${CLUSTER_NAME}|plaintext`]);

    set(entry('e3', '127.0.5.3', 'sa3'));
    await check('another TLS endpoint: still mixed, weights follow');
    assert.deepEqual(routeTargets(cache, view), [`${CLUSTER_NAME}|mtls=2`, `${CLUSTER_NAME}|plaintext=1`]);

    set(entry('e2', '127.0.5.2', 'sa2'));
    await check('the plaintext endpoint gets a service account: un-mixed');
    assert.deepEqual(routeTargets(cache, view), [CLUSTER_NAME]);
    assert.deepEqual(clusters(), [CLUSTER_NAME], 'the parts are removed');

    set(entry('e2', '127.0.5.2'));
    await check('mixed again');
    remove(objectKey(objectsFrom(entry('e1', '127.0.5.1', 'sa1'))[0] as ConfigObject));
    remove(objectKey(objectsFrom(entry('e3', '127.0.5.3', 'sa3'))[0] as ConfigObject));
    await check('only the plaintext endpoint is left: un-mixed, plaintext');
    assert.deepEqual(routeTargets(cache, view), [CLUSTER_NAME]);
    assert.deepEqual(clusters(), [CLUSTER_NAME]);
  } finally {
    await pipeline.stop();
  }
});
