/**
 * Who the agent is to the control plane (agent-protocol.md §3): the workload name, its locality and
 * the two nodes it presents — the registering sidecar node of its own ADS stream, and the workload
 * as the proxyless node its gRPC bootstrap names (for the streams it opens on behalf of local apps).
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { parseLocality, type Locality } from '../model/mesh/locality.js';
import { CERTIFICATE_PROVIDERS_METADATA } from '../model/mesh/proxy-identity.js';
import { nodeId, workloadEntryName, type AgentSettings } from './bootstrap.js';
import { CERTIFICATE_PROVIDERS_DEFAULT } from './grpc-bootstrap.js';

export type AgentNode = MessageInitShape<typeof NodeSchema>;

export interface AgentIdentity {
  readonly settings: AgentSettings;
  /** The VM's IP (AR-2, H-2 default probe host). */
  readonly ip: string;
  /** AR-2's `<group>-<ip>[-<network>]`, or in identity-only mode the name given. */
  readonly name: string;
  readonly locality: Locality;
}

export interface AgentIdentityOptions {
  readonly settings: AgentSettings;
  readonly ip: string;
  /** `region/zone/subzone`; overrides `settings.locality`. */
  readonly locality?: string | undefined;
  readonly register?: boolean | undefined;
  /** Identity-only mode: the workload name (default the AR-2 entry name). */
  readonly name?: string | undefined;
}

export function agentIdentity(o: AgentIdentityOptions): AgentIdentity {
  return {
    settings: o.settings,
    ip: o.ip,
    name: o.register === false && o.name !== undefined ? o.name : workloadEntryName(o.settings.group, o.ip, o.settings.network),
    locality: parseLocality(o.locality ?? o.settings.locality),
  };
}

/** The node of the agent's ADS stream (agent-protocol.md §3): it registers the workload. */
export function registeringNode(id: AgentIdentity): AgentNode {
  const s = id.settings;
  return {
    id: nodeId('sidecar', id.ip, id.name, s.namespace),
    metadata: {
      AUTO_REGISTER_GROUP: s.group,
      NAMESPACE: s.namespace,
      LABELS: { ...s.labels },
      NETWORK: s.network,
      INSTANCE_IPS: id.ip,
      MESHBRIDGE_AGENT: 'true',
      SERVICE_ACCOUNT: s.serviceAccount,
      CLUSTER_ID: s.clusterId,
      ...(s.probe !== undefined ? { HEALTH_CHECKS: 'true' } : {}),
    },
    locality: id.locality,
    userAgentName: 'meshbridge-agent',
  };
}

/** The workload as a proxyless node (the one its gRPC bootstrap names). */
export function proxylessNode(id: AgentIdentity): AgentNode {
  const s = id.settings;
  return {
    id: nodeId('proxyless', id.ip, id.name, s.namespace),
    metadata: {
      GENERATOR: 'grpc',
      NAMESPACE: s.namespace,
      LABELS: { ...s.labels },
      ...(s.network !== '' ? { NETWORK: s.network } : {}),
      INSTANCE_IPS: id.ip,
      CLUSTER_ID: s.clusterId,
      ...(s.serviceAccount !== '' ? { [CERTIFICATE_PROVIDERS_METADATA]: CERTIFICATE_PROVIDERS_DEFAULT } : {}),
    },
    locality: id.locality,
    userAgentName: 'meshbridge-agent',
  };
}
