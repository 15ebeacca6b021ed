/**
 * Pieces of VirtualService routes shared by http, tcp and tls routes: destinations and their
 * weights, string matches, gateway names and header operations (Istio `validateDestination`,
 * `validateHTTPRouteDestinations`, `validateStringMatch`, `validateGatewayNames`).
 *
 * Weights follow Istio's current behaviour (since 1.12): each weight is a non-negative int32 and,
 * with more than one destination, they may add up to anything except 0 (Envoy normalises them).
 * The old "total destination weight must be 100" rule is gone.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { capitalize, checkWildcardDomain, readPortNumber } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import {
  INT32_MAX,
  asObjectItem,
  childPath,
  isPresent,
  quote,
  readInteger,
  readList,
  readObject,
  readString,
  readStringList,
  stringEntries,
  warnUnknownFields,
} from './json.js';
import { fqdnProblem, isDNS1123Label } from './names.js';

/** `destination: {host, subset, port: {number}}`. */
export function checkDestination(destination: JsonObject, path: FieldPath, out: Problems): void {
  warnUnknownFields(destination, ['host', 'subset', 'port'], path, out);
  const host = readString(destination, 'host', path, out) ?? '';
  const hostPath = childPath(path, 'host');
  if (host === '') out.push(error(hostPath, 'destination.host is required.'));
  else if (host === '*') out.push(error(hostPath, 'destination.host "*" is invalid; name a service.'));
  else checkWildcardDomain(host, hostPath, out);
  const subset = readString(destination, 'subset', path, out);
  if (subset !== undefined && subset !== '' && !isDNS1123Label(subset)) {
    out.push(error(childPath(path, 'subset'), `Subset name ${quote(subset)} is invalid: it must be an RFC-1123 label.`));
  }
  const port = readObject(destination, 'port', path, out);
  if (port !== undefined) {
    warnUnknownFields(port, ['number'], childPath(path, 'port'), out);
    readPortNumber(port, 'number', childPath(path, 'port'), out, { required: true });
  }
}

/** A list of weighted destinations (`route` of http, tcp and tls routes). */
export function checkRouteDestinations(route: JsonObject, path: FieldPath, out: Problems, extraFields: readonly string[] = []): number {
  const list = readList(route, 'route', path, out) ?? [];
  const listPath = childPath(path, 'route');
  let total = 0;
  list.forEach((item, i) => {
    const at = childPath(listPath, i);
    const weighted = asObjectItem(item, at, out, 'A route destination');
    if (weighted === undefined) return;
    warnUnknownFields(weighted, ['destination', 'weight', ...extraFields], at, out);
    const destination = readObject(weighted, 'destination', at, out);
    if (destination === undefined) out.push(error(childPath(at, 'destination'), 'destination is required.'));
    else checkDestination(destination, childPath(at, 'destination'), out);
    const weight = readInteger(weighted, 'weight', at, out);
    if (weight !== undefined && weight < 0) out.push(error(childPath(at, 'weight'), `weight ${weight} must not be negative.`));
    else if (weight !== undefined && weight > INT32_MAX) out.push(error(childPath(at, 'weight'), `weight ${weight} is too large (at most ${INT32_MAX}).`));
    else total += weight ?? 0;
    if (extraFields.includes('headers')) checkHeaderOperations(weighted, at, out);
  });
  if (list.length > 1 && total === 0) {
    out.push(error(listPath, 'The total destination weight is 0; give at least one destination a positive weight.'));
  }
  return list.length;
}

/**
 * `StringMatch`: exactly one of exact, prefix, regex. A prefix must be non-empty except for uri;
 * a regex must be RE2 (checked approximately) and at most 1024 characters.
 */
export function checkStringMatch(parent: JsonObject, key: string, path: FieldPath, out: Problems, options: { allowEmptyPrefix?: boolean } = {}): void {
  const match = readObject(parent, key, path, out);
  if (match === undefined) return;
  checkStringMatchValue(match, childPath(path, key), out, options);
}

export function checkStringMatchValue(match: JsonObject, at: FieldPath, out: Problems, options: { allowEmptyPrefix?: boolean } = {}): void {
  warnUnknownFields(match, ['exact', 'prefix', 'regex'], at, out);
  const kinds = (['exact', 'prefix', 'regex'] as const).filter((k) => isPresent(match, k));
  if (kinds.length > 1) out.push(error(at, `A string match takes one of exact, prefix or regex; found ${kinds.join(', ')}.`));
  readString(match, 'exact', at, out);
  const prefix = readString(match, 'prefix', at, out);
  if (prefix === '' && options.allowEmptyPrefix !== true) out.push(error(childPath(at, 'prefix'), 'A prefix string match must not be empty.'));
  const regex = readString(match, 'regex', at, out);
  if (regex !== undefined) {
    const problem = regexProblem(regex);
    if (problem !== undefined) out.push(error(childPath(at, 'regex'), problem));
  }
}

/** Envoy's RE2: refuse what RE2 cannot compile (look-around, back-references) and what JS finds malformed. */
export function regexProblem(regex: string): string | undefined {
  if (regex === '') return 'A regex string match must not be empty.';
  if (regex.length > 1024) return 'The regex is too large; at most 1024 characters are allowed.';
  if (/\(\?<?[=!]/.test(regex)) return `Regex ${quote(regex)} uses look-around, which RE2 does not support.`;
  if (/\\[1-9]/.test(regex)) return `Regex ${quote(regex)} uses a back-reference, which RE2 does not support.`;
  try {
    new RegExp(regex.replace(/\(\?P</g, '(?<'), 'u');
    return undefined;
  } catch {
    return `Regex ${quote(regex)} does not compile; Istio uses RE2 syntax.`;
  }
}

/** Gateway references: `namespace/name`, or a legacy FQDN such as `mesh` or `gw.ns.svc.cluster.local`. */
export function checkGatewayNames(parent: JsonObject, key: string, path: FieldPath, out: Problems): readonly string[] {
  const names = readStringList(parent, key, path, out) ?? [];
  const listPath = childPath(path, key);
  names.forEach((name, i) => {
    if (name === undefined) return;
    const at = childPath(listPath, i);
    const slash = name.indexOf('/');
    if (slash < 0) {
      if (name.includes('.')) {
        const [first = '', second = ''] = name.split('.');
        out.push(warning(at, `Gateway name ${quote(name)} uses the legacy format; prefer <namespace>/<name>: ${quote(`${second}/${first}`)}.`));
      }
      const problem = fqdnProblem(name);
      if (problem !== undefined) out.push(error(at, capitalize(problem)));
      return;
    }
    const namespace = name.slice(0, slash);
    const gateway = name.slice(slash + 1);
    if (!isDNS1123Label(namespace)) out.push(error(at, `Gateway namespace ${quote(namespace)} is invalid: it must be an RFC-1123 label.`));
    if (!isDNS1123Label(gateway)) out.push(error(at, `Gateway name ${quote(gateway)} is invalid: it must be an RFC-1123 label.`));
  });
  return names.filter((n): n is string => n !== undefined);
}

/** `headers: {request|response: {set, add, remove}}`: header names must be usable by Envoy. */
export function checkHeaderOperations(parent: JsonObject, path: FieldPath, out: Problems): void {
  const headers = readObject(parent, 'headers', path, out);
  if (headers === undefined) return;
  const at = childPath(path, 'headers');
  warnUnknownFields(headers, ['request', 'response'], at, out);
  for (const direction of ['request', 'response'] as const) {
    const ops = readObject(headers, direction, at, out);
    if (ops === undefined) continue;
    const opsPath = childPath(at, direction);
    warnUnknownFields(ops, ['set', 'add', 'remove'], opsPath, out);
    for (const op of ['set', 'add'] as const) {
      const map = readObject(ops, op, opsPath, out);
      if (map === undefined) continue;
      for (const name of stringEntries(map, childPath(opsPath, op), out).keys()) {
        checkHeaderName(name, childPath(childPath(opsPath, op), name), direction === 'request', out);
      }
    }
    (readStringList(ops, 'remove', opsPath, out) ?? []).forEach((name, i) => {
      if (name !== undefined) checkHeaderName(name, childPath(childPath(opsPath, 'remove'), i), false, out);
    });
  }
}

function checkHeaderName(name: string, path: FieldPath, allowAuthority: boolean, out: Problems): void {
  const lower = name.toLowerCase();
  if (name === '') out.push(error(path, 'A header name must not be empty.'));
  else if (lower === 'host' && !allowAuthority) out.push(error(path, 'The Host header cannot be modified here.'));
  else if (name.startsWith(':') && !(allowAuthority && lower === ':authority')) {
    out.push(error(path, `Header ${quote(name)} cannot be modified: pseudo-headers (":" prefix) are internal.`));
  }
}
