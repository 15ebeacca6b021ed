/**
 * Issue 15: streams of one view share their bookkeeping and their encoded responses. Two sessions
 * with equal subscriptions answering the same snapshots produce the same resource lists (one object),
 * encoded once; each stream's bytes are exactly protobuf-es's encoding of its own message (nonce
 * included). A session still answers only what changed for it, and falls back to its own copy when
 * its history differs from the shared one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema, type DeltaDiscoveryResponse, type DiscoveryResponse } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { ResourceCache } from '../cache/resource-cache.js';
import { ENDPOINT } from '../types/resource-types.js';
import { DeltaSession } from './delta.js';
import { encodeDeltaResponse, encodeSotwResponse } from './shared-encoding.js';
import { internSubscription } from './shared-state.js';
import { SotwSession, type SotwRequest } from './sotw.js';

const cla = (name: string, weight: number): ClusterLoadAssignment =>
  create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: [{ loadBalancingWeight: weight }] });

function setup() {
  const cache = new ResourceCache({ bootId: 'boot' });
  const set = (weights: Record<string, number>): void =>
    cache.setResources('view', ENDPOINT, new Map(Object.entries(weights).map(([n, w]) => [n, { version: `${n}=${w}`, message: cla(n, w) }])));
  const snapshot = () => cache.current('view', ENDPOINT.typeUrl);
  return { set, snapshot };
}

const sotwReq = (names: string[], nonce = '', version = ''): SotwRequest => ({ typeUrl: ENDPOINT.typeUrl, versionInfo: version, resourceNames: names, responseNonce: nonce, errorDetail: undefined });
const deltaReq = (subscribe: string[], nonce = '') => ({ typeUrl: ENDPOINT.typeUrl, resourceNamesSubscribe: subscribe, resourceNamesUnsubscribe: [], initialResourceVersions: {}, responseNonce: nonce, errorDetail: undefined });

function only<T>(list: readonly T[]): T {
  assert.equal(list.length, 1);
  return list[0] as T;
}

test('equal subscriptions are one object', () => {
  const a = internSubscription({ wildcard: false, names: new Set(['x', 'y']), explicit: true });
  const b = internSubscription({ wildcard: false, names: new Set(['y', 'x']), explicit: true });
  const c = internSubscription({ wildcard: true, names: new Set(['y', 'x']), explicit: true });
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('SotW: two streams of a view share the answer and its encoding; each gets exactly its own message bytes', () => {
  const { set, snapshot } = setup();
  set({ a: 1, b: 1, c: 1 });
  const streams = [new SotwSession({ mintNonce: () => 'n1' }), new SotwSession({ mintNonce: () => 'nonce-of-the-second' })];
  const first = streams.map((s) => {
    s.receive(ENDPOINT, sotwReq(['a', 'b', 'c']));
    return only(s.answer(ENDPOINT, snapshot()).responses);
  });
  const [one, two] = first.map((o) => o.message) as [DiscoveryResponse, DiscoveryResponse];
  assert.equal(one.resources, two.resources, 'one resource list for both streams');
  for (const m of [one, two]) {
    const bytes = encodeSotwResponse(m);
    assert.deepEqual(new Uint8Array(bytes), toBinary(DiscoveryResponseSchema, m), 'exactly the message encoded whole');
    assert.equal(fromBinary(DiscoveryResponseSchema, bytes).nonce, m.nonce);
  }

  // ACK, then one resource changes: both streams send that one only, again from one list.
  first.forEach((o, i) => streams[i]?.receive(ENDPOINT, sotwReq(['a', 'b', 'c'], o.message.nonce, o.version)));
  set({ a: 1, b: 2, c: 1 });
  const second = streams.map((s) => only(s.answer(ENDPOINT, snapshot()).responses));
  assert.deepEqual(second.map((o) => o.names), [['b'], ['b']]);
  assert.equal(second[0]?.message.resources, second[1]?.message.resources);
  // Nothing changed for them: no answer.
  assert.deepEqual(streams.map((s) => s.answer(ENDPOINT, snapshot()).responses.length), [0, 0]);
});

test('SotW: a stream whose subscription differs answers from its own state, and a stream that unsubscribes and comes back gets the resource again', () => {
  const { set, snapshot } = setup();
  set({ a: 1, b: 1 });
  const s = new SotwSession({ mintNonce: () => 'n' });
  s.receive(ENDPOINT, sotwReq(['a', 'b']));
  const r1 = only(s.answer(ENDPOINT, snapshot()).responses);
  s.receive(ENDPOINT, sotwReq(['a'], r1.message.nonce, r1.version));
  assert.deepEqual(s.answer(ENDPOINT, snapshot()).responses.length, 0, 'unsubscribing sends nothing');
  s.receive(ENDPOINT, sotwReq(['a', 'b'], r1.message.nonce, r1.version));
  assert.deepEqual(only(s.answer(ENDPOINT, snapshot()).responses).names, ['b'], 'b is sent again');
});

test('delta: two streams share answers and encodings; removals fall back to the stream\'s own copy and stay exact', () => {
  const { set, snapshot } = setup();
  set({ a: 1, b: 1 });
  const streams = [new DeltaSession({ mintNonce: () => 'd1' }), new DeltaSession({ mintNonce: () => 'd22' })];
  const first = streams.map((s) => {
    s.receive(ENDPOINT, deltaReq(['a', 'b']));
    return only(s.answer(ENDPOINT, snapshot()).responses);
  });
  first.forEach((o, i) => streams[i]?.receive(ENDPOINT, deltaReq([], o.message.nonce)));
  set({ a: 3, b: 1 });
  const second = streams.map((s) => only(s.answer(ENDPOINT, snapshot()).responses));
  assert.deepEqual(second.map((o) => o.names), [['a'], ['a']]);
  const [one, two] = second.map((o) => o.message) as [DeltaDiscoveryResponse, DeltaDiscoveryResponse];
  assert.equal(one.resources, two.resources, 'one resource list for both streams');
  for (const m of [one, two]) assert.deepEqual(new Uint8Array(encodeDeltaResponse(m)), toBinary(DeltaDiscoveryResponseSchema, m));

  second.forEach((o, i) => streams[i]?.receive(ENDPOINT, deltaReq([], o.message.nonce)));
  set({ a: 3 });
  const third = streams.map((s) => only(s.answer(ENDPOINT, snapshot()).responses));
  assert.deepEqual(third.map((o) => [...(o.removed ?? [])]), [['b'], ['b']], 'b is removed for both');
  for (const o of third) assert.deepEqual(new Uint8Array(encodeDeltaResponse(o.message)), toBinary(DeltaDiscoveryResponseSchema, o.message));
  assert.deepEqual(streams.map((s) => s.answer(ENDPOINT, snapshot()).responses.length), [0, 0], 'b is not removed twice');
  set({ a: 3, b: 5 });
  assert.deepEqual(streams.map((s) => only(s.answer(ENDPOINT, snapshot()).responses).names), [['b'], ['b']], 'b is back');
});
