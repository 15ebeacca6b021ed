/**
 * A checking mirror for store tests: applies a store's watch events to a map and records every
 * breach of the watch contract it can see (a change delivered twice, revisions going backwards,
 * a transaction split over events).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigStore, Listing, StoreEvent, StoreWatch } from '../../src/model/config/store.js';
import { objectKey, type ConfigObject } from '../../src/model/config/types.js';

export class StoreMirror {
  readonly objects = new Map<string, ConfigObject>();
  revision: number;
  resyncs = 0;
  disconnects = 0;
  /** `key@revision` of puts and deletes delivered more than once. */
  readonly duplicates: string[] = [];
  /** Revisions that arrived out of order. */
  readonly disorder: string[] = [];
  readonly events: StoreEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly batches = new Map<string, number>();
  private readonly w: StoreWatch;

  constructor(store: ConfigStore, from: Listing, initial: readonly ConfigObject[] = from.objects) {
    for (const o of initial) this.objects.set(objectKey(o), o);
    this.revision = Number(from.revision);
    this.w = store.watch(from.revision, (e) => this.apply(e));
  }

  private apply(e: StoreEvent): void {
    this.events.push(e);
    switch (e.type) {
      case 'changes': {
        if (Number(e.revision) <= this.revision && e.changes.length > 0) this.disorder.push(`${e.revision} after ${this.revision}`);
        const revs = new Set<string>();
        for (const c of e.changes) {
          const id = c.type === 'put' ? `${objectKey(c.object)}@${c.object.metadata.resourceVersion}` : `${c.key}@${c.revision}!`;
          if (this.seen.has(id)) this.duplicates.push(id);
          this.seen.add(id);
          const rev = c.type === 'put' ? c.object.metadata.resourceVersion ?? '' : c.revision;
          revs.add(rev);
          if (c.type === 'put') this.objects.set(objectKey(c.object), c.object);
          else this.objects.delete(c.key);
        }
        for (const r of revs) this.batches.set(r, (this.batches.get(r) ?? 0) + 1);
        this.revision = Math.max(this.revision, Number(e.revision));
        break;
      }
      case 'resync':
        this.resyncs++;
        this.objects.clear();
        for (const o of e.objects) this.objects.set(objectKey(o), o);
        this.revision = Number(e.revision);
        break;
      case 'connection':
        if (!e.connected) this.disconnects++;
        break;
      case 'problem':
      case 'files':
        break;
    }
  }

  /** How many events carried changes of this revision (1 when a transaction is not split). */
  batchOf(revision: string): number {
    return this.batches.get(revision) ?? 0;
  }

  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  get(key: string): ConfigObject | undefined {
    return this.objects.get(key);
  }

  close(): Promise<void> {
    return this.w.close();
  }
}

/** Polls `cond` every 10 ms; rejects after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`${what} not met within ${ms} ms`);
    await sleep(10);
  }
}
