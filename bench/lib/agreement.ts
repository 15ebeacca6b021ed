/**
 * Issue 5 point 4: `pilot_proxy_convergence_time` (from /metrics, diffed over the measured window)
 * against what the simulated proxies measured, bucket by bucket.
 *
 * The two clocks start at different moments: the harness at the file write, the control plane when
 * the change enters its push debounce (after the folder watch's 50 ms settle time and the reload).
 * `offsetMs` is the difference of the means; the comparison asks whether the distributions agree
 * within the histogram's resolution (the width of the bucket each quantile falls in).
 */
import { diffHistogram, histogramQuantile, parseHistogram, percentile, type Histogram } from './stats.js';
import { round } from './time.js';

export const CONVERGENCE_METRIC = 'pilot_proxy_convergence_time';

export interface Agreement {
  readonly metricCount: number;
  readonly harnessCount: number;
  readonly metricMeanMs: number;
  readonly harnessMeanMs: number;
  /** harness − metric mean. */
  readonly offsetMs: number;
  /** Bucket upper bound (s) → [metric cumulative fraction, harness cumulative fraction]. */
  readonly buckets: Record<string, [number, number]>;
  readonly metricP50Ms: number;
  readonly metricP99Ms: number;
  readonly harnessP50Ms: number;
  readonly harnessP99Ms: number;
  /** For p50 and p99, metric estimate and harness value differ by less than the width of the bucket holding the harness value. */
  readonly withinResolution: boolean;
}

export function metricHistogram(text: string): Histogram {
  return parseHistogram(text, CONVERGENCE_METRIC);
}

/** Width (ms) of the histogram bucket holding `ms`. */
function bucketWidthMs(bounds: readonly number[], ms: number): number {
  const i = bounds.findIndex((b) => ms / 1000 <= b);
  if (i < 0) return Infinity;
  return ((bounds[i] as number) - (i === 0 ? 0 : (bounds[i - 1] as number))) * 1000;
}

export function agreement(before: string, after: string, harnessMs: readonly number[]): Agreement {
  const h = diffHistogram(metricHistogram(after), metricHistogram(before));
  const bounds = [...h.buckets.keys()].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
  const total = h.buckets.get(Infinity) ?? h.count;
  const buckets: Record<string, [number, number]> = {};
  for (const b of bounds) {
    const m = total > 0 ? (h.buckets.get(b) ?? 0) / total : NaN;
    const s = harnessMs.length > 0 ? harnessMs.filter((x) => x / 1000 <= b).length / harnessMs.length : NaN;
    buckets[String(b)] = [round(m, 3), round(s, 3)];
  }
  const metricP50 = histogramQuantile(h, 0.5) * 1000;
  const metricP99 = histogramQuantile(h, 0.99) * 1000;
  const harnessP50 = percentile(harnessMs, 50);
  const harnessP99 = percentile(harnessMs, 99);
  const near = (metric: number, harness: number): boolean => Math.abs(metric - harness) <= bucketWidthMs(bounds, harness);
  const metricMean = h.count > 0 ? (h.sum / h.count) * 1000 : NaN;
  const harnessMean = harnessMs.length > 0 ? harnessMs.reduce((s, x) => s + x, 0) / harnessMs.length : NaN;
  return {
    metricCount: h.count,
    harnessCount: harnessMs.length,
    metricMeanMs: round(metricMean),
    harnessMeanMs: round(harnessMean),
    offsetMs: round(harnessMean - metricMean),
    buckets,
    metricP50Ms: round(metricP50),
    metricP99Ms: round(metricP99),
    harnessP50Ms: round(harnessP50),
    harnessP99Ms: round(harnessP99),
    withinResolution: near(metricP50, harnessP50) && near(metricP99, harnessP99),
  };
}

export function describeAgreement(a: Agreement): string {
  return `metric n=${a.metricCount} mean ${a.metricMeanMs} ms (p50≈${a.metricP50Ms}, p99≈${a.metricP99Ms}) vs harness n=${a.harnessCount} mean ${a.harnessMeanMs} ms (p50 ${a.harnessP50Ms}, p99 ${a.harnessP99Ms}); offset ${a.offsetMs} ms; ${a.withinResolution ? 'within' : 'NOT within'} the histogram's resolution`;
}
