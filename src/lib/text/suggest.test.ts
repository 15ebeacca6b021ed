import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestMatch, didYouMean, editDistance } from './suggest.js';

test('edit distance: insertions, deletions, substitutions and neighbour swaps cost 1 each', () => {
  assert.equal(editDistance('workloadSelecter', 'workloadSelector'), 1);
  assert.equal(editDistance('WorkloadEntri', 'WorkloadEntry'), 1);
  assert.equal(editDistance('adress', 'address'), 1);
  assert.equal(editDistance('lables', 'labels'), 1, 'a swap of neighbours is one edit');
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting', 1), 2, 'cut off above the limit');
});

test('closest match: within 2 edits, the closest first, case differences win; nothing far away', () => {
  assert.equal(closestMatch('workloadSelecter', ['hosts', 'workloadSelector', 'ports']), 'workloadSelector');
  assert.equal(closestMatch('serviceentry', ['ServiceEntry', 'ServiceEntri']), 'ServiceEntry');
  assert.equal(closestMatch('prots', ['ports', 'protocol']), 'ports');
  assert.equal(closestMatch('bogus', ['hosts', 'ports']), undefined);
  assert.equal(didYouMean('WorkloadEntri', ['WorkloadEntry']), ' Did you mean "WorkloadEntry"?');
  assert.equal(didYouMean('zzz', ['WorkloadEntry']), '');
});
