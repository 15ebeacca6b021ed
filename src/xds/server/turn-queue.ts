/**
 * Issue 11 item 5: the requests of one stream are handled one per turn of the event loop, so that
 * a stream that sends many costly requests (each bounded by limits.ts) cannot hold the process
 * while other streams, timers (pushes) and I/O wait: between two of its requests, everything else
 * that is ready runs. Order within the stream is kept. When `highWater` requests wait, the stream's
 * transport is paused (HTTP/2 flow control holds the client back) until the queue is empty.
 */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

export class TurnQueue<T> {
  readonly #handle: (item: T) => void;
  readonly #flow: FlowControl;
  readonly #highWater: number;
  #items: T[] = [];
  #head = 0;
  #scheduled = false;
  #paused = false;
  #idle: (() => void) | undefined;

  constructor(handle: (item: T) => void, flow: FlowControl, highWater = 64) {
    this.#handle = handle;
    this.#flow = flow;
    this.#highWater = highWater;
  }

  /** Requests received and not yet handled. */
  get pending(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
    if (!this.#paused && this.pending >= this.#highWater) {
      this.#paused = true;
      this.#flow.pause();
    }
    this.#schedule();
  }

  /** Drops what waits (the stream ended). */
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }

  /** Calls `fn` once every request received so far is handled (now, when none waits). */
  whenIdle(fn: () => void): void {
    if (this.pending === 0) fn();
    else this.#idle = fn;
  }

  #schedule(): void {
    if (this.#scheduled || this.pending === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn(): void {
    this.#scheduled = false;
    if (this.pending === 0) return;
    const item = this.#items[this.#head] as T;
    this.#head++;
    if (this.#head === this.#items.length) this.clear();
    this.#handle(item);
    if (this.pending > 0) {
      this.#schedule();
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      this.#flow.resume();
    }
    const idle = this.#idle;
    this.#idle = undefined;
    idle?.();
  }
}
