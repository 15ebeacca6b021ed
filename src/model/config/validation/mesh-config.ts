/**
 * meshbridge's `MeshConfig` (cli-contract.md): Istio MeshConfig field names where they exist.
 * Known fields are type-checked; other fields are warned about (meshbridge ignores them).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import { capitalize } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { childPath, isJsonObject, quote, readBoolean, readList, readObject, readSpec, readString, readStringList, readStringMap, typeError, warnUnknownFields } from './json.js';
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
  'discoverySelectors',
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
  checkDiscoverySelectors(spec, out);
  const clusterId = readString(spec, 'clusterId', SPEC, out);
  if (clusterId === '') out.push(error(childPath(SPEC, 'clusterId'), 'clusterId must not be empty (the default is "Kubernetes").'));
};

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** `discoverySelectors`: a list of label selectors, each checked as Kubernetes' LabelSelectorAsSelector does. */
function checkDiscoverySelectors(spec: JsonObject, out: Problems): void {
  const selectors = readList(spec, 'discoverySelectors', SPEC, out);
  const listPath = childPath(SPEC, 'discoverySelectors');
  selectors?.forEach((item, i) => {
    const path = childPath(listPath, i);
    if (!isJsonObject(item)) {
      out.push(typeError(path, 'a label selector (matchLabels, matchExpressions)', item));
      return;
    }
    warnUnknownFields(item, ['matchLabels', 'matchExpressions'], path, out);
    readStringMap(item, 'matchLabels', path, out);
    const expressionsPath = childPath(path, 'matchExpressions');
    readList(item, 'matchExpressions', path, out)?.forEach((e, j) => checkSelectorRequirement(e, childPath(expressionsPath, j), out));
  });
}

function checkSelectorRequirement(e: unknown, path: FieldPath, out: Problems): void {
  if (!isJsonObject(e)) {
    out.push(typeError(path, 'a requirement (key, operator, values)', e));
    return;
  }
  warnUnknownFields(e, ['key', 'operator', 'values'], path, out);
  const key = readString(e, 'key', path, out);
  if (key === undefined || key === '') out.push(error(childPath(path, 'key'), 'key must be a label key.'));
  const operator = readString(e, 'operator', path, out);
  const values = readStringList(e, 'values', path, out) ?? [];
  if (operator === undefined || !SELECTOR_OPERATORS.includes(operator)) {
    out.push(error(childPath(path, 'operator'), `operator ${quote(operator ?? '')} is not one of ${SELECTOR_OPERATORS.join(', ')}.`));
  } else if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    out.push(error(childPath(path, 'values'), `values must not be empty when operator is ${operator}.`));
  } else if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
    out.push(error(childPath(path, 'values'), `values must be empty when operator is ${operator}.`));
  }
}

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
