/** AuthorizationPolicy `when` conditions (Istio `security.ValidateAttribute`) and IP blocks. */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import type { JsonObject, Problems } from './json.js';
import { childPath, fieldName, quote, readString, readStringList } from './json.js';
import { parseCidr, parseIP } from './ip.js';

/** Keys matched exactly, with how their values are checked. */
const EXACT_KEYS: ReadonlyMap<string, 'ip' | 'port' | 'any'> = new Map([
  ['source.ip', 'ip'],
  ['remote.ip', 'ip'],
  ['source.namespace', 'any'],
  ['source.principal', 'any'],
  ['source.serviceAccount', 'any'],
  ['request.auth.principal', 'any'],
  ['request.auth.audiences', 'any'],
  ['request.auth.presenter', 'any'],
  ['destination.ip', 'ip'],
  ['destination.port', 'port'],
  ['connection.sni', 'any'],
]);
/** Keys written as `prefix[name]`. */
const MAP_KEY_PREFIXES = ['request.headers', 'request.auth.claims', 'experimental.envoy.filters.'] as const;
/** Keys Istio refuses with a specific reason. */
const RETIRED_KEYS: ReadonlyMap<string, string> = new Map([
  ['destination.namespace', 'is replaced by the policy namespace (metadata.namespace)'],
  ['destination.name', 'is only supported in v1alpha1'],
  ['destination.user', 'is only supported in v1alpha1'],
]);

/** The CUSTOM action cannot use identity-based conditions. */
const NOT_FOR_CUSTOM = ['source.namespace', 'source.serviceAccount', 'source.principal'] as const;

/**
 * AuthorizationPolicy fails closed: a field its schema does not define is an error, not a warning
 * (an ignored `notPrincipals` misspelt, or a `form:` for `from:`, would silently widen an ALLOW or
 * narrow a DENY), as a strict Kubernetes API server refuses it.
 */
export function refuseUnknownFields(obj: JsonObject, known: readonly string[], path: FieldPath, out: Problems): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    out.push(error(childPath(path, key), `unknown field ${quote(key)} in ${fieldName(path)}: AuthorizationPolicy refuses unknown fields (one ignored could widen who is allowed); the fields here are ${known.join(', ')}.`));
  }
}

export function checkWhenCondition(condition: JsonObject, path: FieldPath, action: string | undefined, out: Problems): void {
  refuseUnknownFields(condition, ['key', 'values', 'notValues'], path, out);
  const key = readString(condition, 'key', path, out) ?? '';
  const keyPath = childPath(path, 'key');
  const values = readStringList(condition, 'values', path, out) ?? [];
  const notValues = readStringList(condition, 'notValues', path, out) ?? [];
  if (key === '') {
    out.push(error(keyPath, 'A `when` condition needs a key.'));
    return;
  }
  if (values.length === 0 && notValues.length === 0) {
    out.push(error(path, `At least one of values or notValues must be set for key ${quote(key)}.`));
  }
  const problem = keyProblem(key);
  if (problem !== undefined) out.push(error(keyPath, problem));
  if (action === 'CUSTOM' && ((NOT_FOR_CUSTOM as readonly string[]).includes(key) || key.startsWith('request.auth.'))) {
    out.push(error(keyPath, `${quote(key)} is not supported with the CUSTOM action.`));
  }
  const kind = EXACT_KEYS.get(key) ?? 'any';
  for (const [field, list] of [['values', values], ['notValues', notValues]] as const) {
    list.forEach((value, i) => {
      if (value === undefined) return;
      const at = childPath(childPath(path, field), i);
      if (value === '') out.push(error(at, `An empty value is not allowed for key ${quote(key)}.`));
      else if (kind === 'ip') checkIpBlock(value, at, out);
      else if (kind === 'port' && !(/^[0-9]+$/.test(value) && Number(value) <= 65535)) out.push(error(at, `Port ${quote(value)} must be a number in the range 0..65535.`));
    });
  }
}

function keyProblem(key: string): string | undefined {
  if (EXACT_KEYS.has(key)) return undefined;
  const retired = RETIRED_KEYS.get(key) ?? (key.startsWith('destination.labels') ? 'is replaced by the workload selector' : undefined);
  if (retired !== undefined) return `The attribute ${quote(key)} ${retired}.`;
  const prefix = MAP_KEY_PREFIXES.find((p) => key.startsWith(p));
  if (prefix === undefined) return `Unknown attribute ${quote(key)} in a \`when\` condition.`;
  const open = key.indexOf('[');
  if (key.endsWith(']') && open > 0 && open < key.length - 2) return undefined;
  return `Key ${quote(key)} must have the form ${prefix}[name].`;
}

/** An IP address or, with a "/", a CIDR prefix (Go `netip`). */
export function checkIpBlock(value: string, path: FieldPath, out: Problems): void {
  if (value.includes('/') ? parseCidr(value) === undefined : parseIP(value) === undefined) {
    out.push(error(path, `${quote(value)} is not a valid IP address or CIDR range.`));
  }
}
