/**
 * Which ADS streams `serve` accepts (docs/security.md). Plaintext port: agents' registration
 * tokens (the registration rules), everyone else as they are (loopback development). Secure port: a
 * credential is required (client certificate, else registration token); the proxy's namespace must
 * be the credential's; agents also pass their registration rules. Before the control plane has
 * loaded, every stream is refused UNAVAILABLE and retries.
 */
import type { X509Certificate } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { tokenRefusal, type GroupLookup } from './token-admission.js';
import type { Admission, AdmitFn } from '../model/mesh/stream-admission.js';
import type { ProxyIdentity } from '../model/mesh/proxy-identity.js';
import { authenticate, namespaceRefusal, spiffeId } from './peer-identity.js';

export interface StreamAdmissionPolicy {
  /** false while starting (bound, still loading): nothing is served or written for a stream yet. */
  readonly ready: () => boolean;
  /** The mesh's trust anchors that client certificates must chain to. */
  readonly anchors: () => readonly X509Certificate[];
  readonly trustDomain: () => string;
  /** The registration-token signing key (shared by every replica). */
  readonly signingKey: Buffer;
  /** The live WorkloadGroups (a token's group and revocations). */
  readonly group: GroupLookup;
  /** The registration rules of agent streams (RegistrationController.admit); others pass. */
  readonly admitAgent: (proxy: ProxyIdentity, md: Readonly<Record<string, string>>) => Admission;
}

/** The admission function of the xDS server for `policy`. */
export function streamAdmission(policy: StreamAdmissionPolicy): AdmitFn {
  return (proxy, md, transport) => {
    if (!policy.ready()) return { ok: false, code: grpcStatus.UNAVAILABLE, message: 'the control plane is starting; retry' };
    if (!transport.secure) return policy.admitAgent(proxy, md);
    const check = authenticate(
      { certificate: transport.certificate, authorization: md['authorization'] },
      {
        anchors: policy.anchors(),
        trustDomain: policy.trustDomain(),
        signingKey: policy.signingKey,
        now: Date.now(),
        admitToken: (claims) => tokenRefusal(claims, policy.group),
      },
    );
    if (!check.ok) return { ok: false, code: check.code, message: check.reason };
    const refusal = namespaceRefusal(check.identity, proxy.namespace ?? '');
    if (refusal) return { ok: false, code: refusal.code, message: refusal.reason };
    const agent = policy.admitAgent(proxy, md);
    if (!agent.ok) return agent;
    const identity = check.identity.serviceAccount !== '' ? spiffeId(check.identity) : `registration token of namespace ${check.identity.namespace}`;
    return { ok: true, identity };
  };
}
