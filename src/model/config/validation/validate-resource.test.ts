import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource } from './index.js';
import { expectClean, expectNoProblem, expectProblem, resource, summary } from './test-support.js';

const we = (metadata: Record<string, unknown>) => ({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata, spec: { address: '1.1.1.1' } });

test('dispatch: every kind is accepted under its served apiVersions', () => {
  for (const apiVersion of ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3']) {
    expectClean(validateResource({ ...we({ name: 'a' }), apiVersion }));
  }
  for (const apiVersion of ['security.istio.io/v1', 'security.istio.io/v1beta1']) {
    expectClean(validateResource({ apiVersion, kind: 'PeerAuthentication', metadata: { name: 'a' }, spec: { mtls: { mode: 'STRICT' } } }));
  }
  expectClean(validateResource({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'topology.kubernetes.io/region': 'r1' } } }));
  expectClean(validateResource({ apiVersion: 'meshbridge.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec: {} }));
});

test('dispatch: a kind under the wrong group or version is an error at apiVersion', () => {
  expectProblem(validateResource({ ...we({ name: 'a' }), apiVersion: 'security.istio.io/v1' }), { severity: 'error', at: 'apiVersion' });
  expectProblem(validateResource({ ...we({ name: 'a' }), apiVersion: 'networking.istio.io/v2' }), { severity: 'error', at: 'apiVersion' });
  expectProblem(validateResource({ ...we({ name: 'a' }), apiVersion: 'v1' }), { severity: 'error', at: 'apiVersion' });
  expectProblem(validateResource({ apiVersion: 'networking.istio.io/v1', kind: 'Pod', metadata: { name: 'p' } }), { severity: 'error', at: 'apiVersion' });
});

test('dispatch: an unknown kind is a single warning at kind', () => {
  const problems = validateResource({ apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw' }, spec: {} });
  assert.deepEqual(summary(problems), ['warning kind V-UNKNOWN-KIND']);
});

test('dispatch: missing apiVersion or kind, or a non-object resource, is an error', () => {
  expectProblem(validateResource({ kind: 'WorkloadEntry', metadata: { name: 'a' }, spec: { address: '1.1.1.1' } }), { severity: 'error', at: 'apiVersion' });
  expectProblem(validateResource({ apiVersion: 'v1', metadata: { name: 'a' } }), { severity: 'error', at: 'kind' });
  expectProblem(validateResource({ apiVersion: 'v1', kind: 7, metadata: { name: 'a' } }), { severity: 'error', at: 'kind' });
  for (const raw of [null, undefined, 'x', 1, [], true]) expectProblem(validateResource(raw), { severity: 'error', at: '' });
});

test('metadata: name is required and must be an RFC-1123 subdomain; namespace an RFC-1123 label', () => {
  expectProblem(validateResource(we({})), { severity: 'error', at: 'metadata.name' });
  expectProblem(validateResource(we({ name: '' })), { severity: 'error', at: 'metadata.name' });
  expectProblem(validateResource(we({ name: 'Bad_Name' })), { severity: 'error', at: 'metadata.name' });
  expectProblem(validateResource(we({ name: 5 })), { severity: 'error', at: 'metadata.name' });
  expectClean(validateResource(we({ name: 'a.b-c' })));
  expectProblem(validateResource(we({ name: 'a', namespace: 'a.b' })), { severity: 'error', at: 'metadata.namespace' });
  expectProblem(validateResource(we({ name: 'a', namespace: 'NS' })), { severity: 'error', at: 'metadata.namespace' });
  expectProblem(validateResource({ ...we({}), metadata: undefined }), { severity: 'error', at: 'metadata' });
  expectProblem(validateResource({ ...we({}), metadata: 'x' }), { severity: 'error', at: 'metadata' });
});

test('metadata: labels and annotations are string maps with valid keys; label values at most 63', () => {
  expectProblem(validateResource(we({ name: 'a', labels: { version: 1 } })), { severity: 'error', at: 'metadata.labels.version' });
  expectProblem(validateResource(we({ name: 'a', labels: ['a'] })), { severity: 'error', at: 'metadata.labels' });
  expectProblem(validateResource(we({ name: 'a', labels: { app: 'x'.repeat(64) } })), { severity: 'error', at: 'metadata.labels.app', rule: 'V-SUB-9' });
  expectProblem(validateResource(we({ name: 'a', annotations: { 'bad key': 'v' } })), { severity: 'error', at: 'metadata.annotations' });
  expectProblem(validateResource(we({ name: 'a', annotations: { a: true } })), { severity: 'error', at: 'metadata.annotations.a' });
  expectClean(validateResource(we({ name: 'a', labels: { app: 'web' }, annotations: { 'example.com/note': 'any text at all: ~!' } })));
  expectProblem(validateResource(we({ name: 'a', creationTimestamp: 'yesterday' })), { severity: 'error', at: 'metadata.creationTimestamp' });
  expectClean(validateResource(we({ name: 'a', creationTimestamp: '2024-01-02T15:04:05Z' })));
  expectClean(validateResource(we({ name: 'a', creationTimestamp: new Date('2024-01-02T15:04:05Z') })));
  expectProblem(validateResource(we({ name: 'a', creationTimestamp: 1704207845 })), { severity: 'error', at: 'metadata.creationTimestamp' });
});

test('V-META-1: istio.io/dry-run is refused on every Istio kind except AuthorizationPolicy', () => {
  const annotations = { 'istio.io/dry-run': 'true' };
  expectProblem(validateResource(we({ name: 'a', annotations })), { severity: 'error', at: 'metadata.annotations.istio.io/dry-run', rule: 'V-META-1' });
  const allow = resource('AuthorizationPolicy', { action: 'DENY', rules: [{}] }, { annotations });
  expectNoProblem(validateResource(allow), { rule: 'V-META-1' });
  const custom = resource('AuthorizationPolicy', { action: 'AUDIT', rules: [{}] }, { annotations });
  expectProblem(validateResource(custom), { severity: 'error', rule: 'V-META-1' });
  const notBool = resource('AuthorizationPolicy', { rules: [{}] }, { annotations: { 'istio.io/dry-run': 'yes' } });
  expectProblem(validateResource(notBool), { severity: 'error', rule: 'V-META-1' });
});

test('V-META-2: internal Istio annotations are refused on user objects', () => {
  for (const key of ['internal.istio.io/webhook-always-reject', 'internal.istio.io/parent-namespace', 'internal.istio.io/parents']) {
    expectProblem(validateResource(we({ name: 'a', annotations: { [key]: 'x' } })), { severity: 'error', rule: 'V-META-2' });
  }
  expectNoProblem(validateResource(we({ name: 'a', annotations: { 'istio.io/other': 'x' } })), { rule: 'V-META-2' });
});

test('options: ipAutoAllocation defaults to on (A-V2-1)', () => {
  const se = resource('ServiceEntry', { hosts: ['a.com'], ports: [{ number: 81, protocol: 'TCP', name: 't' }], resolution: 'DNS' });
  expectClean(validateResource(se));
  expectProblem(validateResource(se, { ipAutoAllocation: false }), { severity: 'warning', rule: 'V-SE-8' });
});

test('dispatch: a v1 List is validated item by item, with paths under items[i]', () => {
  const list = { apiVersion: 'v1', kind: 'List', items: [we({ name: 'ok' }), we({ name: 'Bad_Name' })] };
  assert.deepEqual(summary(validateResource(list)), ['error items[1].metadata.name -']);
  expectProblem(validateResource({ apiVersion: 'v1', kind: 'List', items: 'x' }), { severity: 'error', at: 'items' });
  const nested = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'List', items: [] }] };
  expectProblem(validateResource(nested), { severity: 'error', at: 'items[0].kind' });
});

test('metadata: cluster-scoped kinds (Node, MeshConfig, MeshNetworks) ignore metadata.namespace', () => {
  expectClean(validateResource({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', namespace: 'Not A Namespace' } }));
  expectClean(validateResource({ apiVersion: 'meshbridge.io/v1alpha1', kind: 'MeshNetworks', metadata: { name: 'm', namespace: 'whatever/x' }, spec: {} }));
  expectProblem(validateResource({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'Not A Namespace' } }), { severity: 'error', at: 'metadata.namespace' });
});
