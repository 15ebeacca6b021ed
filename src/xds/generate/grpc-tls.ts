/**
 * TLS of proxyless gRPC resources (gRFC A29): certificate-provider instances instead of SDS. Both the
 * identity and the roots come from the bootstrap instance `default` (names.ts); grpc-js-xds refuses
 * SDS secrets, `tls_params` and unknown instance names, so only nodes that advertise the instance
 * (ViewSpec.tls) get any of this.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { TransportSocketSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { CommonTlsContextSchema } from '../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from '../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import type { ClusterView } from '../../registry/view/clusters.js';
import { serviceIdentities } from './envoy/tls.js';
import { TLS_TRANSPORT_SOCKET, typed } from './envoy/filters.js';
import { CERTIFICATE_NAME_IDENTITY, CERTIFICATE_NAME_ROOT, CERTIFICATE_PROVIDER_INSTANCE } from './names.js';

type SocketInit = MessageInitShape<typeof TransportSocketSchema>;
type CommonInit = MessageInitShape<typeof CommonTlsContextSchema>;

/** Identity and roots from the `default` provider instance; SAN matchers when given. */
export function providerTlsContext(sans: readonly string[] = []): CommonInit {
  return {
    tlsCertificateProviderInstance: { instanceName: CERTIFICATE_PROVIDER_INSTANCE, certificateName: CERTIFICATE_NAME_IDENTITY },
    validationContextType: {
      case: 'validationContext',
      value: {
        caCertificateProviderInstance: { instanceName: CERTIFICATE_PROVIDER_INSTANCE, certificateName: CERTIFICATE_NAME_ROOT },
        matchSubjectAltNames: sans.map((s) => ({ matchPattern: { case: 'exact' as const, value: s } })),
      },
    },
  };
}

/** The client side: mTLS to the cluster's endpoints, accepting the SPIFFE ids `sans`. */
export function grpcUpstreamTls(sans: readonly string[]): SocketInit {
  return typed(TLS_TRANSPORT_SOCKET, UpstreamTlsContextSchema, { commonTlsContext: providerTlsContext(sans) });
}

/** The server side: the workload certificate, client certificates required (STRICT). */
export function grpcDownstreamTls(requireClientCertificate = true): SocketInit {
  return typed(TLS_TRANSPORT_SOCKET, DownstreamTlsContextSchema, { commonTlsContext: providerTlsContext(), requireClientCertificate });
}

/**
 * Whether a proxyless cluster uses mTLS, and the socket if it does. The rule of Envoy's
 * transport_socket_matches (C-6), decided per cluster since gRPC has no per-endpoint sockets:
 * - a DestinationRule `tls` decides: ISTIO_MUTUAL -> mTLS (its subjectAltNames, else the
 *   service's identities); DISABLE -> plaintext; SIMPLE and MUTUAL (TLS origination with files or
 *   credentialName) cannot be expressed with provider instances -> plaintext (gap, documented);
 * - otherwise auto mTLS (mesh enableAutoMtls, MESH_INTERNAL service): mTLS only when the cluster
 *   has endpoints and ALL of them qualify (tlsMode `istio` metadata, which already accounts for
 *   PeerAuthentication DISABLE, EDS-9, and a service account). A mixed cluster stays plaintext
 *   (the endpoints without a sidecar/identity could not answer TLS).
 * SANs: exact SPIFFE ids of the service's endpoints (serviceIdentities, as Envoy's C-6).
 */
export function grpcClusterTls(c: ClusterView, autoMtls: boolean): SocketInit | undefined {
  const tls = c.policy.tls;
  if (tls) {
    if ((tls.mode ?? 'DISABLE') !== 'ISTIO_MUTUAL') return undefined;
    const sans = tls.subjectAltNames && tls.subjectAltNames.length > 0 ? tls.subjectAltNames : serviceIdentities(c.service);
    return grpcUpstreamTls(sans);
  }
  if (!autoMtls || c.service.location !== 'MESH_INTERNAL') return undefined;
  const endpoints = c.localities.flatMap((g) => g.endpoints);
  if (endpoints.length === 0) return undefined;
  if (!endpoints.every((e) => e.tlsMode === 'istio' && e.serviceAccount !== null && e.serviceAccount !== '')) return undefined;
  return grpcUpstreamTls(serviceIdentities(c.service));
}
