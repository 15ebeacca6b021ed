/**
 * meshbridge's `MeshConfig` (cli-contract.md): Istio MeshConfig field names where they exist.
 * Known fields are type-checked; other fields are warned about (meshbridge ignores them).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import { capitalize } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { childPath, quote, readBoolean, readObject, readSpec, readString, readStringList, warnUnknownFields } from './json.js';
import { checkLocalityLbSetting } from './locality-lb.js';
import { isDNS1123Label, trustDomainProblem } from './names.js';
import type { KindValidator } from './resource-context.js';

const SPEC: FieldPath = ['spec'];
export const MESH_CONFIG_FIELDS = [
  'trustDomain',
  'trustDomainAliases',
  'enableAutoMtls',
  'localityLbSetting',
  'defaultServiceExportTo',
  'defaultDestinationRuleExportTo',
  'rootNamespace',
  'clusterId',
  'serviceEntryVisibility',
] as const;

export const validateMeshConfig: KindValidator = (resource, _context, out) => {
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  warnUnknownFields(spec, MESH_CONFIG_FIELDS, SPEC, out);
  checkTrustDomain(readString(spec, 'trustDomain', SPEC, out), childPath(SPEC, 'trustDomain'), out);
  (readStringList(spec, 'trustDomainAliases', SPEC, out) ?? []).forEach((alias, i) => {
    checkTrustDomain(alias, childPath(childPath(SPEC, 'trustDomainAliases'), i), out);
  });
  readBoolean(spec, 'enableAutoMtls', SPEC, out);
  // Istio validates the mesh setting as if outlier detection were present: no failover warning.
  checkLocalityLbSetting(spec, 'localityLbSetting', SPEC, { hasOutlierDetection: true }, out);
  checkDefaultExportTo(spec, 'defaultServiceExportTo', out);
  checkDefaultExportTo(spec, 'defaultDestinationRuleExportTo', out);
  const rootNamespace = readString(spec, 'rootNamespace', SPEC, out);
  if (rootNamespace !== undefined && !isDNS1123Label(rootNamespace)) {
    out.push(error(childPath(SPEC, 'rootNamespace'), `rootNamespace ${quote(rootNamespace)} must be a namespace name (an RFC-1123 label).`));
  }
  // an optional narrowing of ServiceEntry visibility; only its shape is checked here.
  readObject(spec, 'serviceEntryVisibility', SPEC, out);
  const clusterId = readString(spec, 'clusterId', SPEC, out);
  if (clusterId === '') out.push(error(childPath(SPEC, 'clusterId'), 'clusterId must not be empty (the default is "Kubernetes").'));
};

function checkTrustDomain(domain: string | undefined, path: FieldPath, out: Problems): void {
  if (domain === undefined) return;
  const problem = trustDomainProblem(domain);
  if (problem !== undefined) out.push(error(path, capitalize(problem)));
}

/** Entries are ".", "*", "~" or namespace names; "*" and "~" stand alone (as in V-EXP-3). */
function checkDefaultExportTo(spec: JsonObject, key: 'defaultServiceExportTo' | 'defaultDestinationRuleExportTo', out: Problems): void {
  const entries = readStringList(spec, key, SPEC, out);
  if (entries === undefined) return;
  const path = childPath(SPEC, key);
  entries.forEach((entry, i) => {
    if (entry !== undefined && entry !== '.' && entry !== '*' && entry !== '~' && !isDNS1123Label(entry)) {
      out.push(error(childPath(path, i), `${key} entry ${quote(entry)} is invalid: use ".", "*", "~" or a namespace name.`, 'V-EXP-1'));
    }
  });
  if ((entries.includes('*') || entries.includes('~')) && entries.length > 1) {
    out.push(error(path, `${key} cannot combine "*" or "~" with other entries.`, 'V-EXP-3'));
  }
}
