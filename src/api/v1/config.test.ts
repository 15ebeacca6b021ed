// /api/v1/config (issue 18 view 9) on test/fixtures/api/mesh.yaml: each object with its source
// location, the problems of its file that name it, the status as stored, and cross-references.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf } from '../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../test/support/paths.js';
import type { FilesReport } from '../../model/config/store.js';
import { configView } from './config.js';

const FILE = join('test', 'fixtures', 'api', 'mesh.yaml');
const registry = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }]);
const finding = { severity: 'warning' as const, file: FILE, line: 12, column: 3, kind: 'ServiceEntry', namespace: 'shop', name: 'reviews', field: 'spec.hostz', message: 'unknown field "hostz" (did you mean "hosts"?)' };
const report: FilesReport = { files: [{ path: FILE, rejected: false, objects: [], findings: [finding] }], findings: [finding], rejected: [], applied: [FILE], objectCount: 9, duplicates: [] };

test('objects with location, problems, status and cross-references; files with their problems', () => {
  const view = configView(registry, { store: 'file:///x', revision: '3', lastReload: report });
  assert.deepEqual([view.store, view.revision], ['file:///x', '3']);
  const byKey = new Map(view.objects.map((o) => [o.key, o]));
  const se = byKey.get('ServiceEntry/shop/reviews');
  assert.ok(se);
  assert.equal(se.location, `${FILE}:10`);
  assert.deepEqual(se.problems, [{ severity: 'warning', message: finding.message, field: 'spec.hostz', file: FILE, line: 12, column: 3 }]);
  assert.deepEqual(se.references, [
    { relation: 'selects', key: 'Pod/shop/reviews-pod' },
    { relation: 'selects', key: 'WorkloadEntry/shop/reviews-legacy' },
    { relation: 'selects', key: 'WorkloadEntry/shop/reviews-vm-127.0.40.2' },
    { relation: 'selects', key: 'WorkloadEntry/shop/reviews-vm-127.0.40.3' },
  ], 'not the entry of namespace other');
  assert.deepEqual(byKey.get('WorkloadGroup/shop/reviews-vm')?.references, [
    { relation: 'entries', key: 'WorkloadEntry/shop/reviews-vm-127.0.40.2' },
    { relation: 'entries', key: 'WorkloadEntry/shop/reviews-vm-127.0.40.3' },
  ]);
  const vm = byKey.get('WorkloadEntry/shop/reviews-vm-127.0.40.2');
  assert.deepEqual(vm?.references, [{ relation: 'group', key: 'WorkloadGroup/shop/reviews-vm' }, { relation: 'selectedBy', key: 'ServiceEntry/shop/reviews' }]);
  assert.deepEqual(vm.status, { conditions: [{ type: 'Healthy', status: 'True', lastProbeTime: '2026-12-06T10:00:05Z', lastTransitionTime: '2026-12-06T10:00:05Z' }] });
  assert.equal(byKey.get('WorkloadEntry/shop/reviews-legacy')?.status, null);
  assert.deepEqual(view.files, [{ path: FILE, rejected: false, objects: 0, problems: [{ severity: 'warning', message: finding.message, field: 'spec.hostz', file: FILE, line: 12, column: 3 }] }]);
  assert.deepEqual(configView(registry, { store: 'etcd://x', revision: '9', lastReload: undefined }).files, []);
});

test('DestinationRule and VirtualService point at the services of their hosts', () => {
  const rules = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec: {host: reviews.shop.test}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: split, namespace: shop}
spec:
  hosts: [reviews.shop.test, payments.example.com]
  http: [{route: [{destination: {host: reviews.shop.test}}]}]
`;
  const r = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }, { path: 'rules.yaml', text: rules }]);
  const byKey = new Map(configView(r, { store: 's', revision: '1', lastReload: undefined }).objects.map((o) => [o.key, o]));
  assert.deepEqual(byKey.get('DestinationRule/shop/reviews')?.references, [{ relation: 'host', key: 'shop/reviews.shop.test' }]);
  assert.deepEqual(byKey.get('VirtualService/shop/split')?.references, [{ relation: 'host', key: 'shop/payments.example.com' }, { relation: 'host', key: 'shop/reviews.shop.test' }]);
  assert.equal(byKey.get('DestinationRule/shop/reviews')?.location, 'rules.yaml:1');
});
