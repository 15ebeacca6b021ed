import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { TypeSnapshot } from '../cache/resource-cache.js';
import type { EncodedResource } from '../types/encoded-resource.js';
import { anySize, fieldSize, stringFieldSize } from '../types/encoded-resource.js';
import type { XdsResourceType } from '../types/resource-type.js';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  NONCE_RESERVE,
  nonceCounter,
  type AckRecord,
  type NackRecord,
  type Problem,
  type Receipt,
  receipt,
  type RequestKind,
  type SessionOptions,
  type TypeStatus,
  responseHeaderSize,
  toStatus,
} from './common.js';
import { deltaResponse, splitShared } from './shared-encoding.js';
import { diffSelections, internSubscription, namesOfChunk, selectShared, versionsOf } from './shared-state.js';
import { covers, deltaSubscription, diffSubscription, WILDCARD, type Subscription } from './subscription.js';

/** The fields of a DeltaDiscoveryRequest the protocol reads. */
export type DeltaRequest = Pick<
  DeltaDiscoveryRequest,
  'typeUrl' | 'resourceNamesSubscribe' | 'resourceNamesUnsubscribe' | 'initialResourceVersions' | 'responseNonce' | 'errorDetail'
>;

export interface OutgoingDelta {
  readonly message: DeltaDiscoveryResponse;
  /** `message.systemVersionInfo`: the view version. */
  readonly version: string;
  readonly names: readonly string[];
  readonly removed: readonly string[];
  /** Exact encoded size of `message`. */
  readonly bytes: number;
}

export interface DeltaAnswer {
  readonly responses: readonly OutgoingDelta[];
  readonly problems: readonly Problem[];
}

interface TypeState {
  subscription: Subscription;
  /** Names to send (as a resource, or as removed) on the next answer even if the client has them. */
  mustSend: Set<string>;
  /** The first request of the type is not answered yet: answer even with an empty response. */
  firstAnswer: boolean;
  /**
   * What the client has: name → version (from `initial_resource_versions`, then from what was sent,
   * NACKed content included), or null once it was told the resource does not exist.
   */
  known: Map<string, string | null>;
  /**
   * Set when the client has exactly this selection (shared by the streams of a view,
   * shared-state.ts): `known` is then empty and stands for these resources' versions.
   */
  knownShared: ReadonlyMap<string, EncodedResource> | undefined;
  /** Responses not yet ACKed or NACKed: nonce → system version. */
  outstanding: Map<string, string>;
  seenVersion: string | undefined;
  lastSent: AckRecord | undefined;
  acked: AckRecord | undefined;
  nacked: NackRecord | undefined;
  lastAnswer: 'ack' | 'nack' | undefined;
}

/**
 * Incremental (delta) protocol for one DeltaAggregatedResources stream: a pure state machine, no I/O.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds
 *
 * - Resources are versioned one by one with their content hash; a push carries only resources whose
 *   version differs from what the client has, plus `removed_resources` for what it has (or explicitly
 *   asked for) that does not exist. `initial_resource_versions` of a reconnecting client is trusted,
 *   since equal versions mean equal bytes.
 * - Names in `resource_names_subscribe` are always sent, even when the client should have them.
 * - Subscription changes are honoured whatever the nonce; the nonce only pairs ACKs/NACKs with
 *   responses. A NACKed resource version is recorded as what the client has been offered, so it is not
 *   sent again until it changes.
 * - The first request of each type on a stream is always answered.
 * - Pushes larger than `maxResponseBytes` are split into several responses.
 */
export class DeltaSession {
  readonly #types = new Map<string, TypeState>();
  readonly #max: number;
  readonly #mintNonce: () => string;

  constructor(options: SessionOptions = {}) {
    this.#max = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#mintNonce = options.mintNonce ?? nonceCounter();
  }

  receive(type: XdsResourceType, req: DeltaRequest): Receipt {
    const typeUrl = type.typeUrl;
    const subscribe = req.resourceNamesSubscribe;
    const unsubscribe = req.resourceNamesUnsubscribe;
    const st = this.#types.get(typeUrl);
    if (st === undefined) {
      const subscription = internSubscription(deltaSubscription(undefined, subscribe, unsubscribe, type.legacyWildcard));
      this.#types.set(typeUrl, {
        subscription,
        knownShared: undefined,
        mustSend: new Set(subscribe.filter((n) => n !== WILDCARD)),
        firstAnswer: true,
        known: new Map(Object.entries(req.initialResourceVersions)),
        outstanding: new Map(),
        seenVersion: undefined,
        lastSent: undefined,
        acked: undefined,
        nacked: undefined,
        lastAnswer: undefined,
      });
      return { typeUrl, kind: 'initial', change: diffSubscription(undefined, subscription), respond: true };
    }

    let ack: AckRecord | undefined;
    let nack: NackRecord | undefined;
    const version = req.responseNonce === '' ? undefined : st.outstanding.get(req.responseNonce);
    if (version !== undefined) {
      st.outstanding.delete(req.responseNonce);
      if (req.errorDetail !== undefined) {
        nack = { version, nonce: req.responseNonce, error: { code: req.errorDetail.code, message: req.errorDetail.message } };
        st.nacked = nack;
        st.lastAnswer = 'nack';
      } else {
        ack = { version, nonce: req.responseNonce };
        st.acked = ack;
        st.lastAnswer = 'ack';
      }
    }

    const requested = deltaSubscription(st.subscription, subscribe, unsubscribe, type.legacyWildcard);
    const subscription = requested === st.subscription ? requested : internSubscription(requested);
    const change = diffSubscription(st.subscription, subscription);
    if (unsubscribe.length > 0 || change.wildcardRemoved) materializeKnown(st);
    st.subscription = subscription;
    for (const name of subscribe) if (name !== WILDCARD) st.mustSend.add(name);
    for (const name of unsubscribe) {
      if (name === WILDCARD) continue;
      // Still covered by "*": the client cannot tell whether to keep it, so say it again (spec,
      // "Unsubscribing from Resources"). Otherwise the client drops it by itself.
      if (subscription.wildcard) st.mustSend.add(name);
      else {
        st.known.delete(name);
        st.mustSend.delete(name);
      }
    }
    if (change.wildcardRemoved) {
      for (const name of [...st.known.keys()]) if (!covers(subscription, name)) st.known.delete(name);
    }

    let kind: RequestKind;
    if (nack !== undefined) kind = 'nack';
    else if (subscribe.length > 0) kind = 'resubscribe';
    else if (unsubscribe.length > 0) kind = 'unsubscribe';
    else if (ack !== undefined) kind = 'ack';
    else kind = 'stale';
    // A new "*" needs an answer too: whatever the wildcard adds that the client lacks.
    const respond = st.mustSend.size > 0 || change.wildcardAdded;
    return receipt(typeUrl, kind, change, respond, ack, nack);
  }

  /**
   * The responses due for one type given the view's current snapshot (see SotwSession.answer);
   * `undefined` defers the answer until the view has resources of this type.
   */
  answer(type: XdsResourceType, snapshot: TypeSnapshot | undefined): DeltaAnswer {
    const st = this.#types.get(type.typeUrl);
    if (st === undefined || snapshot === undefined) return EMPTY;
    st.seenVersion = snapshot.version;
    const selection = selectShared(st.subscription, snapshot.resources);
    const desired = selection.resources;
    let toSend: readonly EncodedResource[];
    const removed = new Set<string>();
    if (st.knownShared !== undefined && st.mustSend.size === 0 && !st.firstAnswer) {
      // The common push: the difference between two shared selections, computed once per view.
      const diff = diffSelections(st.knownShared, desired);
      toSend = diff.changed;
      for (const name of diff.dropped) removed.add(name);
      for (const name of selection.missing) removed.add(name);
      // Removals are recorded name by name (null for names still subscribed): on the stream's own copy.
      if (removed.size > 0) materializeKnown(st);
    } else {
      materializeKnown(st);
      const due = selection.list.filter((r) => st.mustSend.has(r.name) || st.known.get(r.name) !== r.version);
      // Everything selected (a sidecar's first answer): the shared list itself, so that its chunks,
      // its response resources and their encoding are made once for all streams (shared-encoding.ts).
      toSend = due.length === selection.list.length ? selection.list : due;
      for (const [name, version] of st.known) if (version !== null && !desired.has(name)) removed.add(name);
      for (const name of selection.missing) if (st.known.get(name) !== null) removed.add(name);
      for (const name of st.mustSend) if (!desired.has(name)) removed.add(name);
    }
    const removedList = [...removed].sort();
    const first = st.firstAnswer;
    if (st.mustSend.size > 0) st.mustSend = new Set(); // an empty one kept: no allocation per push (sotw.ts clearMustSend)
    st.firstAnswer = false;
    if (toSend.length === 0 && removedList.length === 0 && !first) return EMPTY;

    const removedSize = removedList.reduce((sum, n) => sum + fieldSize(Buffer.byteLength(n, 'utf8')), 0);
    const header = responseHeaderSize(snapshot.version, type.typeUrl);
    const { chunks, problems } = splitShared(type, toSend, deltaEntrySize, this.#max, header, removedSize);
    if (chunks.length === 0) {
      if (removedList.length === 0 && !(first && problems.length === 0)) return { responses: [], problems };
      chunks.push([]);
    }

    // The whole selection goes out and the client knew nothing outside it: it will know exactly the
    // selection, which is shared below without recording it name by name first.
    const sendsExactly = toSend === selection.list && problems.length === 0 && removedList.length === 0 && st.knownShared === undefined && [...st.known.keys()].every((n) => desired.has(n));
    const responses: OutgoingDelta[] = [];
    chunks.forEach((chunk, i) => {
      const nonce = this.#mintNonce();
      const removedHere = i === 0 ? removedList : [];
      const message = deltaResponse(snapshot.version, type.typeUrl, nonce, chunk, removedHere);
      if (st.knownShared === undefined && !sendsExactly) for (const r of chunk) st.known.set(r.name, r.version);
      st.outstanding.set(nonce, snapshot.version);
      const bytes = header - NONCE_RESERVE + stringFieldSize(nonce) + entriesSizeOf(chunk) + removedHere.reduce((sum, n) => sum + fieldSize(Buffer.byteLength(n, 'utf8')), 0);
      responses.push({ message, version: snapshot.version, names: namesOfChunk(chunk), removed: removedHere, bytes });
      st.lastSent = { version: snapshot.version, nonce };
    });
    for (const name of removedList) {
      if (st.subscription.names.has(name)) st.known.set(name, null);
      else st.known.delete(name);
    }
    // The client now has every resource of the selection and nothing else: share it.
    if (sendsExactly || (problems.length === 0 && removedList.length === 0 && knowsExactly(st, desired))) {
      if (st.known.size > 0) st.known = new Map();
      st.knownShared = desired;
    }
    return { responses, problems };
  }

  pending(typeUrl: string): boolean {
    const st = this.#types.get(typeUrl);
    return st !== undefined && (st.firstAnswer || st.mustSend.size > 0);
  }

  /**
   * The names whose changes can make `answer` send something, or undefined when any change can
   * (wildcard, or an answer is still due): what the driver's cache watch waits for.
   */
  interest(typeUrl: string): ReadonlySet<string> | undefined {
    const st = this.#types.get(typeUrl);
    if (st === undefined || st.subscription.wildcard || st.firstAnswer || st.mustSend.size > 0) return undefined;
    return st.subscription.names;
  }

  typeUrls(): string[] {
    return [...this.#types.keys()];
  }

  /** Whether the stream subscribes to this type's wildcard (false before its first request). */
  wildcard(typeUrl: string): boolean {
    return this.#types.get(typeUrl)?.subscription.wildcard ?? false;
  }

  status(typeUrl: string): TypeStatus | undefined {
    const st = this.#types.get(typeUrl);
    return st === undefined ? undefined : toStatus(typeUrl, st.subscription, st);
  }
}

const EMPTY: DeltaAnswer = Object.freeze({ responses: [], problems: [] });

/** Turns a shared `known` into the stream's own copy (before changing it name by name). */
function materializeKnown(st: TypeState): void {
  if (st.knownShared === undefined) return;
  st.known = versionsOf(st.knownShared);
  st.knownShared = undefined;
}

/** Whether what the client has is exactly `desired` (shared: yes when it was already). */
function knowsExactly(st: TypeState, desired: ReadonlyMap<string, EncodedResource>): boolean {
  if (st.knownShared !== undefined) return true;
  if (st.known.size !== desired.size) return false;
  for (const [name, r] of desired) if (st.known.get(name) !== r.version) return false;
  return true;
}

/** A chunk's entry bytes, once per chunk (chunks of shared lists are shared by streams). */
const chunkSizes = new WeakMap<readonly EncodedResource[], number>();
function entriesSizeOf(chunk: readonly EncodedResource[]): number {
  let size = chunkSizes.get(chunk);
  if (size === undefined) chunkSizes.set(chunk, (size = chunk.reduce((sum, r) => sum + deltaEntrySize(r), 0)));
  return size;
}

/** Bytes one `Resource` entry adds to a DeltaDiscoveryResponse. */
function deltaEntrySize(r: EncodedResource): number {
  return fieldSize(stringFieldSize(r.name) + stringFieldSize(r.version) + fieldSize(anySize(r.any)));
}
