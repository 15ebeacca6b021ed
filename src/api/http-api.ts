/**
 * The HTTP side of `serve` (metrics, debug endpoints, readiness): a small router on node:http.
 * The only place where domain values become HTTP responses. Binds to loopback by default.
 */
import { createServer, type Server } from 'node:http';
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

/** What a handler sees of a request besides its URL: the method, and the body of a POST or PUT. */
export interface HttpRequest {
  readonly method: string;
  readonly body: string;
}

/**
 * A route's handler. Routes are exact paths, or prefixes ending in `/*` (the longest matching
 * prefix wins; the handler reads the rest of the path from the URL).
 */
export type HttpHandler = (url: URL, request: HttpRequest) => Promise<HttpResponse> | HttpResponse;

/** The largest request body read (the what-if takes up to 4 Mi characters of files). */
export const MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024;

export function json(value: unknown, status = 200): HttpResponse {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` };
}

export class HttpApi {
  private server: Server | undefined;

  constructor(private readonly routes: ReadonlyMap<string, HttpHandler>) {}

  async start(address: string): Promise<{ host: string; port: number }> {
    const { host, port } = splitHostPort(address);
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const handler = this.route(url.pathname);
      const respond = (r: HttpResponse): void => {
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
          .then(() => handler(url, { method, body: Buffer.concat(chunks).toString('utf8') }))
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
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** `host:port`, `[v6]:port`, or `:port` (loopback). */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`address ${JSON.stringify(address)} is not HOST:PORT`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port: Number(m[3]) };
}
