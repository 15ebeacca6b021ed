/**
 * Repeated runs of one scenario: each run reports its headline numbers by name; the docs row shows,
 * for each, the median over the runs and the spread (min–max), so that one lucky run cannot stand for
 * the scenario. Pure functions (tested in test/bench/runs.test.ts).
 */
import { fmt } from './report.js';

/** Headline numbers of one run, by name (e.g. `cores`, `p99Ms`). Non-finite values mean "not measured". */
export type Headline = Readonly<Record<string, number>>;

export interface Spread {
  /** Runs that measured this number (finite values). */
  readonly n: number;
  /** The middle value; for an even count, the mean of the two middle values. NaN when n = 0. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median and min–max of the finite values. */
export function spread(values: readonly number[]): Spread {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0, median: NaN, min: NaN, max: NaN };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { n, median, min: sorted[0] as number, max: sorted[n - 1] as number };
}

/** Per headline name, the spread over the runs (a name missing from a run counts as not measured there). */
export function aggregate(runs: readonly Headline[]): Map<string, Spread> {
  const names = new Set(runs.flatMap((r) => Object.keys(r)));
  const out = new Map<string, Spread>();
  for (const name of names) out.set(name, spread(runs.map((r) => r[name] ?? NaN)));
  return out;
}

/** `median` for one run, `median (min–max)` for several; `n/a` when no run measured it. */
export function formatSpread(s: Spread | undefined, digits = 0): string {
  if (s === undefined || s.n === 0) return 'n/a';
  const m = fmt(s.median, digits);
  return s.n === 1 ? m : `${m} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

/** What a scenario's row builder reads: the median (for verdicts) and its display with the spread. */
export interface Values {
  /** Number of runs aggregated. */
  readonly runs: number;
  /** The median over the runs (NaN when never measured). */
  num(name: string): number;
  /** The median and, over several runs, the spread: `403 (380–420)`. */
  show(name: string, digits?: number): string;
}

export function values(runs: readonly Headline[]): Values {
  const agg = aggregate(runs);
  return {
    runs: runs.length,
    num: (name) => agg.get(name)?.median ?? NaN,
    show: (name, digits = 0) => formatSpread(agg.get(name), digits),
  };
}
