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
   */
  watch(view: ViewKey, typeUrl: string, seenVersion: string | undefined, onChange: () => void): () => void;
}

export interface ResourceCacheOptions {
  /** Version prefix; defaults to a value unique to this process start. */
  readonly bootId?: string;
}

interface Entry {
  readonly token: string;
  readonly encoded: EncodedResource;
}

interface Slot {
  snapshot: TypeSnapshot;
  entries: Map<string, Entry>;
}

/** In-memory implementation of both sides. */
export class ResourceCache implements ResourceSink, ResourceSource {
  readonly bootId: string;
  #counter = 0;
  readonly #slots = new Map<string, Slot>();
  readonly #watches = new Map<string, Set<() => void>>();
  /**
   * Messages already encoded, by identity: a generator that hands the same message object to several
   * views gets it encoded once. Weak, so dropping a message frees its bytes.
   */
  readonly #encodedByMessage = new WeakMap<object, EncodedResource>();

  constructor(options: ResourceCacheOptions = {}) {
    this.bootId = options.bootId ?? newBootId();
  }

  setResources<Desc extends DescMessage>(
    view: ViewKey,
    type: XdsResourceType<Desc>,
    resources: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>,
  ): void {
    const key = slotKey(view, type.typeUrl);
    const previous = this.#slots.get(key);
    const entries = new Map<string, Entry>();
    let changed = previous === undefined || previous.entries.size !== resources.size;
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
      // A new token with identical bytes is not a change for clients.
      if (old === undefined || old.encoded.version !== encoded.version) changed = true;
      entries.set(name, { token: input.version, encoded: old?.encoded.version === encoded.version ? old.encoded : encoded });
    }
    if (!changed && previous !== undefined) {
      for (const name of previous.entries.keys()) if (!resources.has(name)) changed = true;
    }
    if (!changed && previous !== undefined) {
      previous.entries = entries;
      return;
    }
    const snapshot: TypeSnapshot = Object.freeze({
      version: `${this.bootId}.${++this.#counter}`,
      resources: new Map([...entries].map(([name, e]) => [name, e.encoded])),
    });
    this.#slots.set(key, { snapshot, entries });
    this.#fire(key);
  }

  dropView(view: ViewKey): void {
    const prefix = `${view}\u0000`;
    for (const key of [...this.#slots.keys()]) if (key.startsWith(prefix)) this.#slots.delete(key);
  }

  current(view: ViewKey, typeUrl: string): TypeSnapshot | undefined {
    return this.#slots.get(slotKey(view, typeUrl))?.snapshot;
  }

  watch(view: ViewKey, typeUrl: string, seenVersion: string | undefined, onChange: () => void): () => void {
    const key = slotKey(view, typeUrl);
    let done = false;
    const once = (): void => {
      if (done) return;
      done = true;
      onChange();
    };
    const cancel = (): void => {
      done = true;
      this.#watches.get(key)?.delete(once);
    };
    const now = this.#slots.get(key)?.snapshot.version;
    if (now !== undefined && now !== seenVersion) {
      queueMicrotask(once);
      return cancel;
    }
    let set = this.#watches.get(key);
    if (set === undefined) this.#watches.set(key, (set = new Set()));
    set.add(once);
    return cancel;
  }

  #fire(key: string): void {
    const set = this.#watches.get(key);
    if (set === undefined) return;
    this.#watches.delete(key);
    for (const fn of set) queueMicrotask(fn);
  }

  #encode<Desc extends DescMessage>(type: XdsResourceType<Desc>, message: MessageShape<Desc>): EncodedResource {
    const cached = this.#encodedByMessage.get(message);
    if (cached !== undefined && cached.typeUrl === type.typeUrl) return cached;
    const encoded = encodeResource(type, message);
    this.#encodedByMessage.set(message, encoded);
    return encoded;
  }
}

function slotKey(view: ViewKey, typeUrl: string): string {
  return `${view}\u0000${typeUrl}`;
}

/** Base-36 start time plus randomness: distinct for every process start, short enough for logs. */
export function newBootId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}
