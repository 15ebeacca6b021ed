/**
 * A response encoded once per view and version (issue 15, bench S6). Streams of one view that
 * answer the same push send the same resources (the same shared array, shared-state.ts); only the
 * nonce differs. So the chunking, the response's resource list and its encoding without the nonce
 * are computed once per list and shared; each stream's bytes are that body followed by its nonce
 * field. Protobuf-es writes fields in field-number order and the nonce (field 5) comes after every
 * field set here (1, 2, 4), so the bytes are exactly those of encoding the whole message.
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
import type { EncodedResource } from '../types/encoded-resource.js';
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

/** Response resource lists made once per chunk; the serialisers cache bodies only for these. */
const sotwLists = new WeakMap<readonly EncodedResource[], Any[]>();
const deltaLists = new WeakMap<readonly EncodedResource[], Resource[]>();
const sharedLists = new WeakSet<object>();

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

interface Body {
  readonly version: string;
  readonly typeUrl: string;
  readonly bytes: Uint8Array;
}

const bodies = new WeakMap<object, Body>();

/** The encoding of `message` without its nonce, cached per shared resource list; undefined when not cacheable. */
function sharedBody(resources: readonly object[], version: string, typeUrl: string, encode: () => Uint8Array): Uint8Array | undefined {
  if (!sharedLists.has(resources)) return undefined;
  const cached = bodies.get(resources);
  if (cached !== undefined && cached.version === version && cached.typeUrl === typeUrl) return cached.bytes;
  const bytes = encode();
  bodies.set(resources, { version, typeUrl, bytes });
  return bytes;
}

/** `body` followed by field 5 (nonce, length-delimited). */
function withNonce(body: Uint8Array, nonce: string): Buffer {
  if (nonce === '') return Buffer.from(body);
  const n = Buffer.byteLength(nonce, 'utf8');
  let lenBytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) lenBytes++;
  const out = Buffer.allocUnsafe(body.length + 1 + lenBytes + n);
  out.set(body, 0);
  let p = body.length;
  out[p++] = (5 << 3) | 2;
  let v = n;
  while (v >= 0x80) {
    out[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[p++] = v;
  out.write(nonce, p, 'utf8');
  return out;
}

/** Encodes a SotW response; the body of a shared resource list is encoded once for every stream. */
export function encodeSotwResponse(m: DiscoveryResponse): Buffer {
  if (!m.canary && m.controlPlane === undefined) {
    const body = sharedBody(m.resources, m.versionInfo, m.typeUrl, () => {
      const bare = create(DiscoveryResponseSchema, { versionInfo: m.versionInfo, typeUrl: m.typeUrl });
      bare.resources = m.resources;
      return toBinary(DiscoveryResponseSchema, bare);
    });
    if (body !== undefined) return withNonce(body, m.nonce);
  }
  return Buffer.from(toBinary(DiscoveryResponseSchema, m));
}

/** Encodes a delta response; as encodeSotwResponse, for responses without removed names. */
export function encodeDeltaResponse(m: DeltaDiscoveryResponse): Buffer {
  if (m.removedResources.length === 0 && m.removedResourceNames.length === 0 && m.controlPlane === undefined) {
    const body = sharedBody(m.resources, m.systemVersionInfo, m.typeUrl, () => {
      const bare = create(DeltaDiscoveryResponseSchema, { systemVersionInfo: m.systemVersionInfo, typeUrl: m.typeUrl });
      bare.resources = m.resources;
      return toBinary(DeltaDiscoveryResponseSchema, bare);
    });
    if (body !== undefined) return withNonce(body, m.nonce);
  }
  return Buffer.from(toBinary(DeltaDiscoveryResponseSchema, m));
}
