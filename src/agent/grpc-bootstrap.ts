/**
 * The gRPC xDS bootstrap the agent writes for local proxyless gRPC applications
 * (`DIR/grpc-bootstrap.json`; apps point `GRPC_XDS_BOOTSTRAP` at it). The node is the VM's
 * workload seen as a proxyless client: id `proxyless~<ip>~<name>.<ns>~<ns>.svc.cluster.local`,
 * metadata GENERATOR=grpc (so the control plane serves the gRPC flavour), NAMESPACE, LABELS,
 * NETWORK, INSTANCE_IPS, CLUSTER_ID, and the locality (required by grpc-js-xds, may be empty).
 * No AUTO_REGISTER_GROUP: only the agent registers the workload.
 */
import type { AgentSettings, Locality } from './bootstrap.js';
import { nodeId } from './bootstrap.js';

export function grpcBootstrap(settings: AgentSettings, ip: string, name: string, locality: Locality): object {
  return {
    xds_servers: [{ server_uri: settings.controlPlane, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: nodeId('proxyless', ip, name, settings.namespace),
      metadata: {
        GENERATOR: 'grpc',
        NAMESPACE: settings.namespace,
        LABELS: settings.labels,
        ...(settings.network !== '' ? { NETWORK: settings.network } : {}),
        INSTANCE_IPS: ip,
        CLUSTER_ID: settings.clusterId,
      },
      locality: {
        ...(locality.region !== '' ? { region: locality.region } : {}),
        ...(locality.zone !== '' ? { zone: locality.zone } : {}),
        ...(locality.subZone !== '' ? { sub_zone: locality.subZone } : {}),
      },
    },
  };
}
