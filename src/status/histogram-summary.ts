/**
 * A latency summary (count, p50, p99) estimated from a Prometheus histogram's cumulative buckets,
 * the way Prometheus' histogram_quantile does: linear interpolation inside the bucket where the
 * quantile falls; the +Inf bucket answers its lower bound. Summed over every label set.
 */
import type { Histogram } from 'prom-client';
import type { LatencySummary } from '../api/v1/types.js';

/** Cumulative counts by upper bound (Infinity for +Inf), ascending. */
export function quantileOf(buckets: readonly { readonly le: number; readonly count: number }[], q: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerBound;
      const inBucket = b.count - lowerCount;
      return inBucket === 0 ? b.le : lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}

export async function latencySummary(h: Histogram<string>): Promise<LatencySummary> {
  const data = await h.get();
  const byLe = new Map<number, number>();
  let count = 0;
  for (const v of data.values) {
    if (v.metricName?.endsWith('_bucket') === true) {
      const le = v.labels['le'];
      const bound = le === '+Inf' ? Infinity : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + v.value);
    } else if (v.metricName?.endsWith('_count') === true) count += v.value;
  }
  const buckets = [...byLe.entries()].sort(([a], [b]) => a - b).map(([le, c]) => ({ le, count: c }));
  return { count, p50Seconds: quantileOf(buckets, 0.5), p99Seconds: quantileOf(buckets, 0.99) };
}
