/**
 * The native gRPC transport (grpc-http2.ts, grpc-framing.ts): framing across DATA chunks, the
 * receive bound, compressed messages, content-type and unknown methods, with a raw node:http2
 * client (to send what gRPC clients never send) and a real grpc-js client (unary and bidi calls,
 * metadata, status messages, back-pressure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2, { constants as h2 } from 'node:http2';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { decodeGrpcMessage, encodeGrpcMessage, frameMessage, GrpcMessageReader, GrpcStatus } from './grpc-framing.js';
import { bidiMethod, GrpcHttp2Server, unaryMethod, type BidiCall } from './grpc-http2.js';

const ECHO = '/test.Echo/Chat';
const ECHO_UNARY = '/test.Echo/Once';
const FLOOD = '/test.Echo/Flood';
const MAX = 1024;

const identity = (b: Buffer): Buffer => b;

test('reader: messages split byte by byte and merged in one chunk come out whole, in order', () => {
  const reader = new GrpcMessageReader(MAX);
  const wire = Buffer.concat([frameMessage(Buffer.from('first')), frameMessage(Buffer.alloc(0)), frameMessage(Buffer.from('third message'))]);
  const split: string[] = [];
  for (const byte of wire) for (const m of reader.push(Buffer.from([byte])).messages) split.push(m.toString());
  assert.deepEqual(split, ['first', '', 'third message']);
  assert.equal(reader.buffered, 0);
  const merged = new GrpcMessageReader(MAX).push(wire);
  assert.deepEqual(merged.messages.map((m) => m.toString()), ['first', '', 'third message']);
  assert.equal(merged.error, undefined);
});

test('reader: a message over the bound is refused from its header, before its bytes arrive; a compressed one is refused', () => {
  const big = new GrpcMessageReader(MAX);
  const header = frameMessage(Buffer.alloc(MAX + 1)).subarray(0, 5);
  const r = big.push(Buffer.concat([frameMessage(Buffer.from('ok')), header]));
  assert.deepEqual(r.messages.map((m) => m.toString()), ['ok'], 'the message before it is delivered');
  assert.equal(r.error?.code, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.equal(r.error?.message, `Received message larger than max (${MAX + 1} vs. ${MAX})`);
  assert.equal(big.push(frameMessage(Buffer.from('later'))).messages.length, 0, 'a failed reader stays failed');

  const compressed = frameMessage(Buffer.from('zz'));
  compressed[0] = 1;
  const c = new GrpcMessageReader(MAX).push(compressed);
  assert.equal(c.error?.code, GrpcStatus.INTERNAL);
  assert.match(c.error?.message ?? '', /compressed flag 1.*uncompressed messages/);
});

test('grpc-message is percent-encoded outside printable ASCII and for %', () => {
  const text = 'café 100% done\nnext';
  const wire = encodeGrpcMessage(text);
  assert.equal(wire, 'caf%C3%A9 100%25 done%0Anext');
  assert.equal(decodeGrpcMessage(wire), text);
});

/** A server with an echo bidi method (status from the client's metadata), a unary echo and a flood. */
async function echoServer(): Promise<{ server: GrpcHttp2Server; address: string; flood: { congested: number; drained: number; written: number } }> {
  const flood = { congested: 0, drained: 0, written: 0 };
  const methods = new Map([
    [
      ECHO,
      bidiMethod<Buffer, Buffer>({
        kind: 'bidi',
        deserialize: identity,
        serialize: identity,
        start: (call: BidiCall<Buffer>) => ({
          onMessage: (m) => {
            if (m.toString() === 'end') call.end(GrpcStatus.UNAVAILABLE, 'ending: 100% (é)');
            else call.write(Buffer.concat([Buffer.from(`${call.metadata.get('who')[0]?.toString() ?? '?'}:`), m]));
          },
          onHalfClose: () => call.end(GrpcStatus.OK, 'OK'),
          onClose: () => undefined,
        }),
      }),
    ],
    [
      ECHO_UNARY,
      unaryMethod<Buffer, Buffer>({
        kind: 'unary',
        deserialize: identity,
        serialize: identity,
        handle: (caller, request, respond) => {
          const bin = caller.metadata.get('token-bin')[0];
          respond({ response: Buffer.concat([request, Buffer.from(`|${Buffer.isBuffer(bin) ? bin.toString('hex') : 'none'}|${caller.secure}`)]) });
        },
      }),
    ],
    [
      FLOOD,
      bidiMethod<Buffer, Buffer>({
        kind: 'bidi',
        deserialize: identity,
        // Written in parts (as ADS responses are), an empty one among them.
        serialize: (m) => [m.subarray(0, 7), Buffer.alloc(0), m.subarray(7, 40_000), m.subarray(40_000)],
        start: (call) => {
          // Writes 64 KiB messages until the stream is congested, then once more after each drain.
          const pump = (): void => {
            while (flood.written < 64) {
              flood.written++;
              if (!call.write(Buffer.alloc(64 * 1024, flood.written))) {
                flood.congested++;
                call.onDrain(() => {
                  flood.drained++;
                  pump();
                });
                return;
              }
            }
            call.end(GrpcStatus.OK, 'OK');
          };
          return { onMessage: pump, onHalfClose: () => undefined, onClose: () => undefined };
        },
      }),
    ],
  ]);
  const server = new GrpcHttp2Server(methods, { maxReceiveMessageBytes: MAX });
  const bound = await server.listen('127.0.0.1', 0);
  return { server, address: `127.0.0.1:${bound.port}`, flood };
}

interface RawResult {
  readonly status: number | undefined;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly messages: Buffer[];
}

/** One request with a raw HTTP/2 client: sends `chunks` as separate DATA writes, then ends. */
async function raw(address: string, path: string, chunks: readonly Buffer[], headers: http2.OutgoingHttpHeaders = {}): Promise<RawResult> {
  const session = http2.connect(`http://${address}`);
  try {
    const req = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    req.on('response', (h) => (responseHeaders = h));
    req.on('trailers', (t: http2.IncomingHttpHeaders) => (trailers = t));
    req.on('data', (d: Buffer) => data.push(d));
    for (const c of chunks) {
      req.write(c);
      await new Promise((resolve) => setImmediate(resolve)); // separate DATA frames
    }
    req.end();
    await new Promise<void>((resolve) => req.on('close', () => resolve()));
    const reader = new GrpcMessageReader(1 << 20);
    const messages = reader.push(Buffer.concat(data)).messages;
    return { status: responseHeaders[h2.HTTP2_HEADER_STATUS] as number | undefined, headers: responseHeaders, trailers, messages };
  } finally {
    session.close();
  }
}

/** grpc-status and grpc-message of a response, from its trailers or (trailers-only) its headers. */
function statusOf(r: RawResult): { code: number; message: string } {
  const source = r.trailers['grpc-status'] !== undefined ? r.trailers : r.headers;
  return { code: Number(source['grpc-status']), message: decodeGrpcMessage(String(source['grpc-message'] ?? '')) };
}

test('native transport on the wire: split and merged DATA, oversized and compressed messages, bad content-type, unknown method', { timeout: 30_000 }, async (t) => {
  const { server, address } = await echoServer();
  t.after(() => server.stop(0));

  // One message split across three DATA frames, then two messages in one frame.
  const a = frameMessage(Buffer.from('split-message'));
  const merged = Buffer.concat([frameMessage(Buffer.from('m1')), frameMessage(Buffer.from('m2'))]);
  const echo = await raw(address, ECHO, [a.subarray(0, 3), a.subarray(3, 9), a.subarray(9), merged], { who: 'raw' });
  assert.equal(echo.status, 200);
  assert.equal(echo.headers['content-type'], 'application/grpc');
  assert.deepEqual(echo.messages.map((m) => m.toString()), ['raw:split-message', 'raw:m1', 'raw:m2']);
  assert.deepEqual(statusOf(echo), { code: GrpcStatus.OK, message: 'OK' });

  // A message over the receive bound: RESOURCE_EXHAUSTED naming both sizes.
  const over = await raw(address, ECHO, [frameMessage(Buffer.alloc(MAX + 10))]);
  assert.deepEqual(statusOf(over), { code: GrpcStatus.RESOURCE_EXHAUSTED, message: `Received message larger than max (${MAX + 10} vs. ${MAX})` });

  // The compressed flag: INTERNAL, and the server says it accepts identity only.
  const zipped = frameMessage(Buffer.from('x'));
  zipped[0] = 1;
  const compressed = await raw(address, ECHO, [zipped]);
  assert.equal(statusOf(compressed).code, GrpcStatus.INTERNAL);
  assert.match(statusOf(compressed).message, /compressed flag 1/);
  assert.equal(compressed.headers['grpc-accept-encoding'], 'identity');

  // A grpc-encoding the server does not have: UNIMPLEMENTED.
  const gzip = await raw(address, ECHO, [frameMessage(Buffer.from('x'))], { 'grpc-encoding': 'gzip' });
  assert.equal(statusOf(gzip).code, GrpcStatus.UNIMPLEMENTED);

  // Not gRPC: HTTP 415, no gRPC status.
  const json = await raw(address, ECHO, [Buffer.from('{}')], { 'content-type': 'application/json' });
  assert.equal(json.status, 415);
  assert.equal(json.headers['grpc-status'], undefined);

  // An unknown method: trailers-only UNIMPLEMENTED naming the path.
  const unknown = await raw(address, '/test.Echo/Nope', [frameMessage(Buffer.from('x'))]);
  assert.equal(unknown.status, 200);
  assert.deepEqual(statusOf(unknown), { code: GrpcStatus.UNIMPLEMENTED, message: 'The server does not implement the method /test.Echo/Nope' });

  // A request stream ending inside a message: INTERNAL.
  const cut = await raw(address, ECHO, [frameMessage(Buffer.from('truncated')).subarray(0, 8)]);
  assert.equal(statusOf(cut).code, GrpcStatus.INTERNAL);
});

test('native transport with a grpc-js client: unary with binary metadata, bidi status message, back-pressure, messages written in parts', { timeout: 30_000 }, async (t) => {
  const { server, address, flood } = await echoServer();
  t.after(() => server.stop(0));
  const client = new Client(address, credentials.createInsecure());
  t.after(() => client.close());

  const md = new Metadata();
  md.set('token-bin', Buffer.from([0xde, 0xad]));
  const unary = await new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(ECHO_UNARY, identity, identity, Buffer.from('hello'), md, (err: ServiceError | null, value?: Buffer) => (err || value === undefined ? reject(err ?? new Error('no value')) : resolve(value)));
  });
  assert.equal(unary.toString(), 'hello|dead|false', 'request, binary metadata (base64 on the wire) and transport reach the handler');

  const bidiMd = new Metadata();
  bidiMd.set('who', 'js');
  const call = client.makeBidiStreamRequest(ECHO, identity, identity, bidiMd);
  const got: string[] = [];
  call.on('data', (m: Buffer) => got.push(m.toString()));
  const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
  call.write(Buffer.from('a'));
  call.write(Buffer.from('b'));
  call.write(Buffer.from('end'));
  const err = await ended;
  assert.deepEqual(got, ['js:a', 'js:b']);
  assert.equal(err.code, GrpcStatus.UNAVAILABLE);
  assert.equal(err.details, 'ending: 100% (é)', 'the percent-encoded message decodes to the original');

  // 64 messages of 64 KiB to a client that reads slowly: the transport reports congestion and
  // drains, and every message arrives.
  const slow = client.makeBidiStreamRequest(FLOOD, identity, identity);
  let received = 0;
  const intact: boolean[] = [];
  slow.on('data', (m: Buffer) => {
    received++;
    intact.push(m.length === 64 * 1024 && m.every((byte) => byte === received));
    slow.pause();
    setTimeout(() => slow.resume(), 2);
  });
  const status = new Promise<number>((resolve, reject) => {
    slow.on('status', (s: { code: number }) => resolve(s.code));
    slow.on('error', reject);
  });
  // 'end' comes once every message was read (the status may come earlier, while some wait).
  const done = Promise.all([status, new Promise<void>((resolve) => slow.on('end', () => resolve()))]);
  slow.write(Buffer.from('go'));
  const [code] = await done;
  assert.equal(code, GrpcStatus.OK);
  assert.equal(received, 64);
  assert.ok(intact.every(Boolean), 'every message written in parts arrives whole, in order');
  assert.ok(flood.congested > 0, 'write() returned false at least once');
  assert.equal(flood.drained, flood.congested, 'every congestion ended with a drain');
});

test('stop: GOAWAY, open calls may finish; after the grace the connection is destroyed', { timeout: 30_000 }, async () => {
  const { server, address } = await echoServer();
  const client = new Client(address, credentials.createInsecure());
  const call = client.makeBidiStreamRequest(ECHO, identity, identity);
  const first = new Promise<Buffer>((resolve) => call.once('data', resolve));
  call.write(Buffer.from('x'));
  await first;
  const ended = new Promise<number>((resolve) => call.on('status', (s: { code: number }) => resolve(s.code)));
  call.on('error', () => undefined);
  const started = Date.now();
  await server.stop(300); // the call stays open: forced after 300 ms
  assert.ok(Date.now() - started >= 250, 'the grace is waited for');
  assert.equal(await ended, GrpcStatus.UNAVAILABLE, 'the client sees the connection go (UNAVAILABLE), not a hang');
  client.close();
});
