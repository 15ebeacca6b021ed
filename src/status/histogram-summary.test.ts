// p50/p99 from a Prometheus histogram's buckets (the control plane view's push latency), as
// histogram_quantile estimates them, on a real prom-client Histogram.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { latencySummary, quantileOf } from './histogram-summary.js';

test('quantiles interpolate inside the bucket; +Inf answers its lower bound; no observation is null', () => {
  const buckets = [{ le: 0.1, count: 50 }, { le: 1, count: 90 }, { le: Infinity, count: 100 }];
  assert.equal(quantileOf(buckets, 0.5), 0.1);
  assert.ok(Math.abs((quantileOf(buckets, 0.7) ?? 0) - 0.55) < 1e-9, 'halfway through (0.1, 1]');
  assert.equal(quantileOf(buckets, 0.99), 1);
  assert.equal(quantileOf([{ le: 1, count: 0 }, { le: Infinity, count: 0 }], 0.5), null);
});

test('a labelled histogram: summed over its label sets', async () => {
  const h = new Histogram({ name: 'test_push_time', help: 'h', labelNames: ['type'], buckets: [0.01, 0.1, 1], registers: [new Registry()] });
  for (let i = 0; i < 98; i++) h.observe({ type: 'all' }, 0.005);
  h.observe({ type: 'other' }, 0.5);
  h.observe({ type: 'other' }, 0.5);
  const s = await latencySummary(h);
  assert.equal(s.count, 100);
  assert.ok(s.p50Seconds !== null && s.p50Seconds <= 0.01, String(s.p50Seconds));
  assert.ok(s.p99Seconds !== null && s.p99Seconds > 0.1 && s.p99Seconds <= 1, String(s.p99Seconds));
  assert.deepEqual(await latencySummary(new Histogram({ name: 'test_empty', help: 'h', registers: [new Registry()] })), { count: 0, p50Seconds: null, p99Seconds: null });
});
