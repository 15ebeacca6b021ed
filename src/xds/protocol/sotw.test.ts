import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { ClusterSchema, type Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { ListenerSchema, type Listener } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import { DiscoveryResponseSchema } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import { ResourceCache } from '../cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER } from '../types/resource-types.js';
import type { XdsResourceType } from '../types/resource-type.js';
import { GRPC_DEFAULT_MAX_MESSAGE_BYTES } from './common.js';
import { SotwSession, type OutgoingSotw, type SotwRequest } from './sotw.js';

const listener = (name: string, statPrefix = ''): Listener => create(ListenerSchema, { name, statPrefix });
const cluster = (name: string, lb = 0): Cluster => create(ClusterSchema, { name, lbPolicy: lb });
const cla = (name: string, endpoints = 1, priority = 0): ClusterLoadAssignment =>
  create(ClusterLoadAssignmentSchema, {
    clusterName: name,
    endpoints: [{
      priority,
      lbEndpoints: Array.from({ length: endpoints }, (_, i) => ({
        hostIdentifier: { case: 'endpoint' as const, value: { address: { address: { case: 'socketAddress' as const, value: { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, portSpecifier: { case: 'portValue' as const, value: 8080 } } } } } },
      })),
    }],
  });

function req(type: XdsResourceType, names: string[], nonce = '', version = '', error?: string): SotwRequest {
  return {
    typeUrl: type.typeUrl,
    versionInfo: version,
    resourceNames: names,
    responseNonce: nonce,
    errorDetail: error === undefined ? undefined : create(StatusSchema, { code: 3, message: error }),
  };
}

function names(out: readonly OutgoingSotw[]): string[][] {
  return out.map((o) => [...o.names]);
}

function setup(maxResponseBytes?: number) {
  const cache = new ResourceCache({ bootId: 'boot' });
  const session = new SotwSession(maxResponseBytes === undefined ? {} : { maxResponseBytes });
  const answer = (type: XdsResourceType) => session.answer(type, cache.current('view', type.typeUrl));
  const set = <M extends Listener | Cluster | ClusterLoadAssignment>(type: XdsResourceType, messages: M[]) =>
    cache.setResources('view', type, new Map(messages.map((m) => [type.nameOf(m), { version: String(Math.random()), message: m }])));
  return { cache, session, answer, set };
}

test('initial LDS request with no names is the legacy wildcard and gets every listener', () => {
  const { session, answer, set } = setup();
  set(LISTENER, [listener('b'), listener('a')]);
  const r = session.receive(LISTENER, req(LISTENER, []));
  assert.equal(r.kind, 'initial');
  assert.equal(r.respond, true);
  const out = answer(LISTENER).responses;
  assert.deepEqual(names(out), [['a', 'b']]);
  const msg = out[0]?.message;
  assert.equal(msg?.typeUrl, LISTENER.typeUrl);
  assert.equal(msg?.versionInfo, 'boot.1');
  assert.ok(msg?.resources.every((a) => a.typeUrl === LISTENER.typeUrl), 'every Any has the response type URL');
  assert.equal(session.status(LISTENER.typeUrl)?.wildcard, true);
});

test('the first request of a type on a new stream is answered even if it names the current version', () => {
  const { cache, set } = setup();
  set(CLUSTER, [cluster('c')]);
  const current = cache.current('view', CLUSTER.typeUrl)?.version;
  const fresh = new SotwSession();
  const r = fresh.receive(CLUSTER, req(CLUSTER, ['c'], '', current));
  assert.equal(r.kind, 'initial');
  assert.deepEqual(names(fresh.answer(CLUSTER, cache.current('view', CLUSTER.typeUrl)).responses), [['c']]);
});

test('the first answer waits until the view has resources of that type, then is sent', () => {
  const { session, answer, set } = setup();
  session.receive(ENDPOINT, req(ENDPOINT, ['e']));
  assert.deepEqual(answer(ENDPOINT).responses, []);
  assert.equal(session.pending(ENDPOINT.typeUrl), true);
  set(ENDPOINT, [cla('other')]);
  const out = answer(ENDPOINT).responses;
  assert.equal(out.length, 1, 'an initial request is answered even when nothing it names exists');
  assert.deepEqual(out[0]?.names, []);
  assert.equal(session.pending(ENDPOINT.typeUrl), false);
});

test('ACK is recognised by nonce; an unchanged view is not sent again', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('c')]);
  session.receive(CLUSTER, req(CLUSTER, []));
  const [resp] = answer(CLUSTER).responses;
  assert.ok(resp);
  const r = session.receive(CLUSTER, req(CLUSTER, [], resp.message.nonce, resp.message.versionInfo));
  assert.equal(r.kind, 'ack');
  assert.deepEqual(r.ack, { version: 'boot.1', nonce: resp.message.nonce });
  assert.equal(r.respond, false);
  assert.deepEqual(answer(CLUSTER).responses, []);
  assert.equal(session.status(CLUSTER.typeUrl)?.lastAnswer, 'ack');
});

test('a NACK is a request with error_detail, even when it carries the new version (partial NACK)', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('c')]);
  session.receive(CLUSTER, req(CLUSTER, ['c']));
  const [resp] = answer(CLUSTER).responses;
  assert.ok(resp);
  const r = session.receive(CLUSTER, req(CLUSTER, ['c'], resp.message.nonce, resp.message.versionInfo, 'bad cluster'));
  assert.equal(r.kind, 'nack');
  assert.deepEqual(r.nack, { version: 'boot.1', nonce: resp.message.nonce, error: { code: 3, message: 'bad cluster' } });
  assert.equal(r.ack, undefined);
  assert.equal(session.status(CLUSTER.typeUrl)?.lastAnswer, 'nack');
});

test('a NACKed full-state version is parked until what the client would receive changes', () => {
  const { session, answer, set, cache } = setup();
  set(CLUSTER, [cluster('bad', 5)]);
  session.receive(CLUSTER, req(CLUSTER, ['bad']));
  const [resp] = answer(CLUSTER).responses;
  assert.ok(resp);
  session.receive(CLUSTER, req(CLUSTER, ['bad'], resp.message.nonce, '', 'unsupported'));
  assert.deepEqual(answer(CLUSTER).responses, [], 'not resent as such');
  // The view changes, but not in anything this client subscribes to: still parked.
  set(CLUSTER, [cluster('bad', 5), cluster('unrelated')]);
  assert.deepEqual(answer(CLUSTER).responses, []);
  assert.equal(session.status(CLUSTER.typeUrl)?.seenVersion, cache.current('view', CLUSTER.typeUrl)?.version);
  // The configuration the client sees changes: sent.
  set(CLUSTER, [cluster('bad', 0), cluster('unrelated')]);
  assert.deepEqual(names(answer(CLUSTER).responses), [['bad']]);
});

test('a NACKed EDS resource is not resent with unrelated pushes, only when it changes', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a'), cla('b')]);
  session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b']));
  const [first] = answer(ENDPOINT).responses;
  assert.ok(first);
  session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b'], first.message.nonce, first.message.versionInfo));
  set(ENDPOINT, [cla('a', 2), cla('b')]);
  const [bad] = answer(ENDPOINT).responses;
  assert.deepEqual(bad?.names, ['a']);
  assert.ok(bad);
  session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b'], bad.message.nonce, first.message.versionInfo, 'rejected'));
  set(ENDPOINT, [cla('a', 2), cla('b', 3)]);
  assert.deepEqual(names(answer(ENDPOINT).responses), [['b']], 'only what changed, the NACKed one stays parked');
  set(ENDPOINT, [cla('a', 1), cla('b', 3)]);
  assert.deepEqual(names(answer(ENDPOINT).responses), [['a']]);
});

test('a request with a stale nonce is ignored, subscription changes included', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a')]);
  session.receive(ENDPOINT, req(ENDPOINT, ['a']));
  const [r1] = answer(ENDPOINT).responses;
  set(ENDPOINT, [cla('a', 2)]);
  const [r2] = answer(ENDPOINT).responses;
  assert.ok(r1 && r2);
  const stale = session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b'], r1.message.nonce, r1.message.versionInfo));
  assert.equal(stale.kind, 'stale');
  assert.equal(stale.respond, false);
  assert.deepEqual(session.status(ENDPOINT.typeUrl)?.names, ['a']);
  assert.equal(session.receive(ENDPOINT, req(ENDPOINT, ['a'], r2.message.nonce, r2.message.versionInfo)).kind, 'ack');
});

test('resubscribe sends the newly named resources, even if they were sent before; unsubscribe sends nothing', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a'), cla('b')]);
  session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b']));
  const [r1] = answer(ENDPOINT).responses;
  assert.ok(r1);
  const un = session.receive(ENDPOINT, req(ENDPOINT, ['a'], r1.message.nonce, r1.message.versionInfo));
  assert.equal(un.kind, 'unsubscribe');
  assert.deepEqual(un.change.removed, ['b']);
  assert.equal(un.respond, false);
  assert.deepEqual(answer(ENDPOINT).responses, []);
  const re = session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b'], r1.message.nonce, r1.message.versionInfo));
  assert.equal(re.kind, 'resubscribe');
  assert.deepEqual(re.change.added, ['b']);
  assert.equal(re.respond, true);
  assert.deepEqual(names(answer(ENDPOINT).responses), [['b']], 'only the added name');
});

test('an empty list after explicit names unsubscribes from everything; it is not a wildcard', () => {
  const { session, answer, set } = setup();
  set(LISTENER, [listener('l1'), listener('l2')]);
  session.receive(LISTENER, req(LISTENER, ['l1']));
  const [r1] = answer(LISTENER).responses;
  assert.deepEqual(r1?.names, ['l1']);
  assert.ok(r1);
  const r = session.receive(LISTENER, req(LISTENER, [], r1.message.nonce, r1.message.versionInfo));
  assert.equal(r.kind, 'unsubscribe');
  assert.equal(session.status(LISTENER.typeUrl)?.wildcard, false);
  assert.deepEqual(session.status(LISTENER.typeUrl)?.names, []);
  set(LISTENER, [listener('l1', 'x'), listener('l2', 'x')]);
  assert.deepEqual(answer(LISTENER).responses, [], 'nothing subscribed, nothing pushed');
});

test('an explicit "*" plus names, then names only, leaves the wildcard', () => {
  const { session, answer, set } = setup();
  set(CLUSTER, [cluster('a'), cluster('b')]);
  session.receive(CLUSTER, req(CLUSTER, ['*', 'a']));
  const [r1] = answer(CLUSTER).responses;
  assert.deepEqual(r1?.names, ['a', 'b']);
  assert.ok(r1);
  const r = session.receive(CLUSTER, req(CLUSTER, ['a'], r1.message.nonce, r1.message.versionInfo));
  assert.equal(r.change.wildcardRemoved, true);
  set(CLUSTER, [cluster('a'), cluster('b', 2)]);
  assert.deepEqual(answer(CLUSTER).responses, [], 'b is no longer subscribed');
});

test('LDS and CDS responses are complete; EDS responses carry only what changed', () => {
  const { session, answer, set } = setup();
  set(LISTENER, [listener('l1'), listener('l2')]);
  set(ENDPOINT, [cla('a'), cla('b')]);
  session.receive(LISTENER, req(LISTENER, []));
  session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b']));
  answer(LISTENER);
  answer(ENDPOINT);
  set(LISTENER, [listener('l1', 'changed'), listener('l2')]);
  set(ENDPOINT, [cla('a', 2), cla('b')]);
  assert.deepEqual(names(answer(LISTENER).responses), [['l1', 'l2']]);
  assert.deepEqual(names(answer(ENDPOINT).responses), [['a']]);
  set(LISTENER, [listener('l1', 'changed')]);
  assert.deepEqual(names(answer(LISTENER).responses), [['l1']], 'a deletion is a complete response without it');
});

test('an EDS push over the size limit is split; every chunk fits; the push is ACKed when all chunks are', () => {
  const limit = 2000;
  const { session, answer, set } = setup(limit);
  set(ENDPOINT, Array.from({ length: 20 }, (_, i) => cla(`e${String(i).padStart(2, '0')}`, 10)));
  session.receive(ENDPOINT, req(ENDPOINT, Array.from({ length: 20 }, (_, i) => `e${String(i).padStart(2, '0')}`)));
  const out = answer(ENDPOINT).responses;
  assert.ok(out.length > 1, `split into ${out.length}`);
  assert.equal(out.flatMap((o) => o.names).length, 20, 'every resource once');
  for (const o of out) {
    const size = toBinary(DiscoveryResponseSchema, o.message).length;
    assert.equal(o.bytes, size, 'the size is computed exactly');
    assert.ok(size <= limit, `${size} <= ${limit}`);
  }
  const nonces = out.map((o) => o.message.nonce);
  for (const nonce of nonces.slice(0, -1)) {
    const r = session.receive(ENDPOINT, req(ENDPOINT, [...out.flatMap((o) => o.names)], nonce, 'boot.1'));
    assert.equal(r.kind, 'ack');
    assert.equal(r.ack, undefined, 'not yet: chunks are outstanding');
  }
  const last = session.receive(ENDPOINT, req(ENDPOINT, [...out.flatMap((o) => o.names)], nonces[nonces.length - 1] ?? '', 'boot.1'));
  assert.equal(last.ack?.version, 'boot.1');
});

test('a NACK of one chunk NACKs the push', () => {
  const { session, answer, set } = setup(1500);
  const all = Array.from({ length: 10 }, (_, i) => `e${i}`);
  set(ENDPOINT, all.map((n) => cla(n, 10)));
  session.receive(ENDPOINT, req(ENDPOINT, all));
  const out = answer(ENDPOINT).responses;
  assert.ok(out.length > 1);
  const [first, ...rest] = out.map((o) => o.message.nonce);
  assert.equal(session.receive(ENDPOINT, req(ENDPOINT, all, first ?? '', '', 'bad')).kind, 'nack');
  for (const n of rest) assert.equal(session.receive(ENDPOINT, req(ENDPOINT, all, n, 'boot.1')).ack, undefined);
  assert.equal(session.status(ENDPOINT.typeUrl)?.lastAnswer, 'nack');
});

test('real size: 5 MiB of EDS goes out in responses under gRPC 4 MiB limit', () => {
  const { session, answer, set } = setup();
  const all = Array.from({ length: 10 }, (_, i) => `big${i}`);
  // Ten ~550 KB resources (a long hostname keeps building them cheap).
  const big = (n: string): ClusterLoadAssignment =>
    create(ClusterLoadAssignmentSchema, { clusterName: n, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: 'endpoint', value: { hostname: 'h'.repeat(550_000) } } }] }] });
  set(ENDPOINT, all.map(big));
  session.receive(ENDPOINT, req(ENDPOINT, all));
  const out = answer(ENDPOINT).responses;
  const sizes = out.map((o) => toBinary(DiscoveryResponseSchema, o.message).length);
  assert.ok(sizes.reduce((a, b) => a + b, 0) > 5 * 1024 * 1024 * 0.9, `total ${sizes.join('+')}`);
  assert.ok(out.length >= 2);
  for (const s of sizes) assert.ok(s < GRPC_DEFAULT_MAX_MESSAGE_BYTES, `${s} < 4 MiB`);
});

test('a full-state response over the limit cannot be split: not sent, reported', () => {
  const { session, answer, set } = setup(300);
  set(CLUSTER, Array.from({ length: 10 }, (_, i) => cluster(`cluster-with-a-long-name-${i}`)));
  session.receive(CLUSTER, req(CLUSTER, []));
  const a = answer(CLUSTER);
  assert.deepEqual(a.responses, []);
  assert.match(a.problems[0]?.message ?? '', /cannot be split/);
});

test('a later request repeating an answered nonce (a subscription change) is not a second ACK or NACK', () => {
  const { session, answer, set } = setup();
  set(ENDPOINT, [cla('a'), cla('b')]);
  session.receive(ENDPOINT, req(ENDPOINT, ['a']));
  const [r1] = answer(ENDPOINT).responses;
  assert.ok(r1);
  assert.ok(session.receive(ENDPOINT, req(ENDPOINT, ['a'], r1.message.nonce, r1.message.versionInfo)).ack);
  const re = session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b'], r1.message.nonce, r1.message.versionInfo));
  assert.deepEqual([re.kind, re.ack, re.respond], ['resubscribe', undefined, true]);
  const [r2] = answer(ENDPOINT).responses;
  assert.ok(r2);
  assert.ok(session.receive(ENDPOINT, req(ENDPOINT, ['a', 'b'], r2.message.nonce, '', 'bad b')).nack);
  const again = session.receive(ENDPOINT, req(ENDPOINT, ['a'], r2.message.nonce, '', 'bad b'));
  assert.deepEqual([again.kind, again.nack], ['unsubscribe', undefined], 'the repeated error_detail is no new NACK');
  assert.equal(again.change.removed[0], 'b');
});
