/**
 * Registration tokens: what `workload entry configure` hands a VM so that its agent may register
 * into one WorkloadGroup (issue 4, "Safety"). A token is `<payload>.<signature>`, both base64url;
 * the payload is JSON naming the namespace, group and service account it allows, with issue and
 * expiry times; the signature is HMAC-SHA256 with the control plane's signing key (kept in its
 * state directory). Verification is constant-time and says why a token is refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** Namespace and WorkloadGroup the bearer may register into. */
  readonly namespace: string;
  readonly group: string;
  /** The group template's service account ('' when none). */
  readonly serviceAccount: string;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** Unique id (for logs). */
  readonly id: string;
}

export type TokenCheck = { readonly ok: true; readonly claims: TokenClaims } | { readonly ok: false; readonly reason: string };

function b64(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url');
}

export function newSigningKey(): Buffer {
  return randomBytes(32);
}

export function signToken(claims: Omit<TokenClaims, 'id'> & { id?: string }, key: Buffer): string {
  const full: TokenClaims = { ...claims, id: claims.id ?? randomBytes(8).toString('hex') };
  const payload = b64(JSON.stringify(full));
  const sig = createHmac('sha256', key).update(payload).digest();
  return `${payload}.${b64(sig)}`;
}

/** Checks signature and expiry (`nowSeconds`), and the shape of the claims. Never throws. */
export function verifyToken(token: string, key: Buffer, nowSeconds: number): TokenCheck {
  const parts = token.trim().split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return { ok: false, reason: 'the registration token is malformed' };
  const [payload, sig] = parts as [string, string];
  const want = createHmac('sha256', key).update(payload).digest();
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    return { ok: false, reason: 'the registration token was not signed by this control plane' };
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'the registration token is malformed' };
  }
  const c = claims as Partial<TokenClaims>;
  if (typeof c.namespace !== 'string' || typeof c.group !== 'string' || typeof c.serviceAccount !== 'string' || typeof c.expiresAt !== 'number' || typeof c.issuedAt !== 'number' || typeof c.id !== 'string') {
    return { ok: false, reason: 'the registration token is malformed' };
  }
  if (c.expiresAt <= nowSeconds) {
    return { ok: false, reason: `the registration token expired at ${new Date(c.expiresAt * 1000).toISOString()}` };
  }
  return { ok: true, claims: c as TokenClaims };
}
