/**
 * A server-wide bound on response bytes handed to the transport and not yet taken by it (written to
 * a stream that is still congested). When the bound is reached, answers wait: each waiting stream is
 * answered, in the order it started waiting, from the snapshot current when bytes free up, so a
 * stream that waited gets the latest state once (as a congested stream does, ads-stream.ts).
 *
 * Measured cause (bench S6): 2,000 Envoy sidecars connecting at once each got their CDS, LDS and
 * EDS answers (~1.5 MB) written at once; clients read them far slower than the control plane built
 * them, so for a while most of those bytes sat in transport buffers: peak RSS 3 GiB, of which
 * 1.3 GiB was freed after the connect phase. The same sidecars connecting 50 per second instead
 * of 1,000 peaked at 468 instead of 714 MiB (500 sidecars) and synced sooner.
 *
 * A client that never reads could hold its bytes for ever and stall everyone else: a charge is
 * therefore released when its stream drains, closes, or after `holdMs`, whichever comes first. The
 * bound then degrades to a rate (maxBytes per holdMs) against stalled readers, never to a stop.
 */
export interface WriteBudgetOptions {
  /** Bytes in flight before answers wait. Default 64 MiB. */
  readonly maxBytes?: number;
  /** A charge not released by then is released anyway. Default 5 s. */
  readonly holdMs?: number;
}

/** The bytes one stream has in flight (released once, by whichever comes first). */
export interface Charge {
  release(): void;
}

export class WriteBudget {
  readonly #maxBytes: number;
  readonly #holdMs: number;
  #inFlight = 0;
  readonly #waiting = new Set<() => void>();
  /** Unreleased charges, oldest first. */
  readonly #charges = new Set<{ readonly bytes: number; readonly at: number; release(): void }>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: WriteBudgetOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#holdMs = options.holdMs ?? 5_000;
  }

  /** Whether an answer may be written now (one answer may exceed the bound: never a stall on size). */
  get open(): boolean {
    return this.#inFlight < this.#maxBytes && this.#waiting.size === 0;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Counts `bytes` as in flight until the returned charge is released (or `holdMs` passes). */
  charge(bytes: number): Charge {
    this.#inFlight += bytes;
    const charge = { bytes, at: Date.now(), release: (): void => {
      if (!this.#charges.delete(charge)) return;
      this.#inFlight -= bytes;
      this.#wake();
    } };
    this.#charges.add(charge);
    this.#sweeper ??= setInterval(() => this.#sweep(), Math.max(10, this.#holdMs / 2)).unref();
    return charge;
  }

  /** Releases the charges held longer than holdMs (a client that does not read); stops when none is left. */
  #sweep(): void {
    const before = Date.now() - this.#holdMs;
    for (const charge of this.#charges) if (charge.at <= before) charge.release();
    if (this.#charges.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Calls `resume` once when answers may be written again (FIFO). Returns a cancel function. */
  wait(resume: () => void): () => void {
    this.#waiting.add(resume);
    // Nothing in flight to release: wake now (in a later microtask, never re-entrantly).
    if (this.#inFlight < this.#maxBytes) queueMicrotask(() => this.#wake());
    return () => {
      this.#waiting.delete(resume);
    };
  }

  #wake(): void {
    for (const resume of this.#waiting) {
      if (this.#inFlight >= this.#maxBytes) return;
      this.#waiting.delete(resume);
      resume();
    }
  }
}
