import { BaseCollection, type Event } from './collection.js';
import { deepEqual } from './equal.js';

/**
 * An input collection that sources write to. Writes that leave an item structurally unchanged emit
 * nothing. `replaceAll` turns a complete new snapshot into the minimal batch of events.
 */
export class StaticCollection<T> extends BaseCollection<T> {
  /**
   * The list of the last `replaceAll`, when the collection holds exactly its items (no duplicate
   * keys, no `upsert`/`delete` since): the next snapshot is then compared by identity first.
   */
  #last: readonly T[] | undefined;

  constructor(name: string, keyOf: (item: T) => string, initial: Iterable<T> = []) {
    super(name, keyOf);
    for (const item of initial) this.items.set(keyOf(item), item);
  }

  upsert(...items: T[]): void {
    this.#last = undefined;
    const events: Event<T>[] = [];
    for (const item of items) {
      const old = this.items.get(this.keyOf(item));
      if (old === undefined) events.push({ new: item });
      else if (!deepEqual(old, item)) events.push({ old, new: item });
    }
    this.commit(events);
  }

  delete(...keys: string[]): void {
    this.#last = undefined;
    const events: Event<T>[] = [];
    for (const key of keys) {
      const old = this.items.get(key);
      if (old !== undefined) events.push({ old });
    }
    this.commit(events);
  }

  replaceAll(items: Iterable<T>): void {
    const list = Array.isArray(items) ? (items as readonly T[]) : [...items];
    if (this.#replaceChanged(list)) return;
    const next = new Map<string, T>();
    for (const item of list) next.set(this.keyOf(item), item);
    // Keep the list for the fast path only when it maps one-to-one onto the items.
    this.#last = next.size === list.length ? list.slice() : undefined;
    const events: Event<T>[] = [];
    for (const [key, old] of this.items) if (!next.has(key)) events.push({ old });
    for (const [key, item] of next) {
      const old = this.items.get(key);
      if (old === undefined) events.push({ new: item });
      else if (!deepEqual(old, item)) events.push({ old, new: item });
    }
    this.commit(events);
  }

  /**
   * Fast path of `replaceAll` for a snapshot that shares all but a contiguous run of items (by
   * identity) with the previous one, as a config folder does when one file changed: only that run is
   * diffed. Measured cause (bench S4, 100k WorkloadEntries): diffing every item of every kind on each
   * one-file change cost ~16 ms per change. Returns false when it cannot decide (the caller diffs
   * everything).
   */
  #replaceChanged(list: readonly T[]): boolean {
    const last = this.#last;
    if (last === undefined) return false;
    const min = Math.min(last.length, list.length);
    let p = 0;
    while (p < min && list[p] === last[p]) p++;
    let s = 0;
    while (s < min - p && list[list.length - 1 - s] === last[last.length - 1 - s]) s++;
    const removed = last.slice(p, last.length - s);
    const added = list.slice(p, list.length - s);
    if (removed.length + added.length > Math.max(16, list.length / 4)) return false;
    const removedKeys = new Set(removed.map((item) => this.keyOf(item)));
    const addedKeys = new Map<string, T>();
    for (const item of added) {
      const key = this.keyOf(item);
      // A key twice in the run, or also held by an untouched item: not one-to-one any more.
      if (addedKeys.has(key) || (this.items.has(key) && !removedKeys.has(key))) return false;
      addedKeys.set(key, item);
    }
    const events: Event<T>[] = [];
    for (const key of removedKeys) {
      const old = this.items.get(key);
      if (old !== undefined && !addedKeys.has(key)) events.push({ old });
    }
    for (const [key, item] of addedKeys) {
      const old = this.items.get(key);
      if (old === undefined) events.push({ new: item });
      else if (!deepEqual(old, item)) events.push({ old, new: item });
    }
    this.#last = list.slice();
    this.commit(events);
    return true;
  }
}
