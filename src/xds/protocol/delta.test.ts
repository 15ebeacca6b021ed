import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { ClusterSchema, type Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DeltaDiscoveryResponseSchema } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import { ResourceCache } from '../cache/resource-cache.js';
import { encodeResource } from '../types/encoded-resource.js';
import { CLUSTER, ENDPOINT } from '../types/resource-types.js';
import type { XdsResourceType } from '../types/resource-type.js';
import { DeltaSession, type DeltaRequest, type OutgoingDelta } from './delta.js';

const cluster = (name: string, lb = 0): Cluster => create(ClusterSchema, { name, lbPolicy: lb });
const cla = (name: string, priority = 0, hostname = ''): ClusterLoadAssignment =>
  create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: [{ priority, lbEndpoints: hostname === '' ? [] : [{ hostIdentifier: { case: 'endpoint', value: { hostname } } }] }] });

function req(type: XdsResourceType, o: { sub?: string[]; unsub?: string[]; nonce?: string; initial?: Record<string, string>; error?: string } = {}): DeltaRequest {
  return {
    typeUrl: type.typeUrl,
    resourceNamesSubscribe: o.sub ?? [],
    resourceNamesUnsubscribe: o.unsub ?? [],
    initialResourceVersions: o.initial ?? {},
    responseNonce: o.nonce ?? '',
    errorDetail: o.error === undefined ? undefined : create(StatusSchema, { code: 3, message: o.error }),
  };
}

function summary(out: readonly OutgoingDelta[]): { names: string[]; removed: string[] }[] {
  return out.map((o) => ({ names: [...o.names], removed: [...o.removed] }));
}

function setup(maxResponseBytes?: number) {
  const cache = new ResourceCache({ bootId: 'boot' });
  const session = new DeltaSession(maxResponseBytes === undefined ? {} : { maxResponseBytes });
  const answer = (type: XdsResourceType) => session.answer(type, cache.current('view', type.typeUrl)).responses;
  const set = <M extends Cluster | ClusterLoadAssignment>(type: XdsResourceType, messages: M[]) =>
    cache.setResources('view', type, new Map(messages.map((m) => [type.nameOf(m), { version: String(Math.random()), message: m }])));
  return { cache, session, answer, set };
}

test('initial delta CDS with nothing subscribed is the legacy wildcard; resources carry content versions', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('b'), cluster('a')]);
  const r = session.receive(CLUSTER, req(CLUSTER));
  assert.equal(r.kind, 'initial');
  const out = answer(CLUSTER);
  assert.deepEqual(summary(out), [{ names: ['a', 'b'], removed: [] }]);
  const res = out[0]?.message.resources[0];
  assert.equal(res?.version, encodeResource(CLUSTER, cluster('a')).version);
  assert.equal(res?.resource?.typeUrl, CLUSTER.typeUrl);
  assert.equal(out[0]?.message.systemVersionInfo, 'boot.1');
});

test('a reconnecting client is sent only what differs from initial_resource_versions, and removals', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('same'), cluster('changed', 2)]);
  const initial = {
    same: encodeResource(CLUSTER, cluster('same')).version,
    changed: encodeResource(CLUSTER, cluster('changed')).version,
    gone: 'whatever',
  };
  session.receive(CLUSTER, req(CLUSTER, { sub: ['*'], initial }));
  assert.deepEqual(summary(answer(CLUSTER)), [{ names: ['changed'], removed: ['gone'] }]);
});

test('the first request is answered even when the client is up to date (empty response)', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('a')]);
  session.receive(CLUSTER, req(CLUSTER, { initial: { a: encodeResource(CLUSTER, cluster('a')).version } }));
  assert.deepEqual(summary(answer(CLUSTER)), [{ names: [], removed: [] }]);
  assert.deepEqual(answer(CLUSTER), [], 'and only once');
});

test('ACK and NACK pair with responses by nonce; a NACKed resource is parked until it changes', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a'), cla('b')]);
  session.receive(ENDPOINT, req(ENDPOINT, { sub: ['a', 'b'] }));
  const [r1] = answer(ENDPOINT);
  assert.ok(r1);
  const ack = session.receive(ENDPOINT, req(ENDPOINT, { nonce: r1.message.nonce }));
  assert.equal(ack.kind, 'ack');
  assert.deepEqual(ack.ack, { version: 'boot.1', nonce: r1.message.nonce });
  set(ENDPOINT, [cla('a', 7), cla('b')]);
  const [r2] = answer(ENDPOINT);
  assert.deepEqual(r2?.names, ['a']);
  assert.ok(r2);
  const nack = session.receive(ENDPOINT, req(ENDPOINT, { nonce: r2.message.nonce, error: 'priority gap' }));
  assert.equal(nack.kind, 'nack');
  assert.equal(nack.nack?.error.message, 'priority gap');
  assert.equal(nack.respond, false);
  set(ENDPOINT, [cla('a', 7), cla('b', 1)]);
  assert.deepEqual(summary(answer(ENDPOINT)), [{ names: ['b'], removed: [] }], 'a is not resent');
  set(ENDPOINT, [cla('a', 1), cla('b', 1)]);
  assert.deepEqual(summary(answer(ENDPOINT)), [{ names: ['a'], removed: [] }]);
});

test('an explicitly subscribed resource that does not exist is reported removed once, and sent when it appears', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a')]);
  session.receive(ENDPOINT, req(ENDPOINT, { sub: ['a', 'missing'] }));
  assert.deepEqual(summary(answer(ENDPOINT)), [{ names: ['a'], removed: ['missing'] }]);
  set(ENDPOINT, [cla('a'), cla('other')]);
  assert.deepEqual(answer(ENDPOINT), [], 'not reported again');
  set(ENDPOINT, [cla('a'), cla('missing')]);
  assert.deepEqual(summary(answer(ENDPOINT)), [{ names: ['missing'], removed: [] }]);
  set(ENDPOINT, [cla('missing')]);
  assert.deepEqual(summary(answer(ENDPOINT)), [{ names: [], removed: ['a'] }], 'a deleted resource is removed');
});

test('subscribing to a name the client already has sends it again', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a')]);
  session.receive(ENDPOINT, req(ENDPOINT, { sub: ['a'] }));
  answer(ENDPOINT);
  const r = session.receive(ENDPOINT, req(ENDPOINT, { sub: ['a'] }));
  assert.equal(r.kind, 'resubscribe');
  assert.equal(r.respond, true);
  assert.deepEqual(summary(answer(ENDPOINT)), [{ names: ['a'], removed: [] }]);
});

test('unsubscribing needs no answer; under a wildcard the resource is stated again', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a'), cla('b')]);
  session.receive(ENDPOINT, req(ENDPOINT, { sub: ['a', 'b'] }));
  answer(ENDPOINT);
  const un = session.receive(ENDPOINT, req(ENDPOINT, { unsub: ['b'] }));
  assert.equal(un.kind, 'unsubscribe');
  assert.equal(un.respond, false);
  set(ENDPOINT, [cla('a'), cla('b', 3)]);
  assert.deepEqual(answer(ENDPOINT), [], 'b is no longer watched');

  const w = setup();
  w.set(CLUSTER, [cluster('a'), cluster('b')]);
  w.session.receive(CLUSTER, req(CLUSTER, { sub: ['*', 'a'] }));
  w.answer(CLUSTER);
  const r = w.session.receive(CLUSTER, req(CLUSTER, { unsub: ['a'] }));
  assert.equal(r.respond, true);
  assert.deepEqual(summary(w.answer(CLUSTER)), [{ names: ['a'], removed: [] }], 'still in the wildcard: sent');
});

test('subscription changes are honoured whatever the nonce', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a'), cla('b')]);
  session.receive(ENDPOINT, req(ENDPOINT, { sub: ['a'] }));
  answer(ENDPOINT);
  const r = session.receive(ENDPOINT, req(ENDPOINT, { sub: ['b'], nonce: 'not-a-nonce-we-sent' }));
  assert.equal(r.kind, 'resubscribe');
  assert.deepEqual(summary(answer(ENDPOINT)), [{ names: ['b'], removed: [] }]);
  assert.equal(session.receive(ENDPOINT, req(ENDPOINT, { nonce: 'unknown' })).kind, 'stale');
});

test('legacy wildcard survives added names; unsubscribing "*" ends it', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('a'), cluster('b')]);
  session.receive(CLUSTER, req(CLUSTER));
  answer(CLUSTER);
  session.receive(CLUSTER, req(CLUSTER, { sub: ['a'] }));
  assert.equal(session.status(CLUSTER.typeUrl)?.wildcard, true);
  answer(CLUSTER);
  session.receive(CLUSTER, req(CLUSTER, { unsub: ['*'] }));
  assert.equal(session.status(CLUSTER.typeUrl)?.wildcard, false);
  set(CLUSTER, [cluster('a'), cluster('b', 2)]);
  assert.deepEqual(answer(CLUSTER), [], 'b is no longer covered');
});

test('a large delta push is split; each response fits and carries its exact size', () => {
  const limit = 3000;
  const { session, answer, set } = setup(limit);
  const all = Array.from({ length: 12 }, (_, i) => `e${String(i).padStart(2, '0')}`);
  set(ENDPOINT, all.map((n) => cla(n, 0, 'h'.repeat(400))));
  session.receive(ENDPOINT, req(ENDPOINT, { sub: [...all, 'gone'] }));
  const out = answer(ENDPOINT);
  assert.ok(out.length > 1);
  assert.deepEqual(out.flatMap((o) => o.names), all);
  assert.deepEqual(out.flatMap((o) => o.removed), ['gone']);
  for (const o of out) {
    const size = toBinary(DeltaDiscoveryResponseSchema, o.message).length;
    assert.equal(o.bytes, size);
    assert.ok(size <= limit);
  }
});

test('subscribing to "*" later sends what the wildcard adds', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('a'), cluster('b')]);
  session.receive(CLUSTER, req(CLUSTER, { sub: ['a'] }));
  assert.deepEqual(summary(answer(CLUSTER)), [{ names: ['a'], removed: [] }]);
  const r = session.receive(CLUSTER, req(CLUSTER, { sub: ['*'] }));
  assert.equal(r.respond, true);
  assert.deepEqual(summary(answer(CLUSTER)), [{ names: ['b'], removed: [] }]);
});

test('streams whose first answer is the whole selection share its response resources; later pushes send only what changed, and an unsubscribe still works', () => {
  const cache = new ResourceCache({ bootId: 'boot' });
  const set = (messages: Cluster[]) => cache.setResources('view', CLUSTER, new Map(messages.map((m) => [CLUSTER.nameOf(m), { version: String(Math.random()), message: m }])));
  set([cluster('a'), cluster('b'), cluster('c')]);
  const one = new DeltaSession({});
  const two = new DeltaSession({});
  const firsts = [one, two].map((s) => {
    s.receive(CLUSTER, req(CLUSTER, { sub: ['*'] }));
    const out = s.answer(CLUSTER, cache.current('view', CLUSTER.typeUrl)).responses;
    assert.deepEqual(summary(out), [{ names: ['a', 'b', 'c'], removed: [] }]);
    s.receive(CLUSTER, req(CLUSTER, { nonce: out[0]?.message.nonce ?? '' }));
    return out[0];
  });
  assert.equal(firsts[0]?.message.resources, firsts[1]?.message.resources, 'one resource list for both streams');

  set([cluster('a'), cluster('b', 2), cluster('c')]);
  for (const s of [one, two]) assert.deepEqual(summary(s.answer(CLUSTER, cache.current('view', CLUSTER.typeUrl)).responses), [{ names: ['b'], removed: [] }]);
  // A client that knew one resource outside the selection is told it is gone (not shared as known).
  const three = new DeltaSession({});
  three.receive(CLUSTER, req(CLUSTER, { sub: ['*'], initial: { gone: 'v1' } }));
  assert.deepEqual(summary(three.answer(CLUSTER, cache.current('view', CLUSTER.typeUrl)).responses), [{ names: ['a', 'b', 'c'], removed: ['gone'] }]);
  one.receive(CLUSTER, req(CLUSTER, { unsub: ['*'], sub: ['a'] }));
  set([cluster('a', 2), cluster('b', 2), cluster('c', 2)]);
  assert.deepEqual(summary(one.answer(CLUSTER, cache.current('view', CLUSTER.typeUrl)).responses), [{ names: ['a'], removed: [] }], 'after leaving the wildcard only a is sent');
});
