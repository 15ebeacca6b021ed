// /api/v1 WorkloadGroup read model (issue 18 view 3) on test/fixtures/api/mesh.yaml: a group's
// registered entries with the auto-registration lifecycle (controller, connected/disconnected at,
// cleanup deadline) and the Healthy condition; an entry written by hand is not the group's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf } from '../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../test/support/paths.js';
import { workloadGroupsView, workloadGroupView } from './workload-groups.js';

const FILE = join('test', 'fixtures', 'api', 'mesh.yaml');
const registry = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }]);

test('workload groups: the template, and each registered entry with controller, connection times, cleanup deadline and health', () => {
  const { workloadGroups } = workloadGroupsView(registry, { gracePeriodMs: 30_000 });
  assert.equal(workloadGroups.length, 1);
  const g = workloadGroups[0];
  assert.ok(g);
  assert.deepEqual([g.namespace, g.name, g.location, g.probe], ['shop', 'reviews-vm', `${FILE}:35`, true]);
  assert.deepEqual(g.template, { labels: { app: 'reviews', version: 'v2' }, ports: { http: 8080 }, serviceAccount: 'reviews-vm', network: 'vm-net', locality: '', weight: 0 });
  assert.deepEqual(g.entries, [
    {
      name: 'reviews-vm-127.0.40.2',
      namespace: 'shop',
      address: '127.0.40.2',
      labels: { app: 'reviews', version: 'v2' },
      locality: 'r2/z2',
      network: 'vm-net',
      controller: 'cp-1',
      connectedAt: '2026-12-06T10:00:00.000000000Z',
      disconnectedAt: null,
      state: 'connected',
      cleanupDeadline: null,
      health: { status: 'True', lastTransitionTime: '2026-12-06T10:00:05Z', lastProbeTime: '2026-12-06T10:00:05Z' },
      inEndpoints: true,
      location: `${FILE}:43`,
    },
    {
      name: 'reviews-vm-127.0.40.3',
      namespace: 'shop',
      address: '127.0.40.3',
      labels: { app: 'reviews', version: 'v2' },
      locality: '',
      network: 'vm-net',
      controller: 'cp-1',
      connectedAt: '2026-12-06T10:00:00.000000000Z',
      disconnectedAt: '2026-12-06T11:00:00.000000000Z',
      state: 'disconnected',
      cleanupDeadline: '2026-12-06T11:00:30.000Z',
      health: { status: 'False', reason: 'HTTPGetFailed', message: 'GET /ready: 503', lastTransitionTime: '2026-12-06T10:59:00Z' },
      inEndpoints: false,
      location: `${FILE}:57`,
    },
  ]);
  assert.deepEqual(g.counts, { connected: 1, disconnected: 1, healthy: 1, unhealthy: 1 });
});

test('workload groups: one group by namespace and name; the default grace period is serve\'s (10 s); unknown is undefined (404)', () => {
  const g = workloadGroupView(registry, 'shop', 'reviews-vm');
  assert.equal(g?.entries[1]?.cleanupDeadline, '2026-12-06T11:00:10.000Z');
  assert.equal(workloadGroupView(registry, 'shop', 'nope'), undefined);
  assert.equal(workloadGroupView(registry, 'other', 'reviews-vm'), undefined);
  const view = workloadGroupsView(registry);
  assert.deepEqual(JSON.parse(JSON.stringify(view)), view);
});
