import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource } from './index.js';
import { expectClean, expectProblem, expectValid, matching, resource } from './test-support.js';

const pa = (spec: unknown) => validateResource(resource('PeerAuthentication', spec));
const ap = (spec: unknown) => validateResource(resource('AuthorizationPolicy', spec));
const selector = { matchLabels: { app: 'web' } };

test('PeerAuthentication: mtls.mode is UNSET, DISABLE, PERMISSIVE or STRICT', () => {
  for (const mode of ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']) expectClean(pa({ mtls: { mode } }));
  expectClean(pa({}));
  expectProblem(pa({ mtls: { mode: 'strict' } }), { severity: 'error', at: 'spec.mtls.mode' });
  expectProblem(pa({ mtls: { mode: 2 } }), { severity: 'error', at: 'spec.mtls.mode' });
});

test('PeerAuthentication: portLevelMtls keys are ports 1..65535 and need a selector with labels', () => {
  expectClean(pa({ selector, portLevelMtls: { '8080': { mode: 'DISABLE' } } }));
  expectProblem(pa({ portLevelMtls: { '8080': { mode: 'DISABLE' } } }), { severity: 'error', at: 'spec.portLevelMtls' });
  expectProblem(pa({ selector: {}, portLevelMtls: { '8080': { mode: 'DISABLE' } } }), { severity: 'error', at: 'spec.portLevelMtls' });
  expectProblem(pa({ selector, portLevelMtls: { '0': { mode: 'DISABLE' } } }), { severity: 'error', at: 'spec.portLevelMtls.0' });
  expectProblem(pa({ selector, portLevelMtls: { '65536': { mode: 'DISABLE' } } }), { severity: 'error', at: 'spec.portLevelMtls.65536' });
  expectProblem(pa({ selector, portLevelMtls: { http: { mode: 'DISABLE' } } }), { severity: 'error', at: 'spec.portLevelMtls.http' });
  expectProblem(pa({ selector, portLevelMtls: { '80': { mode: 'OFF' } } }), { severity: 'error', at: 'spec.portLevelMtls.80.mode' });
  expectProblem(pa({ selector, portLevelMtls: {} }), { severity: 'error', at: 'spec.portLevelMtls' });
  expectProblem(pa({ selector: { matchLabels: { 'a*': 'b' } } }), { severity: 'error', at: 'spec.selector.matchLabels' });
});

test('AuthorizationPolicy: actions, and DENY or CUSTOM without rules', () => {
  expectClean(ap({}));
  expectClean(ap({ action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['ns1'] } }] }] }));
  expectProblem(ap({ action: 'REJECT' }), { severity: 'error', at: 'spec.action' });
  expectProblem(ap({ action: 'DENY' }), { severity: 'error', at: 'spec.rules' });
  expectClean(ap({ action: 'DENY', rules: [{ to: [{ operation: { ports: ['8080'] } }] }] }));
  expectProblem(ap({ action: 'CUSTOM', rules: [{}] }), { severity: 'error', at: 'spec.provider' });
  expectClean(ap({ action: 'CUSTOM', provider: { name: 'ext-authz' }, rules: [{}] }));
  expectProblem(ap({ action: 'ALLOW', provider: { name: 'x' } }), { severity: 'error', at: 'spec.provider' });
});

test('AuthorizationPolicy: from/to must not be empty; sources and operations need values', () => {
  expectProblem(ap({ rules: [{ from: [] }] }), { severity: 'error', at: 'spec.rules[0].from' });
  expectProblem(ap({ rules: [{ from: [{}] }] }), { severity: 'error', at: 'spec.rules[0].from[0].source' });
  expectProblem(ap({ rules: [{ from: [{ source: {} }] }] }), { severity: 'error', at: 'spec.rules[0].from[0].source' });
  expectProblem(ap({ rules: [{ from: [{ source: { principals: [''] } }] }] }), { severity: 'error', at: 'spec.rules[0].from[0].source.principals[0]' });
  expectProblem(ap({ rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] }), { severity: 'error', at: 'spec.rules[0].from[0].source.ipBlocks[0]' });
  expectProblem(ap({ rules: [{ from: [{ source: { namespaces: ['a'], serviceAccounts: ['a/b'] } }] }] }), { severity: 'error', at: 'spec.rules[0].from[0].source' });
  expectProblem(ap({ rules: [{ from: [{ source: { serviceAccounts: ['nobody'] } }] }] }), { severity: 'error', at: 'spec.rules[0].from[0].source.serviceAccounts[0]' });
  expectProblem(ap({ rules: [{ to: [{ operation: {} }] }] }), { severity: 'error', at: 'spec.rules[0].to[0].operation' });
  expectProblem(ap({ rules: [{ to: [{ operation: { ports: ['http'] } }] }] }), { severity: 'error', at: 'spec.rules[0].to[0].operation.ports[0]' });
  expectProblem(ap({ rules: [{ to: [{ operation: { ports: [8080] } }] }] }), { severity: 'error', at: 'spec.rules[0].to[0].operation.ports[0]' });
  expectClean(ap({ rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8', '1.2.3.4'] } }], to: [{ operation: { methods: ['GET'], paths: ['/api/{*}/x'] } }] }] }));
  expectProblem(ap({ rules: [{ to: [{ operation: { paths: ['/{*}/{bar}'] } }] }] }), { severity: 'error', at: 'spec.rules[0].to[0].operation.paths[0]' });
});

test('AuthorizationPolicy: when keys are known attributes with valid values', () => {
  const when = (conditions: unknown[]) => ap({ rules: [{ when: conditions }] });
  expectClean(when([{ key: 'request.headers[x-token]', values: ['a'] }, { key: 'source.ip', values: ['10.0.0.0/8'] }, { key: 'destination.port', notValues: ['22'] }]));
  expectClean(when([{ key: 'request.auth.claims[iss]', values: ['https://accounts.google.com'] }, { key: 'connection.sni', values: ['a.com'] }]));
  expectProblem(when([{ key: 'request.colour', values: ['red'] }]), { severity: 'error', at: 'spec.rules[0].when[0].key' });
  expectProblem(when([{ key: 'request.headers', values: ['a'] }]), { severity: 'error', at: 'spec.rules[0].when[0].key' });
  expectProblem(when([{ key: 'destination.namespace', values: ['a'] }]), { severity: 'error', at: 'spec.rules[0].when[0].key' });
  expectProblem(when([{ key: 'source.ip', values: ['1.2.3'] }]), { severity: 'error', at: 'spec.rules[0].when[0].values[0]' });
  expectProblem(when([{ key: 'destination.port', values: ['70000'] }]), { severity: 'error', at: 'spec.rules[0].when[0].values[0]' });
  expectProblem(when([{ key: 'source.namespace' }]), { severity: 'error', at: 'spec.rules[0].when[0]' });
  expectProblem(when([{ values: ['a'] }]), { severity: 'error', at: 'spec.rules[0].when[0].key' });
});

test('AuthorizationPolicy: selector, targetRef and the DENY-with-HTTP-only warning', () => {
  expectProblem(ap({ selector, targetRef: { kind: 'Service', name: 's' } }), { severity: 'error', at: 'spec' });
  expectClean(ap({ targetRef: { kind: 'Service', group: '', name: 's' } }));
  expectProblem(ap({ targetRef: { kind: 'Pod', name: 's' } }), { severity: 'error', at: 'spec.targetRef.kind' });
  expectProblem(ap({ targetRef: { kind: 'Service', name: 's', namespace: 'other' } }), { severity: 'error', at: 'spec.targetRef.namespace' });
  const httpOnlyDeny = ap({ action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] });
  expectValid(httpOnlyDeny);
  expectProblem(httpOnlyDeny, { severity: 'warning', at: 'spec.rules[0]' });
});

test('AuthorizationPolicy fails closed (issue 11): an unknown field anywhere in it is an error, not a warning', () => {
  // A misspelt `notPrincipals` would otherwise be dropped, turning "deny everyone but x" into "deny no one".
  const misspelt = matching(ap({ action: 'DENY', rules: [{ from: [{ source: { notPrincipal: ['cluster.local/ns/a/sa/x'] } }] }] }), { severity: 'error', at: 'spec.rules[0].from[0].source.notPrincipal' });
  assert.match(misspelt[0]?.message ?? '', /^unknown field "notPrincipal" in spec\.rules\[0\]\.from\[0\]\.source: AuthorizationPolicy refuses unknown fields/);
  expectProblem(ap({ rules: [{ form: [{ source: { namespaces: ['a'] } }] }] }), { severity: 'error', at: 'spec.rules[0].form' });
  expectProblem(ap({ rules: [{ to: [{ operation: { port: ['80'] } }] }] }), { severity: 'error', at: 'spec.rules[0].to[0].operation.port' });
  expectProblem(ap({ rules: [{ to: [{ operation: { ports: ['80'] }, extra: 1 }] }] }), { severity: 'error', at: 'spec.rules[0].to[0].extra' });
  expectProblem(ap({ rules: [{ when: [{ key: 'source.ip', value: ['10.0.0.1'] }] }] }), { severity: 'error', at: 'spec.rules[0].when[0].value' });
  expectProblem(ap({ selectr: { matchLabels: { app: 'a' } }, rules: [{}] }), { severity: 'error', at: 'spec.selectr' });
});

test('AuthorizationPolicy: CUSTOM without a provider is refused, with rules or without', () => {
  for (const spec of [{ action: 'CUSTOM', rules: [{}] }, { action: 'CUSTOM' }]) {
    assert.match(matching(ap(spec), { severity: 'error', at: 'spec.provider' })[0]?.message ?? '', /provider\.name is required for the CUSTOM action/);
  }
  expectProblem(ap({ action: 'CUSTOM', provider: {}, rules: [{}] }), { severity: 'error', at: 'spec.provider' });
});
