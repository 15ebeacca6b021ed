import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { debounce } from './debounce.js';

test('a burst is merged into one flush after the quiet period', async () => {
  const flushed: number[][] = [];
  const d = debounce<number>({ quietMs: 30, maxMs: 1000 }, (b) => void flushed.push(b));
  d.trigger(1);
  d.trigger(2);
  await sleep(10);
  d.trigger(3);
  await sleep(80);
  assert.deepEqual(flushed, [[1, 2, 3]]);
  d.close();
});

test('continuous triggers flush at the ceiling', async () => {
  const flushed: number[][] = [];
  const d = debounce<number>({ quietMs: 40, maxMs: 100 }, (b) => void flushed.push(b));
  const start = performance.now();
  for (let i = 0; i < 12; i++) {
    d.trigger(i);
    await sleep(15);
  }
  assert.ok(flushed.length >= 1, 'flushed before the burst ended');
  assert.ok(performance.now() - start >= 100);
  await d.flushNow();
  assert.deepEqual(flushed.flat(), [...Array(12).keys()]);
  d.close();
});

test('a flush that throws is reported to onError, and the next batch flushes as usual', async () => {
  const errors: unknown[] = [];
  const flushed: number[][] = [];
  const d = debounce<number>({ quietMs: 1, maxMs: 10, onError: (e) => errors.push(e) }, (batch) => {
    flushed.push(batch);
    if (batch.includes(1)) throw new Error('push failed');
  });
  d.trigger(1);
  await d.flushNow();
  d.trigger(2);
  await d.flushNow();
  d.close();
  assert.deepEqual(flushed, [[1], [2]]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /push failed/);
});
