/**
 * The gRPC xDS bootstrap the agent writes for local proxyless gRPC applications
 * (`DIR/grpc-bootstrap.json`; apps point `GRPC_XDS_BOOTSTRAP` at it). The node is the VM's
 * workload seen as a proxyless client: id `proxyless~<ip>~<name>.<ns>~<ns>.svc.cluster.local`,
 * metadata GENERATOR=grpc (so the control plane serves the gRPC flavour), NAMESPACE, LABELS,
 * NETWORK, INSTANCE_IPS, CLUSTER_ID, and the locality (required by grpc-js-xds, may be empty).
 * No AUTO_REGISTER_GROUP: only the agent registers the workload.
 *
 * `xdsServer` is where the apps' xDS streams go: the agent's xDS proxy on loopback (agent-protocol.md
 * §9), plaintext since grpc-js-xds cannot use TLS to an xDS server. With `certificateProviders` (the
 * group has an identity) the bootstrap names the agent's certificate files (A29 file_watcher) and the
 * node carries `CERTIFICATE_PROVIDERS: "default"`: the control plane may then send this app TLS
 * configuration (mTLS clusters and inbound listeners), which it must not for an app without them.
 * With the xDS proxy, the node carries the proxy's local secret (MESHBRIDGE_LOCAL_SECRET): only apps
 * that can read this file (mode 0600, the agent's user) may use the proxy.
 */
import type { Locality } from '../model/mesh/locality.js';
import type { AgentSettings } from './bootstrap.js';
import { nodeId } from './bootstrap.js';
import { LOCAL_SECRET_METADATA } from './xds-proxy.js';
import { CERTIFICATE_PROVIDER_INSTANCE, CERTIFICATE_PROVIDERS_METADATA, INBOUND_LISTENER_TEMPLATE } from '../xds/generate/names.js';

export interface GrpcBootstrapOptions {
  /** `host:port` of the xDS server the apps use (the agent's xDS proxy). */
  readonly xdsServer: string;
  /** The `certificate_providers` section (gRPC A29), when the workload has an identity. */
  readonly certificateProviders?: object;
  /** The xDS proxy's local secret (node metadata MESHBRIDGE_LOCAL_SECRET; xds-proxy.ts): the file is then secret too. */
  readonly localSecret?: string;
}

/** The value of `CERTIFICATE_PROVIDERS` when the bootstrap declares the `default` provider. */
export const CERTIFICATE_PROVIDERS_DEFAULT = CERTIFICATE_PROVIDER_INSTANCE;
export const SERVER_LISTENER_TEMPLATE = INBOUND_LISTENER_TEMPLATE;

export function grpcBootstrap(settings: AgentSettings, ip: string, name: string, locality: Locality, o: GrpcBootstrapOptions): object {
  const doc = {
    xds_servers: [{ server_uri: o.xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: nodeId('proxyless', ip, name, settings.namespace),
      metadata: {
        GENERATOR: 'grpc',
        NAMESPACE: settings.namespace,
        LABELS: settings.labels,
        ...(settings.network !== '' ? { NETWORK: settings.network } : {}),
        INSTANCE_IPS: ip,
        CLUSTER_ID: settings.clusterId,
        ...(o.certificateProviders !== undefined ? { [CERTIFICATE_PROVIDERS_METADATA]: CERTIFICATE_PROVIDERS_DEFAULT } : {}),
        ...(o.localSecret !== undefined ? { [LOCAL_SECRET_METADATA]: o.localSecret } : {}),
      },
      locality: {
        ...(locality.region !== '' ? { region: locality.region } : {}),
        ...(locality.zone !== '' ? { zone: locality.zone } : {}),
        ...(locality.subZone !== '' ? { sub_zone: locality.subZone } : {}),
      },
    },
  };
  // xDS-enabled servers need the listener template with or without an identity (plaintext then).
  const withTemplate = { ...doc, server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE };
  return o.certificateProviders !== undefined ? { ...withTemplate, certificate_providers: o.certificateProviders } : withTemplate;
}
