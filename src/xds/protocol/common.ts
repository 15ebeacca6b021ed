import { stringFieldSize, type EncodedResource } from '../types/encoded-resource.js';
import type { XdsResourceType } from '../types/resource-type.js';
import type { Subscription, SubscriptionChange } from './subscription.js';

/** gRPC's default max receive size, which xDS clients keep for their ADS channel (notes §4). */
export const GRPC_DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Default bound for one encoded response. Sizes are computed exactly; the 1 KiB margin only leaves
 * room for a client that counts slightly differently.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = GRPC_DEFAULT_MAX_MESSAGE_BYTES - 1024;

/**
 * How one request was understood. For each (stream, type) exactly one kind:
 * - `initial`: the first request of the type on this stream, or one without a nonce. Always answered
 *   (whatever its version_info says: versions do not survive a stream, notes §4).
 * - `ack` / `nack`: carries the nonce of a current response. A NACK is a request with `error_detail`,
 *   whatever its `version_info` (a partial NACK from gRPC carries the new version, notes §4).
 * - `resubscribe` / `unsubscribe`: ACKs too (SotW, when it carries a current nonce), and changes the
 *   subscription: names (or "*") added, or only removed.
 * - `stale`: SotW request whose nonce is not the latest; ignored, as the spec requires
 *   (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#resource-updates). Delta
 *   requests with an unknown nonce and no subscription change.
 */
export type RequestKind = 'initial' | 'ack' | 'nack' | 'resubscribe' | 'unsubscribe' | 'stale';

/** `google.rpc.Status` as a client sends it in `error_detail`. */
export interface ErrorDetail {
  readonly code: number;
  readonly message: string;
}

export interface AckRecord {
  readonly version: string;
  readonly nonce: string;
}

export interface NackRecord extends AckRecord {
  readonly error: ErrorDetail;
}

/** What the session made of one request. */
export interface Receipt {
  readonly typeUrl: string;
  readonly kind: RequestKind;
  readonly change: SubscriptionChange;
  /** Set when this request completed the ACK of the response group it answers. */
  readonly ack?: AckRecord;
  /** Set when this request NACKed a response. */
  readonly nack?: NackRecord;
  /** An answer is due now (or as soon as the view has resources of this type). */
  readonly respond: boolean;
}

/**
 * A Receipt with its records, as one of four fixed literals: spreading optional records into a
 * literal gave each receipt a hidden class of its own on Node 20 (src/lib/objects/with-fields.ts),
 * one per ACK of every stream on every push (bench S6).
 */
export function receipt(typeUrl: string, kind: RequestKind, change: SubscriptionChange, respond: boolean, ack: AckRecord | undefined, nack: NackRecord | undefined): Receipt {
  if (ack !== undefined) return nack !== undefined ? { typeUrl, kind, change, respond, ack, nack } : { typeUrl, kind, change, respond, ack };
  return nack !== undefined ? { typeUrl, kind, change, respond, nack } : { typeUrl, kind, change, respond };
}

/** Why a response (or a resource) was not sent; reported, never thrown. */
export interface Problem {
  readonly typeUrl: string;
  readonly message: string;
}

/** Per (stream, type) bookkeeping exposed for status (SENT / ACKED / NACKED). */
export interface TypeStatus {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  readonly names: readonly string[];
  /** Last response sent: version and nonce (the last chunk's nonce when a push was split). */
  readonly sent?: AckRecord;
  readonly acked?: AckRecord;
  /** Last NACK; compare its nonce order with `acked` to know which came last (`lastAnswer`). */
  readonly nacked?: NackRecord;
  readonly lastAnswer?: 'ack' | 'nack';
  /** The view version this stream is up to date with (sent or found equivalent to what was sent). */
  readonly seenVersion?: string;
}

/**
 * Splits items into groups whose summed size stays within `budget`. An item larger than the budget on
 * its own is returned in `tooLarge` instead (it can never be sent).
 */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, budget: number): { chunks: T[][]; tooLarge: T[] } {
  const chunks: T[][] = [];
  const tooLarge: T[] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > budget) {
      tooLarge.push(item);
      continue;
    }
    if (used + size > budget && current.length > 0) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += size;
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, tooLarge };
}

/** Room left in a response's size budget for its nonce field. */
export const NONCE_RESERVE = 40;

/** Bytes of a response's version and type URL fields, plus room for its nonce. */
export function responseHeaderSize(version: string, typeUrl: string): number {
  return stringFieldSize(version) + stringFieldSize(typeUrl) + NONCE_RESERVE;
}

/**
 * Splits the resources of one answer into responses of at most `max` bytes (SotW and delta share
 * this): `header` is responseHeaderSize, `reserved` bytes of other fields (delta's removed names).
 * A resource too large for any response is left out and reported as a problem.
 */
export function splitIntoResponses(
  type: XdsResourceType,
  resources: readonly EncodedResource[],
  sizeOf: (r: EncodedResource) => number,
  max: number,
  header: number,
  reserved = 0,
): { chunks: EncodedResource[][]; problems: Problem[] } {
  const split = chunkBySize(resources, sizeOf, max - header - reserved);
  const problems = split.tooLarge.map((r): Problem => ({
    typeUrl: type.typeUrl,
    message: `${type.shortName} resource "${r.name}" is ${sizeOf(r)} bytes, over the response limit of ${max}; not sent`,
  }));
  return { chunks: split.chunks, problems };
}

/** Nonce minting: unique within a stream, which is all a nonce needs (nonces do not survive streams). */
export function nonceCounter(prefix = ''): () => string {
  let n = 0;
  return () => `${prefix}${(++n).toString(36)}`;
}

export interface SessionOptions {
  /** Upper bound for one encoded response; default just under gRPC's 4 MiB (notes §4, §7.15). */
  readonly maxResponseBytes?: number;
  /** Nonce source; default a per-session counter. */
  readonly mintNonce?: () => string;
}

/** Status record shared by SotW and delta sessions. */
export function toStatus(
  typeUrl: string,
  subscription: Subscription,
  st: {
    readonly seenVersion: string | undefined;
    readonly lastSent: AckRecord | undefined;
    readonly acked: AckRecord | undefined;
    readonly nacked: NackRecord | undefined;
    readonly lastAnswer: 'ack' | 'nack' | undefined;
  },
): TypeStatus {
  return {
    typeUrl,
    wildcard: subscription.wildcard,
    names: [...subscription.names].sort(),
    ...(st.lastSent !== undefined ? { sent: st.lastSent } : {}),
    ...(st.acked !== undefined ? { acked: st.acked } : {}),
    ...(st.nacked !== undefined ? { nacked: st.nacked } : {}),
    ...(st.lastAnswer !== undefined ? { lastAnswer: st.lastAnswer } : {}),
    ...(st.seenVersion !== undefined ? { seenVersion: st.seenVersion } : {}),
  };
}
