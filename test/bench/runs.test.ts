/** The bench's statistics over repeated runs (bench/lib/runs.ts): median and spread per headline number. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, formatSpread, spread, values } from '../../bench/lib/runs.js';

test('the median of an odd count is the middle value, of an even count the mean of the two middle ones', () => {
  assert.deepEqual(spread([30, 10, 20]), { n: 3, median: 20, min: 10, max: 30 });
  assert.deepEqual(spread([4, 1, 3, 2]), { n: 4, median: 2.5, min: 1, max: 4 });
  assert.deepEqual(spread([7]), { n: 1, median: 7, min: 7, max: 7 });
});

test('a run that did not measure a number (NaN, Infinity, missing) does not count towards its spread', () => {
  assert.deepEqual(spread([NaN, 5, Infinity, 3]), { n: 2, median: 4, min: 3, max: 5 });
  const agg = aggregate([{ cores: 0.2, p99: 400 }, { cores: 0.3 }, { cores: 0.1, p99: NaN }]);
  assert.deepEqual(agg.get('cores'), { n: 3, median: 0.2, min: 0.1, max: 0.3 });
  assert.deepEqual(agg.get('p99'), { n: 1, median: 400, min: 400, max: 400 });
  const none = spread([NaN]);
  assert.equal(none.n, 0);
  assert.ok(Number.isNaN(none.median));
});

test('one run shows its value; several show the median and the min–max spread; none shows n/a', () => {
  assert.equal(formatSpread(spread([1234.4])), '1,234');
  assert.equal(formatSpread(spread([0.149, 0.121, 0.203]), 3), '0.149 (0.121–0.203)');
  assert.equal(formatSpread(spread([])), 'n/a');
  assert.equal(formatSpread(undefined), 'n/a');
});

test('values() gives the row builder medians for verdicts and displays with spreads', () => {
  const v = values([{ p99: 480 }, { p99: 620 }, { p99: 450 }]);
  assert.equal(v.runs, 3);
  assert.equal(v.num('p99'), 480, 'the verdict is taken on the median, not on the best run');
  assert.equal(v.show('p99'), '480 (450–620)');
  assert.ok(Number.isNaN(v.num('absent')));
  assert.equal(v.show('absent'), 'n/a');
});
