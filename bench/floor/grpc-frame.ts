/**
 * gRPC's wire framing for the node:http2 floor (h2-floor.ts): a message on an HTTP/2 stream is a
 * 5-byte prefix (compressed flag 0, big-endian length) and the encoded protobuf. A push encodes the
 * DiscoveryResponse once without its nonce; each stream's bytes are that body plus the nonce field
 * (DiscoveryResponse.nonce = 5, a string). protobuf-es writes fields in number order and the floor sets
 * none above 5, so body + nonce field is byte-identical to encoding the whole message with the nonce
 * (test/bench/grpc-frame.test.ts).
 */

/** Protobuf tag of DiscoveryResponse.nonce: field 5, wire type 2 (length-delimited). */
const NONCE_TAG = (5 << 3) | 2;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** One gRPC length-prefixed message (uncompressed). */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** The framed DiscoveryResponse: `body` (encoded without a nonce) followed by the nonce field, in one buffer. */
export function framedResponse(body: Uint8Array, nonce: string): Buffer {
  const nonceBytes = Buffer.from(nonce, 'utf8');
  const length = body.length + 1 + varintLength(nonceBytes.length) + nonceBytes.length;
  const out = Buffer.allocUnsafe(5 + length);
  out[0] = 0;
  out.writeUInt32BE(length, 1);
  out.set(body, 5);
  let at = 5 + body.length;
  out[at++] = NONCE_TAG;
  at = writeVarint(out, at, nonceBytes.length);
  out.set(nonceBytes, at);
  return out;
}

/**
 * Splits a stream of HTTP/2 DATA chunks into gRPC messages (a message may span chunks, a chunk may
 * hold several). A compressed message (flag 1) is refused: the floor negotiates no compression.
 */
export class MessageReader {
  #pending: Buffer = Buffer.alloc(0);

  /** The complete messages this chunk finishes, in order. */
  push(chunk: Uint8Array): Buffer[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    while (this.#pending.length >= 5) {
      if (this.#pending[0] !== 0) throw new Error(`gRPC message with compressed flag ${this.#pending[0]}: compression was not negotiated`);
      const length = this.#pending.readUInt32BE(1);
      if (this.#pending.length < 5 + length) break;
      out.push(this.#pending.subarray(5, 5 + length));
      this.#pending = this.#pending.subarray(5 + length);
    }
    return out;
  }

  /** Bytes of an incomplete message held back. */
  get buffered(): number {
    return this.#pending.length;
  }
}
