import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvergenceTracker } from './convergence.js';

test('an ACK is timed from the first change its version carries; a version minted again keeps its first time', () => {
  const t = new ConvergenceTracker();
  t.recordPush(['v1', 'v2'], 1000);
  t.recordPush(['v2', 'v3'], 1500);
  assert.equal(t.secondsToAck('v1', 3000), 2);
  assert.equal(t.secondsToAck('v2', 3000), 2);
  assert.equal(t.secondsToAck('v3', 3000), 1.5);
  assert.equal(t.secondsToAck('unknown', 3000), undefined);
});

test('past 100,000 versions the oldest are forgotten, down to 50,000', () => {
  const t = new ConvergenceTracker();
  t.recordPush(Array.from({ length: 100_001 }, (_, i) => `v${i}`), 0);
  assert.equal(t.secondsToAck('v0', 1000), undefined);
  assert.equal(t.secondsToAck('v50000', 1000), undefined);
  assert.equal(t.secondsToAck('v50001', 1000), 1);
  assert.equal(t.secondsToAck('v100000', 1000), 1);
});
