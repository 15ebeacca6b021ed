/** Kind names as `get`/`delete` accept them: Istio's and kubectl's singular, plural and short forms. */
import { KINDS, type Kind } from './types.js';

const ALIASES: Readonly<Record<string, Kind>> = {
  se: 'ServiceEntry',
  serviceentry: 'ServiceEntry',
  serviceentries: 'ServiceEntry',
  we: 'WorkloadEntry',
  workloadentry: 'WorkloadEntry',
  workloadentries: 'WorkloadEntry',
  wg: 'WorkloadGroup',
  workloadgroup: 'WorkloadGroup',
  workloadgroups: 'WorkloadGroup',
  dr: 'DestinationRule',
  destinationrule: 'DestinationRule',
  destinationrules: 'DestinationRule',
  vs: 'VirtualService',
  virtualservice: 'VirtualService',
  virtualservices: 'VirtualService',
  pa: 'PeerAuthentication',
  peerauthentication: 'PeerAuthentication',
  peerauthentications: 'PeerAuthentication',
  ap: 'AuthorizationPolicy',
  authorizationpolicy: 'AuthorizationPolicy',
  authorizationpolicies: 'AuthorizationPolicy',
  po: 'Pod',
  pod: 'Pod',
  pods: 'Pod',
  svc: 'Service',
  service: 'Service',
  services: 'Service',
  no: 'Node',
  node: 'Node',
  nodes: 'Node',
  meshconfig: 'MeshConfig',
  meshconfigs: 'MeshConfig',
  meshnetworks: 'MeshNetworks',
};

export function kindFromName(name: string): Kind | undefined {
  const lower = name.toLowerCase();
  const short = lower.split('.')[0] ?? lower; // `workloadentries.networking.istio.io`
  return ALIASES[short] ?? KINDS.find((k) => k.toLowerCase() === short);
}

/** `workloadentry.networking.istio.io`, as kubectl prints it. */
export function qualifiedKind(kind: Kind, apiVersion: string): string {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return group ? `${kind.toLowerCase()}.${group}` : kind.toLowerCase();
}

/** The API version objects of a kind are written with by default (for messages about objects not at hand). */
export function defaultApiVersion(kind: Kind): string {
  switch (kind) {
    case 'PeerAuthentication':
    case 'AuthorizationPolicy':
      return 'security.istio.io/v1';
    case 'Pod':
    case 'Service':
    case 'Node':
      return 'v1';
    case 'MeshConfig':
    case 'MeshNetworks':
      return 'meshbridge.io/v1alpha1';
    default:
      return 'networking.istio.io/v1';
  }
}
