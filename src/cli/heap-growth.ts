import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection kept, in percent
 * (`serve --heap-growth`), like Go's GOGC (istiod runs with GOGC=100).
 *
 * Why (issue 15, bench S6): a push to every sidecar replaces per-stream state (a response's
 * bookkeeping, watches, decoded ACKs) that outlives V8's young generation, so it is promoted and
 * dies in the old generation. V8's own heap growing factor (up to 4x) then lets ~120 MiB of live
 * heap grow to ~450 MiB of garbage before a full collection: at 2,000 Envoy sidecars peak RSS rose
 * from ~460 to ~575 MiB. At 100 %, full collections run about twice as often, at a CPU cost per
 * change of roughly a fifth to a third on that probe (docs/benchmarks.md, issue 15 session 11). It is applied once serving: while the
 * configuration is first read the heap grows from nothing to its working size, and bounding that
 * made S1's cold start a third slower (100k entries: 11.6 -> 15.7-20.7 s).
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 100;

/**
 * Applies `percent` to this process (0: V8's own dynamic factor). A `--heap-growing-percent` given
 * to node itself wins. V8 reads the value at every full collection, so setting it at run time takes
 * effect from the next one.
 */
export function applyHeapGrowth(percent: number, execArgv: readonly string[] = process.execArgv): boolean {
  if (percent === 0 || execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
