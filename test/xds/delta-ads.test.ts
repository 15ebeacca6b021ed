// DeltaAggregatedResources over the wire with a raw ADS client acting like an Envoy sidecar:
// wildcard CDS, named EDS, ACK/NACK by nonce, removals, resubscription, reconnect with
// initial_resource_versions, responses split under the size limit, graceful stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { ClusterSchema } from '../../src/gen/envoy/config/cluster/v3/cluster_pb.js';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { putResources } from '../support/resource-cache.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import type { XdsEvent } from '../../src/xds/server/events.js';
import { XdsServer } from '../../src/xds/server/xds-server.js';
import { CLUSTER, ENDPOINT } from '../../src/xds/types/resource-types.js';
import { RawAdsStream } from './fixtures/ads-client.js';
import { endpoints, edsCluster } from './fixtures/proxyless-resources.js';

const NODE = { id: 'sidecar~127.0.0.5~web-1.shop~shop.svc.cluster.local', metadata: { NAMESPACE: 'shop', LABELS: { app: 'web' } } };
function dreq(init: MessageInitShape<typeof DeltaDiscoveryRequestSchema>): DeltaDiscoveryRequest {
  return create(DeltaDiscoveryRequestSchema, init);
}

function names(r: DeltaDiscoveryResponse): string[] {
  return r.resources.map((x) => x.name);
}

async function startServer(cache: ResourceCache, maxResponseBytes?: number) {
  const server = new XdsServer({ source: cache, ...(maxResponseBytes !== undefined ? { maxResponseBytes } : {}) });
  const events: XdsEvent[] = [];
  server.onEvent((e) => events.push(e));
  const bound = await server.start('127.0.0.1:0');
  return { server, events, address: bound.address };
}

test('delta ADS: wildcard CDS, named EDS, ACK/NACK, removals, resubscription', async (t) => {
  const cache = new ResourceCache();
  putResources(cache, 'envoy', CLUSTER, edsCluster('c1', 'e1'), edsCluster('c2', 'e2'));
  putResources(cache, 'envoy', ENDPOINT, endpoints('e1', [{ host: '127.0.0.2', port: 81 }]), endpoints('e2', [{ host: '127.0.0.2', port: 82 }]));
  const { server, events, address } = await startServer(cache);
  const ads = new RawAdsStream(address, adsServiceDefinition.DeltaAggregatedResources);
  t.after(async () => {
    ads.close();
    await server.stop(1000);
  });

  ads.send(dreq({ node: NODE, typeUrl: CLUSTER.typeUrl }));
  const cds = await ads.next();
  assert.equal(cds.typeUrl, CLUSTER.typeUrl);
  assert.deepEqual(names(cds), ['c1', 'c2'], 'legacy wildcard: every cluster of the view');
  assert.ok(cds.resources.every((r) => r.resource?.typeUrl === CLUSTER.typeUrl && r.version !== ''));
  ads.send(dreq({ typeUrl: CLUSTER.typeUrl, responseNonce: cds.nonce }));

  ads.send(dreq({ typeUrl: ENDPOINT.typeUrl, resourceNamesSubscribe: ['e1', 'missing'] }));
  const eds = await ads.next();
  assert.deepEqual([names(eds), eds.removedResources], [['e1'], ['missing']], 'a missing resource is reported removed');
  ads.send(dreq({ typeUrl: ENDPOINT.typeUrl, responseNonce: eds.nonce }));

  // Only what changed, only to who subscribed.
  putResources(cache, 'envoy', ENDPOINT, endpoints('e1', [{ host: '127.0.0.2', port: 91 }]), endpoints('e2', [{ host: '127.0.0.2', port: 92 }]));
  const eds2 = await ads.next();
  assert.deepEqual(names(eds2), ['e1']);
  ads.send(dreq({ typeUrl: ENDPOINT.typeUrl, responseNonce: eds2.nonce, errorDetail: { code: 3, message: 'rejected e1' } }));
  putResources(cache, 'envoy', ENDPOINT, endpoints('e1', [{ host: '127.0.0.2', port: 91 }]), endpoints('e2', [{ host: '127.0.0.2', port: 93 }]));
  assert.equal(await ads.quiet(200), true, 'the NACKed e1 is not resent; e2 is not subscribed');

  ads.send(dreq({ typeUrl: ENDPOINT.typeUrl, resourceNamesSubscribe: ['e2'] }));
  const eds3 = await ads.next();
  assert.deepEqual(names(eds3), ['e2']);

  // A deleted cluster is removed.
  putResources(cache, 'envoy', CLUSTER, edsCluster('c1', 'e1'));
  const cds2 = await ads.next();
  assert.deepEqual([names(cds2), cds2.removedResources], [[], ['c2']]);

  const kinds = events.filter((e) => e.event === 'ack' || e.event === 'nack').map((e) => `${e.event}`);
  assert.deepEqual(kinds, ['ack', 'ack', 'nack']);
  const nack = events.find((e) => e.event === 'nack');
  assert.ok(nack?.event === 'nack');
  assert.equal(nack.error.message, 'rejected e1');
  const connect = events[0];
  assert.ok(connect?.event === 'connect');
  assert.deepEqual([connect.stream.protocol, connect.stream.proxy.kind, connect.stream.proxy.namespace, connect.stream.view], ['delta', 'envoy', 'shop', 'envoy']);
});

test('delta ADS: a reconnecting client with initial_resource_versions gets only what differs', async (t) => {
  const cache = new ResourceCache();
  putResources(cache, 'envoy', CLUSTER, edsCluster('c1', 'e1'), edsCluster('c2', 'e2'));
  const { server, address } = await startServer(cache);
  const first = new RawAdsStream(address, adsServiceDefinition.DeltaAggregatedResources);
  t.after(async () => {
    first.close();
    await server.stop(1000);
  });
  first.send(dreq({ node: NODE, typeUrl: CLUSTER.typeUrl, resourceNamesSubscribe: ['*'] }));
  const r = await first.next();
  const known = Object.fromEntries(r.resources.map((x) => [x.name, x.version]));
  first.close();

  putResources(cache, 'envoy', CLUSTER, edsCluster('c1', 'e1'), edsCluster('c2', 'e2-changed'), edsCluster('c3', 'e3'));
  const second = new RawAdsStream(address, adsServiceDefinition.DeltaAggregatedResources);
  t.after(() => second.close());
  second.send(dreq({ node: NODE, typeUrl: CLUSTER.typeUrl, resourceNamesSubscribe: ['*'], initialResourceVersions: { ...known, gone: 'v0' } }));
  const r2 = await second.next();
  assert.deepEqual([names(r2), r2.removedResources], [['c2', 'c3'], ['gone']]);
});

test('delta ADS: a push over the size limit is split into responses that each fit', async (t) => {
  const cache = new ResourceCache();
  const limit = 4096;
  putResources(cache, 'envoy', CLUSTER, ...Array.from({ length: 60 }, (_, i) => create(ClusterSchema, { name: `cluster-${i}`, altStatName: 'x'.repeat(200) })));
  const { server, address, events } = await startServer(cache, limit);
  const ads = new RawAdsStream(address, adsServiceDefinition.DeltaAggregatedResources);
  t.after(async () => {
    ads.close();
    await server.stop(1000);
  });
  ads.send(dreq({ node: NODE, typeUrl: CLUSTER.typeUrl }));
  const got: DeltaDiscoveryResponse[] = [];
  while (got.flatMap(names).length < 60) got.push(await ads.next());
  assert.ok(got.length > 1, `${got.length} responses`);
  for (const r of got) assert.ok(toBinary(DeltaDiscoveryResponseSchema, r).length <= limit);
  const sizes = events.filter((e) => e.event === 'response').map((e) => (e.event === 'response' ? e.bytes : 0));
  assert.deepEqual(sizes, got.map((r) => toBinary(DeltaDiscoveryResponseSchema, r).length), 'events report exact sizes');
});

test('stop ends open streams with UNAVAILABLE and returns promptly', async () => {
  const cache = new ResourceCache();
  putResources(cache, 'envoy', CLUSTER, edsCluster('c1', 'e1'));
  const { server, address, events } = await startServer(cache);
  const ads = new RawAdsStream(address, adsServiceDefinition.DeltaAggregatedResources);
  ads.send(dreq({ node: NODE, typeUrl: CLUSTER.typeUrl }));
  await ads.next();
  const started = Date.now();
  await server.stop(2000);
  const err = await ads.ended;
  ads.close();
  assert.equal(err?.code, 14);
  assert.ok(Date.now() - started < 1500, `stopped in ${Date.now() - started} ms`);
  assert.equal(events[events.length - 1]?.event, 'disconnect');
  assert.deepEqual(server.streams(), []);
});
