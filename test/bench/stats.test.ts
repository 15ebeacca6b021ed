/** Reading serve's /metrics in the bench (bench/lib/stats.ts): S4's count of major GCs inside its window. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { majorGcs, sampleValue, summarize } from '../../bench/lib/stats.js';

const text = `# HELP nodejs_gc_duration_seconds Garbage collection duration by kind, one of major, minor, incremental or weakcb.
# TYPE nodejs_gc_duration_seconds histogram
nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 40
nodejs_gc_duration_seconds_sum{kind="minor"} 0.12
nodejs_gc_duration_seconds_count{kind="minor"} 57
nodejs_gc_duration_seconds_count{kind="major"} 3
process_resident_memory_bytes 123456
`;

test('a sample is read by its exact name and labels', () => {
  assert.equal(sampleValue(text, 'nodejs_gc_duration_seconds_count', 'kind="minor"'), 57);
  assert.equal(sampleValue(text, 'process_resident_memory_bytes'), 123456);
  assert.ok(Number.isNaN(sampleValue(text, 'nodejs_gc_duration_seconds_count', 'kind="weakcb"')));
});

test('major GCs are the major kind only; none observed yet is 0, no GC metrics at all is unknown (NaN)', () => {
  assert.equal(majorGcs(text), 3);
  assert.equal(majorGcs(text.replace(/^.*kind="major".*$/m, '')), 0);
  assert.ok(Number.isNaN(majorGcs('process_resident_memory_bytes 1\n')));
});

test('summarize takes the full S6 size (2,000 proxies × 1,200 changes) without overflowing the stack', () => {
  const values = Array.from({ length: 2_400_000 }, (_, i) => (i * 7919) % 2_400_000);
  const s = summarize(values);
  assert.equal(s.n, 2_400_000);
  assert.equal(s.min, 0);
  assert.equal(s.max, 2_399_999);
  assert.equal(s.p50, 1_199_999);
});
