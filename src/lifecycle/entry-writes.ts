/**
 * How the lifecycle writes a WorkloadEntry: read it, decide, write with its resourceVersion
 * (compare-and-swap), and on a conflict read again and decide again (H-7: Istio retries status
 * writes up to 5 times with backoff). Two replicas writing the same entry therefore never lose
 * each other's change: the second write is decided on top of the first.
 *
 * `decide` is pure: it sees the entry as stored now (undefined: absent) and returns the op to
 * write, or undefined to leave the entry alone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../lib/async/backoff.js';
import { StoreUnavailableError, type ConfigStore, type Fence, type ObjectRef, type WriteFailure, type WriteOp } from '../model/config/store.js';
import type { Condition, ConfigObject, WorkloadEntry, WorkloadEntryStatus } from '../model/config/types.js';

export type MutateOutcome<T extends ConfigObject = WorkloadEntry> =
  | { readonly kind: 'written'; readonly entry: T | undefined }
  | { readonly kind: 'skipped' }
  | { readonly kind: 'failed'; readonly failure: WriteFailure };

export interface MutateOptions {
  /** Attempts while the store does not answer (default 8, with backoff up to ~5 s apart). */
  readonly attempts?: number;
  /**
   * Attempts while other writers keep winning (default 100). A conflict means another writer made
   * progress; giving up early would drop this write (a lost condition), so the budget is large
   * and the backoff short and jittered, which breaks ties between replicas quickly.
   */
  readonly conflictAttempts?: number;
  readonly fence?: Fence;
}

/** For any kind of object (`T`: a WorkloadEntry by default; the address allocator writes ServiceEntries). */
export async function mutateEntry<T extends ConfigObject = WorkloadEntry>(
  store: ConfigStore,
  ref: ObjectRef,
  decide: (current: T | undefined) => WriteOp | undefined,
  o: MutateOptions = {},
): Promise<MutateOutcome<T>> {
  let unavailable = o.attempts ?? 8;
  let conflicts = o.conflictAttempts ?? 100;
  const outage = new Backoff({ baseMs: 50, capMs: 5000 });
  const contention = new Backoff({ baseMs: 2, capMs: 100, floorMs: 0 });
  let last: WriteFailure = { code: 'Unavailable', message: 'not attempted', retryable: true };
  while (unavailable > 0 && conflicts > 0) {
    let current: T | undefined;
    try {
      current = (await store.get(ref)) as T | undefined;
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
      last = { code: 'Unavailable', message: e.message, retryable: true };
      unavailable--;
      await sleep(outage.next());
      continue;
    }
    const op = decide(current);
    if (!op) return { kind: 'skipped' };
    const r = await store.write([op], o.fence ? { fence: o.fence } : {});
    if (r.ok) return { kind: 'written', entry: r.objects[0] as T | undefined };
    last = r.failure;
    switch (r.failure.code) {
      case 'Conflict':
      case 'NotFound':
      case 'AlreadyExists':
        conflicts--;
        await sleep(contention.next()); // another writer came first: decide again on its result
        break;
      case 'Unavailable':
        unavailable--;
        await sleep(outage.next());
        break;
      case 'Fenced':
      case 'Invalid':
      case 'ReadOnly':
        return { kind: 'failed', failure: r.failure };
    }
  }
  return { kind: 'failed', failure: last };
}

/** The status with `c` as its only condition of `type` (others kept); `c` undefined removes it (H-6). */
export function setCondition(status: WorkloadEntryStatus | undefined, c: Condition | undefined, type: string): WorkloadEntryStatus {
  const others = (status?.conditions ?? []).filter((x) => x.type !== type);
  return { ...(status ?? {}), conditions: c ? [...others, c] : others };
}

export function conditionOf(e: WorkloadEntry | undefined, type: string): Condition | undefined {
  return (e?.status?.conditions ?? []).find((c) => c.type === type);
}

/** The entry with these annotations set (undefined removes one); other annotations kept. */
export function withAnnotations(e: WorkloadEntry, changes: Readonly<Record<string, string | undefined>>): WorkloadEntry {
  const annotations: Record<string, string> = { ...e.metadata.annotations };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete annotations[k];
    else annotations[k] = v;
  }
  return { ...e, metadata: { ...e.metadata, annotations } };
}

/** Istio's time format for connect annotations: RFC 3339 with nanoseconds. */
export function isoNano(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000000Z');
}

export function parseIsoNano(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const ms = Date.parse(s.replace(/(\.\d{3})\d*Z$/, '$1Z'));
  return Number.isNaN(ms) ? undefined : ms;
}
