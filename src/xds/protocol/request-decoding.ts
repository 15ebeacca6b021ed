/**
 * Decoding SotW DiscoveryRequests so that a repeated list of resource names costs a byte comparison
 * instead of a decode. A state-of-the-world client repeats its whole subscription on every ACK: an
 * Envoy sidecar's EDS ACK names every cluster (~1,000 names, ~45 kB) after every endpoint push.
 * Measured cause (bench S6, 500 sidecars, single endpoint changes): decoding those names was 15 % of
 * the control plane's CPU per change, and the strings it made were much of the garbage behind 38 %
 * spent in the garbage collector.
 *
 * The bytes of a request's `resource_names` are compared (memcmp) with the lists of the same length
 * seen recently (most ACKs of a mesh repeat a few subscriptions); on a match the request is decoded without them and carries the
 * list decoded before: one frozen array shared by every request that repeats it, which also lets
 * `sotwSubscription` recognise an unchanged subscription by identity. Lists are kept while they fit
 * a byte budget, least recently used first out, so a client sending ever new lists only costs the
 * plain decode.
 */
import { create, fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema, type DeltaDiscoveryRequest, type DiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';

/** DiscoveryRequest.resource_names: field 3, length-delimited. */
const RESOURCE_NAMES_TAG = (3 << 3) | 2;
/** Below this many bytes of names the plain decode is as cheap as a lookup. */
const MIN_NAMES_BYTES = 512;

export interface NameListMemoOptions {
  /** Bytes of name lists kept (default 8 MiB). */
  readonly maxBytes?: number;
}

/** One kept list: its encoding (a copy) and the frozen decoded names. */
interface KeptList {
  readonly bytes: Buffer;
  readonly names: readonly string[];
}

/** At most this many kept lists of one byte length are compared with a request. */
const PER_LENGTH = 8;
/** Recently used lists compared with a request's names before walking its fields. */
const RECENT_LISTS = 4;

/**
 * The request without the bytes [start, end), with `names` as its resource_names (the caller
 * matched those bytes with the encoding of `names`); undefined when the rest holds names of its own.
 */
function decodeWith(bytes: Uint8Array, start: number, end: number, names: readonly string[]): DiscoveryRequest | undefined {
  // The usual ACK (version, type URL, nonce) is read around the names, without copying the rest.
  let req = decodeStringFields(DiscoveryRequestSchema, bytes, SOTW_ACK_FIELDS, start, end);
  if (req === undefined) {
    const rest = new Uint8Array(bytes.length - (end - start));
    rest.set(bytes.subarray(0, start), 0);
    rest.set(bytes.subarray(end), start);
    req = fromBinary(DiscoveryRequestSchema, rest);
    if (req.resourceNames.length > 0) return undefined;
  }
  req.resourceNames = names as string[];
  return req;
}

/** Recently seen `resource_names` encodings and their decoded lists. */
export class NameListMemo {
  readonly #maxBytes: number;
  /** Kept lists by encoded length (a request is compared with those of its length only). */
  readonly #byLength = new Map<number, KeptList[]>();
  /** Every kept list, least recently used first. */
  readonly #order = new Set<KeptList>();
  /** The RECENT_LISTS most recently used lists, most recent first (compared before any walk). */
  readonly #recent: KeptList[] = [];
  #bytes = 0;
  hits = 0;
  misses = 0;

  constructor(options: NameListMemoOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  }

  /** Decodes a serialized DiscoveryRequest (same result as protobuf-es `fromBinary`). */
  decode(bytes: Uint8Array): DiscoveryRequest {
    const start = namesSpan(bytes, true)?.start;
    if (start === undefined) return decodeSotwRequest(bytes);
    const recent = this.#recentAt(bytes, start);
    if (recent !== undefined) return recent;
    const span = namesSpan(bytes);
    if (span === undefined || span.end - span.start < MIN_NAMES_BYTES) return decodeSotwRequest(bytes);
    const region = Buffer.from(bytes.buffer, bytes.byteOffset + span.start, span.end - span.start);
    const bucket = this.#byLength.get(region.length);
    const known = bucket?.find((k) => k.bytes.equals(region));
    if (known !== undefined) {
      this.hits++;
      this.#touch(known);
      // The span holds every name of the request (namesSpan): the rest has none.
      return decodeWith(bytes, span.start, span.end, known.names) ?? fromBinary(DiscoveryRequestSchema, bytes);
    }
    this.misses++;
    const req = fromBinary(DiscoveryRequestSchema, bytes);
    if (region.length <= this.#maxBytes / 4) {
      // A copy of its own: a small Buffer.from would be a slice of a shared 8 KiB pool slab, and
      // keeping it would keep the whole slab (and whatever else was written into it) alive.
      const copy = Buffer.allocUnsafeSlow(region.length);
      region.copy(copy);
      const list = { bytes: copy, names: Object.freeze(req.resourceNames) };
      this.#keep(list);
      this.#touch(list);
    }
    return req;
  }

  /**
   * The request decoded with a recently used list, when the names starting at `start` are exactly
   * that list's encoding: one comparison instead of a walk over ~1,000 fields (measured, S6 probe
   * at 2,000 sidecars: the walk made this decode 34 µs per Envoy EDS ACK, 9.5 % of serve's CPU per
   * change). The run of names must end where the list does (the next byte does not start another
   * name), and the rest of the request must hold no name (else: the walk below decides).
   */
  #recentAt(bytes: Uint8Array, start: number): DiscoveryRequest | undefined {
    for (const known of this.#recent) {
      const end = start + known.bytes.length;
      if (end > bytes.length || bytes[end] === RESOURCE_NAMES_TAG) continue;
      if (known.bytes.compare(bytes, start, end) !== 0) continue;
      const req = decodeWith(bytes, start, end, known.names);
      if (req === undefined) return undefined;
      this.hits++;
      this.#touch(known);
      return req;
    }
    return undefined;
  }

  /** Marks `list` as the most recently used (first of #recent, last of #order). */
  #touch(list: KeptList): void {
    this.#order.delete(list);
    this.#order.add(list);
    const at = this.#recent.indexOf(list);
    if (at === 0) return;
    if (at > 0) this.#recent.splice(at, 1);
    else if (this.#recent.length >= RECENT_LISTS) this.#recent.pop();
    this.#recent.unshift(list);
  }

  /** Number of lists kept. */
  get size(): number {
    return this.#order.size;
  }

  #keep(list: KeptList): void {
    let bucket = this.#byLength.get(list.bytes.length);
    if (bucket === undefined) this.#byLength.set(list.bytes.length, (bucket = []));
    if (bucket.length >= PER_LENGTH) this.#drop(bucket[0] as KeptList);
    bucket.push(list);
    this.#order.add(list);
    this.#bytes += list.bytes.length;
    for (const oldest of this.#order) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#drop(oldest);
    }
  }

  #drop(list: KeptList): void {
    this.#order.delete(list);
    const recentAt = this.#recent.indexOf(list);
    if (recentAt >= 0) this.#recent.splice(recentAt, 1);
    this.#bytes -= list.bytes.length;
    const bucket = this.#byLength.get(list.bytes.length) ?? [];
    const at = bucket.indexOf(list);
    if (at >= 0) bucket.splice(at, 1);
    if (bucket.length === 0) this.#byLength.delete(list.bytes.length);
  }
}

/**
 * Where a request's resource_names fields lie when they are one contiguous run (as every encoder
 * writes a repeated field), else undefined (then the plain decode handles the message as it is).
 * `firstOnly`: where the first name field lies (the fields before it are walked, not those after).
 */
function namesSpan(b: Uint8Array, firstOnly = false): { start: number; end: number } | undefined {
  // One pass over the fields without allocating: an Envoy EDS ACK holds ~1,000 names, each its own
  // field (bench S6: a varint helper returning objects made this 25 µs per ACK). The tag's and the
  // length's varint loops stay inline: one shared helper called per field measured 19.5 against
  // 14.7 µs per repeated 1,000-name ACK.
  let start = -1;
  let end = -1;
  let pos = 0;
  const n = b.length;
  while (pos < n) {
    const fieldStart = pos;
    // The tag (at most 5 bytes, 32 bits).
    let tag = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= n || shift >= 35) return undefined;
      byte = b[pos++] as number;
      tag += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte >= 0x80);
    if (tag > 0xffffffff) return undefined;
    const wire = tag & 7;
    if (wire === 0) {
      let count = 0;
      do {
        if (pos >= n || count++ >= 10) return undefined;
        byte = b[pos++] as number;
      } while (byte >= 0x80);
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let length = 0;
      shift = 0;
      do {
        if (pos >= n || shift >= 35) return undefined;
        byte = b[pos++] as number;
        length += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte >= 0x80);
      if (length > 0xffffffff) return undefined;
      pos += length;
    } else return undefined;
    if (pos > n) return undefined;
    if (tag === RESOURCE_NAMES_TAG) {
      if (start === -1 && firstOnly) return { start: fieldStart, end: pos };
      if (start === -1) start = fieldStart;
      else if (end !== fieldStart) return undefined; // not contiguous
      end = pos;
    }
  }
  return start === -1 ? undefined : { start, end };
}

/** DiscoveryRequest fields an ACK carries besides its names: version_info (1), type_url (4), response_nonce (5). */
const SOTW_ACK_FIELDS: readonly (string | undefined)[] = [undefined, 'versionInfo', undefined, undefined, 'typeUrl', 'responseNonce'];
/** DeltaDiscoveryRequest fields of an ACK: type_url (2), response_nonce (6). */
const DELTA_ACK_FIELDS: readonly (string | undefined)[] = [undefined, undefined, 'typeUrl', undefined, undefined, undefined, 'responseNonce'];

/** Longer strings are left to `fromBinary` (and to its UTF-8 decoder). */
const MAX_FAST_STRING = 4096;

/** A DiscoveryRequest (same result as protobuf-es `fromBinary`). */
export function decodeSotwRequest(bytes: Uint8Array): DiscoveryRequest {
  return decodeStringFields(DiscoveryRequestSchema, bytes, SOTW_ACK_FIELDS) ?? fromBinary(DiscoveryRequestSchema, bytes);
}

/** A DeltaDiscoveryRequest (same result as protobuf-es `fromBinary`). */
export function decodeDeltaRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  return decodeStringFields(DeltaDiscoveryRequestSchema, bytes, DELTA_ACK_FIELDS) ?? fromBinary(DeltaDiscoveryRequestSchema, bytes);
}

/**
 * A message whose every field is one of `fields` (by field number, each a string field, written
 * with a one-byte tag) holding ASCII text: built with `create` from the fields read, which is what
 * protobuf-es `fromBinary` makes of it (later occurrences of a field win). Anything else (another
 * field, a wire type, non-ASCII text, a truncated message): undefined, for `fromBinary` to decode.
 * The bytes [skipFrom, skipTo), when given, are passed over (a run of names read otherwise): a
 * field that starts there; a field overlapping them makes the result undefined.
 * Measured cause (S6 probe, 2,000 sidecars): `fromBinary`'s reflective reading of the ~2,000 ACKs
 * per change (version, type URL and nonce) took ~11 µs each.
 */
function decodeStringFields<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array, fields: readonly (string | undefined)[], skipFrom = -1, skipTo = -1): MessageShape<Desc> | undefined {
  const init: Record<string, string> = {};
  const n = bytes.length;
  let pos = 0;
  while (pos < n) {
    if (pos === skipFrom) {
      pos = skipTo;
      continue;
    }
    const fieldStart = pos;
    const tag = bytes[pos++] as number;
    if (tag >= 0x80 || (tag & 7) !== 2) return undefined;
    const name = fields[tag >> 3];
    if (name === undefined) return undefined;
    let length = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= n || shift > 28) return undefined;
      byte = bytes[pos++] as number;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte >= 0x80);
    const end = pos + length;
    if (end > n || length > MAX_FAST_STRING || (skipFrom > fieldStart && skipFrom < end)) return undefined;
    for (let i = pos; i < end; i++) if ((bytes[i] as number) >= 0x80) return undefined;
    init[name] = String.fromCharCode.apply(null, bytes.subarray(pos, end) as unknown as number[]);
    pos = end;
  }
  return create(schema, init as never);
}
