/**
 * The agent's loopback HTTP port (`agent --metrics-address`, default 127.0.0.1:15020 as Istio's
 * agent): `/metrics` (Prometheus text: the DNS proxy's `dns_*` counters) and `/debug/ndsz` (the DNS
 * name table as received from the control plane and the names answered, JSON). Loopback only:
 * nothing here is for other machines. Anything else is 404; only GET.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { Registry } from 'prom-client';
import { errorMessage } from '../lib/errors.js';
import { ListenError, loopbackAddressProblem, splitHostPort } from './xds-proxy.js';

export const DEFAULT_AGENT_HTTP_ADDRESS = '127.0.0.1:15020';

export interface AgentHttpOptions {
  readonly metrics: Registry;
  /** `/debug/ndsz`'s document (absent: 404, no DNS proxy). */
  readonly nameTable?: () => unknown;
}

export class AgentHttp {
  readonly #o: AgentHttpOptions;
  #server: Server | undefined;

  constructor(o: AgentHttpOptions) {
    this.#o = o;
  }

  /** Listens on a loopback `host:port` (port 0 picks one); resolves with the bound `host:port`. */
  async start(address: string): Promise<string> {
    const problem = loopbackAddressProblem(address);
    const hp = splitHostPort(address);
    if (problem !== undefined || hp === undefined) throw new ListenError(`agent HTTP address ${problem ?? address}`);
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://agent').pathname;
      const send = (status: number, type: string, body: string): void => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      };
      if (req.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
      if (path === '/metrics') {
        this.#o.metrics.metrics().then(
          (text) => send(200, this.#o.metrics.contentType, text),
          (e: unknown) => send(500, 'text/plain', `${errorMessage(e)}\n`),
        );
        return;
      }
      if (path === '/debug/ndsz' && this.#o.nameTable !== undefined) return send(200, 'application/json', `${JSON.stringify(this.#o.nameTable(), null, 2)}\n`);
      send(404, 'text/plain', 'not found\n');
    });
    server.listen({ host: hp.host, port: hp.port });
    try {
      await once(server, 'listening');
    } catch (e) {
      throw new ListenError(`cannot listen on ${address} for the agent's HTTP port: ${errorMessage(e)}`);
    }
    this.#server = server;
    const bound = server.address();
    const port = bound !== null && typeof bound === 'object' ? bound.port : hp.port;
    return hp.host.includes(':') ? `[${hp.host}]:${port}` : `${hp.host}:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
