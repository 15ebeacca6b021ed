/**
 * Replica coordination on etcd (issue 6 "singleton work runs on one leader elected with an etcd
 * lease, with fencing"): one leader at a time; when its key goes (its lease expired), another
 * replica is elected, and a write carrying the old leader's fence is refused `Fenced` even before
 * the old leader has noticed. A replica whose session ends is seen as lost by the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/lib/log/logger.js';
import type { CoordinationEvent } from '../../src/lifecycle/coordination.js';
import { createEtcdClient } from '../../src/sources/etcd/etcd-client.js';
import { EtcdCoordination } from '../../src/sources/etcd/etcd-coordination.js';
import { EtcdStore } from '../../src/sources/etcd/etcd-store.js';
import { we } from '../conformance/config-store.js';
import { until } from '../conformance/store-mirror.js';
import { startEtcd } from '../support/etcd.js';

test('one leader; a deposed leader\'s fenced write is refused; a new leader is elected; a stopped replica is seen lost', { timeout: 30_000 }, async (t) => {
  const etcd = await startEtcd(1);
  const sa = new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }));
  const sb = new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }));
  const a = new EtcdCoordination(sa.client, { instance: 'a', ttlSeconds: 1, log: silentLogger });
  const b = new EtcdCoordination(sb.client, { instance: 'b', ttlSeconds: 1, log: silentLogger });
  const eventsA: CoordinationEvent[] = [];
  const eventsB: CoordinationEvent[] = [];
  a.subscribe((e) => eventsA.push(e));
  b.subscribe((e) => eventsB.push(e));
  t.after(async () => {
    await a.stop();
    await b.stop();
    await sa.close();
    await sb.close();
    await etcd.stop();
  });
  await a.start();
  await until(() => a.leadership() !== undefined, 5000, 'a elected');
  await b.start();
  await until(() => b.isLive('a') && a.isLive('b'), 5000, 'each sees the other');
  assert.equal(b.leadership(), undefined, 'one leader at a time');
  const fenceA = a.leadership()?.fence;
  assert.ok(fenceA);
  assert.ok((await sa.write([{ op: 'create', object: we('by-a', '127.0.60.1') }], { fence: fenceA })).ok, 'the leader writes with its fence');

  // a's leadership ends behind its back (as when its lease expires): its key goes.
  await sa.client.delete().key(fenceA.key);
  const stale = await sa.write([{ op: 'create', object: we('late', '127.0.60.2') }], { fence: fenceA });
  assert.equal(stale.ok ? 'ok' : stale.failure.code, 'Fenced', 'a write with the old fence is refused');
  // A new election (either replica may win it); the old fence stays dead.
  const leaderNow = () => [a, b].filter((x) => x.leadership() !== undefined);
  await until(() => leaderNow().length === 1 && leaderNow()[0]?.leadership()?.fence?.revision !== fenceA.revision, 5000, 'a new leader elected');
  assert.ok(eventsA.some((e) => e.type === 'deposed'), 'a noticed it was deposed');
  const winner = leaderNow()[0] as EtcdCoordination;
  const winnerStore = winner === a ? sa : sb;
  assert.ok((await winnerStore.write([{ op: 'create', object: we('by-new', '127.0.60.3') }], { fence: winner.leadership()?.fence ?? { key: '', revision: '0' } })).ok);
  assert.equal(await sa.get({ kind: 'WorkloadEntry', namespace: 'ns1', name: 'late' }), undefined);

  // The leader stops (its lease is revoked): the other sees it lost and takes the lead.
  const other = winner === a ? b : a;
  const events = other === a ? eventsA : eventsB;
  await winner.stop();
  await until(() => events.some((e) => e.type === 'instanceLost' && e.instance === winner.instance), 5000, 'the stopped leader seen lost');
  await until(() => other.leadership() !== undefined, 5000, 'the other elected');
  assert.equal(await other.confirmLive(winner.instance), false);
  assert.equal(await other.confirmLive(other.instance), true);
});
