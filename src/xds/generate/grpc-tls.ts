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
import { MAX_WEIGHT, sumWeights, type LocalityGroup, type SentEndpoint } from '../../registry/view/locality-groups.js';
import { serviceIdentities } from './envoy/tls.js';
import { CERTIFICATE_NAME_IDENTITY, CERTIFICATE_NAME_ROOT, CERTIFICATE_PROVIDER_INSTANCE } from './names.js';
import { TLS_TRANSPORT_SOCKET, typed } from './wire.js';
import { withFields } from '../../lib/objects/with-fields.js';

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
 *   PeerAuthentication DISABLE, EDS-9, and a service account). A mixed EDS cluster is split
 *   instead (mixedClusterSplit); one that cannot be (DNS types) stays plaintext.
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
  if (!endpoints.every(qualifies)) return undefined;
  return grpcUpstreamTls(serviceIdentities(c.service));
}

/** The two halves of a split mixed cluster (issue 7): `<cluster>|mtls` and `<cluster>|plaintext`. */
export type TlsPartKind = 'mtls' | 'plaintext';

/** The CDS/EDS name of one part: the original C-1 name plus a fifth `|`-separated field. */
export function tlsPartName(cluster: string, kind: TlsPartKind): string {
  return `${cluster}|${kind}`;
}

export interface TlsPart {
  readonly kind: TlsPartKind;
  readonly name: string;
  /** The original cluster's locality groups restricted to this part's endpoints (none empty). */
  readonly localities: readonly LocalityGroup[];
  /** The SPIFFE ids of exactly this part's endpoints (mtls), sorted; empty for plaintext. */
  readonly sans: readonly string[];
  /** Sum of the part's endpoint weights (E-ATTR-6: each at least 1), saturating at 2^32 - 1. */
  readonly weight: number;
}

const IP_LIKE = /^[0-9a-fA-F.:]+$/;

function qualifies(e: SentEndpoint): boolean {
  return e.tlsMode === 'istio' && e.serviceAccount !== null && e.serviceAccount !== '';
}

function restrict(groups: readonly LocalityGroup[], keep: (e: SentEndpoint) => boolean): LocalityGroup[] {
  return groups.flatMap((g) => {
    const endpoints = g.endpoints.filter(keep);
    if (endpoints.length === 0) return [];
    // A group weight that is the sum of its endpoint weights (EDS-6) is recomputed for the part;
    // one set otherwise (locality `distribute`) or 0 (N-5, L-3) is kept as it is.
    const weight = g.weight !== 0 && g.weight === sumWeights(g.endpoints) ? sumWeights(endpoints) : g.weight;
    return [withFields(g, { weight, endpoints })];
  });
}

/**
 * Issue 7: the split of a mixed cluster for a TLS-capable proxyless client, or undefined when the
 * cluster is not split (then grpcClusterTls decides for the whole cluster, as before). A cluster is
 * split when auto mTLS applies (no DestinationRule `tls`, mesh enableAutoMtls, MESH_INTERNAL), it is
 * an EDS cluster, and its endpoints are mixed: some qualify (tlsMode `istio` and a service account)
 * and some do not. Only endpoints gRPC receives count (IP addresses); a part left without any is
 * omitted, and no split happens unless at least one part remains.
 */
export function mixedClusterSplit(c: ClusterView, autoMtls: boolean): readonly TlsPart[] | undefined {
  if (c.policy.tls || !autoMtls || c.service.location !== 'MESH_INTERNAL' || c.type !== 'EDS') return undefined;
  const all = c.localities.flatMap((g) => g.endpoints);
  if (!all.some(qualifies) || all.every(qualifies)) return undefined;
  const parts: TlsPart[] = [];
  for (const kind of ['mtls', 'plaintext'] as const) {
    const member = (e: SentEndpoint): boolean => IP_LIKE.test(e.address) && qualifies(e) === (kind === 'mtls');
    const localities = restrict(c.localities, member);
    const endpoints = localities.flatMap((g) => g.endpoints);
    if (endpoints.length === 0) continue;
    const sans = kind === 'mtls' ? [...new Set(endpoints.map((e) => e.serviceAccount ?? ''))].sort() : [];
    const weight = Math.min(MAX_WEIGHT, endpoints.reduce((s, e) => s + Math.max(1, e.weight), 0));
    parts.push({ kind, name: tlsPartName(c.name, kind), localities, sans, weight });
  }
  return parts.length > 0 ? parts : undefined;
}

export interface WeightedDestination {
  readonly cluster: string;
  readonly weight: number;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * Route destinations with split clusters replaced by their parts. Destination `i` of weight `w_i`
 * (a lone destination counts as 1) split into parts of weights `s_ij` (sum `S_i`) becomes parts of
 * weight `w_i * s_ij / S_i`, all scaled by the least common multiple of the `S_i` so they stay
 * integers, then divided by their greatest common divisor. A total above 2^32 - 1 (gRPC/Envoy's
 * limit) is scaled down in proportion, each weight at least 1: no non-empty part gets weight 0.
 * Destinations whose cluster is not split are kept as they are (their weight scaled likewise).
 */
export function splitDestinations(dests: readonly WeightedDestination[], partsOf: (cluster: string) => readonly TlsPart[] | undefined): WeightedDestination[] {
  const expanded = dests.map((d) => {
    const parts = partsOf(d.cluster);
    const shares = parts ? parts.map((p) => ({ cluster: p.name, share: BigInt(Math.max(1, p.weight)) })) : [{ cluster: d.cluster, share: 1n }];
    return { weight: BigInt(Math.max(1, d.weight)), shares, total: shares.reduce((s, p) => s + p.share, 0n) };
  });
  const lcm = expanded.reduce((l, d) => (l * d.total) / gcd(l, d.total), 1n);
  let out = expanded.flatMap((d) => d.shares.map((p) => ({ cluster: p.cluster, weight: d.weight * p.share * (lcm / d.total) })));
  const divisor = out.reduce((g, d) => gcd(d.weight, g), 0n);
  if (divisor > 1n) out = out.map((d) => (withFields(d, { weight: d.weight / divisor })));
  const sum = out.reduce((s, d) => s + d.weight, 0n);
  const max = BigInt(MAX_WEIGHT);
  if (sum > max) {
    // Budget MAX - n: floors plus the at-most-n bumps to 1 stay within MAX.
    const budget = max - BigInt(out.length);
    out = out.map((d) => {
      const scaled = (d.weight * budget) / sum;
      return withFields(d, { weight: scaled < 1n ? 1n : scaled });
    });
  }
  return out.map((d) => ({ cluster: d.cluster, weight: Number(d.weight) }));
}
