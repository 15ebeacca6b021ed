import type { DiscoveryRequest, DiscoveryResponse } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { TypeSnapshot } from '../cache/resource-cache.js';
import type { EncodedResource } from '../types/encoded-resource.js';
import { stringFieldSize } from '../types/encoded-resource.js';
import type { XdsResourceType } from '../types/resource-type.js';
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  NONCE_RESERVE,
  nonceCounter,
  type AckRecord,
  type NackRecord,
  type Problem,
  type Receipt,
  type RequestKind,
  type SessionOptions,
  type TypeStatus,
  receipt,
  responseHeaderSize,
  toStatus,
} from './common.js';
import { sotwResponse, splitShared } from './shared-encoding.js';
import { diffSelections, internSubscription, namesOfChunk, selectShared, versionsOf } from './shared-state.js';
import { diffSubscription, isEmptyChange, sotwSubscription, type Subscription } from './subscription.js';

/** The fields of a DiscoveryRequest the protocol reads. */
export type SotwRequest = Pick<DiscoveryRequest, 'typeUrl' | 'versionInfo' | 'resourceNames' | 'responseNonce' | 'errorDetail'>;

export interface OutgoingSotw {
  readonly message: DiscoveryResponse;
  /** `message.versionInfo`: the view version. */
  readonly version: string;
  /** Names of the resources in this response. */
  readonly names: readonly string[];
  /** Exact encoded size of `message`. */
  readonly bytes: number;
}

export interface SotwAnswer {
  readonly responses: readonly OutgoingSotw[];
  readonly problems: readonly Problem[];
}


interface TypeState {
  subscription: Subscription;
  /** Names to send on the next answer even if the client has them; 'all' answers even with nothing. */
  mustSend: Set<string> | 'all';
  /** Content version of every resource offered to the client (for full-state types: the last set). */
  sent: Map<string, string>;
  /**
   * Set when the client was offered exactly this selection (shared by the streams of a view,
   * shared-state.ts): `sent` is then empty and stands for these resources' versions.
   */
  sentShared: ReadonlyMap<string, EncodedResource> | undefined;
  /** The latest push: every chunk's nonce is current; the push is ACKed when all chunks are. */
  group: { version: string; nonces: readonly string[]; unacked: string[] } | undefined;
  seenVersion: string | undefined;
  lastSent: AckRecord | undefined;
  acked: AckRecord | undefined;
  nacked: NackRecord | undefined;
  lastAnswer: 'ack' | 'nack' | undefined;
}

/**
 * State-of-the-world protocol for one ADS stream (StreamAggregatedResources): a pure state machine,
 * no I/O. The driver feeds requests to `receive` and, when a receipt says so or the view changed,
 * asks `answer` for the responses to write.
 *
 * Rules (xds_protocol, "ACK/NACK and resource type instance version" and following sections):
 * - the first request of each type on a stream is always answered, whatever its version_info;
 * - a NACK is a request with error_detail; the NACKed content is recorded and not sent again until
 *   what the client would receive changes (a push is skipped when the resources it would carry are
 *   exactly those already offered, so a NACKed version is never resent as such);
 * - requests with a stale nonce are ignored; the client repeats its subscription with the next ACK;
 * - Listener and Cluster responses carry every subscribed resource; other types carry only what
 *   changed, split into several responses when they would exceed `maxResponseBytes` (a full-state
 *   response cannot be split: it is not sent and a problem is reported instead).
 */
export class SotwSession {
  readonly #types = new Map<string, TypeState>();
  readonly #max: number;
  readonly #mintNonce: () => string;

  constructor(options: SessionOptions = {}) {
    this.#max = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#mintNonce = options.mintNonce ?? nonceCounter();
  }

  /** Classifies a request and updates the subscription and ACK/NACK records. */
  receive(type: XdsResourceType, req: SotwRequest): Receipt {
    const typeUrl = type.typeUrl;
    const st = this.#types.get(typeUrl);
    if (st === undefined || req.responseNonce === '') {
      const subscription = internSubscription(sotwSubscription(st?.subscription, req.resourceNames, type.legacyWildcard));
      const change = diffSubscription(st?.subscription, subscription);
      if (st === undefined) this.#types.set(typeUrl, newTypeState(subscription));
      else {
        st.subscription = subscription;
        st.mustSend = 'all';
        pruneSent(st);
      }
      return { typeUrl, kind: 'initial', change, respond: true };
    }
    if (st.group === undefined || !st.group.nonces.includes(req.responseNonce)) {
      return { typeUrl, kind: 'stale', change: diffSubscription(st.subscription, st.subscription), respond: false };
    }

    const group = st.group;
    let ack: AckRecord | undefined;
    let nack: NackRecord | undefined;
    // Later requests (subscription changes) repeat the latest nonce, and may repeat its error_detail:
    // only the first answer to a response is recorded as its ACK or NACK.
    const unackedAt = group.unacked.indexOf(req.responseNonce);
    const firstAnswer = unackedAt >= 0;
    if (firstAnswer) group.unacked.splice(unackedAt, 1);
    if (req.errorDetail !== undefined) {
      if (firstAnswer) {
        nack = { version: group.version, nonce: req.responseNonce, error: { code: req.errorDetail.code, message: req.errorDetail.message } };
        st.nacked = nack;
        st.lastAnswer = 'nack';
      }
    } else if (firstAnswer) {
      // A push split into chunks is ACKed when every chunk is, and not at all if one was NACKed.
      const nackedInGroup = st.nacked !== undefined && group.nonces.includes(st.nacked.nonce);
      if (group.unacked.length === 0 && !nackedInGroup) {
        ack = { version: group.version, nonce: req.responseNonce };
        st.acked = ack;
        st.lastAnswer = 'ack';
      }
    }

    const requested = sotwSubscription(st.subscription, req.resourceNames, type.legacyWildcard);
    const subscription = requested === st.subscription ? requested : internSubscription(requested);
    const change = diffSubscription(st.subscription, subscription);
    st.subscription = subscription;
    let kind: RequestKind = nack !== undefined ? 'nack' : 'ack';
    let respond = false;
    if (!isEmptyChange(change)) {
      pruneSent(st);
      const grows = change.added.length > 0 || change.wildcardAdded;
      if (nack === undefined) kind = grows ? 'resubscribe' : 'unsubscribe';
      if (grows) {
        // Newly requested names must be (re)sent even if they were sent before (spec, "How the client
        // specifies what resources to return"). For full-state types the answer is the whole set.
        if (st.mustSend !== 'all') {
          if (change.wildcardAdded) st.mustSend = 'all';
          else for (const n of change.added) st.mustSend.add(n);
        }
        respond = true;
      }
    }
    return receipt(typeUrl, kind, change, respond, ack, nack);
  }

  /**
   * The responses due for one type given the view's current snapshot. Call it after a receipt with
   * `respond`, and whenever the snapshot changed. `undefined` (the view has nothing of this type yet)
   * defers the answer: nothing is sent and the pending answer stays due.
   */
  answer(type: XdsResourceType, snapshot: TypeSnapshot | undefined): SotwAnswer {
    const st = this.#types.get(type.typeUrl);
    if (st === undefined || snapshot === undefined) return EMPTY_ANSWER;
    const selection = selectShared(st.subscription, snapshot.resources);
    const desired = selection.resources;
    const forced = st.mustSend === 'all' || st.mustSend.size > 0;
    st.seenVersion = snapshot.version;

    // Whether, once `toSend` is sent, the client has exactly `desired` (then shared, not copied).
    let sendsSelection: boolean;
    let toSend: readonly EncodedResource[];
    if (type.fullState) {
      if (!forced && sameAsSent(st, desired)) return EMPTY_ANSWER;
      toSend = selection.list;
      sendsSelection = true;
    } else {
      const must = st.mustSend;
      if (st.sentShared !== undefined && must !== 'all' && must.size === 0) {
        // The common push: the difference between two shared selections, computed once per view.
        const diff = diffSelections(st.sentShared, desired);
        toSend = diff.changed;
        sendsSelection = diff.dropped.length === 0;
      } else if (must === 'all' && st.sentShared === undefined && st.sent.size === 0) {
        toSend = selection.list;
        sendsSelection = true;
      } else {
        materializeSent(st);
        toSend = selection.list.filter((r) => must === 'all' || must.has(r.name) || st.sent.get(r.name) !== r.version);
        sendsSelection = false;
      }
      if (toSend.length === 0 && must !== 'all') {
        clearMustSend(st);
        return EMPTY_ANSWER;
      }
    }
    const firstAnswer = st.mustSend === 'all';
    clearMustSend(st);

    const header = responseHeaderSize(snapshot.version, type.typeUrl);
    const budget = this.#max - header;
    let problems: Problem[] = [];
    let chunks: (readonly EncodedResource[])[];
    if (type.fullState) {
      const total = toSend.reduce((sum, r) => sum + r.sotwSize, 0);
      if (total > budget) {
        return {
          responses: [],
          problems: [{ typeUrl: type.typeUrl, message: `${type.shortName} response of ${toSend.length} resources needs ${total + header} bytes, over the limit of ${this.#max}; a full-state response cannot be split, not sent` }],
        };
      }
      chunks = [toSend];
    } else {
      const split = splitShared(type, toSend, sotwSize, this.#max, header);
      problems = split.problems;
      chunks = split.chunks;
      if (chunks.length === 0) {
        // Nothing to carry: only an initial request is still answered (with an empty response).
        if (!firstAnswer || problems.length > 0) return { responses: [], problems };
        chunks = [[]];
      }
    }

    if (sendsSelection && problems.length === 0) {
      if (st.sent.size > 0) st.sent = new Map();
      st.sentShared = desired;
    } else {
      materializeSent(st);
      if (type.fullState && st.sent.size > 0) st.sent = new Map();
    }
    const recordSent = st.sentShared === undefined;
    const responses: OutgoingSotw[] = [];
    // Arrays, not sets: a push has one chunk or a few, and this state is replaced on every push.
    const nonces: string[] = [];
    for (const chunk of chunks) {
      const nonce = this.#mintNonce();
      nonces.push(nonce);
      const message = sotwResponse(snapshot.version, type.typeUrl, nonce, chunk);
      if (recordSent) for (const r of chunk) st.sent.set(r.name, r.version);
      const bytes = header - NONCE_RESERVE + stringFieldSize(nonce) + chunk.reduce((sum, r) => sum + r.sotwSize, 0);
      responses.push({ message, version: snapshot.version, names: namesOfChunk(chunk), bytes });
    }
    st.group = { version: snapshot.version, nonces, unacked: [...nonces] };
    const last = responses[responses.length - 1];
    if (last !== undefined) st.lastSent = { version: snapshot.version, nonce: last.message.nonce };
    return { responses, problems };
  }

  /** Whether an answer is due for this type (after `initial` / `resubscribe`, until answered). */
  pending(typeUrl: string): boolean {
    const st = this.#types.get(typeUrl);
    return st !== undefined && (st.mustSend === 'all' || st.mustSend.size > 0);
  }

  /**
   * The names whose changes can make `answer` send something, or undefined when any change can
   * (wildcard, or an answer is still due): what the driver's cache watch waits for.
   */
  interest(typeUrl: string): ReadonlySet<string> | undefined {
    const st = this.#types.get(typeUrl);
    if (st === undefined || st.subscription.wildcard || st.mustSend === 'all' || st.mustSend.size > 0) return undefined;
    return st.subscription.names;
  }

  /** Type URLs this stream has requested, in first-request order. */
  typeUrls(): string[] {
    return [...this.#types.keys()];
  }

  /** Whether the stream subscribes to this type's wildcard (false before its first request). */
  wildcard(typeUrl: string): boolean {
    return this.#types.get(typeUrl)?.subscription.wildcard ?? false;
  }

  status(typeUrl: string): TypeStatus | undefined {
    const st = this.#types.get(typeUrl);
    if (st === undefined) return undefined;
    return toStatus(typeUrl, st.subscription, st);
  }
}

const sotwSize = (r: EncodedResource): number => r.sotwSize;

const EMPTY_ANSWER: SotwAnswer = Object.freeze({ responses: [], problems: [] });

function newTypeState(subscription: Subscription): TypeState {
  return {
    subscription,
    mustSend: 'all',
    sent: new Map(),
    sentShared: undefined,
    group: undefined,
    seenVersion: undefined,
    lastSent: undefined,
    acked: undefined,
    nacked: undefined,
    lastAnswer: undefined,
  };
}

/**
 * Empties `mustSend`, keeping an empty set as it is: state replaced on every push outlives V8's
 * young generation and is collected late, so a push does not allocate what it does not need.
 */
function clearMustSend(st: TypeState): void {
  if (st.mustSend === 'all' || st.mustSend.size > 0) st.mustSend = new Set();
}

/** Forget what was sent for names no longer subscribed, so subscribing again sends them again. */
function pruneSent(st: TypeState): void {
  if (st.subscription.wildcard) return;
  materializeSent(st);
  for (const name of [...st.sent.keys()]) if (!st.subscription.names.has(name)) st.sent.delete(name);
}

/** Whether the client was offered exactly `desired` (same names, same contents). */
function sameAsSent(st: TypeState, desired: ReadonlyMap<string, EncodedResource>): boolean {
  if (st.sentShared === undefined) return sameVersions(desired, st.sent);
  if (st.sentShared === desired) return true;
  const diff = diffSelections(st.sentShared, desired);
  return diff.changed.length === 0 && diff.dropped.length === 0;
}

/** Turns a shared `sent` into the stream's own copy (before changing it name by name). */
function materializeSent(st: TypeState): void {
  if (st.sentShared === undefined) return;
  st.sent = versionsOf(st.sentShared);
  st.sentShared = undefined;
}

function sameVersions(desired: ReadonlyMap<string, EncodedResource>, sent: ReadonlyMap<string, string>): boolean {
  if (desired.size !== sent.size) return false;
  for (const [name, r] of desired) if (sent.get(name) !== r.version) return false;
  return true;
}
