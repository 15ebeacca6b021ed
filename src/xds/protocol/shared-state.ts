/**
 * Bookkeeping that streams of one view share (issue 15, bench S6). Envoy sidecars subscribe to every
 * cluster, so with 2,000 streams each one kept its own copy of the selection (a sorted Map of its
 * ~1,000 subscribed resources, built again on every push) and of what it was sent (a Map of the same
 * size per type), and compared them name by name on every push: per push O(streams × resources),
 * and most of the control plane's memory.
 *
 * Here equal subscriptions are one object (`internSubscription`), the selection of a snapshot's
 * resources for a subscription is computed once (`selectShared`), and the difference between two
 * selections once (`diffSelections`); a session whose client has exactly a selection keeps a
 * reference to it instead of a copy. All memos are weak: they live as long as the snapshots do.
 */
import type { EncodedResource } from '../types/encoded-resource.js';
import type { Subscription } from './subscription.js';

const interned = new Map<string, WeakRef<Subscription>>();
const internKeys = new WeakMap<Subscription, string>();
const forget = new FinalizationRegistry<string>((key) => {
  if (interned.get(key)?.deref() === undefined) interned.delete(key);
});

/**
 * The one Subscription object equal to `sub` (equal wildcard, explicit flag and names). Costs a sort
 * of the names: call it when a subscription changes, not on every request.
 */
export function internSubscription(sub: Subscription): Subscription {
  if (internKeys.has(sub)) return sub;
  const key = `${sub.wildcard ? '*' : ''}|${sub.explicit ? 'e' : ''}|${[...sub.names].sort().join('\n')}`;
  const existing = interned.get(key)?.deref();
  if (existing !== undefined) return existing;
  interned.set(key, new WeakRef(sub));
  internKeys.set(sub, key);
  forget.register(sub, key);
  return sub;
}

/** The subscribed resources of a snapshot, sorted by name, and the subscribed names it lacks. */
export interface Selection {
  readonly resources: ReadonlyMap<string, EncodedResource>;
  /** Explicitly subscribed names the snapshot does not have, sorted. */
  readonly missing: readonly string[];
  /** The resources in name order (shared: never modify). */
  readonly list: readonly EncodedResource[];
}

const selections = new WeakMap<ReadonlyMap<string, EncodedResource>, WeakMap<Subscription, Selection>>();

/** `selectResources` computed once per (snapshot resources, interned subscription). */
export function selectShared(sub: Subscription, resources: ReadonlyMap<string, EncodedResource>): Selection {
  let bySub = selections.get(resources);
  if (bySub === undefined) selections.set(resources, (bySub = new WeakMap()));
  const cached = bySub.get(sub);
  if (cached !== undefined) return cached;
  const names = sub.wildcard ? [...resources.keys()] : [...sub.names].filter((n) => resources.has(n));
  const map = new Map<string, EncodedResource>();
  for (const name of names.sort()) map.set(name, resources.get(name) as EncodedResource);
  const missing = [...sub.names].filter((n) => !resources.has(n)).sort();
  const selection: Selection = { resources: map, missing, list: [...map.values()] };
  bySub.set(sub, selection);
  return selection;
}

/** From one selection to the next. */
export interface SelectionDiff {
  /** Resources of `next` whose content differs from (or is absent in) `previous`, in name order. */
  readonly changed: readonly EncodedResource[];
  /** Names of `previous` that `next` lacks, sorted. */
  readonly dropped: readonly string[];
}

const diffs = new WeakMap<ReadonlyMap<string, EncodedResource>, WeakMap<ReadonlyMap<string, EncodedResource>, SelectionDiff>>();

/** The difference of two selections, computed once per pair (content compared by version). */
export function diffSelections(previous: ReadonlyMap<string, EncodedResource>, next: ReadonlyMap<string, EncodedResource>): SelectionDiff {
  let byNext = diffs.get(previous);
  if (byNext === undefined) diffs.set(previous, (byNext = new WeakMap()));
  const cached = byNext.get(next);
  if (cached !== undefined) return cached;
  const changed: EncodedResource[] = [];
  for (const [name, r] of next) {
    const before = previous.get(name);
    // The same object is the same content (and is not encoded just to compare it).
    if (before !== r && before?.version !== r.version) changed.push(r);
  }
  const dropped: string[] = [];
  for (const name of previous.keys()) if (!next.has(name)) dropped.push(name);
  const diff: SelectionDiff = { changed, dropped: dropped.sort() };
  byNext.set(next, diff);
  return diff;
}

/** A shared selection as a stream's own name → version map (to change it name by name). */
export function versionsOf(shared: ReadonlyMap<string, EncodedResource>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, r] of shared) out.set(name, r.version);
  return out;
}

const chunkNames = new WeakMap<readonly EncodedResource[], readonly string[]>();

/** The names of a response's resources, once per chunk (chunks of shared lists are shared by streams; never modify the result). */
export function namesOfChunk(chunk: readonly EncodedResource[]): readonly string[] {
  let names = chunkNames.get(chunk);
  if (names === undefined) chunkNames.set(chunk, (names = Object.freeze(chunk.map((r) => r.name))));
  return names;
}
