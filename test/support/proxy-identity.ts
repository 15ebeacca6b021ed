/** ProxyIdentity values for tests that hand the pipeline or the registration a proxy without a Node. */
import { NO_LOCALITY, type Locality } from '../../src/model/mesh/locality.js';
import type { ProxyIdentity } from '../../src/model/mesh/proxy-identity.js';

export interface TestProxyOptions {
  /** `sidecar` (an Envoy or an agent) or `proxyless` (a gRPC client: kind `grpc`). */
  readonly type: 'sidecar' | 'proxyless';
  readonly ip: string;
  /** The workload name in the Istio-style id `<type>~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local`. */
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly network?: string | undefined;
  readonly locality?: Locality;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly certificateProviders?: readonly string[];
}

/** A proxy with one IP, its id in Istio's shape; no locality, labels or metadata unless given. */
export function testProxy(o: TestProxyOptions): ProxyIdentity {
  return {
    id: `${o.type}~${o.ip}~${o.name}.${o.namespace}~${o.namespace}.svc.cluster.local`,
    kind: o.type === 'proxyless' ? 'grpc' : 'envoy',
    ips: [o.ip],
    ip: o.ip,
    namespace: o.namespace,
    labels: o.labels ?? {},
    ...(o.network !== undefined ? { network: o.network } : {}),
    locality: o.locality ?? NO_LOCALITY,
    metadata: { ...o.metadata },
    ...(o.certificateProviders !== undefined ? { certificateProviders: o.certificateProviders } : {}),
  };
}
