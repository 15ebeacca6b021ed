/**
 * Responses shared across streams and written without serialising a message tree per stream
 * (issue 15, bench S6). Streams of one view that answer the same push send the same resources (the
 * same shared array, shared-state.ts): the chunking and the response's resource list are computed
 * once per list and shared. Each stream's bytes are then written from the parts (its version and
 * nonce, the resources' encoded Any values, the type URL), byte-identical to protobuf-es encoding
 * the whole message (tested in shared-state.test.ts and shared-encoding.test.ts).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import {
  DeltaDiscoveryResponseSchema,
  DiscoveryResponseSchema,
  ResourceSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
  type Resource,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { fieldSize, type EncodedResource } from '../types/encoded-resource.js';
import type { XdsResourceType } from '../types/resource-type.js';
import { splitIntoResponses, type Problem } from './common.js';

interface Split {
  readonly sizeOf: (r: EncodedResource) => number;
  readonly max: number;
  readonly header: number;
  readonly reserved: number;
  readonly result: { readonly chunks: EncodedResource[][]; readonly problems: Problem[] };
}

const splits = new WeakMap<readonly EncodedResource[], Split[]>();

/**
 * `splitIntoResponses`, computed once per resource list and bounds: streams sharing the list share
 * the chunks (the returned outer array is the caller's; the chunks are shared: never modify them).
 */
export function splitShared(
  type: XdsResourceType,
  resources: readonly EncodedResource[],
  sizeOf: (r: EncodedResource) => number,
  max: number,
  header: number,
  reserved = 0,
): { chunks: EncodedResource[][]; problems: Problem[] } {
  let list = splits.get(resources);
  if (list === undefined) splits.set(resources, (list = []));
  const hit = list.find((s) => s.sizeOf === sizeOf && s.max === max && s.header === header && s.reserved === reserved);
  if (hit !== undefined) return { chunks: [...hit.result.chunks], problems: [...hit.result.problems] };
  const result = splitIntoResponses(type, resources, sizeOf, max, header, reserved);
  list.push({ sizeOf, max, header, reserved, result });
  return { chunks: [...result.chunks], problems: [...result.problems] };
}

/** Response resource lists made once per chunk, shared by the streams sending the same chunk. */
const sotwLists = new WeakMap<readonly EncodedResource[], Any[]>();
const deltaLists = new WeakMap<readonly EncodedResource[], Resource[]>();
/** The lists above: never modified once made, so their encoding can be kept (sharedEntries). */
const sharedLists = new WeakSet<readonly object[]>();

/** A SotW response carrying `chunk`, with its resource list shared by every stream sending the same chunk. */
export function sotwResponse(version: string, typeUrl: string, nonce: string, chunk: readonly EncodedResource[]): DiscoveryResponse {
  let resources = sotwLists.get(chunk);
  if (resources === undefined) {
    resources = chunk.map((r) => r.any);
    sotwLists.set(chunk, resources);
    sharedLists.add(resources);
  }
  const message = create(DiscoveryResponseSchema, { versionInfo: version, typeUrl, nonce });
  message.resources = resources;
  return message;
}

/** A delta response carrying `chunk` and `removed`, its resource list shared like sotwResponse's. */
export function deltaResponse(version: string, typeUrl: string, nonce: string, chunk: readonly EncodedResource[], removed: readonly string[]): DeltaDiscoveryResponse {
  let resources = deltaLists.get(chunk);
  if (resources === undefined) {
    resources = chunk.map((r) => create(ResourceSchema, { name: r.name, version: r.version, resource: r.any }));
    deltaLists.set(chunk, resources);
    sharedLists.add(resources);
  }
  const message = create(DeltaDiscoveryResponseSchema, { systemVersionInfo: version, typeUrl, nonce, removedResources: [...removed] });
  message.resources = resources;
  return message;
}

/*
 * Responses are written straight from their parts (protobuf wire format, fields in field-number
 * order as protobuf-es writes them): the version, each resource's already-encoded Any value, the
 * type URL and the nonce. No message tree is serialised per stream and nothing is cached per
 * stream or per version: each Envoy sidecar has a view (so a version) of its own, and a body cached
 * per (list, version) was re-encoded for every stream. Messages with fields this writer does not
 * write (canary, control_plane, removed_resource_names, a Resource's ttl, aliases...) are encoded
 * by protobuf-es as before. Every field number used is below 16: tags are one byte.
 */

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Size of a length-delimited field of `length` payload bytes (0 when a proto3 default: empty). */
function delimitedSize(length: number): number {
  return length === 0 ? 0 : fieldSize(length);
}

/** Google.protobuf.Any: type_url = 1, value = 2. */
function anyPayloadSize(any: Any): number {
  return delimitedSize(utf8(any.typeUrl)) + delimitedSize(any.value.length);
}

class WireWriter {
  readonly out: Buffer;
  #p = 0;
  constructor(size: number) {
    this.out = Buffer.allocUnsafe(size);
  }

  #varint(n: number): void {
    let v = n;
    while (v >= 0x80) {
      this.out[this.#p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.out[this.#p++] = v;
  }

  /** Tag and length of a length-delimited field; its payload follows. */
  header(no: number, length: number): void {
    this.out[this.#p++] = (no << 3) | 2;
    this.#varint(length);
  }

  /** A string field, skipped when empty (proto3) unless `always` (an element of a repeated field). */
  string(no: number, s: string, always = false): void {
    if (s === '' && !always) return;
    this.header(no, utf8(s));
    this.#p += this.out.write(s, this.#p, 'utf8');
  }

  /** A bytes field, skipped when empty (proto3). */
  bytes(no: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.header(no, b.length);
    this.out.set(b, this.#p);
    this.#p += b.length;
  }

  any(no: number, any: Any): void {
    this.header(no, anyPayloadSize(any));
    this.string(1, any.typeUrl);
    this.bytes(2, any.value);
  }
}

/** True when the message carries unknown fields (which only protobuf-es writes). */
function hasUnknown(m: object): boolean {
  const unknown = (m as { $unknown?: unknown[] }).$unknown;
  return unknown !== undefined && unknown.length > 0;
}

/**
 * The `resources` field entries of `list`, encoded. A shared list (sotwResponse, deltaResponse) is
 * encoded once from its second use on, so the streams sending the same chunk copy its bytes instead
 * of re-encoding every resource; a list used once (a sidecar's own chunk) is not kept.
 */
const sharedEntries = new WeakMap<readonly object[], { uses: number; bytes?: Buffer }>();
function entriesOf<T extends object>(list: readonly T[], encode: (list: readonly T[]) => Buffer): Buffer {
  if (!sharedLists.has(list)) return encode(list);
  let entry = sharedEntries.get(list);
  if (entry === undefined) sharedEntries.set(list, (entry = { uses: 0 }));
  if (entry.bytes !== undefined) return entry.bytes;
  const bytes = encode(list);
  if (++entry.uses > 1) entry.bytes = bytes;
  return bytes;
}

function sotwEntries(list: readonly Any[]): Buffer {
  let size = 0;
  for (const any of list) size += fieldSize(anyPayloadSize(any));
  const w = new WireWriter(size);
  for (const any of list) w.any(2, any);
  return w.out;
}

/**
 * A message's encoding in parts whose concatenation is the message: the shared resource entries
 * are one part, referenced and never copied, so a transport that writes parts (grpc-http2.ts)
 * sends the same bytes to every stream without a per-stream copy of them.
 */
export type EncodedParts = readonly Uint8Array[];

/** The parts as one buffer (for transports that write one buffer per message: grpc-js). */
export function joinParts(parts: EncodedParts): Buffer {
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) return Buffer.from(only.buffer, only.byteOffset, only.length);
  return Buffer.concat(parts);
}

/** Encodes a SotW response from its parts: version_info = 1, resources = 2, type_url = 4, nonce = 5. */
export function encodeSotwResponseParts(m: DiscoveryResponse): EncodedParts {
  if (m.canary || m.controlPlane !== undefined || hasUnknown(m) || m.resources.some(hasUnknown)) return [toBinary(DiscoveryResponseSchema, m)];
  const entries = entriesOf(m.resources, sotwEntries);
  const head = new WireWriter(delimitedSize(utf8(m.versionInfo)));
  head.string(1, m.versionInfo);
  const tail = new WireWriter(delimitedSize(utf8(m.typeUrl)) + delimitedSize(utf8(m.nonce)));
  tail.string(4, m.typeUrl);
  tail.string(5, m.nonce);
  return [head.out, entries, tail.out];
}

/** encodeSotwResponseParts as one buffer. */
export function encodeSotwResponse(m: DiscoveryResponse): Buffer {
  return joinParts(encodeSotwResponseParts(m));
}

/** A delta Resource this writer handles: version = 1, resource = 2, name = 3, nothing else set. */
function plainResource(r: Resource): boolean {
  return r.resourceName === undefined && r.aliases.length === 0 && r.ttl === undefined && r.cacheControl === undefined && r.metadata === undefined && !hasUnknown(r) && (r.resource === undefined || !hasUnknown(r.resource));
}

function resourcePayloadSize(r: Resource): number {
  return delimitedSize(utf8(r.version)) + (r.resource === undefined ? 0 : fieldSize(anyPayloadSize(r.resource))) + delimitedSize(utf8(r.name));
}

/**
 * Encodes a delta response from its parts: system_version_info = 1, resources = 2, type_url = 4,
 * nonce = 5, removed_resources = 6 (the entries shared as in encodeSotwResponseParts).
 */
export function encodeDeltaResponseParts(m: DeltaDiscoveryResponse): EncodedParts {
  if (m.removedResourceNames.length > 0 || m.controlPlane !== undefined || hasUnknown(m) || !m.resources.every(plainResource)) return [toBinary(DeltaDiscoveryResponseSchema, m)];
  const entries = entriesOf(m.resources, deltaEntries);
  const head = new WireWriter(delimitedSize(utf8(m.systemVersionInfo)));
  head.string(1, m.systemVersionInfo);
  let size = delimitedSize(utf8(m.typeUrl)) + delimitedSize(utf8(m.nonce));
  // Repeated strings are written even when empty.
  for (const name of m.removedResources) size += fieldSize(utf8(name));
  const tail = new WireWriter(size);
  tail.string(4, m.typeUrl);
  tail.string(5, m.nonce);
  for (const name of m.removedResources) tail.string(6, name, true);
  return [head.out, entries, tail.out];
}

/** encodeDeltaResponseParts as one buffer. */
export function encodeDeltaResponse(m: DeltaDiscoveryResponse): Buffer {
  return joinParts(encodeDeltaResponseParts(m));
}

function deltaEntries(list: readonly Resource[]): Buffer {
  const payloads = list.map(resourcePayloadSize);
  let size = 0;
  for (const p of payloads) size += fieldSize(p);
  const w = new WireWriter(size);
  list.forEach((r, i) => {
    w.header(2, payloads[i] ?? 0);
    w.string(1, r.version);
    if (r.resource !== undefined) w.any(2, r.resource);
    w.string(3, r.name);
  });
  return w.out;
}
