// Issue 11 item 4: the agent's RBAC evaluator decides what Envoy's network RBAC filter would, on
// the RBAC the control plane generates (authz.ts) from AuthorizationPolicies, with Istio's TCP rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { CidrRangeSchema } from '../gen/envoy/config/core/v3/address_pb.js';
import { StringMatcherSchema } from '../gen/envoy/type/matcher/v3/string_pb.js';
import { RBAC_Action, RBACSchema, type RBAC } from '../gen/envoy/config/rbac/v3/rbac_pb.js';
import type { AuthorizationPolicy, AuthorizationPolicySpec } from '../model/config/types.js';
import { inboundRbac } from '../xds/generate/authz.js';
import { authorizeConnection, cidrContains, stringMatches, type ConnectionAttributes } from './rbac-evaluator.js';

const MESH = { rootNamespace: 'istio-system', trustDomain: 'cluster.local' };
const TARGET = { namespace: 'vm-demo', labels: { app: 'svc' } };
const ONLY_X = 'spiffe://cluster.local/ns/vm-demo/sa/only-x';
const OTHER = 'spiffe://cluster.local/ns/demo/sa/client';

function policy(namespace: string, name: string, spec: AuthorizationPolicySpec): AuthorizationPolicy {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec } as AuthorizationPolicy;
}

/** The decision for `conn` under `policies`, as the HTTP RBAC filters of an inbound Listener carry them. */
function decide(policies: readonly AuthorizationPolicy[], conn: Partial<ConnectionAttributes>): string {
  const rbac = inboundRbac(policies, TARGET, MESH);
  const d = authorizeConnection([rbac.deny?.rules, rbac.allow?.rules], { sourceIp: '127.0.0.9', destinationIp: '127.0.0.7', destinationPort: 8080, ...conn });
  return d.allowed ? 'allow' : d.reason;
}

const allowOnlyX = policy('vm-demo', 'only-x', { selector: { matchLabels: { app: 'svc' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/vm-demo/sa/only-x'] } }] }] });

test('ALLOW only sa/only-x: only-x is allowed; another principal, a certificate without a SPIFFE id and plaintext are not', () => {
  assert.equal(decide([allowOnlyX], { principal: ONLY_X }), 'allow');
  assert.match(decide([allowOnlyX], { principal: OTHER }), /^no ALLOW rule matches \(ns\[vm-demo\]-policy\[only-x\]-rule\[0\]\)$/);
  assert.match(decide([allowOnlyX], { principal: 'evil.example' }), /no ALLOW rule matches/);
  assert.match(decide([allowOnlyX], {}), /no ALLOW rule matches/);
  // Prefix and suffix tricks on the principal do not match an exact one.
  assert.match(decide([allowOnlyX], { principal: `${ONLY_X}/x` }), /no ALLOW rule matches/);
});

test('no policy allows; an ALLOW policy without rules allows nothing; a mesh-wide DENY {} denies everyone', () => {
  assert.equal(decide([], { principal: OTHER }), 'allow');
  assert.match(decide([policy('vm-demo', 'nothing', { rules: [] })], { principal: ONLY_X }), /allows nothing/);
  assert.equal(decide([policy('istio-system', 'deny-all', { action: 'DENY', rules: [{}] })], { principal: ONLY_X }), 'denied by ns[istio-system]-policy[deny-all]-rule[0]');
});

test('namespaces, notPrincipals, ports, ipBlocks and destination.port as Envoy matches them', () => {
  const ns = policy('vm-demo', 'ns', { rules: [{ from: [{ source: { namespaces: ['vm-demo'] } }], to: [{ operation: { ports: ['8080'] } }] }] });
  assert.equal(decide([ns], { principal: ONLY_X }), 'allow');
  assert.match(decide([ns], { principal: OTHER }), /no ALLOW rule/);
  assert.match(decide([ns], { principal: ONLY_X, destinationPort: 9090 }), /no ALLOW rule/);
  const notPrincipal = policy('vm-demo', 'not', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['cluster.local/ns/vm-demo/sa/only-x'] } }] }] });
  assert.equal(decide([notPrincipal], { principal: ONLY_X }), 'allow');
  assert.match(decide([notPrincipal], { principal: OTHER }), /denied by/);
  assert.match(decide([notPrincipal], {}), /denied by/, 'plaintext has no principal, so it is not only-x');
  const ip = policy('vm-demo', 'ip', { rules: [{ from: [{ source: { ipBlocks: ['127.0.0.0/24'] } }] }] });
  assert.equal(decide([ip], { sourceIp: '127.0.0.9' }), 'allow');
  assert.equal(decide([ip], { sourceIp: '::ffff:127.0.0.9' }), 'allow');
  assert.match(decide([ip], { sourceIp: '127.0.1.9' }), /no ALLOW rule/);
  const when = policy('vm-demo', 'when', { rules: [{ when: [{ key: 'destination.port', values: ['8080'] }] }] });
  assert.equal(decide([when], {}), 'allow');
  assert.match(decide([when], { destinationPort: 1 }), /no ALLOW rule/);
});

test("Istio's TCP rule: an ALLOW rule with an HTTP-only attribute never matches; a DENY rule ignores it (fails closed)", () => {
  const allowPath = policy('vm-demo', 'path', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/vm-demo/sa/only-x'] } }], to: [{ operation: { paths: ['/public'] } }] }] });
  assert.match(decide([allowPath], { principal: ONLY_X }), /no ALLOW rule matches/, 'the path cannot be seen on TCP: the ALLOW rule is dropped');
  const allowEither = policy('vm-demo', 'either', { rules: [{ to: [{ operation: { paths: ['/a'] } }, { operation: { ports: ['8080'] } }] }] });
  assert.match(decide([allowEither], { principal: ONLY_X }), /no ALLOW rule matches/, 'Istio drops the whole rule, not one alternative');
  const denyMethod = policy('vm-demo', 'method', { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/demo/sa/client'] } }], to: [{ operation: { methods: ['POST'], notPaths: ['/ok'] } }] }] });
  assert.match(decide([denyMethod], { principal: OTHER }), /denied by ns\[vm-demo\]-policy\[method\]-rule\[0\]/, 'HTTP attributes ignored: the deny is wider');
  assert.equal(decide([denyMethod], { principal: ONLY_X }), 'allow', 'the TCP attributes of a DENY rule still apply');
  const denyHeader = policy('vm-demo', 'header', { action: 'DENY', rules: [{ when: [{ key: 'request.headers[x-user]', values: ['bob'] }] }] });
  assert.match(decide([denyHeader], { principal: ONLY_X }), /denied by/);
});

test('a filter without rules decides nothing; LOG decides nothing; a regex JavaScript cannot compile fails closed', () => {
  const conn = { principal: ONLY_X, sourceIp: '127.0.0.9', destinationIp: '127.0.0.7', destinationPort: 8080 };
  assert.deepEqual(authorizeConnection([undefined], conn), { allowed: true });
  assert.deepEqual(authorizeConnection([create(RBACSchema, { action: RBAC_Action.LOG, policies: {} })], conn), { allowed: true });
  const regex = (action: RBAC_Action): RBAC =>
    create(RBACSchema, { action, policies: { p: { principals: [{ identifier: { case: 'authenticated', value: { principalName: { matchPattern: { case: 'safeRegex', value: { regex: '(?P<x>' } } } } } }], permissions: [{ rule: { case: 'any', value: true } }] } } });
  assert.equal(authorizeConnection([regex(RBAC_Action.ALLOW)], conn).allowed, false);
  assert.equal(authorizeConnection([regex(RBAC_Action.DENY)], conn).allowed, false);
});

test('string and CIDR matchers', () => {
  const matcher = (init: MessageInitShape<typeof StringMatcherSchema>) => create(StringMatcherSchema, init);
  assert.equal(stringMatches(matcher({ matchPattern: { case: 'exact', value: 'A' }, ignoreCase: true }), 'a'), true);
  assert.equal(stringMatches(matcher({ matchPattern: { case: 'safeRegex', value: { regex: '.*/ns/a/.*' } } }), 'spiffe://td/ns/a/sa/b'), true);
  assert.equal(stringMatches(matcher({ matchPattern: { case: 'safeRegex', value: { regex: 'ns/a' } } }), 'x/ns/a/y'), false, 'RE2 full match');
  const range = (addressPrefix: string, prefixLen?: number) => create(CidrRangeSchema, { addressPrefix, ...(prefixLen !== undefined ? { prefixLen } : {}) });
  assert.equal(cidrContains(range('10.0.0.0', 8), '10.2.3.4'), true);
  assert.equal(cidrContains(range('10.0.0.1'), '10.0.0.2'), false);
  assert.equal(cidrContains(range('fd00::', 8), 'fd12::1'), true);
  assert.equal(cidrContains(range('fd00::', 8), '10.0.0.1'), false);
  assert.equal(cidrContains(range('not-an-ip', 8), '10.0.0.1'), 'unknown');
});
