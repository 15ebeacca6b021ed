/**
 * Istio's certificate service on the xDS port, so the protocol is the one Istio's agents speak:
 * `istio.v1.auth.IstioCertificateService/CreateCertificate` (security/proto/providers... ca.proto):
 *
 *   message IstioCertificateRequest  { string csr = 1; int64 validity_duration = 3; google.protobuf.Struct metadata = 4; }
 *   message IstioCertificateResponse { repeated string cert_chain = 1; }
 *
 * The two messages are small enough to code by hand with protobuf-es's wire reader and writer.
 * Who may get what (issue 7): the caller presents its registration token (`authorization: Bearer`,
 * first contact) or, on the secure port, its current client certificate (renewal), and receives only
 * the identity that credential entitles: `spiffe://<td>/ns/<ns>/sa/<serviceAccount>`, whatever the CSR
 * asks for (peer-identity.ts). Issue 11: a token passes the admission of every token use (its group
 * exists with its service account, it is not revoked: lifecycle/token-admission.ts); a renewal by
 * certificate is refused once the identity's groups revoked their tokens after it was issued
 * (`certificateRenewalRefusal`); the CA refuses malformed identities and weak keys (ca.ts).
 */
import { X509Certificate } from 'node:crypto';
import { status, type ServiceDefinition, type UntypedServiceImplementation, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { presentedCertificate } from './peer-certificate.js';
import { CertificateError, DEFAULT_WORKLOAD_TTL_SECONDS, type CertificateAuthority } from './ca.js';
import { authenticate, spiffeId } from './peer-identity.js';
import type { WorkloadGroup } from '../model/config/types.js';
import { certificateRenewalRefusal, tokenRefusal, type GroupLookup } from './token-admission.js';
import { errorMessage } from '../lib/errors.js';

export interface CertificateRequest {
  readonly csr: string;
  /** Seconds; 0 = the default. */
  readonly validityDuration: number;
}

export function encodeCertificateRequest(r: CertificateRequest): Uint8Array {
  const w = new BinaryWriter();
  if (r.csr !== '') w.tag(1, WireType.LengthDelimited).string(r.csr);
  if (r.validityDuration !== 0) w.tag(3, WireType.Varint).int64(r.validityDuration);
  return w.finish();
}

export function decodeCertificateRequest(bytes: Uint8Array): CertificateRequest {
  const r = new BinaryReader(bytes);
  let csr = '';
  let validityDuration = 0;
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    if (field === 1 && type === WireType.LengthDelimited) csr = r.string();
    else if (field === 3 && type === WireType.Varint) validityDuration = Number(r.int64());
    else r.skip(type);
  }
  return { csr, validityDuration };
}

export function encodeCertificateResponse(certChain: readonly string[]): Uint8Array {
  const w = new BinaryWriter();
  for (const c of certChain) w.tag(1, WireType.LengthDelimited).string(c);
  return w.finish();
}

export function decodeCertificateResponse(bytes: Uint8Array): string[] {
  const r = new BinaryReader(bytes);
  const out: string[] = [];
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    if (field === 1 && type === WireType.LengthDelimited) out.push(r.string());
    else r.skip(type);
  }
  return out;
}

export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

export const certificateServiceDefinition: ServiceDefinition = {
  CreateCertificate: {
    path: CREATE_CERTIFICATE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: CertificateRequest) => Buffer.from(encodeCertificateRequest(r)),
    requestDeserialize: (b: Buffer) => decodeCertificateRequest(b),
    responseSerialize: (chain: string[]) => Buffer.from(encodeCertificateResponse(chain)),
    responseDeserialize: (b: Buffer) => decodeCertificateResponse(b),
  },
};

export interface CertificateServiceOptions {
  readonly ca: Pick<CertificateAuthority, 'issue'>;
  readonly signingKey: Buffer;
  readonly trustDomain: () => string;
  readonly maxTtlSeconds?: number;
  readonly now?: () => number;
  /** What client certificates may be signed by (renewal by certificate); absent: tokens only. */
  readonly anchors?: () => readonly X509Certificate[];
  /** Issue 11: the live WorkloadGroups, for the admission of tokens and of renewals by certificate. */
  readonly group: GroupLookup;
  readonly groups: () => readonly WorkloadGroup[];
}

/** Seconds since the epoch of a certificate's notBefore (0 when unreadable: it was verified already). */
function notBeforeOf(certificate: Buffer): number {
  try {
    return Math.floor(Date.parse(new X509Certificate(certificate).validFrom) / 1000);
  } catch {
    return 0;
  }
}

export function certificateServiceImplementation(o: CertificateServiceOptions): UntypedServiceImplementation {
  return {
    CreateCertificate: (call: ServerUnaryCall<CertificateRequest, string[]>, callback: sendUnaryData<string[]>) => {
      const auth = call.metadata.get('authorization')[0];
      const now = (o.now ?? Date.now)();
      const trustDomain = o.trustDomain();
      const certificate = o.anchors !== undefined ? presentedCertificate(call) : undefined;
      const check = authenticate(
        { certificate, authorization: typeof auth === 'string' ? auth : undefined },
        { anchors: o.anchors?.() ?? [], trustDomain, signingKey: o.signingKey, now, admitToken: (claims) => tokenRefusal(claims, o.group) },
      );
      if (!check.ok) {
        callback({ code: check.code, details: check.reason });
        return;
      }
      const renewal = check.identity.via === 'certificate' && certificate !== undefined ? certificateRenewalRefusal(check.identity, notBeforeOf(certificate), o.groups()) : undefined;
      if (renewal) {
        callback({ code: renewal.code, details: renewal.reason });
        return;
      }
      const { namespace, serviceAccount } = check.identity;
      if (serviceAccount === '') {
        callback({ code: status.PERMISSION_DENIED, details: `the registration token's WorkloadGroup in namespace ${namespace} has no serviceAccount: no identity to issue` });
        return;
      }
      const max = o.maxTtlSeconds ?? DEFAULT_WORKLOAD_TTL_SECONDS;
      const ttl = call.request.validityDuration > 0 ? Math.min(call.request.validityDuration, max) : max;
      const identity = spiffeId({ trustDomain, namespace, serviceAccount });
      o.ca.issue(call.request.csr, identity, ttl, new Date(now)).then(
        (chain) => callback(null, chain),
        (e: unknown) => callback({ code: e instanceof CertificateError ? status.INVALID_ARGUMENT : status.INTERNAL, details: errorMessage(e) }),
      );
    },
  };
}
