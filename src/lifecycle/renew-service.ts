/**
 * Token renewal for connected agents (docs/agent-protocol.md §4): a unary gRPC call on the xDS port,
 * `/meshbridge.agent.v1.Registration/RenewToken`, JSON in and out. A valid token is exchanged for a
 * new one of the same lineage (same claims, id and original issue time) and the same lifetime.
 *
 * Issue 11, what renewal needs:
 * - the token passes the admission of every token use (token-admission.ts);
 * - the caller presents the current credential: `authorization: Bearer <the token being renewed>`,
 *   or a client certificate of this mesh for the token's identity (on the secure port);
 * - a lineage lives at most `maxLifetimeSeconds` from its original issue: renewed tokens expire at
 *   that bound at the latest, and past it renewal is refused — unless the workload is connected
 *   here, healthy, and renews with its certificate (`connectedAndHealthy`).
 */
import type { X509Certificate } from 'node:crypto';
import { status, type ServiceDefinition, type UntypedServiceImplementation, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { presentedCertificate } from '../security/peer-certificate.js';
import { authenticate, type PeerIdentity } from '../security/peer-identity.js';
import { signToken, verifyToken, type TokenClaims } from '../security/registration-token.js';
import { tokenRefusal, type GroupLookup, type Refusal } from '../security/token-admission.js';

export interface RenewRequest {
  readonly token: string;
}
export interface RenewResponse {
  readonly token: string;
  readonly expiresAt: number;
}

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString('utf8')) as unknown,
};

export const RENEW_PATH = '/meshbridge.agent.v1.Registration/RenewToken';

/** Default bound of a token lineage (`serve --token-max-lifetime`): 30 days. */
export const DEFAULT_TOKEN_MAX_LIFETIME_SECONDS = 30 * 86400;

export const renewServiceDefinition: ServiceDefinition = {
  RenewToken: {
    path: RENEW_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

export interface RenewServiceOptions {
  readonly signingKey: Buffer;
  readonly group: GroupLookup;
  readonly trustDomain: () => string;
  /** What client certificates may be signed by. */
  readonly anchors: () => readonly X509Certificate[];
  /** How long a lineage may be renewed from its original issue (see the file comment). */
  readonly maxLifetimeSeconds: number;
  /** Whether a workload of this lineage is connected to this control plane and healthy. */
  readonly connectedAndHealthy: (claims: TokenClaims) => boolean;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

type Decision = { readonly ok: true; readonly claims: TokenClaims; readonly caller: PeerIdentity } | ({ readonly ok: false } & Refusal);

/** Who is renewing what: the token, its admission and the caller's credential. */
function admitRenewal(token: string, presented: { certificate?: Buffer | undefined; authorization?: string | undefined }, o: RenewServiceOptions, now: number): Decision {
  const check = verifyToken(token, o.signingKey, Math.floor(now / 1000));
  if (!check.ok) return { ok: false, code: status.UNAUTHENTICATED, reason: check.reason };
  const refusal = tokenRefusal(check.claims, o.group);
  if (refusal) return { ok: false, ...refusal };
  const caller = authenticate(presented, { anchors: o.anchors(), trustDomain: o.trustDomain(), signingKey: o.signingKey, now, admitToken: (c) => tokenRefusal(c, o.group) });
  if (!caller.ok) return { ok: false, code: caller.code, reason: `renewal needs the current credential: ${caller.reason}` };
  const claims = check.claims;
  if (caller.identity.via === 'token' && presented.authorization !== `Bearer ${token}`) {
    return { ok: false, code: status.PERMISSION_DENIED, reason: 'renewal needs the token being renewed as the call\'s credential (authorization: Bearer <the same token>)' };
  }
  if (caller.identity.via === 'certificate' && (caller.identity.namespace !== claims.namespace || caller.identity.serviceAccount !== claims.serviceAccount)) {
    return { ok: false, code: status.PERMISSION_DENIED, reason: `the client certificate's identity (namespace ${caller.identity.namespace}, service account ${caller.identity.serviceAccount}) is not the token's (namespace ${claims.namespace}, service account ${claims.serviceAccount})` };
  }
  return { ok: true, claims, caller: caller.identity };
}

export function renewServiceImplementation(o: RenewServiceOptions): UntypedServiceImplementation {
  return {
    RenewToken: (call: ServerUnaryCall<Partial<RenewRequest>, RenewResponse>, callback: sendUnaryData<RenewResponse>) => {
      const token = typeof call.request.token === 'string' ? call.request.token : '';
      const now = (o.now ?? Date.now)();
      const auth = call.metadata.get('authorization')[0];
      const decision = admitRenewal(token, { certificate: presentedCertificate(call), authorization: typeof auth === 'string' ? auth : undefined }, o, now);
      if (!decision.ok) {
        callback({ code: decision.code, details: decision.reason });
        return;
      }
      const { claims, caller } = decision;
      const nowSeconds = Math.floor(now / 1000);
      const lifetime = Math.max(60, claims.lifetime);
      const bound = claims.originalIssuedAt + o.maxLifetimeSeconds;
      const unbounded = caller.via === 'certificate' && o.connectedAndHealthy(claims);
      if (!unbounded && nowSeconds >= bound) {
        callback({
          code: status.PERMISSION_DENIED,
          details:
            `the registration token ${claims.id} was first issued at ${new Date(claims.originalIssuedAt * 1000).toISOString()} and cannot be renewed past its maximum lifetime (${o.maxLifetimeSeconds} s, until ${new Date(bound * 1000).toISOString()}) ` +
            'unless its workload is connected, healthy and renews with its certificate; issue a new token (workload entry configure)',
        });
        return;
      }
      const expiresAt = unbounded ? nowSeconds + lifetime : Math.min(nowSeconds + lifetime, bound);
      callback(null, { token: signToken({ ...claims, issuedAt: nowSeconds, expiresAt }, o.signingKey), expiresAt });
    },
  };
}
