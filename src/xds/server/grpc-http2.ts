/**
 * A gRPC server transport on `node:http2` directly (issue 15 item 3): grpc-js's write path costs
 * about 0.35–0.5 ms of CPU per message, Node's http2 module about 20–50 µs for a pre-framed one, and
 * an ADS push writes one message to every stream. What it does, as gRPC servers do
 * (PROTOCOL-HTTP2 spec, grpc-js's server):
 * - POST requests whose `content-type` starts with `application/grpc` (else HTTP 415), `te` when
 *   present must be `trailers` (else HTTP 400); a path no handler serves ends with UNIMPLEMENTED;
 *   a `grpc-encoding` other than identity ends with UNIMPLEMENTED (`grpc-accept-encoding: identity`);
 * - length-prefixed messages both ways (grpc-framing.ts): reassembled across DATA frames, over the
 *   receive bound RESOURCE_EXHAUSTED, compressed INTERNAL;
 * - response headers `:status 200`, `content-type: application/grpc`, then trailers `grpc-status`
 *   and `grpc-message` (percent-encoded); an error before any message is "trailers-only";
 * - request metadata from the headers (grpc-js's Metadata: `-bin` values base64-decoded);
 * - back-pressure as grpc-js's call objects have it: `write` returns false once 16 messages are
 *   written and not yet taken by HTTP/2 (the client's flow-control window or the socket holds them
 *   back), `onDrain` fires once every one of them is; `pause`/`resume` stop reading (HTTP/2 flow
 *   control then holds the client back);
 * - keepalive: a PING every `keepaliveTimeMs` (default off, as grpc-js's server), the connection
 *   closed when no answer comes within `keepaliveTimeoutMs` (default 20 s, as grpc-js);
 * - TLS (`tls`): client certificates requested, never rejected by TLS (the handlers judge them),
 *   ALPN h2 only; the certificate can change (`setSecureContext`) and applies to new connections;
 *   until the first one is set, connections are dropped (as grpc-js with a certificate provider);
 * - `stop`: no new connections, GOAWAY on every session (open calls finish), then after the
 *   grace every session is destroyed.
 * Deadlines (`grpc-timeout`) are not enforced: the calls served here are long-lived streams and
 * short unary calls whose clients enforce their own deadline.
 */
import { EventEmitter } from 'node:events';
import http2, { constants as h2 } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket, type SecureContextOptions } from 'node:tls';
import { Metadata } from '@grpc/grpc-js';
import { listenWithBacklog } from './listen-backlog.js';
import { encodeGrpcMessage, frameMessage, GrpcMessageReader, messageHeader, partsLength, GrpcStatus, DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, type FramingError } from './grpc-framing.js';

export interface GrpcHttp2Options {
  /** Largest message accepted from a client (default 4 MiB, grpc-js's). */
  readonly maxReceiveMessageBytes?: number;
  /** Interval of keepalive PINGs on each connection; undefined or 0: none (grpc-js's server default). */
  readonly keepaliveTimeMs?: number;
  /** How long a keepalive PING may wait for its answer before the connection is closed (default 20 s). */
  readonly keepaliveTimeoutMs?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection (default Node's: unlimited). */
  readonly maxConcurrentStreams?: number;
}

/** What a handler knows of the caller. */
export interface CallerInfo {
  /** `host:port` of the client (IPv6 in brackets), as grpc-js's `getPeer()`. */
  readonly peer: string;
  /** The request's metadata (reserved gRPC headers removed). */
  readonly metadata: Metadata;
  /** Whether the call came over TLS. */
  readonly secure: boolean;
  /** DER of the client certificate presented on the connection, verified or not. */
  readonly peerCertificate: Buffer | undefined;
}

/** A call's end status. */
export interface CallStatus {
  readonly code: number;
  readonly details: string;
}

/** One bidirectional streaming call as a handler sees it. */
export interface BidiCall<Res> extends CallerInfo {
  /**
   * Writes one response; false when the stream is congested (then wait for `onDrain`). No-op after
   * the end. `taken` is called once HTTP/2 has taken the message (or the stream failed or ended).
   */
  write(message: Res, taken?: () => void): boolean;
  /** Calls `listener` once when a congested stream can take more. */
  onDrain(listener: () => void): void;
  /** Ends the call with a status (0 = OK). Idempotent. */
  end(code: number, details: string): void;
  pause(): void;
  resume(): void;
}

/** What a bidi handler hears of its call; set by the handler when the call starts. */
export interface BidiListener<Req> {
  onMessage(message: Req): void;
  /** The client half-closed: no more messages. */
  onHalfClose(): void;
  /** The call is over (ended by either side, reset, or the connection lost). Called once. */
  onClose(reason: string): void;
}

export interface BidiMethod<Req, Res> {
  readonly kind: 'bidi';
  readonly deserialize: (bytes: Buffer) => Req;
  /**
   * The message's bytes, or its parts in order (written one after the other without being joined:
   * a part shared by many streams, such as a response's encoded resources, is never copied per stream).
   */
  readonly serialize: (message: Res) => Uint8Array | readonly Uint8Array[];
  readonly start: (call: BidiCall<Res>) => BidiListener<Req>;
}

export interface UnaryMethod<Req, Res> {
  readonly kind: 'unary';
  readonly deserialize: (bytes: Buffer) => Req;
  readonly serialize: (message: Res) => Uint8Array;
  /** Answers with a response or a status; `respond` may be called later (once). */
  readonly handle: (caller: CallerInfo, request: Req, respond: (result: { readonly response: Res } | { readonly status: CallStatus }) => void) => void;
}

/** A method of either kind, its message types erased (bidiMethod, unaryMethod). */
export interface GrpcMethod {
  readonly serve: (call: NativeCall) => void;
}

export function bidiMethod<Req, Res>(method: BidiMethod<Req, Res>): GrpcMethod {
  return { serve: (call) => call.serveBidi(method) };
}

export function unaryMethod<Req, Res>(method: UnaryMethod<Req, Res>): GrpcMethod {
  return { serve: (call) => call.serveUnary(method) };
}

/** The methods served, by path (`/package.Service/Method`). */
export type GrpcMethods = ReadonlyMap<string, GrpcMethod>;

/** The serving certificate of a TLS port: the current material (undefined before the first) and its changes. */
export interface TlsMaterialSource {
  current(): SecureContextOptions | undefined;
  /** Calls `listener` with each new material; returns the unsubscribe function. */
  onChange(listener: (material: SecureContextOptions) => void): () => void;
}

/** The bound address of a listening server. */
export interface ListeningAddress {
  readonly host: string;
  readonly port: number;
}

/** grpc-js strips these from the metadata handed to handlers. */
const RESERVED_HEADERS = ['te', 'content-type', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-timeout', 'user-agent'] as const;

/**
 * Messages a call may have in flight before `write` reports congestion: grpc-js's call objects are
 * object-mode streams with the default high-water mark of 16.
 */
const HIGH_WATER_MESSAGES = 16;

const RESPONSE_HEADERS = { [h2.HTTP2_HEADER_STATUS]: 200, [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc', 'grpc-accept-encoding': 'identity' } as const;

/** `host:port`, IPv6 hosts in brackets (grpc-js's peer format). */
function peerOf(socket: Socket | TLSSocket | undefined): string {
  const host = socket?.remoteAddress ?? 'unknown';
  const port = socket?.remotePort ?? 0;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * One gRPC server on one address (plaintext, or TLS with `tls`). Constructing does no I/O; `listen`
 * binds, `stop` drains.
 */
export class GrpcHttp2Server {
  readonly #methods: GrpcMethods;
  readonly #options: GrpcHttp2Options;
  readonly #tls: TlsMaterialSource | undefined;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  #server: http2.Http2Server | http2.Http2SecureServer | undefined;
  #unsubscribeTls: (() => void) | undefined;

  constructor(methods: GrpcMethods, options: GrpcHttp2Options = {}, tls?: TlsMaterialSource) {
    this.#methods = methods;
    this.#options = options;
    this.#tls = tls;
  }

  /** Binds `host:port` (port 0 picks a free one). */
  async listen(host: string, port: number): Promise<ListeningAddress> {
    if (this.#server !== undefined) throw new Error('already listening');
    const server = this.#createServer();
    this.#server = server;
    server.on('session', (session: http2.ServerHttp2Session) => this.#onSession(session));
    server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => this.#onStream(stream, headers));
    await listenWithBacklog(server, host, port).catch((e: unknown) => {
      this.#unsubscribeTls?.();
      this.#server = undefined;
      throw e;
    });
    server.on('error', () => undefined); // after listening, errors belong to connections (handled there)
    const bound = server.address() as AddressInfo;
    return { host, port: bound.port };
  }

  /**
   * Graceful stop: no new connections, GOAWAY to every client (open calls may finish); resolves once
   * every connection is closed, destroying those still open after `graceMs`.
   */
  async stop(graceMs: number): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#unsubscribeTls?.();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.#sessions) if (!session.closed && !session.destroyed) session.close();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    if ((await Promise.race([closed, timeout])) === 'timeout') {
      for (const session of this.#sessions) session.destroy();
      await closed;
    }
    clearTimeout(timer);
  }

  #createServer(): http2.Http2Server | http2.Http2SecureServer {
    const common: http2.ServerOptions = {
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
      // As grpc-js: Node's session memory bound degrades badly when reached; the xDS limits bound use.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      ...(this.#options.maxConcurrentStreams !== undefined ? { settings: { maxConcurrentStreams: this.#options.maxConcurrentStreams } } : {}),
    };
    const tls = this.#tls;
    if (tls === undefined) return http2.createServer(common);
    const server = http2.createSecureServer({ ...common, ...tls.current(), requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'], allowHTTP1: false });
    let ready = tls.current() !== undefined;
    this.#unsubscribeTls = tls.onChange((material) => {
      server.setSecureContext(material);
      ready = true;
    });
    server.prependListener('connection', (socket: Socket) => {
      if (!ready) socket.destroy();
    });
    server.on('secureConnection', (socket: TLSSocket) => socket.on('error', () => undefined));
    server.on('tlsClientError', () => undefined);
    return server;
  }

  #onSession(session: http2.ServerHttp2Session): void {
    this.#sessions.add(session);
    session.on('close', () => this.#sessions.delete(session));
    session.on('error', () => undefined); // the session closes; its streams report their end
    if (this.#server === undefined) session.close();
    const interval = this.#options.keepaliveTimeMs ?? 0;
    if (interval > 0) this.#keepalive(session, interval, this.#options.keepaliveTimeoutMs ?? 20_000);
  }

  /** PINGs `session` every `interval` ms; closes it when an answer takes longer than `timeout` ms. */
  #keepalive(session: http2.ServerHttp2Session, interval: number, timeout: number): void {
    let timer: NodeJS.Timeout | undefined;
    const schedule = (): void => {
      timer = setTimeout(() => {
        if (session.destroyed || session.closed) return;
        const deadline = setTimeout(() => session.destroy(), timeout);
        deadline.unref();
        try {
          session.ping((err) => {
            clearTimeout(deadline);
            if (err !== null) session.destroy();
            else schedule();
          });
        } catch {
          clearTimeout(deadline);
          session.destroy();
        }
      }, interval);
      timer.unref();
    };
    session.on('close', () => clearTimeout(timer));
    schedule();
  }

  #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined); // a reset stream: its 'close' ends the call
    const contentType = headers[h2.HTTP2_HEADER_CONTENT_TYPE];
    if (headers[h2.HTTP2_HEADER_METHOD] !== 'POST' || typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      respondHttpError(stream, h2.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE);
      return;
    }
    const te = headers[h2.HTTP2_HEADER_TE];
    if (te !== undefined && te !== 'trailers') {
      respondHttpError(stream, h2.HTTP_STATUS_BAD_REQUEST);
      return;
    }
    const path = String(headers[h2.HTTP2_HEADER_PATH] ?? '');
    const method = this.#methods.get(path);
    if (method === undefined) {
      respondTrailersOnly(stream, { code: GrpcStatus.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
      return;
    }
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      respondTrailersOnly(stream, { code: GrpcStatus.UNIMPLEMENTED, details: `grpc-encoding ${String(encoding)} is not supported (identity only)` });
      return;
    }
    const socket = stream.session?.socket;
    const secure = socket instanceof TLSSocket;
    const raw = secure ? (socket.getPeerCertificate().raw as Buffer | undefined) : undefined;
    const metadata = Metadata.fromHttp2Headers(headers);
    for (const name of RESERVED_HEADERS) metadata.remove(name);
    const caller: CallerInfo = { peer: peerOf(socket), metadata, secure, peerCertificate: raw !== undefined && raw.length > 0 ? raw : undefined };
    const call = new NativeCall(stream, caller, this.#options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES);
    method.serve(call);
  }
}

function respondHttpError(stream: http2.ServerHttp2Stream, status: number): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ [h2.HTTP2_HEADER_STATUS]: status }, { endStream: true });
}

/** A response without messages: status and message in the one HEADERS frame. */
function respondTrailersOnly(stream: http2.ServerHttp2Stream, status: CallStatus): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ...RESPONSE_HEADERS, 'grpc-status': String(status.code), 'grpc-message': encodeGrpcMessage(status.details) }, { endStream: true });
}

/** One call on one HTTP/2 stream (made by GrpcHttp2Server; methods serve it). */
export class NativeCall implements CallerInfo {
  readonly peer: string;
  readonly metadata: Metadata;
  readonly secure: boolean;
  readonly peerCertificate: Buffer | undefined;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #reader: GrpcMessageReader;
  #ended = false;
  /** Messages written whose bytes HTTP/2 has not taken yet (their write callback is pending). */
  #inFlight = 0;
  #drainListeners: (() => void)[] = [];

  constructor(stream: http2.ServerHttp2Stream, caller: CallerInfo, maxReceiveMessageBytes: number) {
    this.#stream = stream;
    this.peer = caller.peer;
    this.metadata = caller.metadata;
    this.secure = caller.secure;
    this.peerCertificate = caller.peerCertificate;
    this.#reader = new GrpcMessageReader(maxReceiveMessageBytes);
  }

  serveBidi<Req, Res>(method: BidiMethod<Req, Res>): void {
    const stream = this.#stream;
    const call: BidiCall<Res> = {
      peer: this.peer,
      metadata: this.metadata,
      secure: this.secure,
      peerCertificate: this.peerCertificate,
      write: (message, taken) => this.#write(method.serialize(message), taken),
      onDrain: (listener) => this.#drainListeners.push(listener),
      end: (code, details) => this.#end({ code, details }),
      pause: () => stream.pause(),
      resume: () => stream.resume(),
    };
    let closed = false;
    const listener = method.start(call);
    const close = (reason: string): void => {
      if (closed) return;
      closed = true;
      listener.onClose(reason);
    };
    this.#read(
      (bytes) => {
        let message: Req;
        try {
          message = method.deserialize(bytes);
        } catch (e) {
          this.#end({ code: GrpcStatus.INTERNAL, details: `Error deserializing request: ${e instanceof Error ? e.message : String(e)}` });
          close('request could not be decoded');
          return;
        }
        if (!closed) listener.onMessage(message);
      },
      () => {
        if (!closed) listener.onHalfClose();
      },
      (error) => close(`stream error: ${error.message}`),
    );
    stream.on('close', () => close(this.#ended ? 'closed' : 'cancelled'));
  }

  serveUnary<Req, Res>(method: UnaryMethod<Req, Res>): void {
    let request: { value: Req } | undefined;
    this.#read(
      (bytes) => {
        if (request !== undefined) {
          this.#end({ code: GrpcStatus.UNIMPLEMENTED, details: 'a unary call carries one request message' });
          return;
        }
        try {
          request = { value: method.deserialize(bytes) };
        } catch (e) {
          this.#end({ code: GrpcStatus.INTERNAL, details: `Error deserializing request: ${e instanceof Error ? e.message : String(e)}` });
        }
      },
      () => {
        if (this.#ended) return;
        if (request === undefined) {
          this.#end({ code: GrpcStatus.UNIMPLEMENTED, details: 'a unary call carries one request message; none was received' });
          return;
        }
        let answered = false;
        try {
          method.handle(this, request.value, (result) => {
            if (answered) return;
            answered = true;
            if ('status' in result) this.#end(result.status);
            else {
              this.#write(method.serialize(result.response));
              this.#end({ code: GrpcStatus.OK, details: 'OK' });
            }
          });
        } catch {
          if (!answered) this.#end({ code: GrpcStatus.UNKNOWN, details: 'the handler failed' });
        }
      },
      () => undefined,
    );
  }

  /** Reads messages until the client half-closes or the framing fails (which ends the call). */
  #read(onMessage: (bytes: Buffer) => void, onHalfClose: () => void, onError: (error: FramingError) => void): void {
    const stream = this.#stream;
    stream.on('data', (chunk: Buffer) => {
      if (this.#ended) return;
      const { messages, error } = this.#reader.push(chunk);
      for (const m of messages) if (!this.#ended) onMessage(m);
      if (error !== undefined && !this.#ended) {
        this.#end(error);
        onError(error);
      }
    });
    stream.on('end', () => {
      if (this.#ended) return;
      if (this.#reader.buffered > 0) {
        const error = { code: GrpcStatus.INTERNAL, message: `the request stream ended inside a message (${this.#reader.buffered} bytes of it received)` };
        this.#end(error);
        onError(error);
        return;
      }
      onHalfClose();
    });
  }

  #write(body: Uint8Array | readonly Uint8Array[], taken?: () => void): boolean {
    const stream = this.#stream;
    if (this.#ended || stream.destroyed) {
      taken?.();
      return true;
    }
    if (!stream.headersSent) stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    this.#inFlight++;
    const done = (): void => {
      taken?.();
      this.#written();
    };
    const length = body instanceof Uint8Array ? body.length : partsLength(body);
    if (body instanceof Uint8Array || length < JOIN_PARTS_BELOW) stream.write(frameMessage(body), done);
    else {
      // The header, then the parts as they are, in one writev (corked): the stream holds references
      // to them until HTTP/2 has taken them; callbacks run in order, so the last one's means all.
      const chunks = [messageHeader(length), ...body.filter((part) => part.length > 0)];
      stream.cork();
      chunks.forEach((chunk, i) => stream.write(chunk, i === chunks.length - 1 ? done : undefined));
      stream.uncork();
    }
    return this.#inFlight < HIGH_WATER_MESSAGES;
  }

  /** One message's bytes were taken by HTTP/2 (or the stream failed); fires the drain listeners when none is left. */
  #written(): void {
    this.#inFlight--;
    if (this.#inFlight > 0 || this.#drainListeners.length === 0) return;
    const listeners = this.#drainListeners;
    this.#drainListeners = [];
    for (const listener of listeners) listener();
  }

  #end(status: CallStatus | FramingError): void {
    if (this.#ended) return;
    this.#ended = true;
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    const details = 'details' in status ? status.details : status.message;
    if (!stream.headersSent) {
      respondTrailersOnly(stream, { code: status.code, details });
      if (!stream.readableEnded) stream.resume(); // read (and drop) what the client still sends
      return;
    }
    stream.once('wantTrailers', () => {
      stream.sendTrailers({ 'grpc-status': String(status.code), 'grpc-message': encodeGrpcMessage(details) });
    });
    stream.end();
  }
}

/**
 * Messages written in parts below this size are joined into one framed buffer: copying a few
 * hundred bytes costs less than the writes and their bookkeeping (an endpoint push); larger ones
 * (a sidecar's listeners and clusters) are written as their parts.
 */
const JOIN_PARTS_BELOW = 16 * 1024;

/** grpc-js's AuthContext shape for a unary call served here (peer-certificate.ts reads it). */
export interface NativeAuthContext {
  readonly transportSecurityType?: string;
  readonly sslPeerCertificate?: { readonly raw: Buffer };
}

/**
 * The caller as a grpc-js ServerUnaryCall-like object, for implementations written for grpc-js
 * (they read `request`, `metadata`, `getPeer()` and `getAuthContext()`).
 */
export class NativeUnaryCall<Req> extends EventEmitter {
  readonly cancelled = false;
  readonly metadata: Metadata;
  readonly request: Req;
  readonly #caller: CallerInfo;
  readonly #path: string;

  constructor(path: string, caller: CallerInfo, request: Req) {
    super();
    this.#path = path;
    this.#caller = caller;
    this.metadata = caller.metadata;
    this.request = request;
  }

  getPeer(): string {
    return this.#caller.peer;
  }

  getPath(): string {
    return this.#path;
  }

  getDeadline(): number {
    return Infinity;
  }

  getAuthContext(): NativeAuthContext {
    if (!this.#caller.secure) return {};
    const raw = this.#caller.peerCertificate;
    return { transportSecurityType: 'ssl', ...(raw !== undefined ? { sslPeerCertificate: { raw } } : {}) };
  }
}

/** A grpc-js error or status as unary implementations pass it to their callback. */
interface GrpcJsStatusLike {
  readonly code?: number | undefined;
  readonly details?: string | undefined;
  readonly message?: string | undefined;
}

/** The shape of a grpc-js unary implementation as it is called here (NativeUnaryCall stands for ServerUnaryCall). */
type GrpcJsUnaryHandler = (call: NativeUnaryCall<unknown>, callback: (error: GrpcJsStatusLike | null, value?: unknown) => void) => void;

/**
 * The unary methods of a grpc-js service (its ServiceDefinition and implementation) as methods of
 * this transport: paths and codecs from the definition; the implementation is called with a
 * NativeUnaryCall (request, metadata, getPeer, getAuthContext: what ServerUnaryCall offers that the
 * services served here use). Streaming methods are refused: none is served on the xDS port besides ADS.
 */
export function unaryMethodsOf(
  definition: Readonly<Record<string, { readonly path: string; readonly requestStream: boolean; readonly responseStream: boolean; readonly requestDeserialize: (b: Buffer) => unknown; readonly responseSerialize: (v: never) => Buffer }>>,
  implementation: Readonly<Record<string, unknown>>,
): Map<string, GrpcMethod> {
  const methods = new Map<string, GrpcMethod>();
  for (const [name, method] of Object.entries(definition)) {
    const handler = implementation[name] ?? implementation[name.charAt(0).toLowerCase() + name.slice(1)];
    if (typeof handler !== 'function') throw new Error(`${method.path}: no implementation`);
    if (method.requestStream || method.responseStream) throw new Error(`${method.path}: only unary methods are served besides ADS on the native transport`);
    const unary = handler as GrpcJsUnaryHandler;
    const serialize = method.responseSerialize as (v: unknown) => Buffer;
    methods.set(method.path, unaryMethod<unknown, unknown>({
      kind: 'unary',
      deserialize: method.requestDeserialize,
      serialize,
      handle: (caller, request, respond) => {
        unary(new NativeUnaryCall(method.path, caller, request), (error, value) => {
          if (error !== null) respond({ status: { code: error.code ?? GrpcStatus.UNKNOWN, details: error.details ?? error.message ?? 'unknown error' } });
          else respond({ response: value });
        });
      },
    }));
  }
  return methods;
}
