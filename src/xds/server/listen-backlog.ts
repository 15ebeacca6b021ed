import { lookup } from 'node:dns/promises';
import { isIP, type Server } from 'node:net';

/**
 * The accept queue asked of listen(2) for the xDS ports. Node's default is 511: when 2,000 proxies
 * connect while serve is busy building their first answers, the kernel's queue overflows, SYN
 * cookies take over and some connections are reset (`read ECONNRESET`; bench S2, `nstat`
 * TcpExtListenOverflows). Go's `net.Listen` (istiod) asks for `net.core.somaxconn`; the kernel caps
 * any larger value at that limit, so asking for the largest value gets the same.
 */
export const XDS_LISTEN_BACKLOG = 65_535;

/** Listens on `host:port` with XDS_LISTEN_BACKLOG; rejects with the listen error (EADDRINUSE...). */
export function listenWithBacklog(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true, backlog: XDS_LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens on every address `host` resolves to (an IP literal is itself), as grpc-js's `bindAsync`
 * does (`localhost`: 127.0.0.1 and ::1), with XDS_LISTEN_BACKLOG. Port 0 picks a free port on the
 * first address and reuses it for the others. Resolves with the servers listening and the port once
 * at least one listens; rejects with the first address's error when none does.
 */
export async function listenOnAll(host: string, port: number, newServer: () => Server): Promise<{ servers: Server[]; port: number }> {
  const addresses = isIP(host) !== 0 ? [host] : [...new Set((await lookup(host, { all: true })).map((a) => a.address))];
  const servers: Server[] = [];
  let chosen = port;
  let firstError: Error | undefined;
  for (const address of addresses) {
    const server = newServer();
    try {
      await listenWithBacklog(server, address, chosen);
    } catch (e) {
      firstError ??= e instanceof Error ? e : new Error(String(e));
      continue;
    }
    server.on('error', () => undefined); // after listening, errors belong to connections
    const bound = server.address();
    if (bound !== null && typeof bound === 'object') chosen = bound.port;
    servers.push(server);
  }
  if (servers.length === 0) throw firstError ?? new Error(`${host} resolves to no address`);
  return { servers, port: chosen };
}
