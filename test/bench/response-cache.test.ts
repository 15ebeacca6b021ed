/**
 * The S6 load generator decodes each distinct response body once for all its simulated sidecars
 * (bench/load/response-cache.ts). These tests pin what keeps that honest: every sidecar still gets
 * its own version and nonce, bodies that differ in any resource byte are decoded separately, and
 * the decoded clusters' EDS names are those of the clusters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema, ResourceSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { Cluster_DiscoveryType, ClusterSchema } from '../../src/gen/envoy/config/cluster/v3/cluster_pb.js';
import { ClusterLoadAssignmentSchema } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { ResponseCache } from '../../bench/load/response-cache.js';
import { splitOutFields } from '../../bench/lib/wire.js';
import { CDS, EDS } from '../../bench/load/sim-proxy.js';

function edsCluster(name: string, serviceName: string) {
  return anyPack(ClusterSchema, create(ClusterSchema, { name, clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.EDS }, edsClusterConfig: { serviceName } }));
}
function staticCluster(name: string) {
  return anyPack(ClusterSchema, create(ClusterSchema, { name, clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.STATIC } }));
}
function sotw(versionInfo: string, nonce: string, resources: ReturnType<typeof edsCluster>[], typeUrl = CDS): Uint8Array {
  return toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { versionInfo, nonce, typeUrl, resources }));
}
function claAny(clusterName: string, weight: number) {
  return anyPack(
    ClusterLoadAssignmentSchema,
    create(ClusterLoadAssignmentSchema, {
      clusterName,
      endpoints: [{ lbEndpoints: [{ loadBalancingWeight: weight, hostIdentifier: { case: 'endpoint', value: { address: { address: { case: 'socketAddress', value: { address: '127.0.0.9', portSpecifier: { case: 'portValue', value: 80 } } } } } } }] }],
    }),
  );
}

test('splitOutFields returns the listed fields and the remaining bytes in order', () => {
  const a = sotw('v1', 'n1', [staticCluster('a')]);
  const b = sotw('v22', 'nonce-2', [staticCluster('a')]);
  const sa = splitOutFields(a, [1, 5]);
  const sb = splitOutFields(b, [1, 5]);
  assert.equal(sa.values.get(1), 'v1');
  assert.equal(sa.values.get(5), 'n1');
  assert.equal(sb.values.get(1), 'v22');
  assert.equal(sb.values.get(5), 'nonce-2');
  assert.deepEqual(Buffer.concat(sa.rest), Buffer.concat(sb.rest));
});

test('identical bodies are decoded once; each receiver keeps its own version and nonce', () => {
  const cache = new ResponseCache(1 << 20);
  const resources = [edsCluster('outbound|80||a', 'outbound|80||a'), edsCluster('outbound|80||b', 'outbound|80||b'), staticCluster('inbound|80||')];
  const first = cache.decode(sotw('boot.1', 'sotw-1-1', resources), false);
  const second = cache.decode(sotw('boot.7', 'sotw-2-1', resources), false);
  assert.equal(first.version, 'boot.1');
  assert.equal(first.nonce, 'sotw-1-1');
  assert.equal(second.version, 'boot.7');
  assert.equal(second.nonce, 'sotw-2-1');
  assert.equal(second.response, first.response, 'the second receiver gets the same decoded body');
  assert.deepEqual(cache.stats, { hits: 1, misses: 1, evictions: 0 });
  assert.deepEqual(
    first.response.resources.map((r) => [r.name, r.edsName]),
    [
      ['outbound|80||a', 'outbound|80||a'],
      ['outbound|80||b', 'outbound|80||b'],
      ['inbound|80||', ''],
    ],
  );
  assert.deepEqual(first.response.edsNames, ['outbound|80||a', 'outbound|80||b']);
});

test('a body differing in one resource byte is decoded on its own', () => {
  const cache = new ResponseCache(1 << 20);
  const a = cache.decode(sotw('v', 'n1', [claAny('c', 2)], EDS), false);
  const b = cache.decode(sotw('v', 'n2', [claAny('c', 3)], EDS), false);
  assert.notEqual(a.response, b.response);
  assert.equal(cache.stats.misses, 2);
  assert.notDeepEqual(a.response.resources[0]?.value, b.response.resources[0]?.value);
});

test('delta and state-of-the-world bodies are keyed apart; delta removals are read', () => {
  const cache = new ResponseCache(1 << 20);
  const delta = toBinary(
    DeltaDiscoveryResponseSchema,
    create(DeltaDiscoveryResponseSchema, {
      systemVersionInfo: 'v9',
      nonce: 'delta-1-1',
      typeUrl: CDS,
      resources: [create(ResourceSchema, { name: 'outbound|80||a', version: 'r1', resource: edsCluster('outbound|80||a', 'svc-a') })],
      removedResources: ['outbound|80||gone'],
    }),
  );
  const d = cache.decode(delta, true);
  assert.equal(d.version, 'v9');
  assert.equal(d.nonce, 'delta-1-1');
  assert.deepEqual(d.response.removed, ['outbound|80||gone']);
  assert.deepEqual(d.response.resources.map((r) => [r.name, r.edsName]), [['outbound|80||a', 'svc-a']]);
  assert.deepEqual(d.response.edsNames, ['svc-a']);
  assert.equal(cache.decode(delta, false).response.delta, false, 'the same bytes read as SotW are another entry');
  assert.equal(cache.stats.misses, 2);
});

test('the cache keeps at most maxBytes of responses, least recently used evicted first', () => {
  const one = sotw('v', 'n', [staticCluster('one')]);
  const cache = new ResponseCache(one.length * 2);
  const a = cache.decode(one, false).response;
  cache.decode(sotw('v', 'n', [staticCluster('two')]), false);
  cache.decode(one, false); // a is now the most recent
  cache.decode(sotw('v', 'n', [staticCluster('six')]), false); // evicts "two"
  assert.equal(cache.stats.evictions, 1);
  assert.equal(cache.decode(one, false).response, a);
  assert.equal(cache.stats.misses, 3);
});

test('equal name lists are interned to one array', () => {
  const cache = new ResponseCache(1 << 20);
  const a = cache.internNames(['x', 'y']);
  assert.equal(cache.internNames(['x', 'y']), a);
  assert.notEqual(cache.internNames(['x']), a);
});
