/**
 * Issue 6, "done when": two replicas racing status updates on the same entries end with no lost
 * condition. Each replica (its own etcd connection) writes its own condition type on the same 20
 * WorkloadEntries, 25 rounds each, concurrently, through the lifecycle's status write
 * (entry-writes.ts: read, decide, compare-and-swap, retry — the path of every Healthy and
 * Connected write). At the end every entry carries both conditions with each writer's last
 * value, and the race was real: conflicts happened and were resolved by reading again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mutateEntry, setCondition } from '../../src/lifecycle/entry-writes.js';
import type { ConfigStore, WriteOp, WriteOptions, WriteResult } from '../../src/model/config/store.js';
import type { WorkloadEntry } from '../../src/model/config/types.js';
import { createEtcdClient } from '../../src/sources/etcd/etcd-client.js';
import { EtcdStore } from '../../src/sources/etcd/etcd-store.js';
import { RetryingStore } from '../../src/sources/etcd/retrying-store.js';
import { we } from '../conformance/config-store.js';
import { startEtcd } from '../support/etcd.js';

const ENTRIES = 20;
const ROUNDS = 25;

/** Counts the conflicts a writer met (each one a write decided again on the other's result). */
class CountingStore extends RetryingStore {
  conflicts = 0;
  override async write(ops: readonly WriteOp[], options?: WriteOptions): Promise<WriteResult> {
    const r = await super.write(ops, options);
    if (!r.ok && r.failure.code === 'Conflict') this.conflicts++;
    return r;
  }
}

test('two replicas racing status writes on the same 20 entries lose no condition', { timeout: 40_000 }, async (t) => {
  const etcd = await startEtcd(1);
  const replica = (): CountingStore => new CountingStore(new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }), { description: etcd.url }));
  const a = replica();
  const b = replica();
  t.after(async () => {
    await a.close();
    await b.close();
    await etcd.stop();
  });
  const refs = Array.from({ length: ENTRIES }, (_v, i) => ({ kind: 'WorkloadEntry' as const, namespace: 'race', name: `vm-${i}` }));
  const created = await a.write(refs.map((r, i) => ({ op: 'create', object: we(r.name, `127.0.30.${i + 1}`, 'race') })));
  assert.ok(created.ok);

  const failures: string[] = [];
  const writer = async (store: ConfigStore, type: string): Promise<void> => {
    for (let round = 0; round < ROUNDS; round++) {
      const outcomes = await Promise.all(
        refs.map((ref) =>
          mutateEntry(store, ref, (cur) => {
            if (!cur) return undefined;
            const condition = { type, status: round % 2 === 0 ? 'True' : 'False', message: `round ${round}`, lastTransitionTime: new Date().toISOString() };
            return { op: 'updateStatus', ref, status: setCondition(cur.status, condition, type), resourceVersion: cur.metadata.resourceVersion ?? '' };
          }),
        ),
      );
      for (const o of outcomes) if (o.kind !== 'written') failures.push(o.kind === 'failed' ? `${o.failure.code}: ${o.failure.message}` : o.kind);
    }
  };
  const started = performance.now();
  await Promise.all([writer(a, 'Healthy'), writer(b, 'Connected')]);
  t.diagnostic(`${2 * ENTRIES * ROUNDS} status writes in ${Math.round(performance.now() - started)} ms; conflicts resolved: ${a.conflicts} (replica a), ${b.conflicts} (replica b)`);
  assert.deepEqual(failures, [], 'every write landed within its retries');
  assert.ok(a.conflicts + b.conflicts > 0, 'the writers really raced');

  const last = ROUNDS - 1;
  for (const ref of refs) {
    const e = (await a.get(ref)) as WorkloadEntry;
    const byType = new Map((e.status?.conditions ?? []).map((c) => [c.type, c]));
    assert.deepEqual([...byType.keys()].sort(), ['Connected', 'Healthy'], `${ref.name} has both conditions`);
    for (const type of ['Healthy', 'Connected']) {
      assert.equal(byType.get(type)?.message, `round ${last}`, `${ref.name} ${type} is the last value written`);
      assert.equal(byType.get(type)?.status, last % 2 === 0 ? 'True' : 'False');
    }
  }
});
