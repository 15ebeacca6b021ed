/**
 * Registration tokens: what `workload entry configure` hands a VM so that its agent may register
 * into one WorkloadGroup (issue 4, "Safety"). A token is `<payload>.<signature>`, both base64url
 * without padding; the payload is JSON naming the namespace, group and service account it allows,
 * with issue and expiry times; the signature is HMAC-SHA256 over the payload text with the control
 * plane's signing key (kept in its state directory, or in etcd). Verification is constant-time and
 * says why a token is refused.
 *
 * Canonical encoding (issue 11): exactly one text is accepted per token. The signature must be the
 * 43 characters that encode the 32-byte MAC (no padding, no other alphabet, no non-zero trailing
 * bits, no surrounding whitespace); the payload text is what is MACed, so it has one form already.
 *
 * Lineage (issue 11): `id`, `originalIssuedAt` and `lifetime` are kept by every renewal, so a
 * revocation by id covers every renewed token, and renewal can be bounded by a maximum lifetime from
 * the original issue (renew-service.ts) without shortening the tokens renewed after that bound.
 * Tokens signed before these claims existed count from `issuedAt`, with `expiresAt - issuedAt`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** Namespace and WorkloadGroup the bearer may register into. */
  readonly namespace: string;
  readonly group: string;
  /** The group template's service account ('' when none). */
  readonly serviceAccount: string;
  /** Seconds since the epoch: when this token (this renewal) was signed. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** Seconds since the epoch: when the first token of this lineage was signed (kept by renewals). */
  readonly originalIssuedAt: number;
  /** Seconds: the lifetime the lineage was issued with (kept by renewals, which may shorten one token). */
  readonly lifetime: number;
  /** Unique id of the lineage (kept by renewals; what `workload entry revoke ID` names). */
  readonly id: string;
}

export type TokenCheck = { readonly ok: true; readonly claims: TokenClaims } | { readonly ok: false; readonly reason: string };

/** A token id: 16 lower-case hex digits (8 random bytes). */
export const TOKEN_ID_PATTERN = /^[0-9a-f]{16}$/;

const MALFORMED: TokenCheck = { ok: false, reason: 'the registration token is malformed' };
const FOREIGN: TokenCheck = { ok: false, reason: 'the registration token was not signed by this control plane' };
/** `<payload>.<signature>`, base64url characters without padding, nothing else. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function b64(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url');
}

export function newSigningKey(): Buffer {
  return randomBytes(32);
}

export function newTokenId(): string {
  return randomBytes(8).toString('hex');
}

export function signToken(claims: Omit<TokenClaims, 'id' | 'originalIssuedAt' | 'lifetime'> & { id?: string; originalIssuedAt?: number; lifetime?: number }, key: Buffer): string {
  const full: TokenClaims = {
    ...claims,
    originalIssuedAt: claims.originalIssuedAt ?? claims.issuedAt,
    lifetime: claims.lifetime ?? claims.expiresAt - claims.issuedAt,
    id: claims.id ?? newTokenId(),
  };
  const payload = b64(JSON.stringify(full));
  const sig = createHmac('sha256', key).update(payload).digest();
  return `${payload}.${b64(sig)}`;
}

/** The claims of a token without checking its signature (for the CLI: which lineage to revoke). */
export function unverifiedClaims(token: string): Partial<TokenClaims> | undefined {
  try {
    const c: unknown = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
    return typeof c === 'object' && c !== null ? (c) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks encoding, signature and expiry (`nowSeconds`), and the shape of the claims. Never throws. */
export function verifyToken(token: string, key: Buffer, nowSeconds: number): TokenCheck {
  if (!TOKEN_SHAPE.test(token)) return MALFORMED;
  const [payload = '', sig = ''] = token.split('.');
  const got = Buffer.from(sig, 'base64url');
  // The one canonical text of a 32-byte MAC: 43 characters, the last one's 2 spare bits zero.
  if (sig.length !== 43 || got.length !== 32 || got.toString('base64url') !== sig) return FOREIGN;
  const want = createHmac('sha256', key).update(payload).digest();
  if (!timingSafeEqual(got, want)) return FOREIGN;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return MALFORMED;
  }
  if (typeof claims !== 'object' || claims === null) return MALFORMED;
  const c = claims as Partial<TokenClaims>;
  if (typeof c.namespace !== 'string' || typeof c.group !== 'string' || typeof c.serviceAccount !== 'string' || typeof c.expiresAt !== 'number' || typeof c.issuedAt !== 'number' || typeof c.id !== 'string') {
    return MALFORMED;
  }
  if ((c.originalIssuedAt !== undefined && typeof c.originalIssuedAt !== 'number') || (c.lifetime !== undefined && typeof c.lifetime !== 'number')) return MALFORMED;
  if (c.expiresAt <= nowSeconds) {
    return { ok: false, reason: `the registration token expired at ${new Date(c.expiresAt * 1000).toISOString()}` };
  }
  const full: TokenClaims = {
    namespace: c.namespace,
    group: c.group,
    serviceAccount: c.serviceAccount,
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
    originalIssuedAt: c.originalIssuedAt ?? c.issuedAt,
    lifetime: c.lifetime ?? c.expiresAt - c.issuedAt,
    id: c.id,
  };
  return { ok: true, claims: full };
}
