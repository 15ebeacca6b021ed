/**
 * What one stream subscribes to for one type, and how requests change it.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#how-the-client-specifies-what-resources-to-return
 */
export interface Subscription {
  /** Subscribed to "*": every resource of the type in the proxy's view. */
  readonly wildcard: boolean;
  /** Names subscribed explicitly ("*" excluded). */
  readonly names: ReadonlySet<string>;
  /**
   * The client has named resources ("*" or others) on this stream for this type. Until then an empty
   * request means the legacy wildcard; afterwards an empty SotW list means "unsubscribe from all".
   */
  readonly explicit: boolean;
}

export const WILDCARD = '*';

export interface SubscriptionChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly wildcardAdded: boolean;
  readonly wildcardRemoved: boolean;
}

export const NO_CHANGE: SubscriptionChange = Object.freeze({ added: [], removed: [], wildcardAdded: false, wildcardRemoved: false });

/**
 * SotW: every request carries the full list of names. An empty list is the legacy wildcard only while
 * the client has never named anything (and only for types that allow it); afterwards it unsubscribes
 * from everything (notes §7.3).
 */
export function sotwSubscription(previous: Subscription | undefined, names: readonly string[], legacyWildcard: boolean): Subscription {
  if (names.length === 0) {
    const legacy = previous === undefined || !previous.explicit;
    const wildcard = legacy && legacyWildcard;
    // An ACK repeats the subscription: the same object (no copy per request; see shared-state.ts).
    if (previous !== undefined && previous.names.size === 0 && previous.wildcard === wildcard && previous.explicit === !legacy) return previous;
    return { wildcard, names: new Set(), explicit: !legacy };
  }
  if (previous !== undefined && sameList(requestedNames.get(previous), names)) return previous;
  const set = new Set(names);
  const wildcard = set.delete(WILDCARD);
  const sub: Subscription = { wildcard, names: set, explicit: true };
  requestedNames.set(sub, names);
  return sub;
}

/** The request list a SotW subscription was made from: a request repeating it exactly changes nothing. */
const requestedNames = new WeakMap<Subscription, readonly string[]>();

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (a === b) return true; // a list repeated by an ACK is often the very array (request-decoding.ts)
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Delta: requests carry changes. The first request with neither subscriptions nor unsubscriptions is
 * the legacy wildcard (for types that allow it); the wildcard then lasts until "*" is unsubscribed.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds
 */
export function deltaSubscription(
  previous: Subscription | undefined,
  subscribe: readonly string[],
  unsubscribe: readonly string[],
  legacyWildcard: boolean,
): Subscription {
  // An ACK (nothing subscribed or unsubscribed) keeps the very object: no copy of the names per request.
  if (previous !== undefined && subscribe.length === 0 && unsubscribe.length === 0) return previous;
  const names = new Set(previous?.names ?? []);
  let wildcard = previous?.wildcard ?? (legacyWildcard && subscribe.length === 0 && unsubscribe.length === 0);
  for (const name of subscribe) {
    if (name === WILDCARD) wildcard = true;
    else names.add(name);
  }
  for (const name of unsubscribe) {
    if (name === WILDCARD) wildcard = false;
    else names.delete(name);
  }
  return { wildcard, names, explicit: (previous?.explicit ?? false) || subscribe.length > 0 };
}

export function diffSubscription(before: Subscription | undefined, after: Subscription): SubscriptionChange {
  if (before === after) return NO_CHANGE;
  const added = [...after.names].filter((n) => before === undefined || !before.names.has(n)).sort();
  const removed = before === undefined ? [] : [...before.names].filter((n) => !after.names.has(n)).sort();
  const wildcardAdded = after.wildcard && !(before?.wildcard ?? false);
  const wildcardRemoved = !after.wildcard && (before?.wildcard ?? false);
  if (added.length === 0 && removed.length === 0 && !wildcardAdded && !wildcardRemoved) return NO_CHANGE;
  return { added, removed, wildcardAdded, wildcardRemoved };
}

export function isEmptyChange(change: SubscriptionChange): boolean {
  return change.added.length === 0 && change.removed.length === 0 && !change.wildcardAdded && !change.wildcardRemoved;
}

/** Whether a resource of this name is covered by the subscription. */
export function covers(sub: Subscription, name: string): boolean {
  return sub.wildcard || sub.names.has(name);
}

/** The subscribed resources that exist, sorted by name (responses are deterministic). */
export function selectResources<R>(sub: Subscription, resources: ReadonlyMap<string, R>): Map<string, R> {
  const out = new Map<string, R>();
  const names = sub.wildcard ? [...resources.keys()] : [...sub.names].filter((n) => resources.has(n));
  for (const name of names.sort()) out.set(name, resources.get(name) as R);
  return out;
}
