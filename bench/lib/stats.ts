/** Percentiles, summaries and Prometheus histogram reading. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank.
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * The value that wins `better` against every other, by a loop: `Math.min(...values)` passes every value
 * as an argument and overflows the stack at a few hundred thousand (full S6: 2,000 proxies × 1,200 changes).
 */
function extreme(values: readonly number[], better: (a: number, b: number) => boolean): number {
  let best = values[0] as number;
  for (const v of values) if (better(v, best)) best = v;
  return best;
}

export function summarize(values: readonly number[], digits = 1): Summary {
  const r = (x: number): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : NaN);
  const n = values.length;
  return {
    n,
    min: r(n ? extreme(values, (a, b) => a < b) : NaN),
    p50: r(percentile(values, 50)),
    p90: r(percentile(values, 90)),
    p99: r(percentile(values, 99)),
    max: r(n ? extreme(values, (a, b) => a > b) : NaN),
    mean: r(n ? values.reduce((s, x) => s + x, 0) / n : NaN),
  };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export interface Histogram {
  /** Upper bound (seconds; Infinity for +Inf) → cumulative count. */
  readonly buckets: Map<number, number>;
  readonly sum: number;
  readonly count: number;
}

/** Reads one (label-less) histogram from Prometheus text exposition. */
export function parseHistogram(text: string, name: string): Histogram {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1] ?? '';
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      buckets.set(le === '+Inf' ? Infinity : Number(le), v);
    } else if (line.startsWith(`${name}_sum`)) sum = Number(line.slice(line.lastIndexOf(' ') + 1));
    else if (line.startsWith(`${name}_count`)) count = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return { buckets, sum, count };
}

/** after − before (observations made in between). */
export function diffHistogram(after: Histogram, before: Histogram): Histogram {
  const buckets = new Map<number, number>();
  for (const [le, v] of after.buckets) buckets.set(le, v - (before.buckets.get(le) ?? 0));
  return { buckets, sum: after.sum - before.sum, count: after.count - before.count };
}

/** Cumulative bucket counts of samples (seconds) with the histogram's bounds. */
export function bucketize(samplesSeconds: readonly number[], bounds: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const le of bounds) out.set(le, samplesSeconds.filter((s) => s <= le).length);
  return out;
}

/**
 * Quantile estimate from a cumulative histogram (Prometheus histogram_quantile: linear within the
 * bucket), for comparing the control plane's view with the harness's.
 */
export function histogramQuantile(h: Histogram, q: number): number {
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  const total = h.buckets.get(Infinity) ?? h.count;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = h.buckets.get(b) ?? 0;
    if (c >= rank) {
      if (b === Infinity) return prevBound;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / Math.max(1, c - prevCount);
    }
    prevBound = b;
    prevCount = c;
  }
  return prevBound;
}

/** The value of one sample line `name{labels} value` of Prometheus text exposition (labels exactly as written), or NaN when absent. */
export function sampleValue(text: string, name: string, labels = ''): number {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) return Number(line.slice(prefix.length).trim());
  return NaN;
}

/** Major (mark-compact) collections counted by prom-client's default metrics (`nodejs_gc_duration_seconds`). */
export function majorGcs(metricsText: string): number {
  const v = sampleValue(metricsText, 'nodejs_gc_duration_seconds_count', 'kind="major"');
  // prom-client lists a kind only once it has been observed.
  return Number.isNaN(v) && metricsText.includes('nodejs_gc_duration_seconds') ? 0 : v;
}
