/** Ports for test servers. */
import { createServer } from 'node:net';

/** A port free on `host` (a loopback address) at the time of asking. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A port free on every address at the time of asking: for servers that listen on all addresses
 * (grpc-js-xds's XdsServer binds `::`). A port free on 127.0.0.1 may still be held on another
 * loopback address by a test running in parallel, and then such a server fails with EADDRINUSE.
 */
export async function freeWildcardPort(): Promise<number> {
  try {
    return await freePort('::');
  } catch {
    return freePort('0.0.0.0'); // no IPv6 on this machine
  }
}
