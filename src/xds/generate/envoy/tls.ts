/**
 * Upstream TLS of outbound clusters (Istio: networking/core/cluster_tls.go): DestinationRule TLS
 * modes and auto mTLS (C-6), with Istio's SNI (C-2), SDS secret names and ALPN.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Cluster_TransportSocketMatchSchema } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { TransportSocketSchema } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { ApiConfigSource_ApiType, ApiVersion, type ConfigSourceSchema } from '../../../gen/envoy/config/core/v3/config_source_pb.js';
import { TlsParameters_TlsProtocol } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js';
import type { SdsSecretConfigSchema } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import { UpstreamTlsContextSchema, type CommonTlsContextSchema } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import type { ClientTlsSettings, PeerAuthentication } from '../../../model/config/types.js';
import type { MeshSettings } from '../../../model/mesh/mesh-settings.js';
import type { MergedService, ServicePort } from '../../../model/mesh/types.js';
import type { ClusterView } from '../../../registry/view/clusters.js';
import { effectiveMtlsMode } from '../../../registry/view/peer-authentication.js';
import { ADS, duration } from '../common.js';
import { isHttp2Port, rawBufferSocket, TLS_TRANSPORT_SOCKET, typed, type InitOf } from '../wire.js';

/** Istio's SDS resource names for the workload certificate and the mesh root (pkg/security). */
export const SDS_DEFAULT = 'default';
export const SDS_ROOT = 'ROOTCA';
/** The bootstrap cluster through which istio-agent serves SDS to its Envoy. */
export const SDS_CLUSTER = 'sds-grpc';

/** C-2: `outbound_.<port>_.<subset>_.<host>`, Istio's default SNI for mTLS. */
export function sniOf(port: number, subset: string, host: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/**
 * C-6: the identities a client accepts from a service: the SPIFFE identities of all its endpoints
 * (every port) and the ServiceEntry's subjectAltNames, de-duplicated and sorted. Trust-domain
 * aliases are not expanded (meshbridge has no alias setting).
 */
export function serviceIdentities(service: MergedService): string[] {
  const all = new Set<string>(service.subjectAltNames);
  for (const e of service.endpoints) if (e.serviceAccount) all.add(e.serviceAccount);
  return [...all].sort();
}

type SdsInit = InitOf<typeof SdsSecretConfigSchema>;
type CommonInit = { -readonly [K in keyof InitOf<typeof CommonTlsContextSchema>]: InitOf<typeof CommonTlsContextSchema>[K] };
type SocketInit = MessageInitShape<typeof TransportSocketSchema>;

/** Istio ConstructSdsSecretConfig: a secret fetched from istio-agent over the `sds-grpc` cluster. */
export function agentSds(name: string): SdsInit {
  const sdsConfig: MessageInitShape<typeof ConfigSourceSchema> = {
    configSourceSpecifier: {
      case: 'apiConfigSource',
      value: {
        apiType: ApiConfigSource_ApiType.GRPC,
        setNodeOnFirstMessageOnly: true,
        transportApiVersion: ApiVersion.V3,
        grpcServices: [{ targetSpecifier: { case: 'envoyGrpc', value: { clusterName: SDS_CLUSTER } } }],
      },
    },
    resourceApiVersion: ApiVersion.V3,
    ...(name === SDS_DEFAULT || name === SDS_ROOT ? { initialFetchTimeout: duration(0) } : {}),
  };
  return { name, sdsConfig };
}

/** A DestinationRule credentialName secret, served by the control plane over ADS (SDS). */
function controlPlaneSds(name: string): SdsInit {
  return { name, sdsConfig: ADS };
}

/** Istio defaultUpstreamCommonTLSContext: TLS 1.2 to 1.3. */
function commonTls(): CommonInit {
  return { tlsParams: { tlsMinimumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_2, tlsMaximumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_3 } };
}

function exactSans(sans: readonly string[]) {
  return sans.map((s) => ({ matchPattern: { case: 'exact' as const, value: s } }));
}

function tlsSocket(sni: string, common: CommonInit): SocketInit {
  return typed(TLS_TRANSPORT_SOCKET, UpstreamTlsContextSchema, { sni, commonTlsContext: common });
}

/**
 * ISTIO_MUTUAL: the workload certificate (`default`) and root (`ROOTCA`) from istio-agent, SAN
 * matchers, and Istio's in-mesh ALPN (with `h2` for HTTP/2 clusters, as Istio's ALPNInMeshH2WithMxc).
 */
export function istioMutualSocket(sni: string, sans: readonly string[], protocol: string): SocketInit {
  return tlsSocket(sni, {
    ...commonTls(),
    tlsCertificateSdsSecretConfigs: [agentSds(SDS_DEFAULT)],
    validationContextType: {
      case: 'combinedValidationContext',
      value: { defaultValidationContext: { matchSubjectAltNames: exactSans(sans) }, validationContextSdsSecretConfig: agentSds(SDS_ROOT) },
    },
    alpnProtocols: isHttp2Port(protocol) ? ['istio-peer-exchange', 'istio', 'h2'] : ['istio-peer-exchange', 'istio'],
  });
}

/** The file-based fields Istio's DestinationRule TLS also has (validated, not in the typed model). */
type FileTls = ClientTlsSettings & { readonly clientCertificate?: string; readonly privateKey?: string; readonly caCertificates?: string };

/**
 * SIMPLE / MUTUAL (Istio constructUpstreamTLS). Credentials by name: `credentialName` is fetched
 * from the control plane over ADS (`<name>` for the client certificate, `<name>-cacert` for the
 * roots); file paths use istio-agent's `file-cert:<cert>~<key>` and `file-root:<ca>` secrets, the
 * roots defaulting to the system store. SANs default to the ServiceEntry's subjectAltNames.
 * Simplification: without an explicit `sni` the service host is sent (Istio sets auto_sni, which
 * takes it from the Host header; the same for a ServiceEntry host).
 */
function originationSocket(tls: FileTls, c: ClusterView): SocketInit {
  const mutual = tls.mode === 'MUTUAL';
  const sans = tls.subjectAltNames && tls.subjectAltNames.length > 0 ? tls.subjectAltNames : c.service.subjectAltNames;
  const common: CommonInit = { ...commonTls(), ...(isHttp2Port(c.servicePort.protocol) ? { alpnProtocols: ['h2'] } : {}) };
  if (tls.credentialName) {
    if (mutual) common.tlsCertificateSdsSecretConfigs = [controlPlaneSds(tls.credentialName)];
    if (!tls.insecureSkipVerify) {
      common.validationContextType = {
        case: 'combinedValidationContext',
        value: { defaultValidationContext: { matchSubjectAltNames: exactSans(sans) }, validationContextSdsSecretConfig: controlPlaneSds(`${tls.credentialName}-cacert`) },
      };
    }
  } else {
    if (mutual && tls.clientCertificate && tls.privateKey) common.tlsCertificateSdsSecretConfigs = [agentSds(`file-cert:${tls.clientCertificate}~${tls.privateKey}`)];
    if (!tls.insecureSkipVerify) {
      common.validationContextType = {
        case: 'combinedValidationContext',
        value: { defaultValidationContext: { matchSubjectAltNames: exactSans(sans) }, validationContextSdsSecretConfig: agentSds(`file-root:${tls.caCertificates || 'system'}`) },
      };
    }
  }
  const sni = tls.sni || (c.host.includes('*') ? '' : c.host);
  return tlsSocket(sni, common);
}

/**
 * C-6 (Istio BestEffortInferServiceMTLSMode): whether the service accepts mTLS at all. A
 * passthrough (NONE) port with no endpoint, or with any endpoint whose tls mode is "disabled", is
 * DISABLE; otherwise the namespace (else mesh) PeerAuthentication mode, else PERMISSIVE.
 */
export function inferredMtlsMode(service: MergedService, port: ServicePort, pas: readonly PeerAuthentication[], mesh: MeshSettings): string {
  if (service.resolution === 'NONE') {
    const eps = service.endpoints.filter((e) => e.servicePort === port.number);
    if (eps.length === 0 || eps.some((e) => e.tlsMode === 'disabled')) return 'DISABLE';
  }
  return effectiveMtlsMode(pas, mesh.rootNamespace, service.namespace, {}, 0);
}

export interface ClusterTls {
  readonly transportSocket?: SocketInit;
  readonly transportSocketMatches?: MessageInitShape<typeof Cluster_TransportSocketMatchSchema>[];
}

/**
 * The transport socket(s) of an outbound cluster:
 * - DestinationRule `tls` (mode defaults to DISABLE, as the enum's zero): DISABLE -> plaintext;
 *   ISTIO_MUTUAL -> the Istio mTLS socket (its sni/subjectAltNames win over C-2/C-6 defaults);
 *   SIMPLE / MUTUAL -> TLS origination.
 * - Otherwise auto mTLS (C-6) when the service is MESH_INTERNAL, mesh enableAutoMtls is on and the
 *   inferred mode is not DISABLE: `tlsMode-istio` (endpoints with tlsMode=istio metadata, EDS-9)
 *   and `tlsMode-disabled` (raw buffer) matches. ORIGINAL_DST clusters get the mTLS socket itself,
 *   as Istio does for passthrough services (no per-endpoint metadata to match on).
 */
export function clusterTls(c: ClusterView, pas: readonly PeerAuthentication[], mesh: MeshSettings): ClusterTls {
  const sni = sniOf(c.port, c.subset, c.host);
  const protocol = c.servicePort.protocol;
  const tls = c.policy.tls as FileTls | undefined;
  if (tls) {
    switch (tls.mode ?? 'DISABLE') {
      case 'DISABLE':
        return {};
      case 'ISTIO_MUTUAL': {
        const sans = tls.subjectAltNames ?? serviceIdentities(c.service);
        return { transportSocket: istioMutualSocket(tls.sni || sni, sans, protocol) };
      }
      case 'SIMPLE':
      case 'MUTUAL':
        return { transportSocket: originationSocket(tls, c) };
    }
  }
  if (c.service.location !== 'MESH_INTERNAL' || !mesh.enableAutoMtls) return {};
  if (inferredMtlsMode(c.service, c.servicePort, pas, mesh) === 'DISABLE') return {};
  const socket = istioMutualSocket(sni, serviceIdentities(c.service), protocol);
  if (c.type === 'ORIGINAL_DST') return { transportSocket: socket };
  return {
    transportSocketMatches: [
      { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transportSocket: socket },
      { name: 'tlsMode-disabled', match: {}, transportSocket: rawBufferSocket() },
    ],
  };
}
