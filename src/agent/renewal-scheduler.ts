/**
 * One scheduler for everything the agent renews over its connection to the control plane (the
 * registration token, the workload certificate): at most one renewal pending, only while the
 * connection it was scheduled on is the current one, then again when the next is due, or after the
 * retry delay when it failed.
 */

/** What a renewal attempt came to: renewed (schedule the next), failed (retry later), or nothing more to do on this connection. */
export type RenewalOutcome = 'renewed' | 'retry' | 'done';

export interface Renewal<C> {
  /** Milliseconds until the renewal is due; undefined when there is nothing to renew. */
  dueInMs(): number | undefined;
  /**
   * Renews over `conn`. `stillCurrent` tells, after each wait, whether `conn` is still the current
   * connection: when it is not, the result is dropped ('done'). Never rejects.
   */
  renew(conn: C, stillCurrent: () => boolean): Promise<RenewalOutcome>;
}

export class RenewalScheduler<C> {
  readonly #renewal: Renewal<C>;
  readonly #retryMs: number;
  readonly #isCurrent: (conn: C) => boolean;
  #timer: NodeJS.Timeout | undefined;

  constructor(renewal: Renewal<C>, retryMs: number, isCurrent: (conn: C) => boolean) {
    this.#renewal = renewal;
    this.#retryMs = retryMs;
    this.#isCurrent = isCurrent;
  }

  /** Replaces the pending renewal by one over `conn`, when due or after the retry delay; nothing when `conn` is not current or nothing is due. */
  schedule(conn: C, when: 'due' | 'retry' = 'due'): void {
    if (!this.#isCurrent(conn)) return;
    const delay = when === 'retry' ? this.#retryMs : this.#renewal.dueInMs();
    if (delay === undefined) return;
    this.cancel();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run(conn);
    }, delay);
  }

  /** Drops the pending renewal, if any (a renewal under way finds its connection gone and drops its result). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #run(conn: C): Promise<void> {
    if (!this.#isCurrent(conn)) return;
    const outcome = await this.#renewal.renew(conn, () => this.#isCurrent(conn));
    if (outcome !== 'done') this.schedule(conn, outcome === 'renewed' ? 'due' : 'retry');
  }
}
