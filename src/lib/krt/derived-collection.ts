import { BaseCollection, type Collection, type Event, type Index } from './collection.js';
import { deepEqual } from './equal.js';
import { StaticCollection } from './static-collection.js';
import { errorMessage } from '../errors.js';

/** What a transformation reads from another collection; recorded as a dependency. */
export interface FetchOptions<T> {
  /** Only the item with this key. */
  readonly key?: string;
  /** Only items filed under `value` in this index of the fetched collection. */
  readonly index?: Index<T>;
  readonly value?: string;
  /** Only items for which this holds. Must be pure: it is re-run on changed items to find dependents. */
  readonly filter?: (item: T) => boolean;
}

/** Given to transformations: the only way they may read other collections. */
export interface Context {
  fetch<T>(collection: Collection<T>, options?: FetchOptions<T>): T[];
  fetchOne<T>(collection: Collection<T>, key: string): T | undefined;
}

interface Dependency {
  readonly collection: Collection<unknown>;
  readonly key: string | undefined;
  readonly index: Index<unknown> | undefined;
  readonly value: string | undefined;
  readonly filter: ((item: unknown) => boolean) | undefined;
}

interface InputState<O> {
  outputs: Map<string, O>;
  deps: Dependency[];
}

/** Reverse map for one upstream collection: which input keys fetched which of its items. */
interface UpstreamWatch {
  readonly byKey: Map<string, Set<string>>;
  readonly byIndex: Map<Index<unknown>, Map<string, Set<string>>>;
  readonly all: Set<string>;
}

function addTo<K>(m: Map<K, Set<string>>, k: K, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
function removeFrom<K>(m: Map<K, Set<string>>, k: K, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/** Outputs of an input item that produced none (shared, never written). */
const NO_OUTPUTS: ReadonlyMap<string, unknown> = new Map<string, unknown>();

/*
 * Producers are kept as a plain string while an output key has one producer (the usual case): a
 * Set per output key was 100k+ Sets on the first build of bench S1 at 100k entries.
 */
function addProducer(m: Map<string, string | Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (s === undefined) m.set(k, v);
  else if (typeof s === 'string') {
    if (s !== v) m.set(k, new Set([s, v]));
  } else s.add(v);
}
function removeProducer(m: Map<string, string | Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (s === undefined) return;
  if (typeof s === 'string') {
    if (s === v) m.delete(k);
    return;
  }
  s.delete(v);
  if (s.size === 1) m.set(k, firstOf(s) as string);
  else if (s.size === 0) m.delete(k);
}
function firstOf(s: ReadonlySet<string>): string | undefined {
  for (const v of s) return v;
  return undefined;
}

function matches(dep: Dependency, item: unknown, itemKey: string): boolean {
  if (dep.key !== undefined && dep.key !== itemKey) return false;
  if (dep.index !== undefined && dep.value !== undefined && !dep.index.extract(item).includes(dep.value)) return false;
  return dep.filter === undefined || dep.filter(item);
}

/**
 * A collection derived from `input` by a pure transformation producing zero or more items per
 * input item. Several input items may produce the same output key (the value of the most recent
 * producer is kept until all producers are gone); transformations should agree on such values.
 */
export class DerivedCollection<I, O> extends BaseCollection<O> {
  private readonly states = new Map<string, InputState<O>>();
  /** Output key → the input key producing it, or the set of them when several do. */
  private readonly producers = new Map<string, string | Set<string>>();
  private readonly upstream = new Map<Collection<unknown>, UpstreamWatch>();

  constructor(
    name: string,
    private readonly input: Collection<I>,
    private readonly transform: (ctx: Context, item: I) => readonly O[],
    keyOf: (item: O) => string,
  ) {
    super(name, keyOf);
    input.subscribe((events) => this.onInput(events));
    this.recompute(input.list().map((i) => input.keyOf(i)));
  }

  private onInput(events: readonly Event<I>[]): void {
    const keys = new Set<string>();
    for (const e of events) {
      const item = e.new ?? e.old;
      if (item !== undefined) keys.add(this.input.keyOf(item));
    }
    this.recompute(keys);
  }

  private onUpstream(collection: Collection<unknown>, events: readonly Event<unknown>[]): void {
    const watch = this.upstream.get(collection);
    if (!watch) return;
    const dirty = new Set<string>();
    const consider = (candidates: Iterable<string> | undefined, item: unknown, itemKey: string): void => {
      if (!candidates) return;
      for (const inputKey of candidates) {
        if (dirty.has(inputKey)) continue;
        const state = this.states.get(inputKey);
        if (state?.deps.some((d) => d.collection === collection && matches(d, item, itemKey))) dirty.add(inputKey);
      }
    };
    for (const e of events) {
      for (const item of [e.old, e.new]) {
        if (item === undefined) continue;
        const itemKey = collection.keyOf(item);
        consider(watch.byKey.get(itemKey), item, itemKey);
        for (const [index, byValue] of watch.byIndex) {
          for (const v of index.extract(item)) consider(byValue.get(v), item, itemKey);
        }
        consider(watch.all, item, itemKey);
      }
    }
    this.recompute(dirty);
  }

  private watchOf(collection: Collection<unknown>): UpstreamWatch {
    let w = this.upstream.get(collection);
    if (!w) {
      w = { byKey: new Map(), byIndex: new Map(), all: new Set() };
      this.upstream.set(collection, w);
      collection.subscribe((events) => this.onUpstream(collection, events));
    }
    return w;
  }

  private register(inputKey: string, dep: Dependency, add: boolean): void {
    const w = this.watchOf(dep.collection);
    if (dep.key !== undefined) {
      if (add) addTo(w.byKey, dep.key, inputKey);
      else removeFrom(w.byKey, dep.key, inputKey);
    } else if (dep.index !== undefined && dep.value !== undefined) {
      let byValue = w.byIndex.get(dep.index);
      if (!byValue) w.byIndex.set(dep.index, (byValue = new Map<string, Set<string>>()));
      if (add) addTo(byValue, dep.value, inputKey);
      else removeFrom(byValue, dep.value, inputKey);
    } else if (add) w.all.add(inputKey);
    else w.all.delete(inputKey);
  }

  /**
   * The dependencies the running transformation records (a stack discipline keeps a nested run, if
   * a transformation ever caused one, from mixing its records with the outer run's).
   */
  private recording: Dependency[] = [];
  /** One Context for every run (a new one per run was two closures per input item: 100k at bench S1's first build). */
  private readonly ctx: Context = {
    fetch: <T>(collection: Collection<T>, options: FetchOptions<T> = {}): T[] => {
      this.recording.push({
        collection: collection,
        key: options.key,
        index: options.index,
        value: options.value,
        filter: options.filter as ((item: unknown) => boolean) | undefined,
      });
      let items: T[];
      if (options.key !== undefined) {
        const one = collection.get(options.key);
        items = one === undefined ? [] : [one];
      } else if (options.index !== undefined && options.value !== undefined) {
        items = options.index.lookup(options.value);
      } else {
        items = collection.list();
      }
      return options.filter ? items.filter(options.filter) : items;
    },
    fetchOne: <T>(collection: Collection<T>, key: string): T | undefined => this.ctx.fetch(collection, { key })[0],
  };

  private run(item: I): { outputs: Map<string, O>; deps: Dependency[] } {
    const deps: Dependency[] = [];
    const outer = this.recording;
    this.recording = deps;
    this.stats.computations++;
    const outputs = new Map<string, O>();
    try {
      for (const o of this.transform(this.ctx, item)) outputs.set(this.keyOf(o), o);
    } finally {
      this.recording = outer;
    }
    return { outputs, deps };
  }

  private recompute(inputKeys: Iterable<string>): void {
    const events: Event<O>[] = [];
    /*
     * Whether two events of this batch may name one output key (then they are merged). Not so when
     * every event adds a key that had no producer (the first build of a collection: 100k events
     * at bench S1's 100k entries, which `coalesce` would copy into a map for nothing).
     */
    let mayRepeat = false;
    for (const inputKey of inputKeys) {
      const prev = this.states.get(inputKey);
      const item = this.input.get(inputKey);
      let next: InputState<O> | undefined;
      try {
        next = item === undefined ? undefined : this.run(item);
      } catch (e) {
        // A transformation bug must not take the graph down: keep the last good outputs
        // (krt's DiscardResult) and count the error, so tests and the debug dump show it.
        this.stats.errors++;
        this.stats.lastError = `${inputKey}: ${errorMessage(e)}`;
        continue;
      }
      if (prev) for (const d of prev.deps) this.register(inputKey, d, false);
      if (next) {
        for (const d of next.deps) this.register(inputKey, d, true);
        this.states.set(inputKey, next);
      } else {
        this.states.delete(inputKey);
      }
      const prevOut = prev?.outputs ?? (NO_OUTPUTS as ReadonlyMap<string, O>);
      const nextOut = next?.outputs ?? (NO_OUTPUTS as ReadonlyMap<string, O>);
      if (prevOut.size > 0) mayRepeat = true;
      for (const [k, old] of prevOut) {
        if (nextOut.has(k)) continue;
        removeProducer(this.producers, k, inputKey);
        const others = this.producers.get(k);
        const current = this.items.get(k);
        if (others === undefined) events.push({ old: current ?? old });
        else {
          const other = typeof others === 'string' ? others : firstOf(others);
          const replacement = other === undefined ? undefined : this.states.get(other)?.outputs.get(k);
          if (replacement !== undefined && current !== undefined && !deepEqual(current, replacement)) {
            events.push({ old: current, new: replacement });
          }
        }
      }
      for (const [k, value] of nextOut) {
        if (!mayRepeat && this.producers.has(k)) mayRepeat = true;
        addProducer(this.producers, k, inputKey);
        const current = this.items.get(k);
        if (current === undefined) events.push({ new: value });
        else if (!deepEqual(current, value)) events.push({ old: current, new: value });
      }
    }
    this.commit(mayRepeat ? coalesce(events, (o) => this.keyOf(o)) : events);
  }
}

/** Merges several events for one key in a batch into one (first old, last new). */
function coalesce<O>(events: Event<O>[], keyOf: (o: O) => string): Event<O>[] {
  if (events.length < 2) return events;
  const byKey = new Map<string, { old?: O; new?: O; hadOld: boolean }>();
  for (const e of events) {
    const item = e.new ?? e.old;
    if (item === undefined) continue;
    const k = keyOf(item);
    const acc = byKey.get(k);
    if (!acc) {
      const first: { old?: O; new?: O; hadOld: boolean } = { hadOld: e.old !== undefined };
      if (e.old !== undefined) first.old = e.old;
      if (e.new !== undefined) first.new = e.new;
      byKey.set(k, first);
    } else if (e.new !== undefined) acc.new = e.new;
    else delete acc.new;
  }
  const out: Event<O>[] = [];
  for (const acc of byKey.values()) {
    if (acc.old !== undefined && acc.new !== undefined) {
      if (!deepEqual(acc.old, acc.new)) out.push({ old: acc.old, new: acc.new });
    } else if (acc.old !== undefined) out.push({ old: acc.old });
    else if (acc.new !== undefined) out.push({ new: acc.new });
  }
  return out;
}

/** One output item per input item (or none, when the transformation returns undefined). */
export function derive<I, O>(
  name: string,
  input: Collection<I>,
  transform: (ctx: Context, item: I) => O | undefined,
  keyOf: (item: O) => string,
): DerivedCollection<I, O> {
  return new DerivedCollection<I, O>(name, input, (ctx, item) => {
    const o = transform(ctx, item);
    return o === undefined ? [] : [o];
  }, keyOf);
}

/** Any number of output items per input item. */
export function deriveMany<I, O>(
  name: string,
  input: Collection<I>,
  transform: (ctx: Context, item: I) => readonly O[],
  keyOf: (item: O) => string,
): DerivedCollection<I, O> {
  return new DerivedCollection(name, input, transform, keyOf);
}

/** A collection holding exactly one item, computed from other collections. */
export interface Singleton<O> extends Collection<O> {
  value(): O;
}

export function singleton<O>(name: string, compute: (ctx: Context) => O): Singleton<O> {
  const seed = new StaticCollection<string>(`${name}/seed`, (s) => s, ['singleton']);
  const c = new DerivedCollection<string, O>(name, seed, (ctx) => [compute(ctx)], () => 'singleton');
  return Object.assign(c, {
    value(): O {
      const v = c.get('singleton');
      if (v === undefined) throw new Error(`singleton ${name} has no value`);
      return v;
    },
  });
}
