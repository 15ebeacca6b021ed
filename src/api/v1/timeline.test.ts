// /api/v1/timeline (issue 18 view 4): a service's pods and VMs with their transitions, one
// endpoint, and the errors (bad service parameter, unknown service).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf } from '../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../test/support/paths.js';
import { HealthHistory } from '../../status/health-history.js';
import { timelineView } from './timeline.js';

const FILE = join('test', 'fixtures', 'api', 'mesh.yaml');
const registry = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }]);
const VM = 'WorkloadEntry/shop/reviews-vm-127.0.40.2';

function history(): HealthHistory {
  const h = new HealthHistory(undefined, () => Date.parse('2026-12-07T01:00:00Z'));
  h.record({ endpoint: 'Pod/shop/reviews-pod', kind: 'Pod', address: '127.0.40.1', dimension: 'health', state: 'healthy', reason: 'the pod is Ready', source: 'kubernetes' });
  h.record({ endpoint: VM, kind: 'WorkloadEntry', address: '127.0.40.2', dimension: 'health', state: 'unhealthy', reason: 'probe failed', source: 'probe' });
  h.record({ endpoint: 'WorkloadEntry/other/x', kind: 'WorkloadEntry', address: '127.0.40.9', dimension: 'health', state: 'healthy', reason: '', source: 'operator' });
  return h;
}

test('timeline of a service: its pods and VMs only (members with history); of one endpoint; all', () => {
  const h = history();
  const answer = timelineView(registry, h, new URLSearchParams({ service: 'shop/reviews.shop.test' }));
  assert.ok(answer.ok);
  assert.equal(answer.body.service, 'shop/reviews.shop.test');
  assert.deepEqual(answer.body.endpoints.map((e) => [e.endpoint, e.health, e.transitions.length]), [
    ['Pod/shop/reviews-pod', 'healthy', 1],
    [VM, 'unhealthy', 1],
  ]);
  assert.deepEqual(answer.body.limits, { transitionsPerEndpoint: 100, endpoints: 5000, flapWindowSeconds: 60, flapThreshold: 3 });
  const one = timelineView(registry, h, new URLSearchParams({ endpoint: VM }));
  assert.deepEqual(one.ok ? one.body.endpoints.map((e) => e.transitions[0]) : [], [{ at: '2026-12-07T01:00:00.000Z', from: 'absent', to: 'unhealthy', reason: 'probe failed', source: 'probe' }]);
  const all = timelineView(registry, h, new URLSearchParams());
  assert.equal(all.ok ? all.body.endpoints.length : 0, 3);
});

test('timeline errors: service not ns/host (400), unknown service (404)', () => {
  assert.deepEqual(timelineView(registry, history(), new URLSearchParams({ service: 'reviews' })), { ok: false, status: 400, error: 'service must be namespace/host, not "reviews"' });
  assert.deepEqual(timelineView(registry, history(), new URLSearchParams({ service: 'shop/none.test' })), { ok: false, status: 404, error: 'no service none.test in namespace shop' });
});
