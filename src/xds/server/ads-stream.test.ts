import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { ClusterSchema } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ClusterLoadAssignmentSchema } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import {
  DiscoveryRequestSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { ResourceCache } from '../cache/resource-cache.js';
import { SotwSession } from '../protocol/sotw.js';
import { CLUSTER, ENDPOINT, resourceTypeOf } from '../types/resource-types.js';
import { AdsStream, type StreamPort } from './ads-stream.js';
import type { XdsEvent } from './events.js';

/** A recording fake of the transport side of a stream. */
class RecordingPort implements StreamPort<DiscoveryResponse> {
  readonly peer = 'ipv4:127.0.0.1:5555';
  readonly sent: DiscoveryResponse[] = [];
  ended: { code: number; details: string } | undefined;
  /** Set to make the next send report congestion. */
  congested = false;
  drain: (() => void) | undefined;
  send(message: DiscoveryResponse): boolean {
    this.sent.push(message);
    return !this.congested;
  }
  onDrain(listener: () => void): void {
    this.drain = listener;
  }
  end(code: number, details: string): void {
    this.ended = { code, details };
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function open(cache: ResourceCache, events: XdsEvent[], streamId = 's1') {
  const port = new RecordingPort();
  const stream = new AdsStream<DiscoveryRequest, DiscoveryResponse>(
    {
      streamId,
      protocol: 'sotw',
      source: cache,
      viewOf: (p) => p.labels['view'] ?? p.kind,
      resourceTypeOf,
      emit: (e) => events.push(e),
      describe: (r) => ({ names: r.resourceNames, unsubscribed: [], versionInfo: r.versionInfo }),
      now: () => 42,
    },
    new SotwSession(),
    port,
  );
  return { port, stream };
}

interface RequestInit {
  view?: string;
  typeUrl: string;
  resourceNames?: string[];
  versionInfo?: string;
  responseNonce?: string;
  error?: string;
}

function request(o: RequestInit): DiscoveryRequest {
  return create(DiscoveryRequestSchema, {
    typeUrl: o.typeUrl,
    resourceNames: o.resourceNames ?? [],
    versionInfo: o.versionInfo ?? '',
    responseNonce: o.responseNonce ?? '',
    ...(o.error !== undefined ? { errorDetail: { code: 3, message: o.error } } : {}),
    ...(o.view !== undefined
      ? { node: { id: `proxyless~127.0.0.9~app.${o.view}~${o.view}.svc.cluster.local`, metadata: { GENERATOR: 'grpc', LABELS: { view: o.view } } } }
      : {}),
  });
}

const clusters = (...names: string[]) => new Map(names.map((n) => [n, { version: n, message: create(ClusterSchema, { name: n }) }]));

test('connect, request, response, ACK, NACK, disconnect: the event sequence of a stream', async () => {
  const cache = new ResourceCache({ bootId: 'b' });
  cache.setResources('v1', CLUSTER, clusters('c1'));
  const events: XdsEvent[] = [];
  const { port, stream } = open(cache, events);
  stream.onRequest(request({ view: 'v1', typeUrl: CLUSTER.typeUrl }));
  const first = port.sent[0];
  assert.ok(first);
  stream.onRequest(request({ typeUrl: CLUSTER.typeUrl, versionInfo: first.versionInfo, responseNonce: first.nonce }));
  cache.setResources('v1', CLUSTER, clusters('c1', 'c2'));
  await tick();
  const second = port.sent[1];
  assert.ok(second);
  assert.equal(second.resources.length, 2, 'full state');
  stream.onRequest(request({ typeUrl: CLUSTER.typeUrl, versionInfo: first.versionInfo, responseNonce: second.nonce, error: 'bad c2' }));
  await tick();
  assert.equal(port.sent.length, 2, 'the NACKed version is not resent');
  stream.close('test over');

  assert.deepEqual(events.map((e) => e.event), ['connect', 'request', 'response', 'request', 'ack', 'response', 'request', 'nack', 'disconnect']);
  const connect = events[0];
  assert.ok(connect?.event === 'connect');
  const initial = events[1];
  assert.ok(initial?.event === 'request');
  assert.deepEqual([initial.kind, initial.wildcard], ['initial', true], 'an empty CDS request is the legacy wildcard');
  assert.equal(connect.stream.proxy.kind, 'grpc');
  assert.equal(connect.stream.proxy.namespace, 'v1');
  assert.equal(connect.stream.proxy.ip, '127.0.0.9');
  assert.equal(connect.stream.view, 'v1');
  assert.equal(connect.stream.connectedAt, 42);
  const nack = events.find((e) => e.event === 'nack');
  assert.ok(nack?.event === 'nack');
  assert.deepEqual([nack.version, nack.error.message], [second.versionInfo, 'bad c2']);
  const status = stream.status()?.types[0];
  assert.equal(status?.lastAnswer, 'nack');
  assert.equal(status?.sent?.nonce, second.nonce);
});

test('the first request must carry the node', () => {
  const events: XdsEvent[] = [];
  const { port, stream } = open(new ResourceCache(), events);
  stream.onRequest(request({ typeUrl: CLUSTER.typeUrl }));
  assert.equal(port.ended?.code, 3);
  assert.equal(stream.closed, true);
  assert.deepEqual(events, []);
});

test('a type URL that is not served is reported and ignored', () => {
  const events: XdsEvent[] = [];
  const { port, stream } = open(new ResourceCache(), events);
  stream.onRequest(request({ view: 'v', typeUrl: 'type.googleapis.com/envoy.service.runtime.v3.Runtime' }));
  assert.equal(port.sent.length, 0);
  assert.equal(events[1]?.event, 'problem');
});

test('proxies that share a view get the same encoded bytes; another view gets its own resources', async () => {
  const cache = new ResourceCache();
  const cla = create(ClusterLoadAssignmentSchema, { clusterName: 'e', endpoints: [{ priority: 0 }] });
  cache.setResources('shared', ENDPOINT, new Map([['e', { version: '1', message: cla }]]));
  cache.setResources('other', ENDPOINT, new Map([['e', { version: '1', message: create(ClusterLoadAssignmentSchema, { clusterName: 'e' }) }]]));
  const events: XdsEvent[] = [];
  const a = open(cache, events, 'a');
  const b = open(cache, events, 'b');
  const c = open(cache, events, 'c');
  a.stream.onRequest(request({ view: 'shared', typeUrl: ENDPOINT.typeUrl, resourceNames: ['e'] }));
  b.stream.onRequest(request({ view: 'shared', typeUrl: ENDPOINT.typeUrl, resourceNames: ['e'] }));
  c.stream.onRequest(request({ view: 'other', typeUrl: ENDPOINT.typeUrl, resourceNames: ['e'] }));
  const anyA = a.port.sent[0]?.resources[0];
  assert.ok(anyA);
  assert.equal(b.port.sent[0]?.resources[0], anyA, 'same Any object, same bytes');
  assert.notDeepEqual(c.port.sent[0]?.resources[0]?.value, anyA.value);
  cache.setResources('other', ENDPOINT, new Map([['e', { version: '2', message: create(ClusterLoadAssignmentSchema, { clusterName: 'e', endpoints: [{ priority: 0 }, { priority: 1 }] }) }]]));
  await tick();
  assert.equal(a.port.sent.length, 1, 'a change in another view is not pushed here');
  assert.equal(c.port.sent.length, 2);
  for (const s of [a, b, c]) s.stream.close('done');
});

test('a congested transport gets the latest state once it drains, not every intermediate push', async () => {
  const cache = new ResourceCache({ bootId: 'b' });
  cache.setResources('v', CLUSTER, clusters('c1'));
  const { port, stream } = open(cache, []);
  port.congested = true;
  stream.onRequest(request({ view: 'v', typeUrl: CLUSTER.typeUrl }));
  assert.equal(port.sent.length, 1);
  cache.setResources('v', CLUSTER, clusters('c1', 'c2'));
  await tick();
  cache.setResources('v', CLUSTER, clusters('c1', 'c2', 'c3'));
  await tick();
  assert.equal(port.sent.length, 1, 'nothing written while congested');
  port.congested = false;
  port.drain?.();
  assert.equal(port.sent.length, 2);
  assert.equal(port.sent[1]?.resources.length, 3, 'the latest state');
  assert.equal(port.sent[1]?.versionInfo, 'b.3');
  stream.close('done');
});

test('a change wakes only the streams subscribed to a changed resource; the others stay armed and in sync', async () => {
  const cache = new ResourceCache({ bootId: 'b' });
  const claOf = (name: string, priority: number) => ({ version: `${name}.${priority}`, message: create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: [{ priority }] }) });
  cache.setResources('v', ENDPOINT, new Map([['x', claOf('x', 0)], ['y', claOf('y', 0)]]));
  const events: XdsEvent[] = [];
  const onX = open(cache, events, 'x');
  const onY = open(cache, events, 'y');
  for (const [s, name] of [[onX, 'x'], [onY, 'y']] as const) {
    s.stream.onRequest(request({ view: 'v', typeUrl: ENDPOINT.typeUrl, resourceNames: [name] }));
    const first = s.port.sent[0];
    assert.ok(first);
    s.stream.onRequest(request({ typeUrl: ENDPOINT.typeUrl, resourceNames: [name], versionInfo: first.versionInfo, responseNonce: first.nonce }));
  }
  const before = cache.watchStats;
  cache.updateResources('v', ENDPOINT, new Map([['x', claOf('x', 1)]]), []);
  await tick();
  assert.deepEqual([cache.watchStats.fired - before.fired, cache.watchStats.skipped - before.skipped], [1, 1], 'one stream woken, one left armed');
  assert.equal(onX.port.sent.length, 2);
  assert.equal(onY.port.sent.length, 1);
  const current = cache.current('v', ENDPOINT.typeUrl)?.version;
  assert.equal(onY.stream.status()?.types[0]?.seenVersion, current, 'the skipped stream is up to date with the new version (syncz: SYNCED)');

  const beforeRemoval = cache.watchStats;
  cache.updateResources('v', ENDPOINT, new Map(), ['y']);
  await tick();
  assert.deepEqual([cache.watchStats.fired - beforeRemoval.fired, cache.watchStats.skipped - beforeRemoval.skipped], [1, 1], 'removing a subscribed name wakes its stream only');
  for (const s of [onX, onY]) s.stream.close('done');
});
