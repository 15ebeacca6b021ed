// The server-wide bound on response bytes in flight (issue 15, bench S6: a connect storm's answers
// sat in transport buffers, peak RSS 3 GiB). Streams wait in order while the bound is reached, go on
// as charges are released, and a client that never reads cannot hold the bound for ever.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { create } from '@bufbuild/protobuf';
import { ClusterSchema } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { ResourceCache } from '../cache/resource-cache.js';
import { SotwSession } from '../protocol/sotw.js';
import { CLUSTER, resourceTypeOf } from '../types/resource-types.js';
import { AdsStream, type StreamPort } from './ads-stream.js';
import { WriteBudget } from './write-budget.js';

test('the budget: open below the bound; waiters resume in order as charges are released', () => {
  const budget = new WriteBudget({ maxBytes: 100, holdMs: 60_000 });
  assert.equal(budget.open, true);
  const a = budget.charge(60);
  const b = budget.charge(60);
  assert.equal(budget.open, false, 'one answer may exceed the bound; the next waits');
  const order: string[] = [];
  budget.wait(() => order.push('first'));
  budget.wait(() => order.push('second'));
  assert.equal(budget.open, false, 'closed while streams wait (no overtaking)');
  a.release();
  a.release(); // once only
  assert.deepEqual(order, ['first', 'second'], 'below the bound again: both resume, in order');
  assert.equal(budget.inFlight, 60);
  b.release();
  assert.equal(budget.inFlight, 0);
});

test('a charge never released (a client that does not read) is released after holdMs', async () => {
  const budget = new WriteBudget({ maxBytes: 10, holdMs: 50 });
  budget.charge(1_000);
  let resumed = false;
  budget.wait(() => (resumed = true));
  assert.equal(resumed, false);
  await sleep(200);
  assert.equal(resumed, true);
  assert.equal(budget.inFlight, 0);
});

/** A transport that takes a message only when told to (a slow client). */
class SlowPort implements StreamPort<DiscoveryResponse> {
  readonly peer = 'ipv4:127.0.0.1:5555';
  readonly sent: DiscoveryResponse[] = [];
  readonly pending: (() => void)[] = [];
  send(message: DiscoveryResponse, taken?: () => void): boolean {
    this.sent.push(message);
    if (taken) this.pending.push(taken);
    return true;
  }
  onDrain(): void {}
  end(): void {}
  takeAll(): void {
    for (const t of this.pending.splice(0)) t();
  }
}

test('through AdsStream: a large answer still untaken makes the next stream\'s first answer wait, with the latest snapshot', async () => {
  const cache = new ResourceCache();
  const big = (tag: string) => new Map(Array.from({ length: 400 }, (_, i) => [`c${i}`, { version: `${tag}${i}`, message: create(ClusterSchema, { name: `c${i}`, altStatName: `${tag}-${'x'.repeat(60)}` }) }]));
  cache.setResources('v', CLUSTER, big('a'));
  const budget = new WriteBudget({ maxBytes: 1024, holdMs: 60_000 });
  const open = (id: string) => {
    const port = new SlowPort();
    const stream = new AdsStream<DiscoveryRequest, DiscoveryResponse>(
      { streamId: id, protocol: 'sotw', source: cache, viewOf: () => 'v', resourceTypeOf, emit: () => {}, describe: (r) => ({ names: r.resourceNames, unsubscribed: [], versionInfo: r.versionInfo }), budget },
      new SotwSession(),
      port,
    );
    stream.onRequest(create(DiscoveryRequestSchema, { typeUrl: CLUSTER.typeUrl, node: { id: `sidecar~127.0.0.1~${id}.ns~ns.svc.cluster.local` } }));
    return { port, stream };
  };
  const one = open('one');
  assert.equal(one.port.sent.length, 1);
  assert.ok(budget.inFlight > 16 * 1024, 'a large answer is counted until the transport takes it');
  const two = open('two');
  assert.equal(two.port.sent.length, 0, 'waits for the budget');
  cache.setResources('v', CLUSTER, big('b'));
  one.port.takeAll();
  await sleep(0);
  assert.equal(two.port.sent.length, 1, 'answered once bytes were taken');
  assert.equal(two.port.sent[0]?.versionInfo, cache.current('v', CLUSTER.typeUrl)?.version, 'from the snapshot of that moment');
  two.stream.close('test');
  one.stream.close('test');
  assert.equal(budget.inFlight, 0, 'a closed stream\'s bytes are no longer counted');
});
