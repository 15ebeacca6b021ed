/**
 * A rate limit that paces: at most `perInterval` grants per `intervalMs`, handed out evenly, one
 * every `intervalMs / perInterval` ms (no burst), in the order asked. So any window of `intervalMs`
 * holds at most `perInterval` grants. The lifecycle uses it so that a leader reclaiming many
 * entries at once (after a partition heals, a replica dies) deletes them at a steady, bounded pace.
 */
export interface RateLimit {
  readonly perInterval: number;
  readonly intervalMs: number;
}

export class RateLimiter {
  readonly #gapMs: number;
  readonly #now: () => number;
  /** When the next grant may be made. */
  #next = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(limit: RateLimit, now: () => number = Date.now) {
    if (!(limit.perInterval >= 1) || !(limit.intervalMs > 0)) throw new Error(`a rate limit needs perInterval >= 1 and intervalMs > 0, not ${JSON.stringify(limit)}`);
    this.#gapMs = limit.intervalMs / limit.perInterval;
    this.#now = now;
  }

  /** The time between two grants. */
  get gapMs(): number {
    return this.#gapMs;
  }

  /** Resolves when this caller may go. */
  acquire(): Promise<void> {
    const turn = this.#tail.then(() => this.#waitForTurn());
    this.#tail = turn;
    return turn;
  }

  async #waitForTurn(): Promise<void> {
    for (;;) {
      const now = this.#now();
      if (now >= this.#next) {
        this.#next = now + this.#gapMs;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(this.#next - now))));
    }
  }
}
