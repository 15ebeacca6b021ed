/**
 * Token renewal for connected agents (docs/agent-protocol.md §4): a unary gRPC call on the xDS port,
 * `/meshbridge.agent.v1.Registration/RenewToken`, JSON in and out. A valid token is exchanged for a
 * new one with the same claims and the same lifetime, so an agent that stays connected never meets
 * an expiry cliff.
 */
import { status, type ServiceDefinition, type UntypedServiceImplementation, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { signToken, verifyToken } from './registration-token.js';

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

export function renewServiceImplementation(signingKey: Buffer, now: () => number = Date.now): UntypedServiceImplementation {
  return {
    RenewToken: (call: ServerUnaryCall<Partial<RenewRequest>, RenewResponse>, callback: sendUnaryData<RenewResponse>) => {
      const token = typeof call.request.token === 'string' ? call.request.token : '';
      const nowSeconds = Math.floor(now() / 1000);
      const check = verifyToken(token, signingKey, nowSeconds);
      if (!check.ok) {
        callback({ code: status.UNAUTHENTICATED, details: check.reason });
        return;
      }
      const lifetime = Math.max(60, check.claims.expiresAt - check.claims.issuedAt);
      const { id: _id, ...claims } = check.claims;
      const expiresAt = nowSeconds + lifetime;
      callback(null, { token: signToken({ ...claims, issuedAt: nowSeconds, expiresAt }, signingKey), expiresAt });
    },
  };
}
