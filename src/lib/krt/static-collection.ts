import { BaseCollection, type Event } from './collection.js';
import { deepEqual } from './equal.js';

/**
 * An input collection that sources write to. Writes that leave an item structurally unchanged emit
 * nothing. `replaceAll` turns a complete new snapshot into the minimal batch of events.
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
