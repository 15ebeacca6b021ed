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
  /** Transformations that threw (a bug): the item kept its previous outputs. */
  errors: number;
  lastError?: string;
}

/** Base class shared by static and derived collections: item storage, indexes, subscribers. */
export abstract class BaseCollection<T> implements Collection<T> {
  protected readonly items = new Map<string, T>();
  private readonly handlers = new Set<Handler<T>>();
  private readonly indexes = new Map<string, IndexImpl<T>>();
  readonly stats: CollectionStats = { computations: 0, events: 0, errors: 0 };

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
      for (const [key, item] of this.items) idx.add(item, key);
      this.indexes.set(name, idx);
    }
    return idx;
  }

  /** Applies changes to storage and indexes, then notifies subscribers once. */
  protected commit(events: Event<T>[]): void {
    if (events.length === 0) return;
    // Keys are computed once per event (not once per index): measured in bench S1 at 100k entries.
    const indexes = [...this.indexes.values()];
    for (const e of events) {
      const oldKey = e.old !== undefined ? this.keyFn(e.old) : undefined;
      if (e.old !== undefined && oldKey !== undefined) {
        for (const idx of indexes) idx.remove(e.old, oldKey);
      }
      if (e.new !== undefined) {
        const key = this.keyFn(e.new);
        this.items.set(key, e.new);
        for (const idx of indexes) idx.add(e.new, key);
      } else if (oldKey !== undefined) {
        this.items.delete(oldKey);
      }
    }
    this.stats.events += events.length;
    for (const h of [...this.handlers]) h(events);
  }
}

/** An index value filed by several items: their keys → items. */
class Bucket<T> extends Map<string, T> {}

/**
 * Index values map to the one item filed under them, or to a Bucket when several are: most values
 * of some indexes name one item (a workload's address, a service's host), and a Map per value was
 * 120,000 Maps at bench S1's 100k entries.
 */
class IndexImpl<T> implements Index<T> {
  private readonly buckets = new Map<string, T | Bucket<T>>();
  constructor(
    readonly name: string,
    readonly collection: Collection<T>,
    readonly extract: (item: T) => readonly string[],
  ) {}
  /** Files `item` (whose key is `key`) under its index values. */
  add(item: T, key: string): void {
    for (const v of this.extract(item)) {
      const b = this.buckets.get(v);
      if (b === undefined) this.buckets.set(v, item);
      else if (b instanceof Bucket) b.set(key, item);
      else {
        const otherKey = this.collection.keyOf(b);
        if (otherKey === key) this.buckets.set(v, item);
        else this.buckets.set(v, new Bucket<T>([[otherKey, b], [key, item]]));
      }
    }
  }
  remove(item: T, key: string): void {
    for (const v of this.extract(item)) {
      const b = this.buckets.get(v);
      if (b === undefined) continue;
      if (!(b instanceof Bucket)) {
        if (this.collection.keyOf(b) === key) this.buckets.delete(v);
        continue;
      }
      b.delete(key);
      if (b.size === 1) for (const only of b.values()) this.buckets.set(v, only);
      else if (b.size === 0) this.buckets.delete(v);
    }
  }
  lookup(value: string): T[] {
    const b = this.buckets.get(value);
    if (b === undefined) return [];
    return b instanceof Bucket ? [...b.values()] : [b];
  }
}
