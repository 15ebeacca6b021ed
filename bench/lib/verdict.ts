/**
 * The failure rule of every scenario: a run whose proxies did not all sync, or where a change missed
 * a subscribed proxy, measured something else than it claims; it fails (non-zero exit), its row is
 * still written. Pure (tested in test/bench/runner.test.ts).
 */

/** What a change reached: proxies subscribed to its cluster when it was issued, and those that got it. */
export interface Delivery {
  readonly subscribers: number;
  readonly reached: number;
}

export interface DeliveryCheck {
  /** Proxies started, and those that received every subscribed resource once. */
  readonly proxies: number;
  readonly synced: number;
  readonly changes: readonly Delivery[];
  /** Every proxy dials the churned services (S3, S4, S6): a change nobody subscribed to is a failure too. */
  readonly everyChangeSubscribed: boolean;
}

/** One line per failure; empty when the run is valid. */
export function deliveryFailures(c: DeliveryCheck): string[] {
  const out: string[] = [];
  if (c.synced < c.proxies) out.push(`${c.proxies - c.synced} of ${c.proxies} proxies did not sync`);
  const missed = c.changes.filter((d) => d.reached < d.subscribers).length;
  if (missed > 0) out.push(`${missed} of ${c.changes.length} changes missed a subscribed proxy`);
  if (c.everyChangeSubscribed) {
    const unsubscribed = c.changes.filter((d) => d.subscribers === 0).length;
    if (unsubscribed > 0) out.push(`${unsubscribed} of ${c.changes.length} changes had no subscribed proxy`);
  }
  return out;
}
