import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaSubscription, diffSubscription, selectResources, sotwSubscription } from './subscription.js';

// The four SotW steps of the spec's example (xds_protocol, "How the client specifies what resources
// to return"), then the RDS/EDS case where an empty first request is no wildcard.
test('SotW: legacy wildcard, "*" plus a name, the name alone, then nothing', () => {
  const s1 = sotwSubscription(undefined, [], true);
  assert.deepEqual([s1.wildcard, [...s1.names], s1.explicit], [true, [], false]);
  const s2 = sotwSubscription(s1, ['*', 'A'], true);
  assert.deepEqual([s2.wildcard, [...s2.names]], [true, ['A']]);
  const s3 = sotwSubscription(s2, ['A'], true);
  assert.deepEqual([s3.wildcard, [...s3.names]], [false, ['A']]);
  const s4 = sotwSubscription(s3, [], true);
  assert.deepEqual([s4.wildcard, [...s4.names]], [false, []], 'unsubscribed from all, not a wildcard');
  assert.equal(sotwSubscription(sotwSubscription(undefined, [], true), [], true).wildcard, true, 'legacy wildcard persists');
  assert.equal(sotwSubscription(undefined, [], false).wildcard, false, 'no legacy wildcard for RDS/EDS');
});

test('delta: the spec example', () => {
  const d1 = deltaSubscription(undefined, [], [], true);
  assert.equal(d1.wildcard, true);
  const d2 = deltaSubscription(d1, ['A'], [], true);
  assert.deepEqual([d2.wildcard, [...d2.names]], [true, ['A']]);
  const d3 = deltaSubscription(d2, [], ['*'], true);
  assert.deepEqual([d3.wildcard, [...d3.names]], [false, ['A']]);
  const d4 = deltaSubscription(d3, [], ['A'], true);
  assert.deepEqual([d4.wildcard, [...d4.names], d4.explicit], [false, [], true]);
  assert.equal(deltaSubscription(undefined, ['x'], [], true).wildcard, false);
});

test('diff and selection', () => {
  const a = sotwSubscription(undefined, ['a', 'b'], true);
  const b = sotwSubscription(a, ['b', 'c', '*'], true);
  assert.deepEqual(diffSubscription(a, b), { added: ['c'], removed: ['a'], wildcardAdded: true, wildcardRemoved: false });
  const resources = new Map([['z', 1], ['b', 2], ['y', 3]]);
  assert.deepEqual([...selectResources(a, resources).keys()], ['b']);
  assert.deepEqual([...selectResources(b, resources).keys()], ['b', 'y', 'z']);
});
