/**
 * Checks shared by several kinds that report problems with a rule id: port numbers (V-SUB-1),
 * port names (V-SUB-2), protocols (V-SUB-3), label maps (V-SUB-9), host names (V-SUB-5/6),
 * and Istio's two workload selector shapes.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import type { JsonObject, Problems } from './json.js';
import { asInteger, childPath, fieldName, fieldOf, quote, readObject, readStringMap, warnUnknownFields } from './json.js';
import type { LabelSyntaxOptions } from './names.js';
import { isValidPortName, labelKeyProblem, labelValueProblem, wildcardDomainProblem } from './names.js';
import type { Protocol } from './protocol.js';
import { parseProtocol } from './protocol.js';

/**
 * V-SUB-1 on a value already read: must be a whole number in 1..65535 ("port number N must be in
 * the range 1..65535"). Returns the port or undefined.
 */
export function checkPortNumber(value: unknown, path: FieldPath, out: Problems, rule = 'V-SUB-1'): number | undefined {
  const n = asInteger(value, path, out);
  if (n === undefined) return undefined;
  if (n < 1 || n > 65535) {
    out.push(error(path, `Port number ${n} at ${fieldName(path)} must be in the range 1..65535.`, rule));
    return undefined;
  }
  return n;
}

/** V-SUB-1 on a field; `required` reports a missing field as "is required". */
export function readPortNumber(
  obj: JsonObject,
  key: string,
  path: FieldPath,
  out: Problems,
  options: { readonly required?: boolean; readonly rule?: string } = {},
): number | undefined {
  const value = fieldOf(obj, key);
  const at = childPath(path, key);
  if (value === undefined || value === null) {
    if (options.required === true) out.push(error(at, `${fieldName(at)} is required (a port number in 1..65535).`, options.rule ?? 'V-SUB-1'));
    return undefined;
  }
  return checkPortNumber(value, at, out, options.rule);
}

/** V-SUB-2: "invalid port name: X". */
export function checkPortName(name: string, path: FieldPath, out: Problems, rule = 'V-SUB-2'): boolean {
  if (isValidPortName(name)) return true;
  out.push(error(path, `Invalid port name ${quote(name)}: it must be an RFC-1123 label (letters, digits and "-", at most 63).`, rule));
  return false;
}

/**
 * V-SUB-3: an empty protocol means "sniff"; otherwise it must be an Istio protocol in any case.
 * Returns the canonical protocol, or undefined for empty or unsupported.
 */
export function checkProtocol(text: string, path: FieldPath, out: Problems, rule = 'V-SUB-3'): Protocol | undefined {
  if (text === '') return undefined;
  const parsed = parseProtocol(text);
  if (parsed === undefined) {
    out.push(
      error(path, `Unsupported protocol ${quote(text)}; use one of TCP, UDP, HTTP, HTTP2, HTTPS, GRPC, GRPC-Web, HTTP_PROXY, TLS, Mongo, Redis, MySQL.`, rule),
    );
  }
  return parsed;
}

/** V-SUB-9 over a map already read: one error per bad key or value, at that key's path. */
export function checkLabelSyntax(
  labels: ReadonlyMap<string, string>,
  path: FieldPath,
  out: Problems,
  rule = 'V-SUB-9',
  options: LabelSyntaxOptions = {},
): void {
  for (const [key, value] of labels) {
    const problem = labelKeyProblem(key, options) ?? labelValueProblem(value, options);
    if (problem !== undefined) out.push(error(childPath(path, key), capitalize(problem), rule));
  }
}

/** Reads a string map field and checks V-SUB-9 on it. */
export function readLabels(
  obj: JsonObject,
  key: string,
  path: FieldPath,
  out: Problems,
  rule = 'V-SUB-9',
): ReadonlyMap<string, string> | undefined {
  const labels = readStringMap(obj, key, path, out);
  if (labels !== undefined) checkLabelSyntax(labels, childPath(path, key), out, rule);
  return labels;
}

/** V-SUB-6 at `path`: a host with an optional wildcard prefix. */
export function checkWildcardDomain(host: string, path: FieldPath, out: Problems, rule?: string): boolean {
  const problem = wildcardDomainProblem(host);
  if (problem === undefined) return true;
  out.push(error(path, capitalize(problem), rule));
  return false;
}

/**
 * `selector: {matchLabels}` of DestinationRule, PeerAuthentication, AuthorizationPolicy (Istio
 * `validateWorkloadSelector`): keys must be non-empty, no `*` anywhere; no labels is a warning.
 */
export function checkMatchLabelsSelector(spec: JsonObject, key: string, path: FieldPath, out: Problems): JsonObject | undefined {
  const selector = readObject(spec, key, path, out);
  if (selector === undefined) return undefined;
  const at = childPath(path, key);
  warnUnknownFields(selector, ['matchLabels'], at, out);
  const labels = readStringMap(selector, 'matchLabels', at, out);
  checkSelectorLabels(labels, childPath(at, 'matchLabels'), out);
  if (labels === undefined || labels.size === 0) {
    out.push(warning(at, `${fieldName(at)} has no labels, so it applies to every workload in the namespace.`));
  }
  return selector;
}

/** No empty key and no `*` in keys or values (V-SE-1 for ServiceEntry; the same rule elsewhere). */
export function checkSelectorLabels(
  labels: ReadonlyMap<string, string> | undefined,
  path: FieldPath,
  out: Problems,
  rule?: string,
): boolean {
  let ok = true;
  for (const [k, v] of labels ?? []) {
    if (k === '') {
      out.push(error(childPath(path, k), `An empty label key is not supported in a selector (${quote(`${k}=${v}`)}).`, rule));
      ok = false;
    }
    if (k.includes('*') || v.includes('*')) {
      out.push(error(childPath(path, k), `A wildcard is not supported in a selector (${quote(`${k}=${v}`)}).`, rule));
      ok = false;
    }
  }
  return ok;
}

export function capitalize(sentence: string): string {
  return sentence.length === 0 ? sentence : sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
