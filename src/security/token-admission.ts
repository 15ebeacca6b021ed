/**
 * Issue 11: every use of a registration token — an agent's registration stream, a stream on the
 * secure port, `CreateCertificate`, `RenewToken` — runs this one admission against the live
 * configuration, after the signature and expiry checks of registration-token.ts:
 *
 * - the token's WorkloadGroup exists (in the token's namespace);
 * - its template's service account is still the token's (AR-5);
 * - the token is not revoked.
 *
 * Revocations are kept on the WorkloadGroup itself (so in whatever store holds it: the file
 * store's YAML, etcd), as two annotations written by `meshbridge workload entry revoke`:
 *
 * - `meshbridge.io/revoked-tokens`: comma-separated token ids (a token's id is kept by its
 *   renewals, so the whole lineage is revoked);
 * - `meshbridge.io/tokens-revoked-before`: an RFC 3339 time; every token whose lineage began
 *   (`originalIssuedAt`) at or before it is revoked, and the certificates of the group's identity
 *   issued before it cannot be renewed by certificate (`certificateRenewalRefusal`).
 *
 * Every replica reads groups from its watch of the store, so a revocation is refused everywhere
 * one watch round-trip after it is written. Pure: the caller passes the group lookup.
 */
import type { WorkloadGroup } from '../model/config/types.js';
import type { TokenClaims } from './registration-token.js';

export const REVOKED_TOKENS_ANNOTATION = 'meshbridge.io/revoked-tokens';
export const TOKENS_REVOKED_BEFORE_ANNOTATION = 'meshbridge.io/tokens-revoked-before';

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;
const FAILED_PRECONDITION = 9;

export interface Refusal {
  /** gRPC status code. */
  readonly code: number;
  readonly reason: string;
}

export type GroupLookup = (namespace: string, name: string) => WorkloadGroup | undefined;

/** The token ids a group's annotation revokes. */
export function revokedTokenIds(group: WorkloadGroup): Set<string> {
  const text = group.metadata.annotations[REVOKED_TOKENS_ANNOTATION] ?? '';
  return new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''));
}

/**
 * Seconds since the epoch of the group's `tokens-revoked-before` annotation; undefined when absent.
 * An unreadable value (validation refuses it, but stores may hold older objects) revokes
 * everything: +Infinity — a revocation fails closed.
 */
export function tokensRevokedBefore(group: WorkloadGroup): number | undefined {
  const text = group.metadata.annotations[TOKENS_REVOKED_BEFORE_ANNOTATION];
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : Math.floor(ms / 1000);
}

function describeTime(seconds: number): string {
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'an unreadable time (every token is refused)';
}

/** Why the token may not be used now, or undefined when it may (see the file comment). */
export function tokenRefusal(claims: TokenClaims, group: GroupLookup): Refusal | undefined {
  const key = `${claims.namespace}/${claims.group}`;
  const wg = group(claims.namespace, claims.group);
  if (!wg) return { code: FAILED_PRECONDITION, reason: `WorkloadGroup ${key} does not exist (AR-1): the registration token is no longer usable` };
  const templateSa = wg.spec.template.serviceAccount ?? '';
  if (claims.serviceAccount !== templateSa) {
    return {
      code: PERMISSION_DENIED,
      reason: `the registration token is for service account ${JSON.stringify(claims.serviceAccount)}, but WorkloadGroup ${key} now uses ${JSON.stringify(templateSa)} (AR-5)`,
    };
  }
  if (revokedTokenIds(wg).has(claims.id)) {
    return { code: UNAUTHENTICATED, reason: `the registration token ${claims.id} was revoked (WorkloadGroup ${key}, annotation ${REVOKED_TOKENS_ANNOTATION})` };
  }
  const before = tokensRevokedBefore(wg);
  if (before !== undefined && claims.originalIssuedAt <= before) {
    return {
      code: UNAUTHENTICATED,
      reason: `the registration token ${claims.id} was revoked: WorkloadGroup ${key} revokes every token issued at or before ${describeTime(before)} (annotation ${TOKENS_REVOKED_BEFORE_ANNOTATION})`,
    };
  }
  return undefined;
}

/**
 * Renewal of a certificate by certificate (no token): refused when the identity belongs to
 * WorkloadGroups of its namespace (ones whose template has that service account) and every one of
 * them revoked its tokens (`tokens-revoked-before`) at or after the certificate was issued — so
 * `workload entry revoke --group` also ends the certificates its tokens obtained. Identities of no
 * group (pods, operator-made certificates) renew as before. `issuedAt` is the certificate's
 * notBefore (seconds). Undefined when allowed.
 */
export function certificateRenewalRefusal(identity: { readonly namespace: string; readonly serviceAccount: string }, issuedAt: number, groups: readonly WorkloadGroup[]): Refusal | undefined {
  const owners = groups.filter((g) => g.metadata.namespace === identity.namespace && (g.spec.template.serviceAccount ?? '') === identity.serviceAccount);
  if (owners.length === 0) return undefined;
  // The CA backdates notBefore by a minute; a revocation applies to certificates issued up to then.
  const live = owners.some((g) => {
    const before = tokensRevokedBefore(g);
    return before === undefined || issuedAt + 60 > before;
  });
  if (live) return undefined;
  const names = owners.map((g) => `${g.metadata.namespace}/${g.metadata.name}`).join(', ');
  return { code: UNAUTHENTICATED, reason: `the client certificate was issued before WorkloadGroup ${names} revoked its tokens (annotation ${TOKENS_REVOKED_BEFORE_ANNOTATION}): it cannot be renewed` };
}
