/**
 * Token renewal (agent-protocol.md §4): a unary call on the control plane's xDS port,
 * `/meshbridge.agent.v1.Registration/RenewToken`, JSON request `{"token": "<current>"}`, JSON
 * response `{"token": "<new>", "expiresAt": <seconds>}`. The agent renews at half the token's
 * lifetime (with jitter) while connected. The agent cannot verify tokens (it has no key): it only
 * reads the claims' times to schedule the renewal.
 */
import type { Client, MethodDefinition, Metadata, ServiceError } from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';

export interface RenewTokenRequest {
  readonly token: string;
}
export interface RenewTokenResponse {
  readonly token: string;
  readonly expiresAt: number;
}

const json = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;
const toJson = (m: unknown): Buffer => Buffer.from(JSON.stringify(m), 'utf8');

/** The method with its JSON codec (for the agent's client and for servers). */
export const renewTokenMethod: MethodDefinition<RenewTokenRequest, RenewTokenResponse> = {
  path: '/meshbridge.agent.v1.Registration/RenewToken',
  requestStream: false,
  responseStream: false,
  requestSerialize: toJson,
  requestDeserialize: (b) => json<RenewTokenRequest>(b),
  responseSerialize: toJson,
  responseDeserialize: (b) => json<RenewTokenResponse>(b),
  originalName: 'renewToken',
};

/** `{issuedAt, expiresAt}` (seconds) read from a token's payload without checking it; undefined if unreadable. */
export function tokenTimes(token: string): { issuedAt: number; expiresAt: number } | undefined {
  const payload = token.trim().split('.')[0] ?? '';
  try {
    const c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { issuedAt?: unknown; expiresAt?: unknown };
    if (typeof c.issuedAt !== 'number' || typeof c.expiresAt !== 'number' || c.expiresAt <= c.issuedAt) return undefined;
    return { issuedAt: c.issuedAt, expiresAt: c.expiresAt };
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds from `nowMs` until the renewal is due: half the lifetime after issue, moved by up to
 * ±`jitter` (a fraction of the lifetime) so that agents configured together do not renew together.
 * 0 when already due; undefined when the token's times cannot be read.
 */
export function renewalDelayMs(token: string, nowMs: number, random: () => number, jitter = 0.1): number | undefined {
  const t = tokenTimes(token);
  if (t === undefined) return undefined;
  const lifetimeMs = (t.expiresAt - t.issuedAt) * 1000;
  const at = t.issuedAt * 1000 + lifetimeMs * (0.5 + jitter * (2 * random() - 1));
  return Math.max(0, Math.round(at - nowMs));
}

export type RenewOutcome =
  | { readonly ok: true; readonly token: string; readonly expiresAt: number }
  | { readonly ok: false; readonly unimplemented: boolean; readonly message: string };

/** One RenewToken call on `client`, bounded by `timeoutMs`. Never rejects. */
export function renewToken(client: Client, token: string, metadata: Metadata, timeoutMs: number): Promise<RenewOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      renewTokenMethod.path,
      renewTokenMethod.requestSerialize,
      renewTokenMethod.responseDeserialize,
      { token },
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, res?: RenewTokenResponse) => {
        if (err) {
          resolve({ ok: false, unimplemented: err.code === grpcStatus.UNIMPLEMENTED, message: err.details || err.message });
          return;
        }
        if (res === undefined || typeof res.token !== 'string' || res.token === '' || typeof res.expiresAt !== 'number') {
          resolve({ ok: false, unimplemented: false, message: 'the control plane answered without a token' });
          return;
        }
        resolve({ ok: true, token: res.token, expiresAt: res.expiresAt });
      },
    );
  });
}
