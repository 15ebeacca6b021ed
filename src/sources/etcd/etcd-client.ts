/**
 * The etcd client as meshbridge uses it (npm etcd3 1.1.2 on etcd 3.4; facts and traps in
 * shared/docs/components.md §1):
 * - a deadline on every unary call but never on streams (a deadline on the watch stream tears it
 *   down every time it expires);
 * - gRPC keepalive pings so that a member that went away is noticed on an idle watch stream
 *   (no more often than etcd's --grpc-keepalive-min-time of 5 s, or etcd answers GOAWAY);
 * - etcd3's per-host circuit breaker and its failover to the next host when a call cannot reach a
 *   member, but not its global retry of calls that did reach one: that would re-send a transaction
 *   whose answer was lost, and the caller could not tell its own write from a conflicting one.
 *   Retries are explicit instead (retrying-store.ts).
 */
import { createRequire } from 'node:module';
import type * as Etcd3Module from 'etcd3';
import type { Etcd3, IOptions } from 'etcd3';
import type { EtcdClientSecurity } from './etcd-url.js';

type GlobalPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** A cockatiel policy that runs the call once. */
const once = {
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
    Promise.resolve(fn({ signal: signal ?? new AbortController().signal })),
} as unknown as GlobalPolicy;

export interface EtcdClientOptions {
  /** `host:port` of each member. */
  readonly endpoints: readonly string[];
  /** Deadline of each unary call (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** TLS material and user/password (etcd-url.ts `etcdClientSecurity`); absent: plaintext, no auth. */
  readonly security?: EtcdClientSecurity;
}

/**
 * The etcd3 package, loaded on first use: it and its gRPC stubs take ~0.2 s to load, and `serve` on a
 * folder, the agent and most CLI commands never talk to etcd (a static import made every start pay it).
 */
let etcd3: typeof Etcd3Module | undefined;
function etcd3Module(): typeof Etcd3Module {
  return (etcd3 ??= createRequire(import.meta.url)('etcd3') as typeof Etcd3Module);
}

export function createEtcdClient(o: EtcdClientOptions): Etcd3 {
  const { Etcd3 } = etcd3Module();
  const timeout = o.requestTimeoutMs ?? 5000;
  const tls = o.security?.credentials;
  const auth = o.security?.auth;
  return new Etcd3({
    hosts: o.endpoints.map((e) => (e.includes('://') ? e : `${tls !== undefined ? 'https' : 'http'}://${e}`)),
    ...(tls !== undefined ? { credentials: { ...tls } } : {}),
    ...(auth !== undefined ? { auth: { ...auth, callOptions: () => ({ deadline: Date.now() + timeout }) } } : {}),
    dialTimeout: Math.min(timeout, 3000),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: { global: once },
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    },
  });
}
