import { BaseCollection, type Collection, type Event } from './collection.js';

/**
 * The union of collections of one item type whose keys may collide: for each key the item of the
 * first part (in the order given) that holds it. Used where two sources feed one kind, e.g. pods
 * written as YAML in the store and pods read from a Kubernetes cluster: the store's copy shadows
 * the cluster's, and the cluster's comes back when the store's is deleted.
 */
export class LayeredCollection<T> extends BaseCollection<T> {
  constructor(
    name: string,
    private readonly parts: readonly Collection<T>[],
    keyOf: (item: T) => string,
  ) {
    super(name, keyOf);
    for (const part of [...parts].reverse()) for (const item of part.list()) this.items.set(keyOf(item), item);
    for (const part of parts) part.subscribe((events) => this.onPartEvents(events));
  }

  /** The item of `key` seen through the layers: the first part holding it. */
  private visible(key: string): T | undefined {
    for (const part of this.parts) {
      const item = part.get(key);
      if (item !== undefined) return item;
    }
    return undefined;
  }

  /** A part changed: emits what changed in the view (a change under a shadowing part emits nothing). */
  private onPartEvents(events: readonly Event<T>[]): void {
    const out: Event<T>[] = [];
    for (const e of events) {
      const item = e.new ?? e.old;
      if (item === undefined) continue;
      const key = this.keyOf(item);
      const before = this.items.get(key);
      const now = this.visible(key);
      if (before === now) continue;
      if (now === undefined) out.push({ old: before as T });
      else out.push(before === undefined ? { new: now } : { old: before, new: now });
    }
    this.commit(out);
  }
}
