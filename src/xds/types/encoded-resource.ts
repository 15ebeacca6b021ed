import { createHash } from 'node:crypto';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import type { XdsResourceType } from './resource-type.js';

/**
 * A resource encoded once, shared by every response that carries it (grpc-xds-notes §8: encode each
 * resource once per version, responses only wrap the cached bytes). Immutable: never modify `any`.
 */
export interface EncodedResource {
  readonly typeUrl: string;
  readonly name: string;
  /**
   * Content version: a hash of the encoded bytes. Equal versions mean equal bytes, also across
   * control-plane restarts, so a delta client's `initial_resource_versions` can be trusted.
   */
  readonly version: string;
  /** The packed resource; `any.typeUrl` equals the response's type URL (notes §4, §7.6). */
  readonly any: Any;
  /** Bytes this resource adds to a DiscoveryResponse (`resources` field entry, tag and length included). */
  readonly sotwSize: number;
}

/** Encodes a message of the descriptor's type. Throws on a message of another type (a bug, not input). */
export function encodeResource<Desc extends DescMessage>(
  type: XdsResourceType<Desc>,
  message: MessageShape<Desc>,
): EncodedResource {
  if (message.$typeName !== type.schema.typeName) {
    throw new TypeError(`${type.shortName}: expected ${type.schema.typeName}, got ${message.$typeName}`);
  }
  const any = anyPack(type.schema, message);
  const version = createHash('sha256').update(any.value).digest('base64url').slice(0, 16);
  return Object.freeze({
    typeUrl: type.typeUrl,
    name: type.nameOf(message),
    version,
    any,
    sotwSize: fieldSize(anySize(any)),
  });
}

/** Encoded size of an Any with both fields set. */
export function anySize(any: Any): number {
  return stringFieldSize(any.typeUrl) + fieldSize(any.value.length);
}

/** Size of a length-delimited field with a one-byte tag (field numbers below 16). */
export function fieldSize(payloadBytes: number): number {
  return 1 + varintSize(payloadBytes) + payloadBytes;
}

export function stringFieldSize(s: string): number {
  return s === '' ? 0 : fieldSize(Buffer.byteLength(s, 'utf8'));
}

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}
