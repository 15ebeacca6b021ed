/**
 * Absolute time in milliseconds (fractional) that agrees across processes on one machine:
 * `performance.timeOrigin` is the process start on the wall clock with sub-millisecond precision.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
