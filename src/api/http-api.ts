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
  readonly body: string;
}

export type HttpHandler = (url: URL) => Promise<HttpResponse> | HttpResponse;

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
      const handler = this.routes.get(url.pathname);
      const respond = (r: HttpResponse): void => {
        res.writeHead(r.status, { 'content-type': r.contentType });
        res.end(r.body);
      };
      if (!handler) {
        respond(json({ error: `no such endpoint: ${url.pathname}`, endpoints: [...this.routes.keys()].sort() }, 404));
        return;
      }
      Promise.resolve()
        .then(() => handler(url))
        .then(respond, (e: unknown) => respond(json({ error: errorMessage(e) }, 500)));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
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
