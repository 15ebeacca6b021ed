import { randomBytes } from 'node:crypto';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { encodeResource, type EncodedResource } from '../types/encoded-resource.js';
import type { XdsResourceType } from '../types/resource-type.js';

/**
 * Per-type resource store, independent of gRPC and of the xDS protocol (STYLE principle 5, as
 * go-control-plane's pkg/cache/v3): resources are addressed by (view, type URL, name).
 *
 * A *view* is the set of resources a group of proxies sees; proxies that map to the same view key
 * share one snapshot per type and so the same encoded bytes. A view can be as wide as "every
 * proxyless gRPC client" or as narrow as one proxy; the server maps proxies to views.
 */
export type ViewKey = string;

/** What a generator hands in for one resource. */
export interface ResourceInput<M> {
  /**
   * The generator's change token for this resource (a content hash, a generation number...). The
   * message is encoded again only when this changes; an unchanged token keeps the cached bytes.
   */
  readonly version: string;
  /** The resource. Must not be modified after it was handed in: its bytes are cached. */
  readonly message: M;
}

/**
 * The resources of one type in one view at one moment. Immutable; a change produces a new snapshot.
 */
export interface TypeSnapshot {
  /**
   * Version of this (view, type) state: `<bootId>.<n>`, new on every change, unique across restarts
   * of the control plane (notes §4: "versions should be unique across server restarts"). Sent as
   * SotW `version_info` and delta `system_version_info`.
   */
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
}

/** The side a generator writes (consumer-owned port: the generator needs nothing else). */
export interface ResourceSink {
  /**
   * Replaces the whole set of resources of one type in one view. Resources whose `version` token is
   * unchanged keep their encoded bytes; a call that changes nothing does not bump the version nor
   * wake any watch.
   */
  setResources<Desc extends DescMessage>(
    view: ViewKey,
    type: XdsResourceType<Desc>,
    resources: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>,
  ): void;
  /**
   * Changes part of the resources of one type in one view: `upserts` are added or replaced,
   * `removals` deleted (a name in both is upserted). Same token and versioning rules as
   * `setResources`, but the cost is proportional to the change, not to the view's size.
   */
  updateResources<Desc extends DescMessage>(
    view: ViewKey,
    type: XdsResourceType<Desc>,
    upserts: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>,
    removals: Iterable<string>,
  ): void;
  /**
   * Makes `view` read `target`'s resources (every type) and be woken by its changes, so that many
   * views with identical configuration share one snapshot; `undefined` removes the alias. Watches on
   * `view` fire when the alias makes its version change.
   */
  alias(view: ViewKey, target: ViewKey | undefined): void;
  /**
   * Makes one type of `view` read `target`'s slot of that type (`undefined` removes it), so that
   * views that differ in some types share the others: one slot, one version, one encoding (bench
   * S6: every Envoy sidecar's EDS and RDS are its relevance class's). Resolved after `alias`: a view
   * aliased to `view` reads `target` for this type too, and is woken by its changes. Watches on
   * `view` (and on views aliased to it) fire when this makes the type's version change. Optional:
   * a sink without it gets every type written per view.
   */
  readonly aliasType?: ((view: ViewKey, typeUrl: string, target: ViewKey | undefined) => void) | undefined;
  /** Forgets a view (all types). Watches on it stay armed and fire when it is set again. */
  dropView(view: ViewKey): void;
}

/** The side the xDS server reads. */
export interface ResourceSource {
  /** The current snapshot, or undefined while the view has never been set for this type. */
  current(view: ViewKey, typeUrl: string): TypeSnapshot | undefined;
  /**
   * Calls `onChange` once, in a later microtask, as soon as the (view, type) version differs from
   * `seenVersion` (already now, or after a later change). Answered at most once: re-arm to keep
   * watching. The returned function cancels it; cancelling after it fired is harmless.
   *
   * With `interest` (the names a stream subscribes to), a later change fires only when it adds,
   * replaces or removes one of those names, or replaces the view wholesale (first set, alias); a
   * change of other resources leaves the watch armed, and the watcher is then up to date with the
   * new version as well. Measured cause (bench S2): every EDS change woke all 2,000 streams of a
   * class, ~1,960 of which only found that nothing they subscribe to had changed.
   */
  watch(view: ViewKey, typeUrl: string, seenVersion: string | undefined, onChange: () => void, interest?: ReadonlySet<string>): () => void;
}

/** Counters of watch wake-ups (tests, debugging). */
export interface WatchStats {
  /** Watches fired by a change. */
  readonly fired: number;
  /** Watches left armed because the change named none of their resources. */
  readonly skipped: number;
}

export interface ResourceCacheOptions {
  /** Version prefix; defaults to a value unique to this process start. */
  readonly bootId?: string;
}

interface Entry {
  readonly token: string;
  readonly encoded: EncodedResource;
}

interface Watcher {
  readonly fire: () => void;
  readonly interest: ReadonlySet<string> | undefined;
}

interface Slot {
  snapshot: TypeSnapshot;
  entries: Map<string, Entry>;
}

/** In-memory implementation of both sides. */
export class ResourceCache implements ResourceSink, ResourceSource {
  readonly bootId: string;
  #counter = 0;
  /**
   * view → type URL → slot, and the same for watches. Two levels rather than one concatenated key:
   * measured (bench S2, 2,000 streams) building and hashing `view + type` strings on every read
   * cost ~5% of the control plane's CPU; view keys are long and already hashed.
   */
  readonly #slots = new TwoLevel<Slot>();
  /** Watches by the view they were made on (not its alias target). */
  readonly #watches = new TwoLevel<Set<Watcher>>();
  #fired = 0;
  #skipped = 0;
  /** Versions minted since the last `takeMintedVersions` (bounded). */
  #minted: string[] = [];
  readonly #aliases = new Map<ViewKey, ViewKey>();
  readonly #aliasedBy = new Map<ViewKey, Set<ViewKey>>();
  /** (view, type URL) → the view whose slot of that type it reads (aliasType), and the reverse. */
  readonly #typeAliases = new TwoLevel<ViewKey>();
  readonly #typeAliasedBy = new TwoLevel<Set<ViewKey>>();
  readonly #typeUrls = new Set<string>();
  /**
   * Messages already encoded, by identity: a generator that hands the same message object to several
   * views gets it encoded once. Weak, so dropping a message frees its bytes.
   */
  readonly #encodedByMessage = new WeakMap<object, EncodedResource>();
  /** The last Entry made for each encoded resource (see #entry). */
  readonly #entries = new WeakMap<EncodedResource, Entry>();

  constructor(options: ResourceCacheOptions = {}) {
    this.bootId = options.bootId ?? newBootId();
  }

  setResources<Desc extends DescMessage>(
    view: ViewKey,
    type: XdsResourceType<Desc>,
    resources: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>,
  ): void {
    this.#typeUrls.add(type.typeUrl);
    const previous = this.#slots.get(view, type.typeUrl);
    const entries = new Map<string, Entry>();
    let changed = previous === undefined || previous.entries.size !== resources.size;
    const changedNames = new Set<string>();
    for (const [name, input] of resources) {
      const old = previous?.entries.get(name);
      if (old !== undefined && old.token === input.version) {
        entries.set(name, old);
        continue;
      }
      const encoded = this.#encode(type, input.message);
      if (encoded.name !== name) {
        throw new Error(`${type.shortName} resource keyed "${name}" is named "${encoded.name}"`);
      }
      // A new token with identical bytes is not a change for clients (comparing encodes both; a
      // resource seen for the first time is encoded only when a stream reads it).
      const same = old !== undefined && old.encoded.version === encoded.version;
      if (!same) {
        changed = true;
        changedNames.add(name);
      }
      entries.set(name, this.#entry(input.version, same ? old.encoded : encoded));
    }
    if (previous !== undefined) {
      for (const name of previous.entries.keys()) {
        if (resources.has(name)) continue;
        changed = true;
        changedNames.add(name);
      }
    }
    if (!changed && previous !== undefined) {
      previous.entries = entries;
      return;
    }
    const snapshot: TypeSnapshot = Object.freeze({
      version: this.#mint(),
      resources: new Map([...entries].map(([name, e]) => [name, e.encoded])),
    });
    this.#slots.set(view, type.typeUrl, { snapshot, entries });
    this.#fire(view, type.typeUrl, previous === undefined ? undefined : changedNames);
  }

  updateResources<Desc extends DescMessage>(
    view: ViewKey,
    type: XdsResourceType<Desc>,
    upserts: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>,
    removals: Iterable<string>,
  ): void {
    const slot = this.#slots.get(view, type.typeUrl);
    if (slot === undefined) {
      this.setResources(view, type, upserts);
      return;
    }
    // Measured (bench S2/S4): rebuilding the whole snapshot of a 10k-resource view for every
    // endpoint change made the cost of a change grow with the mesh; only the changes are applied.
    const changes = new Map<string, EncodedResource | undefined>();
    for (const [name, input] of upserts) {
      const old = slot.entries.get(name);
      if (old !== undefined && old.token === input.version) continue;
      const encoded = this.#encode(type, input.message);
      if (encoded.name !== name) {
        throw new Error(`${type.shortName} resource keyed "${name}" is named "${encoded.name}"`);
      }
      const same = old !== undefined && old.encoded.version === encoded.version;
      slot.entries.set(name, this.#entry(input.version, same ? old.encoded : encoded));
      if (!same) changes.set(name, encoded);
    }
    for (const name of removals) {
      if (upserts.has(name) || !slot.entries.delete(name)) continue;
      changes.set(name, undefined);
    }
    if (changes.size === 0) return;
    slot.snapshot = Object.freeze({
      version: this.#mint(),
      resources: LayeredMap.derive(slot.snapshot.resources, changes),
    });
    this.#fire(view, type.typeUrl, changes);
  }

  alias(view: ViewKey, target: ViewKey | undefined): void {
    const before = this.#versions(view);
    const old = this.#aliases.get(view);
    if (old !== undefined) {
      const set = this.#aliasedBy.get(old);
      set?.delete(view);
      if (set?.size === 0) this.#aliasedBy.delete(old);
      this.#aliases.delete(view);
    }
    if (target !== undefined && target !== view) {
      this.#aliases.set(view, target);
      let set = this.#aliasedBy.get(target);
      if (set === undefined) this.#aliasedBy.set(target, (set = new Set()));
      set.add(view);
    }
    for (const typeUrl of this.#typeUrls) {
      const now = this.current(view, typeUrl)?.version;
      if (now !== before.get(typeUrl) && now !== undefined) this.#fireWatches(view, typeUrl);
    }
  }

  aliasType(view: ViewKey, typeUrl: string, target: ViewKey | undefined): void {
    const before = this.current(view, typeUrl)?.version;
    const old = this.#typeAliases.get(view, typeUrl);
    if (old !== undefined) {
      const set = this.#typeAliasedBy.get(old, typeUrl);
      set?.delete(view);
      if (set?.size === 0) this.#typeAliasedBy.delete(old, typeUrl);
      this.#typeAliases.delete(view, typeUrl);
    }
    if (target !== undefined && target !== view) {
      this.#typeAliases.set(view, typeUrl, target);
      let set = this.#typeAliasedBy.get(target, typeUrl);
      if (set === undefined) this.#typeAliasedBy.set(target, typeUrl, (set = new Set()));
      set.add(view);
    }
    const now = this.current(view, typeUrl)?.version;
    if (now !== before && now !== undefined) this.#fireViewAndAliases(view, typeUrl);
  }

  /** The version `view` reads for each known type. */
  #versions(view: ViewKey): Map<string, string | undefined> {
    return new Map([...this.#typeUrls].map((typeUrl) => [typeUrl, this.current(view, typeUrl)?.version]));
  }

  dropView(view: ViewKey): void {
    this.#slots.deleteAll(view);
  }

  current(view: ViewKey, typeUrl: string): TypeSnapshot | undefined {
    return this.#slots.get(this.#resolve(view, typeUrl), typeUrl)?.snapshot;
  }

  watch(view: ViewKey, typeUrl: string, seenVersion: string | undefined, onChange: () => void, interest?: ReadonlySet<string>): () => void {
    let done = false;
    const watcher: Watcher = {
      fire: () => {
        if (done) return;
        done = true;
        onChange();
      },
      interest,
    };
    const cancel = (): void => {
      done = true;
      this.#watches.get(view, typeUrl)?.delete(watcher);
    };
    const now = this.current(view, typeUrl)?.version;
    if (now !== undefined && now !== seenVersion) {
      queueMicrotask(watcher.fire);
      return cancel;
    }
    let set = this.#watches.get(view, typeUrl);
    if (set === undefined) this.#watches.set(view, typeUrl, (set = new Set()));
    set.add(watcher);
    return cancel;
  }

  /**
   * The versions of the snapshots made since the last call, oldest first (at most the last 100,000):
   * what a push produced, one per (class view, type) that changed, however many views alias it.
   */
  takeMintedVersions(): string[] {
    const out = this.#minted;
    this.#minted = [];
    return out;
  }

  #mint(): string {
    const version = `${this.bootId}.${++this.#counter}`;
    if (this.#minted.length >= 100_000) this.#minted.splice(0, 50_000);
    this.#minted.push(version);
    return version;
  }

  get watchStats(): WatchStats {
    return { fired: this.#fired, skipped: this.#skipped };
  }

  /** The view whose slot `view` reads for `typeUrl`: its alias, then that one's type alias. */
  #resolve(view: ViewKey, typeUrl: string): ViewKey {
    const whole = this.#aliases.get(view) ?? view;
    return this.#typeAliases.get(whole, typeUrl) ?? whole;
  }

  /**
   * Wakes the watches on `view`, on every view aliased to it, and on every view reading this type
   * of it (aliasType) and the views aliased to those. With `changedNames` (the names the change
   * added, replaced or removed), watches whose interest names none of them stay armed.
   */
  #fire(view: ViewKey, typeUrl: string, changedNames?: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    this.#fireViewAndAliases(view, typeUrl, changedNames);
    for (const v of this.#typeAliasedBy.get(view, typeUrl) ?? []) this.#fireViewAndAliases(v, typeUrl, changedNames);
  }

  #fireViewAndAliases(view: ViewKey, typeUrl: string, changedNames?: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    this.#fireWatches(view, typeUrl, changedNames);
    for (const v of this.#aliasedBy.get(view) ?? []) this.#fireWatches(v, typeUrl, changedNames);
  }

  #fireWatches(view: ViewKey, typeUrl: string, changedNames?: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    const set = this.#watches.get(view, typeUrl);
    if (set === undefined) return;
    if (changedNames === undefined) {
      this.#watches.delete(view, typeUrl);
      this.#fired += set.size;
      for (const w of set) queueMicrotask(w.fire);
      return;
    }
    for (const w of set) {
      if (w.interest !== undefined && !intersects(w.interest, changedNames)) {
        this.#skipped++;
        continue;
      }
      set.delete(w);
      this.#fired++;
      queueMicrotask(w.fire);
    }
    if (set.size === 0) this.#watches.delete(view, typeUrl);
  }

  /**
   * One Entry object per (encoded resource, token), shared by every view holding it. Measured cause
   * (bench S6): 2,000 Envoy views hold the same ~2,000 per-service resources with the same tokens;
   * an Entry per view and name was ~4M objects.
   */
  #entry(token: string, encoded: EncodedResource): Entry {
    const known = this.#entries.get(encoded);
    if (known?.token === token) return known;
    const entry: Entry = { token, encoded };
    this.#entries.set(encoded, entry);
    return entry;
  }

  #encode<Desc extends DescMessage>(type: XdsResourceType<Desc>, message: MessageShape<Desc>): EncodedResource {
    const cached = this.#encodedByMessage.get(message);
    if (cached !== undefined && cached.typeUrl === type.typeUrl) return cached;
    const encoded = new LazyEncoded(type, message);
    this.#encodedByMessage.set(message, encoded);
    return encoded;
  }
}

/**
 * An EncodedResource that encodes its message on first use (`any`, `version` or `sotwSize`), once.
 * Measured cause (bench S1, S3): a view's first proxy made every resource of the view encoded —
 * 40,000 resources, 16 s with protobuf-es at 100k WorkloadEntries — while proxyless clients read
 * only the few they dial; now a resource nobody subscribes to is never encoded.
 */
class LazyEncoded<Desc extends DescMessage> implements EncodedResource {
  readonly typeUrl: string;
  readonly name: string;
  #type: XdsResourceType<Desc> | undefined;
  #message: MessageShape<Desc> | undefined;
  #encoded: EncodedResource | undefined;

  constructor(type: XdsResourceType<Desc>, message: MessageShape<Desc>) {
    if (message.$typeName !== type.schema.typeName) {
      throw new TypeError(`${type.shortName}: expected ${type.schema.typeName}, got ${message.$typeName}`);
    }
    this.typeUrl = type.typeUrl;
    this.name = type.nameOf(message);
    this.#type = type;
    this.#message = message;
  }

  #get(): EncodedResource {
    if (this.#encoded === undefined) {
      this.#encoded = encodeResource(this.#type as XdsResourceType<Desc>, this.#message as MessageShape<Desc>);
      this.#type = undefined;
      this.#message = undefined;
    }
    return this.#encoded;
  }

  get version(): string {
    return this.#get().version;
  }

  get any(): EncodedResource['any'] {
    return this.#get().any;
  }

  get sotwSize(): number {
    return this.#get().sotwSize;
  }
}

/** Whether `interest` and the changed names share a name (walks the smaller of the two). */
function intersects(interest: ReadonlySet<string>, changed: ReadonlySet<string> | ReadonlyMap<string, unknown>): boolean {
  if (changed.size <= interest.size) {
    for (const name of changed.keys()) if (interest.has(name)) return true;
    return false;
  }
  for (const name of interest) if (changed.has(name)) return true;
  return false;
}

/** A map keyed by (view, type URL). */
class TwoLevel<V> {
  readonly #m = new Map<string, Map<string, V>>();
  get(view: string, typeUrl: string): V | undefined {
    return this.#m.get(view)?.get(typeUrl);
  }
  set(view: string, typeUrl: string, value: V): void {
    let inner = this.#m.get(view);
    if (inner === undefined) this.#m.set(view, (inner = new Map<string, V>()));
    inner.set(typeUrl, value);
  }
  delete(view: string, typeUrl: string): void {
    const inner = this.#m.get(view);
    if (inner === undefined) return;
    inner.delete(typeUrl);
    if (inner.size === 0) this.#m.delete(view);
  }
  deleteAll(view: string): void {
    this.#m.delete(view);
  }
}

/**
 * An immutable map made of a shared base map and the changes made since, so that a snapshot that
 * differs from the previous one by a few resources costs a few entries instead of a copy of the
 * view (measured cause: bench S4, a 10k-service view copied for every endpoint change). The changes
 * are folded into a new base once they exceed about 4·√size entries, which keeps both the per-change
 * copy of the changes and the amortised folding cost at O(√size). Iteration follows Map order for
 * kept and replaced keys; added keys come last.
 */
const NO_CHANGES: ReadonlyMap<string, never> = new Map<string, never>();

export class LayeredMap<V> implements ReadonlyMap<string, V> {
  /** Once flattened, base and delta are released (#flat holds the same entries; bench S6: three maps per view kept alive). */
  #base: ReadonlyMap<string, V>;
  /** name → new value, or undefined for a removal. Never modified after construction. */
  #delta: ReadonlyMap<string, V | undefined>;
  readonly size: number;
  /**
   * A snapshot read by many streams is flattened into one plain Map after as many lookups as it has
   * entries (bench S2: 2,000 streams each looking up their names in every EDS snapshot): lookups
   * then cost one hash probe, and the flattening at most doubles the reading cost.
   */
  #flat: Map<string, V> | undefined;
  #reads = 0;

  private constructor(base: ReadonlyMap<string, V>, delta: ReadonlyMap<string, V | undefined>, size: number) {
    this.#base = base;
    this.#delta = delta;
    this.size = size;
  }

  /** `previous` with `changes` applied (undefined = removed). `previous` is not modified. */
  static derive<V>(previous: ReadonlyMap<string, V>, changes: ReadonlyMap<string, V | undefined>): ReadonlyMap<string, V> {
    const layered = previous instanceof LayeredMap ? (previous as LayeredMap<V>) : undefined;
    const flat = layered === undefined ? undefined : layered.#flat;
    const base = flat ?? (layered ? layered.#base : previous);
    const delta = new Map<string, V | undefined>(layered && !flat ? layered.#delta : []);
    let size = previous.size;
    for (const [name, value] of changes) {
      const had = previous.has(name);
      if (value === undefined) {
        if (!had) continue;
        size--;
      } else if (!had) size++;
      delta.set(name, value);
    }
    if (delta.size > Math.max(64, 4 * Math.sqrt(base.size))) {
      const folded = new Map<string, V>();
      for (const [k, v] of new LayeredMap(base, delta, size)) folded.set(k, v);
      return folded;
    }
    return new LayeredMap(base, delta, size);
  }

  get(key: string): V | undefined {
    const flat = this.#flat ?? this.#read();
    if (flat !== undefined) return flat.get(key);
    return this.#delta.has(key) ? this.#delta.get(key) : this.#base.get(key);
  }

  has(key: string): boolean {
    const flat = this.#flat ?? this.#read();
    if (flat !== undefined) return flat.has(key);
    return this.#delta.has(key) ? this.#delta.get(key) !== undefined : this.#base.has(key);
  }

  #read(): Map<string, V> | undefined {
    if (++this.#reads <= this.size + 64) return undefined;
    const flat = new Map<string, V>();
    for (const [k, v] of this.entries()) flat.set(k, v);
    this.#flat = flat;
    this.#base = flat;
    this.#delta = NO_CHANGES;
    return flat;
  }

  *entries(): MapIterator<[string, V]> {
    if (this.#flat !== undefined) {
      yield* this.#flat;
      return;
    }
    for (const [k, v] of this.#base) {
      if (!this.#delta.has(k)) yield [k, v];
      else {
        const d = this.#delta.get(k);
        if (d !== undefined) yield [k, d];
      }
    }
    for (const [k, d] of this.#delta) if (d !== undefined && !this.#base.has(k)) yield [k, d];
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}

/** Base-36 start time plus randomness: distinct for every process start, short enough for logs. */
export function newBootId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}
