/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the n-th delay is uniform in [0, min(cap, base · 2^n)), with a floor so that a tight loop is
 * never possible (the agent's reconnects use floor 0). Pure but for the random source, which tests may replace.
 */
export interface BackoffOptions {
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly floorMs?: number;
  readonly random?: () => number;
}

/** Full jitter: uniform in [0, min(cap, base · 2^attempt)), rounded down to whole milliseconds. */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}

export class Backoff {
  private attempt = 0;
  private readonly base: number;
  private readonly cap: number;
  private readonly floor: number;
  private readonly random: () => number;

  constructor(o: BackoffOptions = {}) {
    this.base = o.baseMs ?? 50;
    this.cap = o.capMs ?? 2000;
    this.floor = o.floorMs ?? 10;
    this.random = o.random ?? Math.random;
  }

  /** The delay before the next attempt. */
  next(): number {
    return Math.max(this.floor, backoffDelayMs(this.attempt++, this.base, this.cap, this.random));
  }

  /** After a success. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
