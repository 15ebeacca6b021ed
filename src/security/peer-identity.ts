/**
 * Who is calling on the secure xDS port (issue 7, docs/security.md): a client certificate that
 * chains to this mesh's CA, is within its validity and carries exactly one SPIFFE URI SAN of our
 * trust domain; else a registration token (`authorization: Bearer`) signed by this control plane.
 * Either yields the identity `{trustDomain, namespace, serviceAccount}` the caller is entitled to.
 * A presented certificate is authoritative: when it fails, the call is refused even if a token is
 * also present (a broken certificate is never silently replaced by a weaker credential).
 *
 * Pure: the caller passes the certificate bytes, the trust anchors, the key and the time. Refusals
 * carry a sentence saying what is wrong; codes are gRPC status codes.
 */
import { X509Certificate } from 'node:crypto';
import { verifyToken, type TokenClaims } from './registration-token.js';
import type { Refusal } from './token-admission.js';
import { parseSpiffeId, spiffeId, spiffeIdProblem } from './spiffe.js';

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

export interface PeerIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  /** '' for a token of a WorkloadGroup without a service account (no certificate identity). */
  readonly serviceAccount: string;
  /** How it was proven. */
  readonly via: 'certificate' | 'token';
}

export type CredentialCheck =
  | { readonly ok: true; readonly identity: PeerIdentity }
  | { readonly ok: false; readonly code: number; readonly reason: string };

export interface CredentialContext {
  /** Certificates a client certificate may be signed by: the CA's signing certificate and the root. */
  readonly anchors: readonly X509Certificate[];
  readonly trustDomain: string;
  /** The registration-token key. */
  readonly signingKey: Buffer;
  /**
   * Issue 11: the admission every use of a token passes after its signature and expiry
   * (lifecycle/token-admission.ts: group exists, service account matches, not revoked).
   */
  readonly admitToken: (claims: TokenClaims) => Refusal | undefined;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

export interface PresentedCredentials {
  /** The client certificate of the TLS connection (DER or PEM), when one was presented. */
  readonly certificate?: Buffer | string | undefined;
  /** The `authorization` call metadata value (`Bearer <token>`). */
  readonly authorization?: string | undefined;
}

export { spiffeId };

/** Verifies a client certificate against the mesh's CA and trust domain. Never throws. */
export function identityFromCertificate(certificate: Buffer | string, ctx: Omit<CredentialContext, 'signingKey' | 'admitToken'>): CredentialCheck {
  const refuse = (reason: string): CredentialCheck => ({ ok: false, code: UNAUTHENTICATED, reason });
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificate);
  } catch {
    return refuse('the client certificate cannot be read');
  }
  const signedByUs = ctx.anchors.some((anchor) => {
    try {
      return leaf.checkIssued(anchor) && leaf.verify(anchor.publicKey);
    } catch {
      return false;
    }
  });
  if (!signedByUs) return refuse("the client certificate is not signed by this mesh's CA");
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  if (ctx.now >= notAfter) return refuse(`the client certificate expired at ${new Date(notAfter).toISOString()}`);
  if (ctx.now < notBefore) return refuse(`the client certificate is not valid before ${new Date(notBefore).toISOString()}`);
  const uris = [...(leaf.subjectAltName ?? '').matchAll(/URI:([^,\s]+)/g)].map((m) => m[1] ?? '').filter((u) => u.startsWith('spiffe://'));
  if (uris.length !== 1) return refuse(`the client certificate must carry exactly one SPIFFE URI SAN, not ${uris.length}`);
  const uri = uris[0] ?? '';
  // Issue 11: exactly spiffe://<td>/ns/<ns>/sa/<sa> with Kubernetes names (spiffe.ts).
  const parsed = parseSpiffeId(uri);
  if (!parsed) return refuse(`the client certificate's SPIFFE id ${spiffeIdProblem(uri) ?? uri}`);
  const { trustDomain, namespace, serviceAccount } = parsed;
  if (trustDomain !== ctx.trustDomain) return refuse(`the client certificate's SPIFFE id ${uri} is not of this mesh's trust domain ${ctx.trustDomain}`);
  return { ok: true, identity: { trustDomain, namespace, serviceAccount, via: 'certificate' } };
}

/** The caller's identity from what it presented (see the file comment). Never throws. */
export function authenticate(presented: PresentedCredentials, ctx: CredentialContext): CredentialCheck {
  if (presented.certificate !== undefined && presented.certificate.length > 0) return identityFromCertificate(presented.certificate, ctx);
  const auth = presented.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
  if (token === '') return { ok: false, code: UNAUTHENTICATED, reason: 'a client certificate of this mesh or a registration token (authorization: Bearer <token>) is required' };
  const check = verifyToken(token, ctx.signingKey, Math.floor(ctx.now / 1000));
  if (!check.ok) return { ok: false, code: UNAUTHENTICATED, reason: check.reason };
  const refusal = ctx.admitToken(check.claims);
  if (refusal) return { ok: false, code: refusal.code, reason: refusal.reason };
  return { ok: true, identity: { trustDomain: ctx.trustDomain, namespace: check.claims.namespace, serviceAccount: check.claims.serviceAccount, via: 'token' } };
}

/**
 * Whether `identity` may receive the configuration of `namespace` (a proxy's node namespace): only
 * its own. Returns the refusal (PERMISSION_DENIED) or undefined.
 */
export function namespaceRefusal(identity: PeerIdentity, namespace: string): { readonly code: number; readonly reason: string } | undefined {
  if (identity.namespace === namespace) return undefined;
  const who = identity.via === 'certificate' ? `certificate identity ${spiffeId(identity)}` : `registration token of namespace ${identity.namespace}`;
  return { code: PERMISSION_DENIED, reason: `${who} may not receive configuration of namespace ${namespace === '' ? '(none)' : namespace}` };
}
