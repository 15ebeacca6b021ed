/**
 * The in-memory configuration store: the reference implementation of the store port
 * (model/config/store.ts), used by tests and as the core of the file store. Revisions are a
 * counter; the last `historyLimit` revisions are kept so that a watch can resume from a recent
 * revision, older ones are answered with a `resync` (as etcd answers a compacted revision).
 */
import { randomUUID } from 'node:crypto';
import { objectKey, type ConfigObject } from '../../model/config/types.js';
import { refKey, type Change, type ConfigStore, type Listing, type ObjectRef, type StoreEvent, type StoreWatch, type WriteOp, type WriteOptions, type WriteResult } from '../../model/config/store.js';
import { duplicateRef, opRef, planWrite } from '../../model/config/store-writes.js';
import { withFields } from '../../lib/objects/with-fields.js';

interface Revision {
  readonly revision: number;
  readonly changes: readonly Change[];
}

/** A change computed by a subclass (the file store's folder reloads), applied without the write rules. */
export interface DirectChange {
  readonly key: string;
  /** The new object, with its origin (its resourceVersion is set here); undefined deletes. */
  readonly next: ConfigObject | undefined;
}

export interface MemoryStoreOptions {
  readonly historyLimit?: number;
  readonly description?: string;
  /** Where objects say they came from (origin.file). */
  readonly originFile?: string;
}

class MemoryWatch implements StoreWatch {
  private queue: StoreEvent[] = [];
  private scheduled = false;
  closed = false;

  constructor(private readonly listener: (e: StoreEvent) => void) {}

  push(e: StoreEvent): void {
    if (this.closed) return;
    this.queue.push(e);
    if (this.scheduled) return;
    this.scheduled = true;
    // Delivered after the write returns, in order, never re-entrantly.
    setImmediate(() => {
      this.scheduled = false;
      const events = this.queue;
      this.queue = [];
      for (const ev of events) if (!this.closed) this.listener(ev);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    return Promise.resolve();
  }
}

export class MemoryStore implements ConfigStore {
  readonly description: string;
  protected readonly objects = new Map<string, ConfigObject>();
  private readonly history: Revision[] = [];
  private readonly watches = new Set<MemoryWatch>();
  private readonly historyLimit: number;
  private readonly originFile: string;
  protected revision = 0;

  constructor(o: MemoryStoreOptions = {}) {
    this.historyLimit = o.historyLimit ?? 10_000;
    this.description = o.description ?? 'memory';
    this.originFile = o.originFile ?? 'memory';
  }

  list(): Promise<Listing> {
    return Promise.resolve({ objects: [...this.objects.values()], revision: String(this.revision), problems: [] });
  }

  get(ref: ObjectRef): Promise<ConfigObject | undefined> {
    return Promise.resolve(this.objects.get(refKey(ref)));
  }

  /** Every stored object of a kind, synchronously (memory and file stores only). */
  objectsOf(kind: string): ConfigObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind);
  }

  /** The stored object, synchronously (memory and file stores only). */
  current(key: string): ConfigObject | undefined {
    return this.objects.get(key);
  }

  watch(fromRevision: string, listener: (event: StoreEvent) => void): StoreWatch {
    const w = new MemoryWatch(listener);
    const from = Number(fromRevision);
    const oldest = this.history[0]?.revision ?? this.revision + 1;
    if (from >= this.revision) {
      // Nothing missed.
    } else if (from >= oldest - 1) {
      const missed = this.history.filter((h) => h.revision > from);
      w.push({ type: 'changes', revision: String(this.revision), changes: missed.flatMap((h) => h.changes) });
    } else {
      w.push({ type: 'resync', revision: String(this.revision), objects: [...this.objects.values()] });
    }
    this.watches.add(w);
    return {
      close: async () => {
        this.watches.delete(w);
        await w.close();
      },
    };
  }

  write(ops: readonly WriteOp[], _options: WriteOptions = {}): Promise<WriteResult> {
    // Single process: leadership fences are held by definition (LocalCoordination).
    return Promise.resolve(this.writeNow(ops));
  }

  protected writeNow(ops: readonly WriteOp[]): WriteResult {
    const dup = duplicateRef(ops);
    if (dup) return { ok: false, failure: dup };
    const ctx = { now: new Date().toISOString(), newUid: randomUUID };
    const planned = [];
    for (const [i, op] of ops.entries()) {
      const refused = this.refuse(op, i);
      if (refused) return refused;
      const p = planWrite(op, this.objects.get(refKey(opRef(op))), i, ctx);
      if (!p.ok) return p;
      planned.push(p);
    }
    const order = this.revision + 1; // objects created now: after everything before
    const changes = planned
      .filter((p) => p.changed)
      .map((p) => {
        const key = refKey(p.ref);
        const origin = this.objects.get(key)?.origin ?? { file: this.originFile, line: 0, column: 0, order };
        return { key, next: p.next ? withFields(p.next, { origin }) : undefined };
      });
    const revision = changes.length > 0 ? this.applyDirect(changes) : this.revision;
    return { ok: true, revision: String(revision), objects: planned.map((p) => (p.next ? this.objects.get(refKey(p.ref)) ?? p.next : undefined)) };
  }

  /** A subclass's chance to refuse an op before the write rules (the file store's read-only objects). */
  protected refuse(_op: WriteOp, _index: number): WriteResult | undefined {
    return undefined;
  }

  /** Stores changes as one revision and tells the watchers. Returns the revision. */
  protected applyDirect(changes: readonly DirectChange[]): number {
    const revision = ++this.revision;
    const out: Change[] = [];
    for (const c of changes) {
      const old = this.objects.get(c.key);
      if (c.next === undefined) {
        if (!old) continue;
        this.objects.delete(c.key);
        out.push({ type: 'delete', key: c.key, revision: String(revision) });
      } else {
        const stored = withFields(c.next, { metadata: withFields(c.next.metadata, { resourceVersion: String(revision) }) }) as ConfigObject;
        this.objects.set(objectKey(stored), stored);
        out.push({ type: 'put', object: stored });
      }
    }
    this.history.push({ revision, changes: out });
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    this.tell({ type: 'changes', revision: String(revision), changes: out });
    return revision;
  }

  /** Delivers an event to every watcher, after what was delivered before (a subclass's reports). */
  protected tell(event: StoreEvent): void {
    for (const w of this.watches) w.push(event);
  }

  /** Forgets the history up to now (as etcd's compaction): older watches resync. */
  compact(): void {
    this.history.length = 0;
  }

  close(): Promise<void> {
    for (const w of this.watches) void w.close();
    this.watches.clear();
    return Promise.resolve();
  }
}
