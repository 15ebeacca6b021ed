/**
 * The Envoy bootstrap for a VM's sidecar (`DIR/envoy-bootstrap.yaml`, docs/envoy-on-vms.md), built as
 * the typed `envoy.config.bootstrap.v3.Bootstrap` so that it can be checked against Envoy's own
 * constraints (xds/types/constraints.ts) before it is written.
 *
 * Contract, after Istio's `envoy_bootstrap.json`:
 * - node: id `sidecar~<ip>~<name>.<ns>~<ns>.svc.cluster.local` (the workload as the agent registers
 *   it), cluster `<group>.<ns>`, metadata NAMESPACE, LABELS, NETWORK, INSTANCE_IPS, CLUSTER_ID,
 *   INTERCEPTION_MODE REDIRECT, and the locality;
 * - ADS (CDS and LDS through it, SotW, v3) over the cluster `xds-grpc`: the agent's local xDS proxy,
 *   HTTP/2, with the proxy's local credential as initial metadata when it has one;
 * - SDS (`default`, `ROOTCA`) over the cluster `sds-grpc`: the agent's SDS socket;
 * - admin on 127.0.0.1:15000; Prometheus stats on 15090 (`/stats/prometheus`); readiness on 15021
 *   (`/healthz/ready`, answered by Envoy itself once it has its first configuration); 15001 and
 *   15006 are the outbound and inbound capture listeners, which come over LDS.
 */
import { create, toJson, type JsonObject, type MessageInitShape, type Registry } from '@bufbuild/protobuf';
import { stringify } from 'yaml';
import { anyPack, DurationSchema } from '@bufbuild/protobuf/wkt';
import { BootstrapSchema, type Bootstrap } from '../gen/envoy/config/bootstrap/v3/bootstrap_pb.js';
import type { ClusterSchema } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { Cluster_DiscoveryType, Cluster_LbPolicy } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ApiVersion, ApiConfigSource_ApiType } from '../gen/envoy/config/core/v3/config_source_pb.js';
import type { AddressSchema } from '../gen/envoy/config/core/v3/address_pb.js';
import { HttpProtocolOptionsSchema } from '../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { HttpConnectionManagerSchema } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouterSchema } from '../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import type { ListenerSchema } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { Locality } from '../model/mesh/locality.js';
import { join } from 'node:path';
import { ENVOY_TYPE_REGISTRY } from '../xds/generate/envoy/index.js';
import { checkConstraints } from '../xds/types/constraints.js';
import type { AgentSettings } from './bootstrap.js';
import { ENVOY_BOOTSTRAP_FILE, nodeId, writeFileAtomic } from './bootstrap.js';
import { LOCAL_SECRET_METADATA } from './xds-proxy.js';

export { ENVOY_BOOTSTRAP_FILE };
export const ENVOY_PORTS = { admin: 15000, outbound: 15001, inbound: 15006, agentStatus: 15020, health: 15021, prometheus: 15090 } as const;
export const XDS_CLUSTER = 'xds-grpc';
export const SDS_CLUSTER = 'sds-grpc';

export interface EnvoyBootstrapOptions {
  /** The agent's xDS proxy: loopback `host:port`. */
  readonly xdsProxy: string;
  /** The agent's SDS server: a unix socket path or a loopback `host:port`. Absent: no SDS cluster. */
  readonly sdsAddress?: string;
  /** Metadata every ADS request carries. */
  readonly xdsInitialMetadata?: Readonly<Record<string, string>>;
  /**
   * The xDS proxy's local secret (xds-proxy.ts): node metadata MESHBRIDGE_LOCAL_SECRET, which the
   * proxy checks and strips before forwarding. The file is then written 0600.
   */
  readonly localSecret?: string;
}

type AddressInit = MessageInitShape<typeof AddressSchema>;

function addressOf(hostPortOrPath: string): AddressInit {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPortOrPath);
  if (m && !hostPortOrPath.startsWith('/')) return { address: { case: 'socketAddress', value: { address: m[1] ?? '', portSpecifier: { case: 'portValue', value: Number(m[2]) } } } };
  return { address: { case: 'pipe', value: { path: hostPortOrPath } } };
}

const seconds = (s: number) => create(DurationSchema, { seconds: BigInt(s) });
const http2Only = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': anyPack(HttpProtocolOptionsSchema, create(HttpProtocolOptionsSchema, { upstreamProtocolOptions: { case: 'explicitHttpConfig', value: { protocolConfig: { case: 'http2ProtocolOptions', value: {} } } } })) };

function staticCluster(name: string, address: AddressInit, http2: boolean): MessageInitShape<typeof ClusterSchema> {
  return {
    name,
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.STATIC },
    connectTimeout: seconds(1),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: 'endpoint', value: { address } } }] }] },
    ...(http2 ? { typedExtensionProtocolOptions: http2Only } : {}),
  };
}

/** A listener on 0.0.0.0:`port` routing `path` to `cluster` (Istio's 15090 and 15021 listeners). */
function pathListener(name: string, port: number, path: string, cluster: string): MessageInitShape<typeof ListenerSchema> {
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: name,
    routeSpecifier: {
      case: 'routeConfig',
      value: { virtualHosts: [{ name: 'backend', domains: ['*'], routes: [{ match: { pathSpecifier: { case: 'prefix', value: path } }, action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: cluster } } } }] }] },
    },
    httpFilters: [{ name: 'envoy.filters.http.router', configType: { case: 'typedConfig', value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  return {
    name,
    address: addressOf(`0.0.0.0:${port}`),
    filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } }] }],
  };
}

export function envoyBootstrap(settings: AgentSettings, ip: string, name: string, locality: Locality, o: EnvoyBootstrapOptions): Bootstrap {
  const metadata: JsonObject = {
    NAMESPACE: settings.namespace,
    LABELS: settings.labels,
    INSTANCE_IPS: ip,
    CLUSTER_ID: settings.clusterId,
    INTERCEPTION_MODE: 'REDIRECT',
    WORKLOAD_NAME: settings.group,
    ...(settings.network !== '' ? { NETWORK: settings.network } : {}),
    ...(settings.serviceAccount !== '' ? { SERVICE_ACCOUNT: settings.serviceAccount } : {}),
    ...(o.localSecret !== undefined ? { [LOCAL_SECRET_METADATA]: o.localSecret } : {}),
  };
  const ads = { apiType: ApiConfigSource_ApiType.GRPC, transportApiVersion: ApiVersion.V3, setNodeOnFirstMessageOnly: true, grpcServices: [{ targetSpecifier: { case: 'envoyGrpc' as const, value: { clusterName: XDS_CLUSTER } }, initialMetadata: Object.entries(o.xdsInitialMetadata ?? {}).map(([key, value]) => ({ key, value })) }] };
  const viaAds = { configSourceSpecifier: { case: 'ads' as const, value: {} }, initialFetchTimeout: seconds(0), resourceApiVersion: ApiVersion.V3 };
  return create(BootstrapSchema, {
    node: {
      id: nodeId('sidecar', ip, name, settings.namespace),
      cluster: `${settings.group}.${settings.namespace}`,
      metadata,
      locality: { region: locality.region, zone: locality.zone, subZone: locality.subZone },
    },
    admin: { address: addressOf(`127.0.0.1:${ENVOY_PORTS.admin}`) },
    dynamicResources: { adsConfig: ads, cdsConfig: viaAds, ldsConfig: viaAds },
    staticResources: {
      clusters: [
        staticCluster(XDS_CLUSTER, addressOf(o.xdsProxy), true),
        ...(o.sdsAddress !== undefined ? [staticCluster(SDS_CLUSTER, addressOf(o.sdsAddress), true)] : []),
        staticCluster('prometheus_stats', addressOf(`127.0.0.1:${ENVOY_PORTS.admin}`), false),
      ],
      listeners: [pathListener('stats-prometheus', ENVOY_PORTS.prometheus, '/stats/prometheus', 'prometheus_stats'), pathListener('health-ready', ENVOY_PORTS.health, '/ready', 'prometheus_stats')],
    },
    statsConfig: { useAllDefaultTags: false },
  });
}

/** The bootstrap as Envoy reads it from a file: YAML of the proto3 JSON mapping. */
export function envoyBootstrapYaml(bootstrap: Bootstrap, registry: Registry): string {
  return stringify(toJson(BootstrapSchema, bootstrap, { registry }));
}

/**
 * Builds the bootstrap, checks it against every `validate.rules` constraint of Envoy's protos and
 * writes `DIR/envoy-bootstrap.yaml` (0600: it may hold the local secret); returns the path. Throws,
 * naming each violated rule, without writing when the bootstrap breaks one.
 */
export function writeEnvoyBootstrap(dir: string, settings: AgentSettings, ip: string, name: string, locality: Locality, o: EnvoyBootstrapOptions): string {
  const bootstrap = envoyBootstrap(settings, ip, name, locality, o);
  const violations = checkConstraints(BootstrapSchema, bootstrap, ENVOY_TYPE_REGISTRY);
  if (violations.length > 0) throw new Error(`the Envoy bootstrap breaks Envoy's constraints: ${violations.map((v) => `${v.path} ${v.rule}`).join('; ')}`);
  const path = join(dir, ENVOY_BOOTSTRAP_FILE);
  writeFileAtomic(path, envoyBootstrapYaml(bootstrap, ENVOY_TYPE_REGISTRY), 0o600);
  return path;
}
