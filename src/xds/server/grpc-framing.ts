/**
 * gRPC's message framing over HTTP/2 (the "Length-Prefixed-Message" of gRPC's PROTOCOL-HTTP2 spec):
 * each message is a 1-byte compressed flag, a 4-byte big-endian length and the message bytes, and
 * messages may be split across DATA frames or several may share one. Pure: no I/O (the native
 * transport, grpc-http2.ts, feeds it the chunks it reads and writes what `frameMessage` returns).
 */

/** gRPC status codes used by the transport. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INTERNAL: 13,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
} as const;

/** grpc-js's default bound on one received message (`grpc.max_receive_message_length`): 4 MiB. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

const HEADER_BYTES = 5;

/** Why a stream's input cannot be read further; the transport ends the call with this status. */
export interface FramingError {
  readonly code: number;
  readonly message: string;
}

/**
 * Reassembles length-prefixed messages from DATA chunks of any size. `push` returns the messages
 * completed by the chunk, or the error that ends the call: a message over `maxMessageBytes`
 * (RESOURCE_EXHAUSTED, refused from its header, before its bytes are buffered) or a compressed one
 * (INTERNAL: this server accepts only the identity encoding and says so in `grpc-accept-encoding`).
 * After an error the reader stays failed.
 */
export class GrpcMessageReader {
  readonly #maxMessageBytes: number;
  /** The bytes received and not yet part of a returned message. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The length of the message being read, once its header is complete. */
  #expected: number | undefined;
  #failed: FramingError | undefined;

  constructor(maxMessageBytes = DEFAULT_MAX_RECEIVE_MESSAGE_BYTES) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes of an incomplete message (or header) still waiting for more data. */
  get buffered(): number {
    return this.#pendingBytes;
  }

  push(chunk: Buffer): { readonly messages: Buffer[]; readonly error?: FramingError } {
    if (this.#failed !== undefined) return { messages: [], error: this.#failed };
    if (chunk.length > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
    }
    const messages: Buffer[] = [];
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#pendingBytes < HEADER_BYTES) break;
        const header = this.#take(HEADER_BYTES);
        const flag = header.readUInt8(0);
        const length = header.readUInt32BE(1);
        if (flag !== 0) return this.#fail(messages, { code: GrpcStatus.INTERNAL, message: `received a message with compressed flag ${flag}, but this server accepts only uncompressed messages (grpc-encoding identity)` });
        if (length > this.#maxMessageBytes) return this.#fail(messages, { code: GrpcStatus.RESOURCE_EXHAUSTED, message: `Received message larger than max (${length} vs. ${this.#maxMessageBytes})` });
        this.#expected = length;
      }
      if (this.#pendingBytes < this.#expected) break;
      messages.push(this.#take(this.#expected));
      this.#expected = undefined;
    }
    return { messages };
  }

  #fail(messages: Buffer[], error: FramingError): { messages: Buffer[]; error: FramingError } {
    this.#failed = error;
    this.#pending = [];
    this.#pendingBytes = 0;
    return { messages, error };
  }

  /** Removes and returns the first `n` pending bytes (n <= #pendingBytes); no copy when one chunk holds them. */
  #take(n: number): Buffer {
    const first = this.#pending[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#pending.shift();
      else this.#pending[0] = first.subarray(n);
      this.#pendingBytes -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#pending[0] as Buffer;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#pending.shift();
      else this.#pending[0] = chunk.subarray(used);
    }
    this.#pendingBytes -= n;
    return out;
  }
}

/** Writes the 5-byte header of an uncompressed message of `length` bytes at the start of `out`. */
function writeHeader(out: Buffer, length: number): void {
  out.writeUInt8(0, 0);
  out.writeUInt32BE(length, 1);
}

/** The 5-byte header of an uncompressed message of `length` bytes (written before its parts). */
export function messageHeader(length: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(out, length);
  return out;
}

/** The message's length when it is given as parts. */
export function partsLength(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}

/** `body` (one buffer, or parts in order) as one length-prefixed uncompressed message. */
export function frameMessage(body: Uint8Array | readonly Uint8Array[]): Buffer {
  const parts = body instanceof Uint8Array ? [body] : body;
  const out = Buffer.allocUnsafe(HEADER_BYTES + partsLength(parts));
  writeHeader(out, out.length - HEADER_BYTES);
  let at = HEADER_BYTES;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * `grpc-message` as the spec wants it on the wire: UTF-8, with bytes outside printable ASCII
 * (0x20–0x7E) and '%' percent-encoded.
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of encodeGrpcMessage (malformed escapes are kept as they are). */
export function decodeGrpcMessage(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded[i] === '%' ? encoded.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(encoded[i] ?? '', 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
