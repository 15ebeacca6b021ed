import { BaseCollection, type Event } from './collection.js';
import { deepEqual } from './equal.js';

/**
 * An input collection that sources write to. `upsert` and `replaceAll` compare: a write that leaves
 * an item structurally unchanged emits nothing, and `replaceAll` turns a complete new snapshot into
 * the minimal batch of events. `putChanged` is for writers that compared already.
 */
export class StaticCollection<T> extends BaseCollection<T> {
  constructor(name: string, keyOf: (item: T) => string, initial: Iterable<T> = []) {
    super(name, keyOf);
    for (const item of initial) this.items.set(keyOf(item), item);
  }

  upsert(...items: T[]): void {
    const events: Event<T>[] = [];
    for (const item of items) {
      const old = this.items.get(this.keyOf(item));
      if (old === undefined) events.push({ new: item });
      else if (!deepEqual(old, item)) events.push({ old, new: item });
    }
    this.commit(events);
  }

  /**
   * Stores items the writer has already compared with what it had: every one is emitted, without
   * comparing again (a store's changes, where each put is a new revision of its object).
   */
  putChanged(...items: T[]): void {
    this.commit(
      items.map((item): Event<T> => {
        const old = this.items.get(this.keyOf(item));
        return old === undefined ? { new: item } : { old, new: item };
      }),
    );
  }

  delete(...keys: string[]): void {
    const events: Event<T>[] = [];
    for (const key of keys) {
      const old = this.items.get(key);
      if (old !== undefined) events.push({ old });
    }
    this.commit(events);
  }

  replaceAll(items: Iterable<T>): void {
    const next = new Map<string, T>();
    for (const item of items) next.set(this.keyOf(item), item);
    const events: Event<T>[] = [];
    for (const [key, old] of this.items) if (!next.has(key)) events.push({ old });
    for (const [key, item] of next) {
      const old = this.items.get(key);
      if (old === undefined) events.push({ new: item });
      else if (!deepEqual(old, item)) events.push({ old, new: item });
    }
    this.commit(events);
  }
}
