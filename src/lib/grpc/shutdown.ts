import type { Server } from '@grpc/grpc-js';

/** Lets `server`'s calls finish, forcing them closed after `graceMs`; resolves once it is shut down. */
export function shutdownGracefully(server: Server, graceMs = 2000): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
