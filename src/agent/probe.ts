/**
 * Readiness probing by the VM agent, with Kubernetes/Istio semantics (istio-semantics.md §11):
 * - H-3: defaults periodSeconds 10, timeoutSeconds 1, successThreshold 1, failureThreshold 1 (not 3:
 *   the agent's default, not the API comment's), initialDelaySeconds 0; a zero value means the default
 *   (protobuf zero values), as in Istio.
 * - H-4: the first probe runs right after the initial delay, then every period; only state *changes*
 *   are reported: `successThreshold` consecutive successes while not healthy -> healthy,
 *   `failureThreshold` consecutive failures while not unhealthy -> unhealthy; the first report is
 *   whichever threshold is reached first.
 * Time comes from an injected `Timers` so the state machine runs under a fake clock in tests.
 */
import type { ReadinessProbe } from '../model/config/types.js';
import { errorMessage } from '../lib/errors.js';

/** The outcome of one probe, or of a run of them. `message` is the error text ('' when healthy). */
export interface ProbeResult {
  readonly healthy: boolean;
  readonly message: string;
}

/** One probe attempt. It should give up by itself after `timeoutMs`; the runner enforces it too. */
export type ProbeCheck = (timeoutMs: number) => Promise<ProbeResult>;

export type TimerHandle = object | number;

/** The clock and timers the runner uses (real ones in production, a manual clock in tests). */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ProbeTiming {
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** H-3: a WorkloadGroup probe's timing with the agent's defaults (absent or 0 = default). */
export function probeTiming(p: ReadinessProbe): ProbeTiming {
  const orDefault = (v: number | undefined, d: number): number => (v === undefined || v <= 0 ? d : v);
  return {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    periodMs: orDefault(p.periodSeconds, 10) * 1000,
    timeoutMs: orDefault(p.timeoutSeconds, 1) * 1000,
    successThreshold: orDefault(p.successThreshold, 1),
    failureThreshold: orDefault(p.failureThreshold, 1),
  };
}

/**
 * H-4 as a pure state machine: feed it every probe result; it answers the state change to report,
 * if any. Counters count consecutive results of one kind; the state starts unknown.
 */
export class HealthTracker {
  readonly #successThreshold: number;
  readonly #failureThreshold: number;
  #successes = 0;
  #failures = 0;
  #state: 'unknown' | 'healthy' | 'unhealthy' = 'unknown';

  constructor(thresholds: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>) {
    this.#successThreshold = thresholds.successThreshold;
    this.#failureThreshold = thresholds.failureThreshold;
  }

  get state(): 'unknown' | 'healthy' | 'unhealthy' {
    return this.#state;
  }

  record(result: ProbeResult): ProbeResult | undefined {
    if (result.healthy) {
      this.#successes++;
      this.#failures = 0;
      if (this.#state !== 'healthy' && this.#successes >= this.#successThreshold) {
        this.#state = 'healthy';
        return { healthy: true, message: '' };
      }
      return undefined;
    }
    this.#failures++;
    this.#successes = 0;
    if (this.#state !== 'unhealthy' && this.#failures >= this.#failureThreshold) {
      this.#state = 'unhealthy';
      return { healthy: false, message: result.message };
    }
    return undefined;
  }
}

export interface ProbeRunnerOptions {
  readonly timing: ProbeTiming;
  readonly check: ProbeCheck;
  /** Called on every state change (H-4), never twice in a row with the same `healthy`. */
  readonly onChange: (result: ProbeResult) => void;
  readonly timers?: Timers;
}

/**
 * Runs a probe on schedule: first after the initial delay, then one period after the previous one
 * started (a probe still running at its next tick delays that tick: probes never overlap). A probe
 * that does not settle within the timeout counts as a failure. `stop` clears every timer.
 */
export class ProbeRunner {
  readonly #o: ProbeRunnerOptions;
  readonly #timers: Timers;
  readonly #tracker: HealthTracker;
  #timer: TimerHandle | undefined;
  /** The running probe's timeout. */
  #deadline: TimerHandle | undefined;
  #running = false;

  constructor(options: ProbeRunnerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? realTimers;
    this.#tracker = new HealthTracker(options.timing);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(this.#o.timing.initialDelayMs);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    if (this.#deadline !== undefined) this.#timers.clearTimeout(this.#deadline);
    this.#timer = undefined;
    this.#deadline = undefined;
  }

  #schedule(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      void this.#probeOnce();
    }, ms);
  }

  async #probeOnce(): Promise<void> {
    if (!this.#running) return;
    const { timeoutMs, periodMs } = this.#o.timing;
    const startedAt = this.#timers.now();
    const result = await this.#withTimeout(timeoutMs);
    if (!this.#running) return;
    const change = this.#tracker.record(result);
    if (change !== undefined) {
      try {
        this.#o.onChange(change);
      } catch {
        // A failing listener must not stop the probing.
      }
    }
    this.#schedule(Math.max(0, startedAt + periodMs - this.#timers.now()));
  }

  #withTimeout(timeoutMs: number): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const finish = (r: ProbeResult): void => {
        if (settled) return;
        settled = true;
        this.#timers.clearTimeout(deadline);
        if (this.#deadline === deadline) this.#deadline = undefined;
        resolve(r);
      };
      // Callbacks below run asynchronously, after `deadline` is set.
      const deadline = this.#timers.setTimeout(() => finish({ healthy: false, message: `probe timed out after ${timeoutMs / 1000}s` }), timeoutMs);
      this.#deadline = deadline;
      let attempt: Promise<ProbeResult>;
      try {
        attempt = this.#o.check(timeoutMs);
      } catch (e) {
        attempt = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      attempt.then(finish, (e: unknown) => finish({ healthy: false, message: errorMessage(e) }));
    });
  }
}
