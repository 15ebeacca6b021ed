import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RenewalScheduler, type Renewal, type RenewalOutcome } from './renewal-scheduler.js';

interface Conn {
  readonly name: string;
}

/** Resolves once `done()` holds (polled every 5 ms); rejects after 2 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (const start = Date.now(); !done(); await sleep(5)) if (Date.now() - start > 2000) throw new Error(`timed out waiting for ${what}`);
}

/** A renewal that records its attempts and answers them from `outcomes` in turn. */
function recording(dueInMs: number | undefined, outcomes: RenewalOutcome[]): Renewal<Conn> & { attempts: string[] } {
  const attempts: string[] = [];
  return {
    attempts,
    dueInMs: () => dueInMs,
    renew: (conn) => {
      attempts.push(conn.name);
      return Promise.resolve(outcomes.shift() ?? 'done');
    },
  };
}

test('a renewal runs when due, again when due after renewing, after the retry delay after failing, and stops when done', async () => {
  const conn = { name: 'a' };
  const renewal = recording(5, ['renewed', 'retry', 'done']);
  const scheduler = new RenewalScheduler(renewal, 5, (c) => c === conn);
  scheduler.schedule(conn);
  await until(() => renewal.attempts.length === 3, 'three attempts');
  await sleep(30);
  assert.deepEqual(renewal.attempts, ['a', 'a', 'a'], 'none after done');
});

test('nothing is scheduled when nothing is due or the connection is not the current one', async () => {
  const current = { name: 'current' };
  const nothingDue = recording(undefined, []);
  new RenewalScheduler(nothingDue, 1, () => true).schedule(current);
  const renewal = recording(1, []);
  new RenewalScheduler(renewal, 1, (c) => c === current).schedule({ name: 'old' });
  await sleep(30);
  assert.deepEqual(nothingDue.attempts, []);
  assert.deepEqual(renewal.attempts, []);
});

test('a pending renewal is replaced by a new schedule, dropped by cancel, and skipped once its connection is gone', async () => {
  let current: Conn | undefined = { name: 'first' };
  const renewal = recording(200, ['renewed', 'renewed']);
  const scheduler = new RenewalScheduler(renewal, 1, (c) => c === current);
  scheduler.schedule(current);
  scheduler.schedule(current); // replaces: one attempt, not two
  await until(() => renewal.attempts.length === 1, 'the first attempt');
  scheduler.cancel(); // the next, due 200 ms after the first attempt, never runs
  await sleep(300);
  assert.deepEqual(renewal.attempts, ['first']);
  const second = { name: 'second' };
  current = second;
  scheduler.schedule(second);
  current = undefined; // the connection ends before the renewal is due
  await sleep(300);
  assert.deepEqual(renewal.attempts, ['first']);
});
