/**
 * Admission of agents' ADS streams (AR-1, AR-5 in spirit, issue 4 "Safety"): an agent must present
 * a registration token signed by this control plane (every replica shares the key) for the
 * namespace and group it names, and the token must pass the admission of every token use
 * (token-admission.ts: the group exists, its service account is the token's, not revoked). Proxies that are not agents are
 * admitted as they are. Pure: the caller passes the time and the group lookup.
 */
import type { WorkloadGroup } from '../model/config/types.js';
import type { Admission } from '../model/mesh/stream-admission.js';
import type { ProxyIdentity } from '../model/mesh/proxy-identity.js';
import { verifyToken } from '../security/registration-token.js';
import { tokenRefusal } from '../security/token-admission.js';

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

export function meta(proxy: ProxyIdentity, key: string): string | undefined {
  const v = proxy.metadata[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export interface AdmissionContext {
  readonly signingKey: Buffer;
  readonly group: (namespace: string, name: string) => WorkloadGroup | undefined;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

export function admitAgent(proxy: ProxyIdentity, callMetadata: Readonly<Record<string, string>>, ctx: AdmissionContext): Admission {
  const group = meta(proxy, 'AUTO_REGISTER_GROUP');
  const isAgent = meta(proxy, 'MESHBRIDGE_AGENT') === 'true';
  if (group === undefined && !isAgent) return { ok: true };
  const auth = callMetadata['authorization'] ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
  if (token === '') return { ok: false, code: UNAUTHENTICATED, message: 'a registration token is required (authorization: Bearer <token>)' };
  const check = verifyToken(token, ctx.signingKey, Math.floor(ctx.now / 1000));
  if (!check.ok) return { ok: false, code: UNAUTHENTICATED, message: check.reason };
  const ns = proxy.namespace ?? '';
  if (check.claims.namespace !== ns || (group !== undefined && check.claims.group !== group)) {
    return { ok: false, code: PERMISSION_DENIED, message: `the registration token allows WorkloadGroup ${check.claims.namespace}/${check.claims.group}, not ${ns}/${group ?? check.claims.group}` };
  }
  // Issue 11: the same admission as every other use of a token (group, service account, revocation).
  const refusal = tokenRefusal(check.claims, ctx.group);
  if (refusal) return { ok: false, code: refusal.code, message: refusal.reason };
  return { ok: true };
}
