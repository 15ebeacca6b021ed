/**
 * Issue 16 item 3, no thundering delete: when a replica dies (or a partition heals and the leader
 * finds a dead replica's entries), the leader marks its 30 entries disconnected and deletes them
 * after the grace period — at most `reclaimRate.perInterval` writes of each kind in any window of
 * `reclaimRate.intervalMs`, as the store's watch sees them, and all of them in the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkloadEntry } from '../model/config/types.js';
import type { WriteOp, WriteOptions, WriteResult } from '../model/config/store.js';
import { silentLogger } from '../lib/log/logger.js';
import { RateLimiter } from '../lib/async/rate-limit.js';
import { MemoryStore } from '../sources/memory/memory-store.js';
import { newSigningKey } from '../security/registration-token.js';
import { LocalCoordination } from './coordination.js';
import { isoNano } from './entry-writes.js';
import { RegistrationController } from './registration-controller.js';
import { ANNOTATIONS } from './workload-entry-from-group.js';

const ENTRIES = 30;
const RATE = { perInterval: 10, intervalMs: 500 };
/** Grants are evenly paced (one per 50 ms); a write reaches the store a little after its grant: one gap of slack. */
const GAP_MS = RATE.intervalMs / RATE.perInterval;
const GRACE_MS = 50;

function deadReplicasEntry(i: number): WorkloadEntry {
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: {
      name: `vm-10.0.1.${i}`,
      namespace: 'ns1',
      labels: { app: 'vm' },
      annotations: { [ANNOTATIONS.group]: 'vm', [ANNOTATIONS.controller]: 'cp-dead', [ANNOTATIONS.connectedAt]: isoNano(Date.now() - 60_000) },
    },
    spec: { address: `10.0.1.${i}` },
    origin: { file: 'etcd', line: 0, column: 0, order: i },
  };
}

/**
 * The memory store, with the wall clock of every committed mark (the write that first sets an
 * entry's disconnectedAt) and every delete.
 */
class WriteClock extends MemoryStore {
  readonly #marked = new Set<string>();
  constructor(
    private readonly marks: number[],
    private readonly deletes: number[],
  ) {
    super();
  }

  override async write(ops: readonly WriteOp[], options?: WriteOptions): Promise<WriteResult> {
    const r = await super.write(ops, options);
    if (!r.ok) return r;
    for (const op of ops) {
      if (op.op === 'delete') this.deletes.push(Date.now());
      else if (op.op === 'update' && op.object.metadata.annotations[ANNOTATIONS.disconnectedAt] !== undefined && !this.#marked.has(op.object.metadata.name)) {
        this.#marked.add(op.object.metadata.name);
        this.marks.push(Date.now());
      }
    }
    return r;
  }
}

/** The largest number of `times` within any window of `windowMs`. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

test(`a dead replica's ${ENTRIES} entries are marked and deleted by the leader at most ${RATE.perInterval} per ${RATE.intervalMs} ms (evenly paced)`, { timeout: 30_000 }, async () => {
  const marks: number[] = [];
  const deletes: number[] = [];
  const store = new WriteClock(marks, deletes);
  const created = await store.write(Array.from({ length: ENTRIES }, (_, i) => ({ op: 'create' as const, object: deadReplicasEntry(i + 1) })));
  assert.ok(created.ok);
  marks.length = 0;
  // This replica (cp-1) leads alone: cp-dead's session is gone.
  const controller = new RegistrationController({ store, coordination: new LocalCoordination('cp-1'), group: () => undefined, signingKey: newSigningKey(), gracePeriodMs: GRACE_MS, reclaimRate: RATE, log: silentLogger });
  const started = Date.now();
  controller.start();
  try {
    const deadline = Date.now() + 20_000;
    while (deletes.length < ENTRIES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(deletes.length, ENTRIES, 'every entry of the dead replica is deleted in the end');
    assert.equal(marks.length, ENTRIES, 'each was marked disconnected first');
    assert.ok(maxInWindow(marks, RATE.intervalMs - GAP_MS) <= RATE.perInterval, `marks per window: ${maxInWindow(marks, RATE.intervalMs - GAP_MS)}`);
    assert.ok(maxInWindow(deletes, RATE.intervalMs - GAP_MS) <= RATE.perInterval, `deletes per window: ${maxInWindow(deletes, RATE.intervalMs - GAP_MS)}`);
    process.stdout.write(`# ${ENTRIES} marks and deletes in ${Date.now() - started} ms; at most ${maxInWindow(deletes, RATE.intervalMs)} deletes per ${RATE.intervalMs} ms\n`);
  } finally {
    await controller.stop();
  }
});

test('the rate limiter grants at most perInterval per interval, evenly paced, in the order asked', async () => {
  // Grant times are the limiter's own clock reads, not when the callbacks ran: on a loaded machine a
  // callback can run late after its grant (CI saw the first one 9 ms late, which squeezed four
  // callbacks into 89 ms although the grants were 0, 30, 60 and 90 ms). The limiter's next turn reads
  // the clock only after this grant's callback ran (the callback is the earlier reaction on the turn's
  // promise), so the last read is this grant's time.
  const start = Date.now();
  let lastRead = 0;
  const clock = (): number => (lastRead = Date.now() - start);
  const limiter = new RateLimiter({ perInterval: 3, intervalMs: 90 }, clock);
  const order: number[] = [];
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: 9 }, (_, i) =>
      limiter.acquire().then(() => {
        order.push(i);
        times.push(lastRead);
      }),
    ),
  );
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(maxInWindow(times, 89) <= 3, `at most 3 grants in any 89 ms: ${JSON.stringify(times)}`);
  // Paced, one per 30 ms: each grant at least 30 ms after the one before.
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 30, `evenly paced, one per 30 ms: ${JSON.stringify(times)}`);
  assert.throws(() => new RateLimiter({ perInterval: 0, intervalMs: 100 }), /perInterval >= 1/);
});
