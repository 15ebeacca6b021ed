// /api/v1/controlplane (issue 18 view 10): the store and its kind, the file watcher, Kubernetes,
// push latency, counts from the registry, and the stale banner.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf } from '../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../test/support/paths.js';
import { controlPlaneView, type ControlPlaneInputs } from './control-plane.js';

const FILE = join('test', 'fixtures', 'api', 'mesh.yaml');
const registry = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }]);
const latency = { count: 4, p50Seconds: 0.05, p99Seconds: 0.4 };
const inputs: ControlPlaneInputs = {
  instance: 'cp-1', version: '0.1.0', startedAt: '2026-12-07T00:00:00.000Z', ready: true, leader: true, replicas: ['cp-1'],
  storeDescription: 'etcd://127.0.0.1:2379',
  feed: { store: 'etcd://127.0.0.1:2379', connected: false, revision: '12', since: '2026-12-07T01:00:00Z', message: 'connection refused', changesApplied: 5, resyncs: 1, problems: ['x'] },
  lastReload: undefined,
  kubernetes: { server: 'https://127.0.0.1:6443', informers: [{ name: 'pods', synced: true, resourceVersion: '7', lists: 1, relists: 0, restarts: 0, watchdogFires: 0, lastError: '', lastErrorReason: '', objects: 1 }] },
  push: { pushes: 3, lastPushAt: '2026-12-07T01:00:01.000Z', lastReloadAt: null },
  convergence: latency, pushTime: latency, proxies: 2, sseClients: 1,
  staleReasons: ['the store etcd://127.0.0.1:2379 is disconnected since 2026-12-07T01:00:00Z: connection refused'],
};

test('an etcd replica: store state, no file watcher, Kubernetes synced, push latency, counts, stale', () => {
  const v = controlPlaneView(registry, inputs);
  assert.deepEqual(v.store, { description: 'etcd://127.0.0.1:2379', kind: 'etcd', connected: false, since: '2026-12-07T01:00:00Z', revision: '12', message: 'connection refused', changesApplied: 5, resyncs: 1, problems: ['x'] });
  assert.equal(v.files, null);
  assert.deepEqual([v.kubernetes?.server, v.kubernetes?.synced], ['https://127.0.0.1:6443', true]);
  assert.deepEqual(v.push, { pushes: 3, lastPushAt: '2026-12-07T01:00:01.000Z', convergence: latency, pushTime: latency });
  assert.deepEqual(v.counts, { proxies: 2, services: 2, workloadEntries: 4, pods: 1, workloadGroups: 1, objects: 9, sseClients: 1 });
  assert.equal(v.mayBeStale, true);
  assert.equal(v.staleReasons.length, 1);
});

test('a file store: the watcher\'s last reload and its refused files', () => {
  const v = controlPlaneView(registry, {
    ...inputs,
    storeDescription: 'file:///etc/mesh',
    kubernetes: undefined,
    lastReload: { files: [{ path: 'a.yaml', rejected: true }, { path: 'b.yaml', rejected: false }], findings: [], rejected: ['a.yaml'], applied: [], objectCount: 1, duplicates: [] } as unknown as ControlPlaneInputs['lastReload'],
    push: { pushes: 0, lastPushAt: null, lastReloadAt: '2026-12-07T01:00:00.000Z' },
    staleReasons: [],
  });
  assert.equal(v.store.kind, 'file');
  assert.deepEqual(v.files, { lastReloadAt: '2026-12-07T01:00:00.000Z', files: 2, rejected: ['a.yaml'] });
  assert.equal(v.kubernetes, null);
  assert.equal(v.mayBeStale, false);
});
