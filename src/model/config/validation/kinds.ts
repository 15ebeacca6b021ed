/**
 * Which kinds meshbridge validates, the API groups and versions that serve them, and their
 * validators. Adding a kind = one entry here.
 */
import { validateAuthorizationPolicy } from './authorization-policy.js';
import { validateDestinationRule } from './destination-rule.js';
import { validateNode } from './kube-node.js';
import { validatePod } from './kube-pod.js';
import { validateService } from './kube-service.js';
import { validateMeshConfig } from './mesh-config.js';
import { validateMeshNetworks } from './mesh-networks.js';
import { validatePeerAuthentication } from './peer-authentication.js';
import type { KindValidator } from './resource-context.js';
import { validateServiceEntry } from './service-entry.js';
import { validateVirtualService } from './virtual-service.js';
import { validateWorkloadEntry } from './workload-entry.js';
import { validateWorkloadGroup } from './workload-group.js';

export type KindFamily = 'istio' | 'kubernetes' | 'meshbridge';

export interface KindDefinition {
  /** API group; '' for the Kubernetes core group (`apiVersion: v1`). */
  readonly group: string;
  readonly versions: readonly string[];
  readonly family: KindFamily;
  /** Cluster-scoped kinds ignore metadata.namespace (Node, MeshConfig, MeshNetworks). */
  readonly namespaced: boolean;
  readonly validate: KindValidator;
}

/** API-6: networking kinds are served as v1 (storage), v1beta1 and v1alpha3. */
const NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

/**
 * Security kinds are served as v1 and v1beta1 by Istio; v1alpha3 is accepted too because the
 * CLI contract lists it for both Istio groups (harmless: the schema is the same).
 */
const SECURITY_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

function networking(validate: KindValidator): KindDefinition {
  return { group: 'networking.istio.io', versions: NETWORKING_VERSIONS, family: 'istio', namespaced: true, validate };
}

function security(validate: KindValidator): KindDefinition {
  return { group: 'security.istio.io', versions: SECURITY_VERSIONS, family: 'istio', namespaced: true, validate };
}

function core(validate: KindValidator, namespaced = true): KindDefinition {
  return { group: '', versions: ['v1'], family: 'kubernetes', namespaced, validate };
}

function meshbridge(validate: KindValidator): KindDefinition {
  return { group: 'meshbridge.io', versions: ['v1alpha1'], family: 'meshbridge', namespaced: false, validate };
}

export const KINDS: ReadonlyMap<string, KindDefinition> = new Map<string, KindDefinition>([
  ['ServiceEntry', networking(validateServiceEntry)],
  ['WorkloadEntry', networking(validateWorkloadEntry)],
  ['WorkloadGroup', networking(validateWorkloadGroup)],
  ['DestinationRule', networking(validateDestinationRule)],
  ['VirtualService', networking(validateVirtualService)],
  ['PeerAuthentication', security(validatePeerAuthentication)],
  ['AuthorizationPolicy', security(validateAuthorizationPolicy)],
  ['Pod', core(validatePod)],
  ['Service', core(validateService)],
  ['Node', core(validateNode, false)],
  ['MeshConfig', meshbridge(validateMeshConfig)],
  ['MeshNetworks', meshbridge(validateMeshNetworks)],
]);

/** `group/version`, or just `version` for the core group. */
export function formatApiVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Splits an apiVersion into group and version (`v1` is the core group). */
export function parseApiVersion(apiVersion: string): { readonly group: string; readonly version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}
