import { test } from 'node:test';
import assert from 'node:assert/strict';
import { debounce } from './debounce.js';

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

test('under triggers closer together than the quiet time, flushes still come every maxMs', async () => {
  const flushedAt: number[] = [];
  const start = performance.now();
  const d = debounce<number>({ quietMs: 30, maxMs: 60 }, () => {
    flushedAt.push(performance.now() - start);
  });
  for (let i = 0; i < 25; i++) {
    d.trigger(i);
    await new Promise((r) => setTimeout(r, 10));
  }
  const during = flushedAt.length;
  await d.flushNow();
  d.close();
  // 250 ms of triggers 10 ms apart: the quiet time never elapses, the maximum bounds every wait.
  assert.ok(during >= 3, `flushes during the triggers: ${during}`);
});
