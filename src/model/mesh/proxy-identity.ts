import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { Locality } from './locality.js';

/**
 * Node metadata key by which a proxyless node advertises the certificate-provider instances of its
 * bootstrap, as a comma-separated list (`CERTIFICATE_PROVIDERS: "default"`). Only nodes listing
 * `default` get TLS in their generated resources.
 */
export const CERTIFICATE_PROVIDERS_METADATA = 'CERTIFICATE_PROVIDERS';

/** `envoy` for Envoy sidecars and gateways; `grpc` for proxyless gRPC clients (metadata GENERATOR=grpc). */
export type ProxyKind = 'envoy' | 'grpc';

/**
 * Who is at the other end of a stream, from the Node of its first request, the way Istio's proxies
 * identify themselves (cli-contract.md, `serve`): node id `<type>~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local`
 * with type `sidecar`, `proxyless`, ...; metadata NAMESPACE, LABELS, NETWORK, CLUSTER_ID, GENERATOR,
 * INSTANCE_IPS; `node.locality`. Ids of another shape are accepted: only `id` and metadata are used then.
 */
export interface ProxyIdentity {
  readonly id: string;
  readonly kind: ProxyKind;
  /** First part of an Istio-style id (`sidecar`, `proxyless`, `router`). */
  readonly nodeType?: string;
  /** Metadata INSTANCE_IPS, else the IP part of the id. */
  readonly ips: readonly string[];
  readonly ip?: string;
  /**
   * Workload (pod or VM) name: the id's third part `<name>.<namespace>` without its namespace (a
   * namespace is one DNS label, a name may hold dots: a VM's `<group>-<ip>`).
   */
  readonly workloadName?: string;
  /** Metadata NAMESPACE, else the id's `<name>.<namespace>` part, else the DNS domain's first label. */
  readonly namespace?: string;
  readonly dnsDomain?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly network?: string;
  readonly clusterId?: string;
  /** `node.cluster` (Envoy's service cluster). */
  readonly serviceCluster?: string;
  readonly locality: Locality;
  readonly userAgent?: string;
  /**
   * Metadata CERTIFICATE_PROVIDERS (comma list), sorted and de-duplicated: the certificate-provider
   * instances the node's bootstrap has (names.ts). Absent when not advertised: the node then gets no
   * TLS in generated resources.
   */
  readonly certificateProviders?: readonly string[];
  readonly metadata: JsonObject;
}

export function proxyIdentityFromNode(node: Node): ProxyIdentity {
  const metadata = node.metadata ?? {};
  const parts = node.id.split('~');
  const istioStyle = parts.length === 4;
  const [nodeType, idIp, idName, idDomain] = istioStyle ? parts : [];
  const nameParts = splitNameAndNamespace(idName ?? '');
  const instanceIps = commaList(metadata['INSTANCE_IPS']);
  const providers = [...new Set(commaList(metadata[CERTIFICATE_PROVIDERS_METADATA]))].sort();
  const ips = instanceIps.length > 0 ? instanceIps : nonEmpty(idIp) !== undefined ? [idIp as string] : [];
  const namespace = str(metadata['NAMESPACE']) ?? nonEmpty(nameParts[1]) ?? nonEmpty(idDomain?.split('.')[0]);
  const userAgentVersion = node.userAgentVersionType.case === 'userAgentVersion' ? node.userAgentVersionType.value : undefined;
  const userAgent = node.userAgentName === '' ? undefined : userAgentVersion === undefined ? node.userAgentName : `${node.userAgentName}/${userAgentVersion}`;
  return {
    id: node.id,
    kind: str(metadata['GENERATOR']) === 'grpc' ? 'grpc' : 'envoy',
    ...opt('nodeType', nonEmpty(nodeType)),
    ips,
    ...opt('ip', ips[0]),
    ...opt('workloadName', nonEmpty(nameParts[0])),
    ...opt('namespace', namespace),
    ...opt('dnsDomain', nonEmpty(idDomain)),
    labels: stringMap(metadata['LABELS']),
    ...opt('network', str(metadata['NETWORK'])),
    ...opt('clusterId', str(metadata['CLUSTER_ID'])),
    ...opt('serviceCluster', nonEmpty(node.cluster)),
    locality: { region: node.locality?.region ?? '', zone: node.locality?.zone ?? '', subZone: node.locality?.subZone ?? '' },
    ...opt('userAgent', userAgent),
    ...opt('certificateProviders', providers.length > 0 ? providers : undefined),
    metadata,
  };
}

/** `web-vm-127.0.0.5.vm-demo` → [`web-vm-127.0.0.5`, `vm-demo`]: the namespace is after the last dot. */
function splitNameAndNamespace(nameDotNamespace: string): [string, string | undefined] {
  const dot = nameDotNamespace.lastIndexOf('.');
  return dot < 0 ? [nameDotNamespace, undefined] : [nameDotNamespace.slice(0, dot), nameDotNamespace.slice(dot + 1)];
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function commaList(v: JsonValue | undefined): string[] {
  return str(v)?.split(',').map((s) => s.trim()).filter((s) => s !== '') ?? [];
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function stringMap(v: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** `{ key: value }` when value is defined, `{}` otherwise (exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
