// What-if (issue 18): the comparison of the generated configuration before and after a change,
// through the real registry and push pipeline, on the fixture test/fixtures/what-if/mesh.yaml.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exampleFiles } from '../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../test/support/paths.js';
import { whatIf, type ClientSelection, type WhatIfResult } from './what-if.js';

const MESH = join(PROJECT_ROOT, 'test', 'fixtures', 'what-if', 'mesh.yaml');
const current = [{ path: 'mesh.yaml', text: readFileSync(MESH, 'utf8') }];

function run(changedYaml: string, clients: ClientSelection = { namespace: 'apps' }): WhatIfResult {
  return whatIf({ current, changed: [{ path: 'change.yaml', text: changedYaml }], clients });
}

const VS = (v1: number, v2: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: apps}
spec:
  hosts: [a.apps.test]
  http:
  - name: split
    route:
    - destination: {host: a.apps.test, subset: v1}
      weight: ${v1}
    - destination: {host: a.apps.test, subset: v2}
      weight: ${v2}
`;

const WE = (name: string, address: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}, namespace: apps}
spec: {address: ${address}, labels: {app: a, version: v1}${extra}}
`;

test('what-if: a VirtualService weight change lists exactly the routes that change, for sidecars and proxyless clients', () => {
  const r = run(VS(50, 50));
  assert.equal(r.applicable, true);
  assert.equal(r.changed, true);
  assert.deepEqual(r.objects.map((o) => [o.kind, o.name, o.change, o.file, o.line]), [['VirtualService', 'a', 'configured', 'change.yaml', 1]]);
  assert.match(r.objects[0]?.diff ?? '', /^- +weight: 80\n\+ +weight: 50$/m);
  assert.deepEqual(r.compared, ['envoy ns=apps', 'grpc ns=apps']);
  assert.deepEqual(
    r.clients.map((c) => [c.label, c.routes.map((x) => [x.routeConfiguration, x.virtualHost, x.change]), c.clusters, c.endpoints, c.listeners]),
    [
      ['envoy ns=apps', [['80', 'a.apps.test:80', 'changed']], [], [], []],
      ['grpc ns=apps', [['a.apps.test:80', 'a.apps.test:80', 'changed']], [], [], []],
    ],
  );
  const envoy = r.clients[0]?.routes[0];
  assert.deepEqual(envoy?.before, [{ match: 'prefix ""', action: 'weighted outbound|80|v1|a.apps.test=80, outbound|80|v2|a.apps.test=20' }]);
  assert.deepEqual(envoy?.after, [{ match: 'prefix ""', action: 'weighted outbound|80|v1|a.apps.test=50, outbound|80|v2|a.apps.test=50' }]);
});

test('what-if: an added WorkloadEntry is an added endpoint of the service cluster and of its subset; nothing else changes', () => {
  const r = run(WE('a3', '127.0.31.4'), { namespace: 'apps', kind: 'envoy' });
  assert.deepEqual(r.objects.map((o) => [o.name, o.change]), [['a3', 'created']]);
  const [client] = r.clients;
  assert.ok(client);
  assert.deepEqual(client.routes, []);
  assert.deepEqual(client.clusters, []);
  assert.deepEqual(
    client.endpoints.map((e) => [e.cluster, e.change, e.endpoints.map((x) => [x.address, x.change, x.after?.weight, x.after?.health])]),
    [
      ['outbound|80|v1|a.apps.test', 'changed', [['127.0.31.4:80', 'added', 1, 'UNKNOWN']]],
      ['outbound|80||a.apps.test', 'changed', [['127.0.31.4:80', 'added', 1, 'UNKNOWN']]],
    ],
  );
});

test('what-if: a WorkloadEntry weight and locality change is a changed endpoint naming the fields that differ', () => {
  const r = run(WE('a1', '127.0.31.1', ', weight: 7, locality: r1/z1'), { namespace: 'apps', kind: 'grpc' });
  const [client] = r.clients;
  assert.ok(client);
  const endpoint = client.endpoints.find((e) => e.cluster === 'outbound|80||a.apps.test')?.endpoints;
  assert.deepEqual(endpoint?.map((x) => [x.address, x.change, x.fields, x.before?.weight, x.after?.weight, x.after?.locality]), [['127.0.31.1:80', 'changed', ['locality', 'weight'], 1, 7, 'r1/z1']]);
});

test('what-if: a DestinationRule subset added is a new cluster with its endpoints, and the subset removed disappears', () => {
  const r = run(
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a, namespace: apps}
spec:
  host: a.apps.test
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: all, labels: {app: a}}
`,
    { namespace: 'apps', kind: 'envoy' },
  );
  const [client] = r.clients;
  assert.ok(client);
  assert.deepEqual(client.clusters.map((c) => [c.name, c.change]), [
    ['outbound|80|all|a.apps.test', 'added'],
    ['outbound|80|v2|a.apps.test', 'removed'],
  ]);
  assert.deepEqual(client.endpoints.map((e) => [e.cluster, e.change, e.endpoints.map((x) => `${x.change} ${x.address}`)]), [
    ['outbound|80|all|a.apps.test', 'added', ['added 127.0.31.1:80', 'added 127.0.31.2:80']],
    ['outbound|80|v2|a.apps.test', 'removed', ['removed 127.0.31.2:80']],
  ]);
});

test('what-if: an invalid file lists its findings with positions and changes nothing', () => {
  const r = run(VS(50, 50).replace('weight: 50\n    - destination', 'weight: fifty\n    - destination'));
  assert.equal(r.applicable, false);
  assert.equal(r.changed, false);
  assert.deepEqual(r.objects, []);
  assert.deepEqual(r.clients, []);
  assert.deepEqual(
    r.errors.map((f) => [f.file, f.line, f.kind, f.name, f.field]),
    [['change.yaml', 10, 'VirtualService', 'a', 'spec.http[0].route[0].weight']],
  );
});

test('what-if: a file equal to the current objects changes nothing', () => {
  const r = run(VS(80, 20), {});
  assert.equal(r.applicable, true);
  assert.equal(r.changed, false);
  assert.deepEqual(r.objects.map((o) => o.change), ['unchanged']);
  assert.deepEqual(r.clients, []);
  assert.deepEqual(r.compared, ['envoy ns=apps', 'grpc ns=apps']);
});

test('what-if: re-applying files of a configuration changes nothing: a replaced object keeps its creation order (VIP allocation, oldest-wins)', () => {
  const examples = exampleFiles();
  for (const name of ['20-details-vm-and-pods.yaml', '50-multi-network.yaml']) {
    const file = examples.find((f) => f.path.endsWith(name));
    assert.ok(file, name);
    const r = whatIf({ current: examples, changed: [{ path: `copy-of-${name}`, text: file.text }] });
    assert.equal(r.applicable, true, name);
    assert.deepEqual(r.clients, [], `${name}: ${JSON.stringify(r.clients.map((c) => c.label))}`);
    assert.equal(r.changed, false, name);
  }
});
