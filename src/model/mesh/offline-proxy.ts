/**
 * The identity of a proxy described by its attributes instead of a connection: the node it would
 * announce, read as the xDS server reads nodes. For generating a view offline (what-if, tests).
 */
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import { proxyIdentityFromNode, type ProxyIdentity, type ProxyKind } from './proxy-identity.js';

/** A client proxy by the attributes a view is keyed by. */
export interface OfflineProxy {
  /** `envoy`: an Istio-style sidecar; `grpc`: a proxyless gRPC client (node metadata GENERATOR grpc). */
  readonly kind: ProxyKind;
  readonly namespace: string;
  readonly ip?: string;
  /** The workload name in the node id (default `client`). */
  readonly name?: string;
  /** `region/zone/subzone`, parts optional. */
  readonly locality?: string;
  readonly network?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The identity of such a proxy as its node announces it: `sidecar~IP~NAME.NS~NS.svc.cluster.local`
 * (istio-agent) or `proxyless~...` with GENERATOR grpc.
 */
export function offlineProxyIdentity(o: OfflineProxy): ProxyIdentity {
  const [region = '', zone = '', subZone = ''] = (o.locality ?? '').split('/');
  return proxyIdentityFromNode(
    create(NodeSchema, {
      id: `${o.kind === 'grpc' ? 'proxyless' : 'sidecar'}~${o.ip ?? ''}~${o.name ?? 'client'}.${o.namespace}~${o.namespace}.svc.cluster.local`,
      metadata: {
        ...(o.kind === 'grpc' ? { GENERATOR: 'grpc' } : {}),
        NAMESPACE: o.namespace,
        ...(o.network !== undefined ? { NETWORK: o.network } : {}),
        ...(o.labels ? { LABELS: { ...o.labels } } : {}),
      },
      locality: { region, zone, subZone },
    }),
  );
}
