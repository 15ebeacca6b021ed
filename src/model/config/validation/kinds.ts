/**
 * Which kinds meshbridge validates, the API groups and versions that serve them, and their
 * validators. Adding a kind = one entry here.
 */
import type { KindValidator } from './resource-context.js';
import { validateServiceEntry } from './service-entry.js';
import { validateWorkloadEntry } from './workload-entry.js';
import { validateWorkloadGroup } from './workload-group.js';

export type KindFamily = 'istio' | 'kubernetes' | 'meshbridge';

export interface KindDefinition {
  /** API group; '' for the Kubernetes core group (`apiVersion: v1`). */
  readonly group: string;
  readonly versions: readonly string[];
  readonly family: KindFamily;
  readonly validate: KindValidator;
}

/** API-6: networking kinds are served as v1 (storage), v1beta1 and v1alpha3. */
const NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

function networking(validate: KindValidator): KindDefinition {
  return { group: 'networking.istio.io', versions: NETWORKING_VERSIONS, family: 'istio', validate };
}

export const KINDS: ReadonlyMap<string, KindDefinition> = new Map<string, KindDefinition>([
  ['ServiceEntry', networking(validateServiceEntry)],
  ['WorkloadEntry', networking(validateWorkloadEntry)],
  ['WorkloadGroup', networking(validateWorkloadGroup)],
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
