/**
 * VirtualService (Istio `ValidateVirtualService`). A VirtualService without hosts is a *delegate*
 * (Istio accepts it; it may then have no gateways, tls or tcp routes). Route weights follow Istio's
 * current rule: non-negative, and not all zero when there are several destinations.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { capitalize, readLabels, readPortNumber } from './checks.js';
import { checkExportTo } from './export-to.js';
import { checkHttpRoute } from './http-route.js';
import type { JsonObject, Problems } from './json.js';
import { asObjectItem, childPath, fieldOf, quote, readInteger, readList, readSpec, readStringList, warnUnknownFields } from './json.js';
import { isValidIP } from './ip.js';
import { wildcardDomainProblem } from './names.js';
import type { KindValidator } from './resource-context.js';
import { checkGatewayNames, checkRouteDestinations } from './route-destination.js';
import { ipOrCidrProblem } from './sub-validators.js';

const SPEC: FieldPath = ['spec'];
const VIRTUAL_SERVICE_FIELDS = ['hosts', 'gateways', 'http', 'tls', 'tcp', 'exportTo'] as const;
/** Pairwise host comparisons are quadratic; beyond this many hosts the duplicate check is skipped. */
const MAX_HOSTS_FOR_DUPLICATE_CHECK = 1000;

export const validateVirtualService: KindValidator = (resource, context, out) => {
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  warnUnknownFields(spec, VIRTUAL_SERVICE_FIELDS, SPEC, out);
  const hosts = (readStringList(spec, 'hosts', SPEC, out) ?? []).filter((h): h is string => h !== undefined);
  const gateways = checkGatewayNames(spec, 'gateways', SPEC, out);
  const http = readList(spec, 'http', SPEC, out) ?? [];
  const tls = readList(spec, 'tls', SPEC, out) ?? [];
  const tcp = readList(spec, 'tcp', SPEC, out) ?? [];
  const delegate = hosts.length === 0;
  if (delegate) {
    if (gateways.length > 0) out.push(error(childPath(SPEC, 'gateways'), 'A delegate VirtualService (one without hosts) must have no gateways.'));
    if (tls.length > 0) out.push(error(childPath(SPEC, 'tls'), 'A delegate VirtualService (one without hosts) must have no tls routes.'));
    if (tcp.length > 0) out.push(error(childPath(SPEC, 'tcp'), 'A delegate VirtualService (one without hosts) must have no tcp routes.'));
  }
  const appliesToMesh = gateways.length === 0 || gateways.includes('mesh');
  checkHosts(spec, appliesToMesh, out);
  if (http.length === 0 && tls.length === 0 && tcp.length === 0) {
    out.push(error(SPEC, 'A VirtualService needs http, tcp or tls routes.'));
  }
  http.forEach((item, i) => {
    const route = asObjectItem(item, childPath(childPath(SPEC, 'http'), i), out, 'An http route');
    if (route !== undefined) checkHttpRoute(route, childPath(childPath(SPEC, 'http'), i), delegate, out);
  });
  tls.forEach((item, i) => {
    const route = asObjectItem(item, childPath(childPath(SPEC, 'tls'), i), out, 'A tls route');
    if (route !== undefined) checkTlsRoute(route, childPath(childPath(SPEC, 'tls'), i), hosts, out);
  });
  tcp.forEach((item, i) => {
    const route = asObjectItem(item, childPath(childPath(SPEC, 'tcp'), i), out, 'A tcp route');
    if (route !== undefined) checkTcpRoute(route, childPath(childPath(SPEC, 'tcp'), i), out);
  });
  checkExportTo(spec, context.namespace, { allowNone: false }, out);
  for (const key of ['http', 'tls', 'tcp'] as const) warnUnreachableRoutes(readList(spec, key, SPEC, []) ?? [], childPath(SPEC, key), out);
};

/** Hosts: prefix-wildcard domains or IPs; no "*" for the mesh; no host that another one covers. */
function checkHosts(spec: JsonObject, appliesToMesh: boolean, out: Problems): void {
  const list = readStringList(spec, 'hosts', SPEC, []) ?? [];
  let allValid = true;
  list.forEach((host, i) => {
    if (host === undefined) return;
    const at = childPath(childPath(SPEC, 'hosts'), i);
    const problem = wildcardDomainProblem(host);
    if (problem !== undefined && !isValidIP(host)) {
      out.push(error(at, capitalize(problem)));
      allValid = false;
    } else if (appliesToMesh && host === '*') {
      out.push(error(at, 'The wildcard host "*" is not allowed for VirtualServices bound to the mesh.'));
      allValid = false;
    }
  });
  if (!allValid || list.length > MAX_HOSTS_FOR_DUPLICATE_CHECK) return;
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const [a, b] = [list[i], list[j]];
      if (a !== undefined && b !== undefined && hostsOverlap(a, b)) {
        out.push(error(childPath(childPath(SPEC, 'hosts'), j), `Duplicate hosts in the VirtualService: ${quote(a)} and ${quote(b)} overlap.`));
      }
    }
  }
}

/** Istio `host.Name.Matches`: equal names, or a `*` prefix wildcard that covers the other name. */
export function hostsOverlap(a: string, b: string): boolean {
  const aWild = a.startsWith('*');
  const bWild = b.startsWith('*');
  if (aWild && bWild) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aWild) return b.endsWith(a.slice(1));
  if (bWild) return a.endsWith(b.slice(1));
  return a === b;
}

function checkL4Match(match: JsonObject, path: FieldPath, out: Problems): void {
  (readStringList(match, 'destinationSubnets', path, out) ?? []).forEach((subnet, i) => {
    const problem = subnet === undefined ? undefined : ipOrCidrProblem(subnet);
    if (problem !== undefined) out.push(error(childPath(childPath(path, 'destinationSubnets'), i), capitalize(problem)));
  });
  if (readInteger(match, 'port', path, []) !== 0) readPortNumber(match, 'port', path, out);
  readLabels(match, 'sourceLabels', path, out);
  checkGatewayNames(match, 'gateways', path, out);
}

function checkTlsRoute(route: JsonObject, path: FieldPath, hosts: readonly string[], out: Problems): void {
  warnUnknownFields(route, ['match', 'route'], path, out);
  const matches = readList(route, 'match', path, out) ?? [];
  if (matches.length === 0) out.push(error(childPath(path, 'match'), 'A TLS route must have at least one match condition.'));
  matches.forEach((item, i) => {
    const at = childPath(childPath(path, 'match'), i);
    const match = asObjectItem(item, at, out, 'A TLS match');
    if (match === undefined) return;
    warnUnknownFields(match, ['sniHosts', 'destinationSubnets', 'port', 'sourceLabels', 'gateways', 'sourceNamespace'], at, out);
    const sniHosts = readStringList(match, 'sniHosts', at, out) ?? [];
    if (sniHosts.length === 0) out.push(error(childPath(at, 'sniHosts'), 'A TLS match must have at least one SNI host.'));
    sniHosts.forEach((sni, j) => {
      if (sni !== undefined) checkSniHost(sni, hosts, childPath(childPath(at, 'sniHosts'), j), out);
    });
    checkL4Match(match, at, out);
  });
  if (checkRouteDestinations(route, path, out) === 0) out.push(error(childPath(path, 'route'), 'A TLS route needs a route.'));
}

function checkSniHost(sni: string, hosts: readonly string[], path: FieldPath, out: Problems): void {
  const problem = wildcardDomainProblem(sni);
  if (problem !== undefined) {
    if (isValidIP(sni)) out.push(warning(path, `Using an IP address (${quote(sni)}) as SNI goes against the SNI spec; most clients do not support it.`));
    else out.push(error(path, capitalize(problem)));
    return;
  }
  const covered = hosts.some((h) => hostSubsetOf(sni, h));
  if (!covered) out.push(error(path, `SNI host ${quote(sni)} is not covered by any of the VirtualService hosts.`));
}

/** Istio `host.Name.SubsetOf`: every name matched by `name` is matched by `of`. */
export function hostSubsetOf(name: string, of: string): boolean {
  if (of.startsWith('*')) return name.startsWith('*') ? name.slice(1).endsWith(of.slice(1)) : name.endsWith(of.slice(1));
  return !name.startsWith('*') && name === of;
}

function checkTcpRoute(route: JsonObject, path: FieldPath, out: Problems): void {
  warnUnknownFields(route, ['match', 'route'], path, out);
  (readList(route, 'match', path, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'match'), i);
    const match = asObjectItem(item, at, out, 'A TCP match');
    if (match === undefined) return;
    warnUnknownFields(match, ['destinationSubnets', 'port', 'sourceSubnet', 'sourceLabels', 'gateways', 'sourceNamespace'], at, out);
    checkL4Match(match, at, out);
  });
  if (checkRouteDestinations(route, path, out) === 0) out.push(error(childPath(path, 'route'), 'A TCP route needs a route.'));
}

/** Istio's unreachable-rule warnings: a rule after a match-all rule, or whose matches all repeat earlier ones. */
function warnUnreachableRoutes(routes: readonly unknown[], path: FieldPath, out: Problems): void {
  let matchAllAt: number | undefined;
  const seen = new Set<string>();
  routes.forEach((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return;
    const matches = fieldOf(item as JsonObject, 'match');
    const list = Array.isArray(matches) ? (matches as unknown[]) : [];
    if (matchAllAt !== undefined) {
      out.push(warning(childPath(path, i), `This route is never used: route #${matchAllAt} before it matches everything.`));
      return;
    }
    if (list.length === 0) {
      matchAllAt = i;
      return;
    }
    const keys = list.map((m, j) => matchKey(m) ?? `unique:${i}:${j}`);
    if (keys.every((k) => seen.has(k))) out.push(warning(childPath(path, i), 'This route is never used: all its matches are used by earlier routes.'));
    keys.forEach((k) => seen.add(k));
  });
}

/** A comparable form of a match without its `name`; undefined when it cannot be serialised. */
function matchKey(match: unknown): string | undefined {
  try {
    return JSON.stringify(match, (key, value: unknown) => (key === 'name' ? undefined : typeof value === 'bigint' ? String(value) : value));
  } catch {
    return undefined; // e.g. a cyclic structure built with YAML aliases
  }
}
