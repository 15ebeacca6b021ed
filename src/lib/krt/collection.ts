/**
 * Reactive collections, after Istio's krt (pkg/kube/krt): static inputs, and derived collections
 * whose items are pure functions of other collections. A derived collection records, for every
 * input item it transforms, exactly what the transformation fetched (by key, by index value, with
 * a filter); when an upstream item changes, only the transformations whose recorded fetches match
 * the old or new item run again. Work therefore grows with what changed, not with the size of the
 * mesh.
 *
 * Contracts:
 * - Events are delivered synchronously, in batches, after the emitting collection's state is
 *   updated. An event has `new` only (added), `old` only (deleted) or both (updated).
 * - An item whose recomputed value is structurally equal to the previous one emits nothing.
 * - Transformations must be pure: read other collections only through `ctx.fetch*`, no clocks,
 *   randomness or I/O; sort anything whose order is not guaranteed.
 */

export interface Event<T> {
  readonly old?: T;
  readonly new?: T;
}

export type Handler<T> = (events: readonly Event<T>[]) => void;

export interface Index<T> {
  readonly name: string;
  readonly collection: Collection<T>;
  /** The index values an item is filed under. */
  extract(item: T): readonly string[];
  /** Items filed under `value`, in no guaranteed order. */
  lookup(value: string): T[];
}

export interface Collection<T> {
  /** Path-like debug name, e.g. `registry/Workloads`. */
  readonly name: string;
  keyOf(item: T): string;
  get(key: string): T | undefined;
  /** All items, in no guaranteed order. */
  list(): T[];
  readonly size: number;
  /** Receives every later change. Returns an unsubscribe function. */
  subscribe(handler: Handler<T>): () => void;
  /** An index kept up to date with the collection; created once per name. */
  index(name: string, extract: (item: T) => readonly string[]): Index<T>;
}

/** Counters for tests and the debug dump: how much work a collection did. */
export interface CollectionStats {
  /** Transformations run (derived collections). */
  computations: number;
  /** Events emitted downstream. */
  events: number;
}

/** Base class shared by static and derived collections: item storage, indexes, subscribers. */
export abstract class BaseCollection<T> implements Collection<T> {
  protected readonly items = new Map<string, T>();
  private readonly handlers = new Set<Handler<T>>();
  private readonly indexes = new Map<string, IndexImpl<T>>();
  readonly stats: CollectionStats = { computations: 0, events: 0 };

  constructor(
    readonly name: string,
    private readonly keyFn: (item: T) => string,
  ) {}

  keyOf(item: T): string {
    return this.keyFn(item);
  }
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  list(): T[] {
    return [...this.items.values()];
  }
  get size(): number {
    return this.items.size;
  }
  subscribe(handler: Handler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  index(name: string, extract: (item: T) => readonly string[]): Index<T> {
    let idx = this.indexes.get(name);
    if (!idx) {
      idx = new IndexImpl(name, this, extract);
      for (const item of this.items.values()) idx.add(item);
      this.indexes.set(name, idx);
    }
    return idx;
  }

  /** Applies changes to storage and indexes, then notifies subscribers once. */
  protected commit(events: Event<T>[]): void {
    if (events.length === 0) return;
    for (const e of events) {
      if (e.old !== undefined) {
        for (const idx of this.indexes.values()) idx.remove(e.old);
      }
      if (e.new !== undefined) {
        this.items.set(this.keyFn(e.new), e.new);
        for (const idx of this.indexes.values()) idx.add(e.new);
      } else if (e.old !== undefined) {
        this.items.delete(this.keyFn(e.old));
      }
    }
    this.stats.events += events.length;
    for (const h of [...this.handlers]) h(events);
  }
}

class IndexImpl<T> implements Index<T> {
  private readonly buckets = new Map<string, Map<string, T>>();
  constructor(
    readonly name: string,
    readonly collection: Collection<T>,
    readonly extract: (item: T) => readonly string[],
  ) {}
  add(item: T): void {
    const key = this.collection.keyOf(item);
    for (const v of this.extract(item)) {
      let b = this.buckets.get(v);
      if (!b) this.buckets.set(v, (b = new Map<string, T>()));
      b.set(key, item);
    }
  }
  remove(item: T): void {
    const key = this.collection.keyOf(item);
    for (const v of this.extract(item)) {
      const b = this.buckets.get(v);
      if (!b) continue;
      b.delete(key);
      if (b.size === 0) this.buckets.delete(v);
    }
  }
  lookup(value: string): T[] {
    const b = this.buckets.get(value);
    return b ? [...b.values()] : [];
  }
}
