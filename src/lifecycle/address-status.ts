/**
 * VIP auto-allocation written to ServiceEntry status (Istio's IP auto-allocator V2, A-V2-*; docs/dns.md):
 * the registry computes the allocation (registry/allocation.ts: one IPv4 from 240.240.0.0/16 and one
 * IPv6 from 2001:2::/48 per host of a qualifying entry, keeping what `status.addresses` holds, the
 * oldest entry winning a conflict), and this writer stores it in each entry's `status.addresses`
 * through the store, so that addresses survive restarts and every replica reads the same ones.
 *
 * Contract:
 * - Only the leader writes (with its fence); a replica elected later writes what is missing.
 * - A write is compare-and-swap on the entry's resourceVersion, decided again on a conflict
 *   (entry-writes.ts); the other status fields (conditions) are kept.
 * - An entry that stops qualifying (resolution NONE, user addresses, the opt-out label) gets
 *   `status.addresses: []`; one that never had addresses is left alone.
 * - ServiceEntries the store does not hold (a Kubernetes cluster's) are skipped.
 * - Writes happen `delayMs` after a change (batching a burst); a write failure is logged and tried
 *   again on the next change or election.
 * - The first run waits `startDelayMs` after start: the allocation is served from the registry at
 *   once, and persisting it must not hold up the first proxies. Measured cause (bench S1, 100k
 *   entries with 10,000 ServiceEntries and a new state folder): 10,000 writes and their log lines
 *   ran right after the xDS port was bound, before the first proxy was answered.
 * - A run's writes follow each other without yielding (on the file store: within one turn of the
 *   event loop), so that the feed applies them as one batch: each batch recomputes the allocation
 *   over every ServiceEntry. Measured: yielding every 250 writes took bench S3 (30,000
 *   ServiceEntries, 500 proxies connecting) from 9.6 to 46 s to sync its proxies (54 CPU s); at
 *   100k entries the start's CPU until the writes were done was 17.9 s with 250 writes per turn,
 *   14.8 s with 2,500, 15.5 s in one turn with every write logged.
 * - Up to LOGGED_WRITES_PER_RUN writes of a run are logged one by one, the rest in one line.
 */
import type { Logger } from '../lib/log/logger.js';
import { refOf, type ConfigStore, type Fence } from '../model/config/store.js';
import type { ServiceEntry, ServiceEntryStatus } from '../model/config/types.js';
import { qualifiesForAllocation, type Allocation } from '../registry/allocation.js';
import type { Registry } from '../registry/registry.js';
import type { Coordination } from './coordination.js';
import { mutateEntry } from './entry-writes.js';

export type StatusAddress = NonNullable<ServiceEntryStatus['addresses']>[number];

/**
 * What `status.addresses` of `se` should be given the registry's allocation, or undefined to
 * leave it as it is (an entry that does not qualify and holds no address).
 */
export function desiredStatusAddresses(se: ServiceEntry, allocation: Allocation | undefined): StatusAddress[] | undefined {
  if (!qualifiesForAllocation(se)) return (se.status?.addresses ?? []).length > 0 ? [] : undefined;
  const out: StatusAddress[] = [];
  for (const [host, values] of Object.entries(allocation?.byHost ?? {})) for (const value of values) out.push({ value, host });
  return out;
}

function sameAddresses(a: readonly StatusAddress[] | undefined, b: readonly StatusAddress[]): boolean {
  const current = a ?? [];
  return current.length === b.length && current.every((x, i) => x.value === b[i]?.value && x.host === b[i]?.host);
}

export interface AddressStatusOptions {
  readonly registry: Pick<Registry, 'allocations' | 'inputs'>;
  readonly store: ConfigStore;
  readonly coordination: Coordination;
  readonly log: Logger;
  /** Default 50 ms. */
  readonly delayMs?: number;
  /** Before the first run after `start` (default 1,000 ms). */
  readonly startDelayMs?: number;
}

/** Writes of a run logged one by one; the rest are counted in one line. */
const LOGGED_WRITES_PER_RUN = 20;

export class AddressStatusWriter {
  readonly #o: AddressStatusOptions;
  readonly #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(o: AddressStatusOptions) {
    this.#o = o;
  }

  start(): void {
    const schedule = (): void => this.#schedule();
    this.#unsubscribe.push(this.#o.registry.allocations.subscribe(schedule), this.#o.registry.inputs.ServiceEntry.subscribe(schedule));
    this.#unsubscribe.push(this.#o.coordination.subscribe((e) => (e.type === 'elected' ? schedule() : undefined)));
    this.#schedule(this.#o.startDelayMs ?? 1000);
  }

  /** Stops scheduling and waits for a write in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const u of this.#unsubscribe.splice(0)) u();
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** Writes what differs now (tests; also what a scheduled run does). */
  async reconcile(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  #schedule(delayMs = this.#o.delayMs ?? 50): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.reconcile();
    }, delayMs);
  }

  async #run(): Promise<void> {
    do {
      this.#again = false;
      const leadership = this.#o.coordination.leadership();
      if (leadership === undefined || this.#stopped) return;
      let allocated = 0;
      let released = 0;
      for (const se of this.#o.registry.inputs.ServiceEntry.list()) {
        if (this.#stopped) break;
        const desired = desiredStatusAddresses(se, this.#allocationOf(se));
        if (desired === undefined || sameAddresses(se.status?.addresses, desired)) continue;
        const written = await this.#write(se, leadership.fence, allocated + released < LOGGED_WRITES_PER_RUN);
        if (written === 'allocated') allocated++;
        else if (written === 'released') released++;
      }
      const entries = allocated + released;
      if (entries > LOGGED_WRITES_PER_RUN) {
        this.#o.log.info('ServiceEntry addresses written (the first entries are logged above, one by one)', { entries, allocated, released, notLoggedOneByOne: entries - LOGGED_WRITES_PER_RUN });
      }
    } while (this.#again && !this.#stopped);
  }

  #allocationOf(se: ServiceEntry): Allocation | undefined {
    return this.#o.registry.allocations.get(`ServiceEntry/${se.metadata.namespace}/${se.metadata.name}`);
  }

  /** Writes `se`'s status addresses if they still differ; what was written, logged if `log`. */
  async #write(se: ServiceEntry, fence: Fence | undefined, log: boolean): Promise<'allocated' | 'released' | undefined> {
    const ref = refOf(se);
    let written: StatusAddress[] = [];
    const outcome = await mutateEntry<ServiceEntry>(
      this.#o.store,
      ref,
      (current) => {
        if (current === undefined) return undefined; // not in the store (a cluster's), or deleted meanwhile
        const desired = desiredStatusAddresses(current, this.#allocationOf(current));
        if (desired === undefined || sameAddresses(current.status?.addresses, desired)) return undefined;
        written = desired;
        const { addresses: _old, ...rest } = current.status ?? {};
        return { op: 'updateStatus', ref, status: { ...rest, addresses: desired }, ...(current.metadata.resourceVersion !== undefined ? { resourceVersion: current.metadata.resourceVersion } : {}) };
      },
      fence !== undefined ? { fence } : {},
    );
    const name = `${se.metadata.namespace}/${se.metadata.name}`;
    if (outcome.kind === 'failed') this.#o.log.warn('cannot write ServiceEntry status addresses; retrying on the next change', { serviceEntry: name, error: outcome.failure.message });
    if (outcome.kind !== 'written') return undefined;
    if (log) this.#o.log.info(written.length > 0 ? 'ServiceEntry addresses allocated' : 'ServiceEntry addresses released', { serviceEntry: name, addresses: written.map((a) => `${a.host ?? ''}=${a.value}`) });
    return written.length > 0 ? 'allocated' : 'released';
  }
}
