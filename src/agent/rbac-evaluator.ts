/**
 * A small, pure evaluator of Envoy RBAC (`envoy.config.rbac.v3.RBAC`) for one TCP connection: what
 * Envoy's network RBAC filter decides, applied by the agent's inbound proxy (agent-protocol.md §11)
 * to the RBAC filters of the inbound Listener the control plane generates (xds/generate/authz.ts).
 *
 * Per filter (in order; the first denial wins): action ALLOW allows a connection when one of its
 * policies matches, DENY denies it when one matches, LOG decides nothing; a filter without `rules`
 * decides nothing. A policy matches when one of its principals and one of its permissions match.
 *
 * Attributes of a connection: the authenticated principal (`principal_name` is matched against the
 * peer certificate's first URI SAN, else its first DNS SAN, else its subject, as Envoy does; a
 * plaintext connection has none, so every `authenticated` matcher fails on it), the direct remote
 * IP (`direct_remote_ip`, `remote_ip` and `source_ip`: no proxy protocol, no XFF on TCP), the
 * destination IP and port, and the TLS server name.
 *
 * Leaves a TCP connection cannot evaluate (`header`, `url_path`, `uri_template`, `metadata`,
 * `filter_state`, `matcher`, a `condition`, a regex JavaScript cannot compile) follow Istio's TCP
 * rule (its builder's `forTCP`): an ALLOW policy using one is dropped (it never matches: a smaller
 * allow), a DENY policy treats the attribute as unknown and matches when the rest of it could match
 * (Kleene logic: a wider deny). Both fail closed.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Permission, Policy, Principal, RBAC } from '../gen/envoy/config/rbac/v3/rbac_pb.js';
import { RBAC_Action } from '../gen/envoy/config/rbac/v3/rbac_pb.js';
import type { CidrRange } from '../gen/envoy/config/core/v3/address_pb.js';
import type { StringMatcher } from '../gen/envoy/type/matcher/v3/string_pb.js';

/** What one TCP connection presents to RBAC. */
export interface ConnectionAttributes {
  /** The verified peer's principal (see the module comment); undefined: plaintext or no certificate. */
  readonly principal?: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** The TLS SNI; '' when none. */
  readonly serverName?: string;
}

export type RbacDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** Kleene truth: `unknown` for what a TCP connection cannot tell. */
type Truth = boolean | 'unknown';

const and = (a: Truth, b: Truth): Truth => (a === false || b === false ? false : a === 'unknown' || b === 'unknown' ? 'unknown' : true);
const or = (a: Truth, b: Truth): Truth => (a === true || b === true ? true : a === 'unknown' || b === 'unknown' ? 'unknown' : false);
const not = (a: Truth): Truth => (a === 'unknown' ? 'unknown' : !a);
const some = <T>(items: readonly T[], f: (x: T) => Truth): Truth => items.reduce<Truth>((acc, x) => (acc === true ? true : or(acc, f(x))), false);
const every = <T>(items: readonly T[], f: (x: T) => Truth): Truth => items.reduce<Truth>((acc, x) => (acc === false ? false : and(acc, f(x))), true);

/** Decides one connection against RBAC filter configurations applied in order (DENY filters first, as generated). */
export function authorizeConnection(filters: readonly (RBAC | undefined)[], conn: ConnectionAttributes): RbacDecision {
  for (const rbac of filters) {
    if (rbac === undefined) continue;
    const decision = evaluateRbac(rbac, conn);
    if (!decision.allowed) return decision;
  }
  return { allowed: true };
}

/** One RBAC filter's decision for `conn` (see the module comment). */
export function evaluateRbac(rbac: RBAC, conn: ConnectionAttributes): RbacDecision {
  const names = Object.keys(rbac.policies).sort();
  if (rbac.action === RBAC_Action.ALLOW) {
    const hit = names.find((n) => {
      const p = rbac.policies[n];
      return p !== undefined && !usesUnevaluable(p) && policyMatches(p, conn) === true;
    });
    if (hit !== undefined) return { allowed: true };
    return { allowed: false, reason: names.length === 0 ? 'an ALLOW policy without matching rules allows nothing' : `no ALLOW rule matches (${names.join(', ')})` };
  }
  if (rbac.action === RBAC_Action.DENY) {
    const hit = names.find((n) => {
      const p = rbac.policies[n];
      return p !== undefined && policyMatches(p, conn) !== false;
    });
    return hit === undefined ? { allowed: true } : { allowed: false, reason: `denied by ${hit}` };
  }
  return { allowed: true };
}

function policyMatches(p: Policy, conn: ConnectionAttributes): Truth {
  const condition: Truth = p.condition !== undefined || p.checkedCondition !== undefined ? 'unknown' : true;
  return and(condition, and(some(p.principals, (x) => principalMatches(x, conn)), some(p.permissions, (x) => permissionMatches(x, conn))));
}

function principalMatches(p: Principal, conn: ConnectionAttributes): Truth {
  const id = p.identifier;
  switch (id.case) {
    case 'any':
      return id.value;
    case 'andIds':
      return every(id.value.ids, (x) => principalMatches(x, conn));
    case 'orIds':
      return some(id.value.ids, (x) => principalMatches(x, conn));
    case 'notId':
      return not(principalMatches(id.value, conn));
    case 'authenticated':
      if (conn.principal === undefined) return false;
      return id.value.principalName === undefined ? true : stringMatches(id.value.principalName, conn.principal);
    case 'sourceIp':
    case 'directRemoteIp':
    case 'remoteIp':
      return cidrContains(id.value, conn.sourceIp);
    default:
      return 'unknown'; // header, url_path, metadata, filter_state, or unset
  }
}

function permissionMatches(p: Permission, conn: ConnectionAttributes): Truth {
  const rule = p.rule;
  switch (rule.case) {
    case 'any':
      return rule.value;
    case 'andRules':
      return every(rule.value.rules, (x) => permissionMatches(x, conn));
    case 'orRules':
      return some(rule.value.rules, (x) => permissionMatches(x, conn));
    case 'notRule':
      return not(permissionMatches(rule.value, conn));
    case 'destinationPort':
      return rule.value === conn.destinationPort;
    case 'destinationPortRange':
      return conn.destinationPort >= rule.value.start && conn.destinationPort < rule.value.end;
    case 'destinationIp':
      return cidrContains(rule.value, conn.destinationIp);
    case 'requestedServerName':
      return stringMatches(rule.value, conn.serverName ?? '');
    default:
      return 'unknown'; // header, url_path, metadata, matcher, uri_template, or unset
  }
}

/** Whether a policy uses a leaf a TCP connection can never evaluate (an ALLOW policy using one is dropped). */
function usesUnevaluable(p: Policy): boolean {
  if (p.condition !== undefined || p.checkedCondition !== undefined) return true;
  const principal = (x: Principal): boolean => {
    const id = x.identifier;
    switch (id.case) {
      case 'andIds':
      case 'orIds':
        return id.value.ids.some(principal);
      case 'notId':
        return principal(id.value);
      case 'any':
      case 'sourceIp':
      case 'directRemoteIp':
      case 'remoteIp':
        return false;
      case 'authenticated':
        return id.value.principalName !== undefined && stringMatches(id.value.principalName, '') === 'unknown';
      default:
        return true;
    }
  };
  const permission = (x: Permission): boolean => {
    const rule = x.rule;
    switch (rule.case) {
      case 'andRules':
      case 'orRules':
        return rule.value.rules.some(permission);
      case 'notRule':
        return permission(rule.value);
      case 'any':
      case 'destinationPort':
      case 'destinationPortRange':
      case 'destinationIp':
        return false;
      case 'requestedServerName':
        return stringMatches(rule.value, '') === 'unknown';
      default:
        return true;
    }
  };
  return p.principals.some(principal) || p.permissions.some(permission);
}

/** Envoy's StringMatcher; a regex is RE2 full match (unknown when JavaScript cannot compile it). */
export function stringMatches(m: StringMatcher, value: string): Truth {
  const fold = (s: string): string => (m.ignoreCase ? s.toLowerCase() : s);
  const pattern = m.matchPattern;
  switch (pattern.case) {
    case 'exact':
      return fold(value) === fold(pattern.value);
    case 'prefix':
      return fold(value).startsWith(fold(pattern.value));
    case 'suffix':
      return fold(value).endsWith(fold(pattern.value));
    case 'contains':
      return fold(value).includes(fold(pattern.value));
    case 'safeRegex': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${pattern.value.regex})$`, 's');
      } catch {
        return 'unknown';
      }
      return re.test(value);
    }
    default:
      return 'unknown';
  }
}

/** Whether `address` (IPv4, IPv6 or IPv4-mapped IPv6) lies in `range`. */
export function cidrContains(range: CidrRange, address: string): Truth {
  const ip = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  const family = isIPv4(range.addressPrefix) ? 'ipv4' : isIPv6(range.addressPrefix) ? 'ipv6' : undefined;
  if (family === undefined) return 'unknown';
  const prefixLen = range.prefixLen ?? (family === 'ipv4' ? 32 : 128);
  if ((family === 'ipv4' && !isIPv4(ip)) || (family === 'ipv6' && !isIPv6(ip))) return false;
  const list = new BlockList();
  try {
    list.addSubnet(range.addressPrefix, prefixLen, family);
  } catch {
    return 'unknown';
  }
  return list.check(ip, family);
}
