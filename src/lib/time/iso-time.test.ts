import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoTime } from './iso-time.js';

test('isoTime is Date#toISOString, also when the same millisecond repeats and when times go back', () => {
  for (const ms of [0, 1, 1, 1_765_000_000_123, 1_765_000_000_123, 1_765_000_000_124, 5, -1000, 8.64e15]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
});
