/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the n-th delay is uniform in [0, min(cap, base · 2^n)], with a floor so that a tight loop is
 * never possible. Pure but for the random source, which tests may replace.
 */
export interface BackoffOptions {
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly floorMs?: number;
  readonly random?: () => number;
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
    const ceiling = Math.min(this.cap, this.base * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(this.floor, Math.round(this.random() * ceiling));
  }

  /** After a success. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
