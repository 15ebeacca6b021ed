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
