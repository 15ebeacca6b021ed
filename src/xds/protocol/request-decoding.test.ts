// SotW requests repeating a recent list of resource names are decoded without decoding the names
// again (issue 15, bench S6): same result as protobuf-es, one shared frozen list, bounded memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { decodeDeltaRequest, decodeSotwRequest, NameListMemo } from './request-decoding.js';

const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const names = (n: number, tag = '') => Array.from({ length: n }, (_, i) => `outbound|80||svc-${i}${tag}.ns-${i % 7}.svc.cluster.local`);
const ack = (resourceNames: string[], nonce: string, extra: MessageInitShape<typeof DiscoveryRequestSchema> = {}) =>
  toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: EDS, versionInfo: `v${nonce}`, responseNonce: nonce, resourceNames, ...extra }));

test('an ACK repeating a list: decoded as protobuf-es decodes it, carrying the one list decoded before', () => {
  const memo = new NameListMemo();
  const list = names(1000);
  const first = memo.decode(ack(list, '1', { node: { id: 'sidecar~127.0.0.1~a.ns~ns.svc.cluster.local', cluster: 'c' } }));
  const second = memo.decode(ack(list, '2', { errorDetail: { code: 3, message: 'bad' } }));
  assert.deepEqual(second, fromBinary(DiscoveryRequestSchema, ack(list, '2', { errorDetail: { code: 3, message: 'bad' } })));
  assert.equal(second.resourceNames, first.resourceNames, 'the same array');
  assert.ok(Object.isFrozen(second.resourceNames));
  assert.equal(first.node?.id, 'sidecar~127.0.0.1~a.ns~ns.svc.cluster.local');
  assert.equal(second.node, undefined, 'the rest of the message is its own');
  assert.deepEqual([second.responseNonce, second.versionInfo, second.errorDetail?.message], ['2', 'v2', 'bad']);
  assert.deepEqual([memo.hits, memo.misses], [1, 1]);
  // One name different (same length): a different list.
  const other = names(1000).map((n, i) => (i === 500 ? n.replace('svc-500', 'svc-5x0') : n));
  const third = memo.decode(ack(other, '3'));
  assert.deepEqual(third.resourceNames, other);
  assert.notEqual(third.resourceNames, first.resourceNames);
});

test('short lists, names not in one run, and malformed input take the plain decode', () => {
  const memo = new NameListMemo();
  assert.deepEqual(memo.decode(ack(['a', 'b'], '1')).resourceNames, ['a', 'b']);
  assert.deepEqual(memo.decode(ack(['a', 'b'], '2')).resourceNames, ['a', 'b']);
  assert.equal(memo.hits + memo.misses, 0, 'below the size worth a lookup');
  // resource_names split by another field (legal protobuf): decoded as written.
  const w = new BinaryWriter();
  const list = names(40);
  for (const n of list.slice(0, 20)) w.tag(3, 2).string(n);
  w.tag(4, 2).string(EDS);
  for (const n of list.slice(20)) w.tag(3, 2).string(n);
  const split = w.finish();
  assert.deepEqual(memo.decode(split).resourceNames, list);
  assert.deepEqual(memo.decode(split).resourceNames, list);
  assert.equal(memo.hits, 0);
  const good = ack(names(100), '1');
  const outcome = (f: () => unknown): string => {
    try {
      return JSON.stringify(f());
    } catch (e) {
      return `throws ${(e as Error).constructor.name}`;
    }
  };
  for (let cut = 0; cut < good.length; cut += 97) {
    const bytes = good.subarray(0, cut);
    assert.equal(outcome(() => memo.decode(bytes)), outcome(() => fromBinary(DiscoveryRequestSchema, bytes)), `cut at ${cut}: as protobuf-es`);
  }
});

test('kept lists stay within the byte budget (least recently used out)', () => {
  const memo = new NameListMemo({ maxBytes: 200_000 });
  for (let i = 0; i < 40; i++) memo.decode(ack(names(300, `-${i}`), '1'));
  assert.ok(memo.size > 0 && memo.size < 40, `${memo.size} kept`);
  const recent = memo.decode(ack(names(300, '-39'), '2'));
  assert.equal(memo.hits, 1, 'the most recent list is still kept');
  assert.deepEqual(recent.resourceNames, names(300, '-39'));
  memo.decode(ack(names(300, '-0'), '2'));
  assert.equal(memo.hits, 1, 'the oldest was dropped');
});

test('a recent list matched at the start of the names: only when the names are exactly that list (a longer list, or more names after another field, are decoded whole)', () => {
  const memo = new NameListMemo();
  const list = names(300);
  memo.decode(ack(list, '1'));
  const again = memo.decode(ack(list, '2'));
  assert.deepEqual([memo.hits, memo.misses], [1, 1]);
  // The kept list followed by more names in the same run.
  const longer = [...list, 'outbound|80||extra.ns-0.svc.cluster.local'];
  assert.deepEqual(memo.decode(ack(longer, '3')).resourceNames, longer);
  // The kept list's run, another field, then more names (legal protobuf: one repeated field).
  const w = new BinaryWriter();
  w.tag(1, 2).string('v4');
  for (const n of list) w.tag(3, 2).string(n);
  w.tag(4, 2).string(EDS);
  w.tag(3, 2).string('late.ns-1.svc.cluster.local');
  w.tag(5, 2).string('4');
  const split = w.finish();
  assert.deepEqual(memo.decode(split), fromBinary(DiscoveryRequestSchema, split));
  assert.deepEqual(memo.decode(split).resourceNames, [...list, 'late.ns-1.svc.cluster.local']);
  // A shorter list that is a prefix of a kept one: its own names.
  const shorter = list.slice(0, 250);
  assert.deepEqual(memo.decode(ack(shorter, '5')).resourceNames, shorter);
  // And the kept list still matches, the same frozen array.
  assert.equal(memo.decode(ack(list, '6')).resourceNames, again.resourceNames);
});

test('requests decoded without reflection are what protobuf-es decodes (random SotW and delta requests, ASCII or not, every field, duplicates, truncations)', () => {
  let seed = 17;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const text = (): string => ['', 'v1', '42', 'type.googleapis.com/envoy.config.cluster.v3.Cluster', 'nonce-é', 'x'.repeat(5000), '\u0000ok'][rand(7)] as string;
  const memo = new NameListMemo();
  for (let round = 0; round < 3000; round++) {
    const sotw = rand(2) === 0;
    const w = new BinaryWriter();
    const fields = 1 + rand(5);
    for (let f = 0; f < fields; f++) {
      const pick = rand(10);
      if (sotw) {
        if (pick < 2) w.tag(1, 2).string(text());
        else if (pick < 4) w.tag(4, 2).string(text());
        else if (pick < 6) w.tag(5, 2).string(text());
        else if (pick === 6) w.tag(3, 2).string(text());
        else if (pick === 7) w.tag(6, 2).bytes(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, {})));
        else if (pick === 8) w.tag(2, 2).bytes(new Uint8Array([10, 1, 97]));
        else w.tag(20, 0).uint32(7); // unknown
      } else {
        if (pick < 3) w.tag(2, 2).string(text());
        else if (pick < 6) w.tag(6, 2).string(text());
        else if (pick === 6) w.tag(3, 2).string(text());
        else if (pick === 7) w.tag(4, 2).string(text());
        else w.tag(1, 2).bytes(new Uint8Array([10, 1, 98]));
      }
    }
    const whole = w.finish();
    const bytes = rand(8) === 0 ? whole.subarray(0, rand(whole.length)) : whole;
    const outcome = (f: () => unknown): string => {
      try {
        return JSON.stringify(f(), (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : typeof v === 'bigint' ? String(v) : v));
      } catch (e) {
        return `throws ${(e as Error).constructor.name}`;
      }
    };
    if (sotw) {
      assert.equal(outcome(() => memo.decode(bytes)), outcome(() => fromBinary(DiscoveryRequestSchema, bytes)), `sotw round ${round}`);
      assert.equal(outcome(() => decodeSotwRequest(bytes)), outcome(() => fromBinary(DiscoveryRequestSchema, bytes)), `sotw round ${round}`);
    } else {
      assert.equal(outcome(() => decodeDeltaRequest(bytes)), outcome(() => fromBinary(DeltaDiscoveryRequestSchema, bytes)), `delta round ${round}`);
    }
  }
  // A typical ACK of each protocol, compared as messages (with $typeName).
  const sotwAck = ack([], '7');
  assert.deepEqual(decodeSotwRequest(sotwAck), fromBinary(DiscoveryRequestSchema, sotwAck));
  const deltaAck = toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, { typeUrl: EDS, responseNonce: '9' }));
  assert.deepEqual(decodeDeltaRequest(deltaAck), fromBinary(DeltaDiscoveryRequestSchema, deltaAck));
});
