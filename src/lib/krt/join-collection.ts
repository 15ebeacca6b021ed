import { BaseCollection, type Collection, type Event } from './collection.js';

/**
 * The union of collections of one item type whose keys never collide (e.g. workloads from pods and
 * from WorkloadEntries, keyed `Pod/...` and `WorkloadEntry/...`).
 */
export class JoinCollection<T> extends BaseCollection<T> {
  constructor(name: string, parts: readonly Collection<T>[], keyOf: (item: T) => string) {
    super(name, keyOf);
    for (const part of parts) {
      for (const item of part.list()) this.items.set(keyOf(item), item);
      part.subscribe((events: readonly Event<T>[]) => this.commit([...events]));
    }
  }
}
