// Issue 11 item 4: an invalid AuthorizationPolicy found where it cannot be refused any more (a
// folder read at start, a store listed after a restart) denies rather than vanishes; writes still
// refuse it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inboundRbac } from '../../src/xds/generate/authz.js';
import { fromDocument } from '../../src/model/config/document.js';
import { failClosedSubstitute, INVALID_ANNOTATION } from '../../src/model/config/fail-closed.js';
import { loadConfig } from '../../src/model/config/load.js';
import { admit } from '../../src/model/config/store-writes.js';
import type { AuthorizationPolicy } from '../../src/model/config/types.js';

const MESH = { rootNamespace: 'istio-system', trustDomain: 'cluster.local' };
const SELECTED = { namespace: 'apps', labels: { app: 'svc' } };
const OTHER = { namespace: 'apps', labels: { app: 'other' } };
const ORIGIN = { file: 'test', line: 1, column: 1, order: 0 };

// A DENY policy whose rule misspells `notPrincipals`: an error (refused unknown field).
const INVALID_DENY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all-but-admin, namespace: apps}
spec:
  selector: {matchLabels: {app: svc}}
  action: DENY
  rules:
  - from:
    - source: {notPrincipal: [cluster.local/ns/apps/sa/admin]}
`;

const policiesOf = (objects: readonly { kind: string }[]): AuthorizationPolicy[] => objects.filter((o): o is AuthorizationPolicy => o.kind === 'AuthorizationPolicy');

test('a folder read at start: an invalid DENY policy is an error finding and stays as a deny-all for the workloads it selects', () => {
  const loaded = loadConfig([{ path: 'policy.yaml', text: INVALID_DENY }]);
  const error = loaded.findings.find((f) => f.severity === 'error');
  assert.ok(error, 'still an error for validate and apply');
  assert.equal(error.field, 'spec.rules[0].from[0].source.notPrincipal');
  assert.equal(error.line, 9);
  const [substitute] = policiesOf(loaded.objects);
  assert.ok(substitute, 'not left out');
  assert.match(substitute.metadata.annotations[INVALID_ANNOTATION] ?? '', /spec\.rules\[0\]\.from\[0\]\.source\.notPrincipal: unknown field "notPrincipal"/);
  assert.deepEqual(substitute.spec, { selector: { matchLabels: { app: 'svc' } }, action: 'DENY', rules: [{}] });
  const rbac = inboundRbac([substitute], SELECTED, MESH);
  assert.deepEqual(Object.keys(rbac.deny?.rules?.policies ?? {}), ['ns[apps]-policy[deny-all-but-admin]-rule[0]']);
  assert.deepEqual(inboundRbac([substitute], OTHER, MESH), {}, 'only the workloads it selected');
});

test('a store listed after a restart: the stored invalid DENY decodes to its deny-all substitute; a write of it is still refused', () => {
  const doc = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'bad', namespace: 'apps' }, spec: { action: 'DENY', rules: [{ to: [{ operation: { port: ['22'] } }] }] } };
  const decoded = fromDocument(doc, 'etcd:/x', ORIGIN);
  assert.equal(decoded.ok, false);
  assert.ok(!decoded.ok && decoded.failClosed?.kind === 'AuthorizationPolicy');
  assert.deepEqual((decoded.failClosed).spec, { action: 'DENY', rules: [{}] }, 'no selector: the whole namespace');
  const refused = admit({ ...decoded.failClosed, spec: doc.spec } as unknown as AuthorizationPolicy, 0);
  assert.equal(refused?.code, 'Invalid');
});

test('substitutes by action: ALLOW allows nothing, CUSTOM and unreadable actions deny, AUDIT needs none; a selector that cannot be read widens to the namespace', () => {
  const of = (spec: unknown) => failClosedSubstitute({ kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'apps' }, spec }, 'reason', ORIGIN)?.spec;
  assert.deepEqual(of({ rules: [{ form: [] }] }), { action: 'ALLOW', rules: [] });
  assert.deepEqual(of({ action: 'CUSTOM', rules: [{}] }), { action: 'DENY', rules: [{}] });
  assert.deepEqual(of({ action: 'REJECT' }), { action: 'DENY', rules: [{}] });
  assert.equal(of({ action: 'AUDIT', rules: [{ bad: 1 }] }), undefined);
  assert.deepEqual(of({ selector: { matchLabels: { app: 7 } }, action: 'DENY' }), { action: 'DENY', rules: [{}] });
  assert.equal(failClosedSubstitute({ kind: 'DestinationRule', metadata: { name: 'p' } }, 'r', ORIGIN), undefined);
  assert.equal(failClosedSubstitute({ kind: 'AuthorizationPolicy', metadata: {} }, 'r', ORIGIN), undefined, 'no name: nothing to key it by');
  // ALLOW-nothing: an invalid ALLOW policy leaves only the other ALLOW policies in force.
  const allowNothing = policiesOf(loadConfig([{ path: 'a.yaml', text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a, namespace: apps}\nspec: {rules: [{from: [{source: {namespace: [apps]}}]}]}\n' }]).objects);
  assert.deepEqual(Object.keys(inboundRbac(allowNothing, SELECTED, MESH).allow?.rules?.policies ?? {}), []);
});
