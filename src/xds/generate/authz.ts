/**
 * AuthorizationPolicy -> Envoy RBAC (Istio: pilot/pkg/security/authz/builder and model), pure. Used
 * by the inbound side of Envoy sidecars (HCM) and by the server listeners of xDS-enabled gRPC servers.
 *
 * Selection (Istio): a policy in the root namespace without selector applies to every workload; a
 * policy without selector to every workload of its namespace; a policy with `selector.matchLabels`
 * to the workloads of its namespace whose labels match. `targetRef(s)` policies (gateways, services)
 * are not applied to workloads.
 *
 * Actions: DENY policies become one RBAC filter with action DENY, ALLOW policies one with action
 * ALLOW, the DENY filter first. Without any ALLOW policy there is no ALLOW filter (everything is
 * allowed); an ALLOW policy without rules contributes no RBAC policy, so its filter denies every
 * request. AUDIT and CUSTOM are not enforced here (no audit or external authorizer): ignored.
 *
 * Rules: one RBAC policy per rule, named `ns[<ns>]-policy[<name>]-rule[<i>]`. `from` entries are
 * OR'ed, the fields of one source AND'ed, the values of a field OR'ed (`not*` fields negated); the
 * same for `to.operation`; `when` conditions are AND'ed with them. Mapping:
 * - principals -> authenticated.principal_name `spiffe://<principal>` (exact; `*` any, `x*` prefix,
 *   `*x` suffix, the last two also requiring a well-formed identity), serviceAccounts (`<ns>/<sa>`)
 *   -> `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`, namespaces -> principal_name safe_regex
 *   `spiffe://[^/]+/ns/<ns>/sa/[^/]+` (segment-exact, issue 11), ipBlocks -> direct_remote_ip,
 *   remoteIpBlocks -> remote_ip;
 * - hosts -> `:authority` header (case-insensitive), ports -> destination_port, methods -> `:method`
 *   header (gRPC requests are always POST), paths -> url_path;
 * - when: source.principal, source.namespace, source.serviceAccount, source.ip, remote.ip,
 *   request.headers[<name>] (principal side); destination.ip, destination.port, connection.sni
 *   (permission side).
 * Unsupported attributes (requestPrincipals, request.auth.*, experimental.*: no JWT here) follow
 * Istio's rule for attributes a filter cannot evaluate: an ALLOW rule using one is dropped (it never
 * matches), a DENY rule is kept without that attribute (it matches more, failing closed).
 *
 * TCP ports (layer `tcp`: Envoy's network RBAC filter, Istio's TCP builder): the HTTP-only
 * attributes (hosts, methods, paths and their `not*`, request.headers[...]) cannot be evaluated
 * either and follow the same rule: an ALLOW rule using one is dropped, a DENY rule ignores it.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { HttpFilterSchema } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { FilterSchema } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { RBACSchema as NetworkRbacFilterSchema } from '../../gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js';
import { RBAC_Action, type PermissionSchema, type PolicySchema, type PrincipalSchema } from '../../gen/envoy/config/rbac/v3/rbac_pb.js';
import { RBACSchema as RbacFilterSchema, type RBAC as RbacFilter } from '../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import type { StringMatcherSchema } from '../../gen/envoy/type/matcher/v3/string_pb.js';
import type { AuthorizationPolicy, StringMap } from '../../model/config/types.js';
import { selectorMatches } from '../../model/mesh/labels.js';
import { anyPack } from '@bufbuild/protobuf/wkt';

export const RBAC_FILTER = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';

/** Where the RBAC is evaluated: per HTTP request, or per TCP connection (no HTTP attributes). */
export type AuthzLayer = 'http' | 'tcp';
const HTTP_ONLY_OPERATION_FIELDS: ReadonlySet<string> = new Set(['hosts', 'methods', 'paths']);

type PrincipalInit = MessageInitShape<typeof PrincipalSchema>;
type PermissionInit = MessageInitShape<typeof PermissionSchema>;
type StringMatcherInit = MessageInitShape<typeof StringMatcherSchema>;
type PolicyInit = MessageInitShape<typeof PolicySchema>;

/** The workload an inbound side belongs to. */
export interface AuthzTarget {
  readonly namespace: string;
  readonly labels: StringMap;
}

export interface AuthzMesh {
  readonly rootNamespace: string;
  readonly trustDomain: string;
}

/** The RBAC filter configurations of one workload: DENY first, then ALLOW; absent when none. */
export interface InboundRbac {
  readonly deny?: RbacFilter;
  readonly allow?: RbacFilter;
}

/** The policies that apply to `target` (see the module comment), sorted by namespace and name. */
export function selectedPolicies(policies: readonly AuthorizationPolicy[], target: AuthzTarget, rootNamespace: string): AuthorizationPolicy[] {
  return policies
    .filter((p) => {
      const spec = p.spec as AuthorizationPolicy['spec'] & { targetRef?: unknown; targetRefs?: readonly unknown[] };
      if (spec.targetRef !== undefined || (spec.targetRefs?.length ?? 0) > 0) return false;
      const labels = spec.selector?.matchLabels ?? {};
      const hasSelector = Object.keys(labels).length > 0;
      if (!hasSelector) return p.metadata.namespace === rootNamespace || p.metadata.namespace === target.namespace;
      return p.metadata.namespace === target.namespace && selectorMatches(labels, target.labels);
    })
    .sort((a, b) => compare(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`));
}

/** The RBAC of `target` under `policies` (the module comment gives the rules). */
export function inboundRbac(policies: readonly AuthorizationPolicy[], target: AuthzTarget, mesh: AuthzMesh, layer: AuthzLayer = 'http'): InboundRbac {
  const selected = selectedPolicies(policies, target, mesh.rootNamespace);
  const deny = selected.filter((p) => p.spec.action === 'DENY' || p.spec.action === 'CUSTOM');
  const allow = selected.filter((p) => (p.spec.action ?? 'ALLOW') === 'ALLOW');
  return {
    ...(deny.length > 0 ? { deny: rbacOf(deny, 'DENY', mesh, layer) } : {}),
    ...(allow.length > 0 ? { allow: rbacOf(allow, 'ALLOW', mesh, layer) } : {}),
  };
}

/** The network filters of `rbac` (computed with layer `tcp`), to put before tcp_proxy: DENY, then ALLOW. */
export function rbacNetworkFilters(rbac: InboundRbac): MessageInitShape<typeof FilterSchema>[] {
  const out: MessageInitShape<typeof FilterSchema>[] = [];
  for (const config of [rbac.deny, rbac.allow]) {
    if (config === undefined) continue;
    const network = create(NetworkRbacFilterSchema, { ...(config.rules ? { rules: config.rules } : {}), statPrefix: 'tcp.' });
    out.push({ name: NETWORK_RBAC_FILTER, configType: { case: 'typedConfig', value: anyPack(NetworkRbacFilterSchema, network) } });
  }
  return out;
}

/**
 * The HTTP filters of `rbac`, to put before the router. Envoy takes Istio's filter name twice;
 * gRPC refuses duplicate filter names, so `distinctNames` suffixes them (`.DENY`, `.ALLOW`).
 */
export function rbacHttpFilters(rbac: InboundRbac, distinctNames: boolean): MessageInitShape<typeof HttpFilterSchema>[] {
  const out: MessageInitShape<typeof HttpFilterSchema>[] = [];
  for (const [action, config] of [['DENY', rbac.deny], ['ALLOW', rbac.allow]] as const) {
    if (config === undefined) continue;
    out.push({ name: distinctNames ? `${RBAC_FILTER}.${action}` : RBAC_FILTER, configType: { case: 'typedConfig', value: anyPack(RbacFilterSchema, config) } });
  }
  return out;
}

function rbacOf(policies: readonly AuthorizationPolicy[], action: 'ALLOW' | 'DENY', mesh: AuthzMesh, layer: AuthzLayer): RbacFilter {
  const rbacPolicies: Record<string, PolicyInit> = {};
  for (const p of policies) {
    if (p.spec.action === 'CUSTOM') {
      rbacPolicies[`ns[${p.metadata.namespace}]-policy[${p.metadata.name}]-deny-all`] = { principals: [ANY_PRINCIPAL], permissions: [ANY_PERMISSION] };
      continue;
    }
    (p.spec.rules ?? []).forEach((rule, i) => {
      const policy = rulePolicy(rule, action, mesh, layer);
      if (policy !== undefined) rbacPolicies[`ns[${p.metadata.namespace}]-policy[${p.metadata.name}]-rule[${i}]`] = policy;
    });
  }
  return create(RbacFilterSchema, { rules: { action: action === 'ALLOW' ? RBAC_Action.ALLOW : RBAC_Action.DENY, policies: rbacPolicies } });
}

type Rule = NonNullable<AuthorizationPolicy['spec']['rules']>[number];

/** Raised inside a rule's translation when it uses an attribute that cannot be evaluated. */
const UNSUPPORTED = Symbol('unsupported');
type Maybe<T> = T | typeof UNSUPPORTED;

/** One rule as an RBAC policy; undefined when an ALLOW rule uses an unsupported attribute. */
export function rulePolicy(rule: Rule, action: 'ALLOW' | 'DENY', mesh: AuthzMesh, layer: AuthzLayer = 'http'): PolicyInit | undefined {
  const principals: PrincipalInit[] = [];
  const permissions: PermissionInit[] = [];
  const keep = <T>(v: Maybe<T>, into: T[]): boolean => {
    if (v === UNSUPPORTED) return action === 'DENY';
    into.push(v);
    return true;
  };
  if (rule.from !== undefined && rule.from.length > 0) {
    const sources: PrincipalInit[] = [];
    for (const f of rule.from) if (!keep(sourcePrincipal(f.source ?? {}, mesh, action), sources)) return undefined;
    principals.push(orIds(sources));
  }
  if (rule.to !== undefined && rule.to.length > 0) {
    const operations: PermissionInit[] = [];
    for (const t of rule.to) if (!keep(operationPermission(t.operation ?? {}, layer, action), operations)) return undefined;
    permissions.push(orRules(operations));
  }
  for (const w of rule.when ?? []) {
    const c = layer === 'tcp' && /^request\./.test(w.key) ? UNSUPPORTED : whenCondition(w, mesh);
    if (c === UNSUPPORTED) {
      if (action === 'ALLOW') return undefined;
      continue;
    }
    if (c.side === 'principal') principals.push(c.value);
    else permissions.push(c.value);
  }
  return { principals: [andIds(principals)], permissions: [andRules(permissions)] };
}

// ---- principals ----

const ANY_PRINCIPAL: PrincipalInit = { identifier: { case: 'any', value: true } };
const ANY_PERMISSION: PermissionInit = { rule: { case: 'any', value: true } };

function andIds(ids: PrincipalInit[]): PrincipalInit {
  if (ids.length === 0) return ANY_PRINCIPAL;
  if (ids.length === 1 && ids[0] !== undefined) return ids[0];
  return { identifier: { case: 'andIds', value: { ids } } };
}
function orIds(ids: PrincipalInit[]): PrincipalInit {
  if (ids.length === 1 && ids[0] !== undefined) return ids[0];
  return { identifier: { case: 'orIds', value: { ids } } };
}
function notId(id: PrincipalInit): PrincipalInit {
  return { identifier: { case: 'notId', value: id } };
}
function andRules(rules: PermissionInit[]): PermissionInit {
  if (rules.length === 0) return ANY_PERMISSION;
  if (rules.length === 1 && rules[0] !== undefined) return rules[0];
  return { rule: { case: 'andRules', value: { rules } } };
}
function orRules(rules: PermissionInit[]): PermissionInit {
  if (rules.length === 1 && rules[0] !== undefined) return rules[0];
  return { rule: { case: 'orRules', value: { rules } } };
}
function notRule(rule: PermissionInit): PermissionInit {
  return { rule: { case: 'notRule', value: rule } };
}

function authenticated(m: StringMatcherInit): PrincipalInit {
  return { identifier: { case: 'authenticated', value: { principalName: m } } };
}

/** Istio StringMatcherWithPrefix: `*` any, `*x` suffix x, `x*` prefix `<prefix>x`, else exact `<prefix>x`. */
export function globMatcher(v: string, prefix = '', ignoreCase = false): StringMatcherInit {
  if (v === '*') return { matchPattern: { case: 'safeRegex', value: { regex: '.+' } } };
  if (v.startsWith('*')) return { matchPattern: { case: 'suffix', value: v.slice(1) }, ignoreCase };
  if (v.endsWith('*')) return { matchPattern: { case: 'prefix', value: prefix + v.slice(0, -1) }, ignoreCase };
  return { matchPattern: { case: 'exact', value: prefix + v }, ignoreCase };
}

function quoteRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A well-formed mesh identity, `spiffe://<td>/ns/<ns>/sa/<sa>` with no `/` inside a part (issue 11).
 * Envoy and gRPC match `safe_regex` against the whole value.
 */
const WELL_FORMED_IDENTITY = 'spiffe://[^/]+/ns/[^/]+/sa/[^/]+';

/**
 * A namespace `ns` (`*` at either end as a wildcard) matches the identities whose namespace
 * segment is `ns`. Istio's regex is `.*` `/ns/<ns>/` `.*`, which relies on service accounts never
 * holding `/ns/<other>/` (issue 11: `sa/x/ns/team-b/sa/y` would match team-b); ours is anchored
 * and segment-exact: `spiffe://[^/]+/ns/<ns>/sa/[^/]+`, with `*` standing for `[^/]*`. For every
 * well-formed identity the two agree.
 */
function namespacePrincipal(ns: string): PrincipalInit {
  const body = ns === '*' ? '[^/]+' : `${ns.startsWith('*') ? '[^/]*' : ''}${quoteRegex(ns.replace(/^\*|\*$/g, ''))}${ns.length > 1 && ns.endsWith('*') ? '[^/]*' : ''}`;
  return authenticated({ matchPattern: { case: 'safeRegex', value: { regex: `spiffe://[^/]+/ns/${body}/sa/[^/]+` } } });
}

/**
 * Istio's principal matcher (exact, `x*` prefix, `*x` suffix, `*` any, with `spiffe://`); a prefix
 * or suffix additionally requires a well-formed identity (issue 11), so the suffix
 * `/ns/team-b/sa/b` cannot match `spiffe://td/ns/team-a/sa/x/ns/team-b/sa/b`.
 */
function principalName(v: string): PrincipalInit {
  const glob = authenticated(globMatcher(v, 'spiffe://'));
  if (v === '*' || (!v.startsWith('*') && !v.endsWith('*'))) return glob;
  return andIds([glob, authenticated({ matchPattern: { case: 'safeRegex', value: { regex: WELL_FORMED_IDENTITY } } })]);
}

function serviceAccountPrincipal(v: string, trustDomain: string): PrincipalInit {
  const [ns = '', sa = ''] = v.split('/');
  return authenticated({ matchPattern: { case: 'exact', value: `spiffe://${trustDomain}/ns/${ns}/sa/${sa}` } });
}

function cidr(v: string): { addressPrefix: string; prefixLen: number } {
  const [address = '', len] = v.split('/');
  return { addressPrefix: address, prefixLen: len !== undefined ? Number(len) : address.includes(':') ? 128 : 32 };
}

type SourceField = (v: string) => PrincipalInit;

function sourceFields(mesh: AuthzMesh): Readonly<Record<string, SourceField | typeof UNSUPPORTED>> {
  return {
    principals: principalName,
    namespaces: namespacePrincipal,
    serviceAccounts: (v) => serviceAccountPrincipal(v, mesh.trustDomain),
    ipBlocks: (v) => ({ identifier: { case: 'directRemoteIp', value: cidr(v) } }),
    remoteIpBlocks: (v) => ({ identifier: { case: 'remoteIp', value: cidr(v) } }),
    requestPrincipals: UNSUPPORTED,
  };
}

/** One `from.source`: its fields AND'ed; undefined never (unsupported fields per the action). */
function sourcePrincipal(source: Readonly<Record<string, readonly string[]>>, mesh: AuthzMesh, action: 'ALLOW' | 'DENY'): Maybe<PrincipalInit> {
  const fields = sourceFields(mesh);
  const ids: PrincipalInit[] = [];
  for (const [field, values] of Object.entries(source)) {
    if (values.length === 0) continue;
    const negated = field.startsWith('not');
    const base = negated ? field.charAt(3).toLowerCase() + field.slice(4) : field;
    const f = fields[base];
    if (f === undefined || f === UNSUPPORTED) {
      if (action === 'ALLOW') return UNSUPPORTED;
      continue;
    }
    const any = orIds(values.map(f));
    ids.push(negated ? notId(any) : any);
  }
  return andIds(ids);
}

// ---- permissions ----

function header(name: string, m: StringMatcherInit) {
  return { name, headerMatchSpecifier: { case: 'stringMatch' as const, value: m } };
}

function pathPermission(v: string): PermissionInit {
  const m: StringMatcherInit = v === '*' ? { matchPattern: { case: 'prefix', value: '' } } : globMatcher(v);
  return { rule: { case: 'urlPath', value: { rule: { case: 'path', value: m } } } };
}

const OPERATION_FIELDS: Readonly<Record<string, (v: string) => PermissionInit>> = {
  hosts: (v) => ({ rule: { case: 'header', value: header(':authority', globMatcher(v, '', true)) } }),
  ports: (v) => ({ rule: { case: 'destinationPort', value: Number(v) } }),
  methods: (v) => ({ rule: { case: 'header', value: header(':method', globMatcher(v)) } }),
  paths: pathPermission,
};

/** One `to.operation`, its fields AND'ed; on TCP an HTTP-only field is unsupported (ALLOW) or ignored (DENY). */
function operationPermission(operation: Readonly<Record<string, readonly string[]>>, layer: AuthzLayer, action: 'ALLOW' | 'DENY'): Maybe<PermissionInit> {
  const rules: PermissionInit[] = [];
  for (const [field, values] of Object.entries(operation)) {
    if (values.length === 0) continue;
    const negated = field.startsWith('not');
    const base = negated ? field.charAt(3).toLowerCase() + field.slice(4) : field;
    if (layer === 'tcp' && HTTP_ONLY_OPERATION_FIELDS.has(base)) {
      if (action === 'ALLOW') return UNSUPPORTED;
      continue;
    }
    const f = OPERATION_FIELDS[base];
    if (f === undefined) continue; // validation refuses unknown operation fields
    const any = orRules(values.map(f));
    rules.push(negated ? notRule(any) : any);
  }
  return andRules(rules);
}

// ---- when ----

type Condition = { side: 'principal'; value: PrincipalInit } | { side: 'permission'; value: PermissionInit };

function whenCondition(w: NonNullable<Rule['when']>[number], mesh: AuthzMesh): Maybe<Condition> {
  const key = w.key;
  const headerName = /^request\.headers\[(.+)\]$/.exec(key)?.[1];
  let principal: ((v: string) => PrincipalInit) | undefined;
  let permission: ((v: string) => PermissionInit) | undefined;
  if (headerName !== undefined) principal = (v) => ({ identifier: { case: 'header', value: header(headerName, globMatcher(v)) } });
  else {
    switch (key) {
      case 'source.principal':
        principal = principalName;
        break;
      case 'source.namespace':
        principal = namespacePrincipal;
        break;
      case 'source.serviceAccount':
        principal = (v) => serviceAccountPrincipal(v, mesh.trustDomain);
        break;
      case 'source.ip':
        principal = (v) => ({ identifier: { case: 'directRemoteIp', value: cidr(v) } });
        break;
      case 'remote.ip':
        principal = (v) => ({ identifier: { case: 'remoteIp', value: cidr(v) } });
        break;
      case 'destination.ip':
        permission = (v) => ({ rule: { case: 'destinationIp', value: cidr(v) } });
        break;
      case 'destination.port':
        permission = (v) => ({ rule: { case: 'destinationPort', value: Number(v) } });
        break;
      case 'connection.sni':
        permission = (v) => ({ rule: { case: 'requestedServerName', value: globMatcher(v) } });
        break;
      default:
        return UNSUPPORTED;
    }
  }
  const values = w.values ?? [];
  const notValues = w.notValues ?? [];
  if (principal !== undefined) {
    const f = principal;
    const parts: PrincipalInit[] = [];
    if (values.length > 0) parts.push(orIds(values.map(f)));
    if (notValues.length > 0) parts.push(notId(orIds(notValues.map(f))));
    return { side: 'principal', value: andIds(parts) };
  }
  const f = permission ?? (() => ANY_PERMISSION);
  const parts: PermissionInit[] = [];
  if (values.length > 0) parts.push(orRules(values.map(f)));
  if (notValues.length > 0) parts.push(notRule(orRules(notValues.map(f))));
  return { side: 'permission', value: andRules(parts) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
