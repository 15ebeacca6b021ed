/**
 * Debounce with a ceiling (Istio's pilot debounce: PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX): a
 * burst of triggers is merged into one flush that runs `quietMs` after the last trigger, but never
 * later than `maxMs` after the first. Triggers carry values that are merged into the batch handed
 * to `flush`. Flushes never overlap: triggers during a flush start the next batch.
 */
export interface Debouncer<T> {
  trigger(value: T): void;
  /** Flushes a pending batch now (e.g. on shutdown). */
  flushNow(): Promise<void>;
  close(): void;
}

export interface DebounceOptions {
  readonly quietMs: number;
  readonly maxMs: number;
  /** Injected for tests. */
  readonly now?: () => number;
  /** A flush threw (or rejected): told here; the next batch flushes as usual. */
  readonly onError?: (error: unknown) => void;
}

export function debounce<T>(options: DebounceOptions, flush: (batch: T[], firstAt: number) => Promise<void> | void): Debouncer<T> {
  const now = options.now ?? (() => performance.now());
  let batch: T[] = [];
  let firstAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const run = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return running;
    const items = batch;
    const started = firstAt;
    batch = [];
    running = running.then(() => flush(items, started)).catch((e: unknown) => options.onError?.(e));
    return running;
  };

  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    const wait = Math.max(0, Math.min(options.quietMs, firstAt + options.maxMs - now()));
    timer = setTimeout(() => void run(), wait);
  };

  return {
    trigger(value: T): void {
      if (closed) return;
      if (batch.length === 0) firstAt = now();
      batch.push(value);
      schedule();
    },
    flushNow: run,
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
