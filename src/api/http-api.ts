/**
 * The HTTP side of `serve` (metrics, debug endpoints, readiness): a small router on node:http.
 * The only place where domain values become HTTP responses. Binds to loopback by default.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../lib/errors.js';

export interface HttpResponse {
  readonly status: number;
  readonly contentType: string;
  /** Text, or bytes (static files). */
  readonly body: string | Uint8Array;
  /** More response headers (cache policy, location, security headers). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a handler sees of a request besides its URL: the method, the body of a POST or PUT, and its headers. */
export interface HttpRequest {
  readonly method: string;
  readonly body: string;
  /** Header values by lower-case name (absent in handlers called without a connection, e.g. in unit tests). */
  readonly headers?: Readonly<Record<string, string | undefined>>;
}

/** The writing end of a long-lived response (Server-Sent Events). */
export interface HttpStreamWriter {
  /** Writes text now; false when the client is gone or too far behind (more than MAX_STREAM_BACKLOG_BYTES unsent): the stream is then closed. */
  write(text: string): boolean;
  /** Ends the response. */
  end(): void;
}

/**
 * A long-lived answer (Server-Sent Events): after the 200 and its headers are written, `open` is
 * called with the writer; it returns the function to call once when the stream ends (the client
 * left, `end()` was called, or the server stops: `HttpApi.stop` ends every open stream first).
 */
export interface HttpStreamResponse {
  readonly contentType: string;
  open(writer: HttpStreamWriter): () => void;
}

/**
 * A route's handler. Routes are exact paths, or prefixes ending in `/*` (the longest matching
 * prefix wins; the handler reads the rest of the path from the URL).
 */
export type HttpHandler = (url: URL, request: HttpRequest) => Promise<HttpResponse | HttpStreamResponse> | HttpResponse | HttpStreamResponse;

/** A stream's client this far behind (bytes buffered, unsent) is dropped rather than buffered without bound. */
export const MAX_STREAM_BACKLOG_BYTES = 1024 * 1024;

/** The largest request body read (the what-if takes up to 4 Mi characters of files). */
export const MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024;

export function json(value: unknown, status = 200): HttpResponse {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` };
}

export class HttpApi {
  private server: Server | undefined;
  /** The open long-lived responses, ended by stop(). */
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly routes: ReadonlyMap<string, HttpHandler>) {}

  async start(address: string): Promise<{ host: string; port: number }> {
    const { host, port } = splitHostPort(address);
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const handler = this.route(url.pathname);
      const respond = (r: HttpResponse | HttpStreamResponse): void => {
        if ('open' in r) {
          this.openStream(req, res, r);
          return;
        }
        res.writeHead(r.status, { ...r.headers, 'content-type': r.contentType });
        res.end(r.body);
      };
      if (!handler) {
        respond(json({ error: `no such endpoint: ${url.pathname}`, endpoints: [...this.routes.keys()].sort() }, 404));
        return;
      }
      const method = req.method ?? 'GET';
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      req.on('data', (chunk: Buffer) => {
        if (refused) return;
        size += chunk.length;
        if (size > MAX_REQUEST_BODY_BYTES) {
          // Answered once; the connection is closed after the answer is written (the rest unread).
          refused = true;
          chunks.length = 0;
          res.once('finish', () => req.destroy());
          respond(json({ error: `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes` }, 413));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (refused) return;
        Promise.resolve()
          .then(() => handler(url, { method, body: Buffer.concat(chunks).toString('utf8'), headers: headerValues(req) }))
          .then(respond, (e: unknown) => respond(json({ error: errorMessage(e) }, 500)));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  private openStream(req: IncomingMessage, res: ServerResponse, r: HttpStreamResponse): void {
    res.writeHead(200, { 'content-type': r.contentType, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    this.streams.add(res);
    let closed = false;
    const ended: (() => void)[] = [];
    const close = (): void => {
      if (closed) return;
      closed = true;
      this.streams.delete(res);
      for (const f of ended.splice(0)) f();
      if (!res.writableEnded) res.end();
    };
    res.once('close', close);
    const cleanup = r.open({
      write: (text) => {
        if (closed) return false;
        if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
          close();
          return false;
        }
        res.write(text);
        return true;
      },
      end: close,
    });
    if (closed) cleanup();
    else {
      ended.push(cleanup);
      if (req.socket.destroyed) close(); // the client left before the answer: its 'close' has passed
    }
  }

  /** The handler of an exact path, else of the longest `/*` prefix route that matches. */
  private route(path: string): HttpHandler | undefined {
    const exact = this.routes.get(path);
    if (exact !== undefined) return exact;
    let best: { readonly length: number; readonly handler: HttpHandler } | undefined;
    for (const [route, handler] of this.routes) {
      if (!route.endsWith('/*')) continue;
      const prefix = route.slice(0, -1);
      if (path.startsWith(prefix) && path.length > prefix.length && (best === undefined || prefix.length > best.length)) best = { length: prefix.length, handler };
    }
    return best?.handler;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    for (const res of [...this.streams]) res.end(); // long-lived responses end cleanly (their 'close' runs their cleanup)
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function headerValues(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** `host:port`, `[v6]:port`, or `:port` (loopback). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`address ${JSON.stringify(address)} is not HOST:PORT`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port: Number(m[3]) };
}
