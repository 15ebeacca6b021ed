// /api/v1/localities (issue 18 view 7) on test/fixtures/api/mesh.yaml plus a DestinationRule with
// outlier detection: the priorities the generator assigns for a chosen client locality, the
// setting that decided them, and the localities for the picker.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf } from '../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../test/support/paths.js';
import { localitiesView } from './localities.js';

const FILE = join('test', 'fixtures', 'api', 'mesh.yaml');
const RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: payments, namespace: shop}
spec:
  host: payments.example.com
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s}}
`;
const registry = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }, { path: 'rule.yaml', text: RULE }]);

test('failover order for a client in r1/z1: its own locality first, then the rest', () => {
  const view = localitiesView(registry, new URLSearchParams({ client: 'r1/z1', namespace: 'shop', host: 'payments.example.com' }));
  assert.deepEqual(view.client, { locality: 'r1/z1', network: '', namespace: 'shop' });
  assert.equal(view.services.length, 1);
  const s = view.services[0];
  assert.ok(s);
  assert.deepEqual([s.cluster, s.localityAware, s.localityLb.setting], ['outbound|443||payments.example.com', true, 'mesh']);
  assert.deepEqual(s.priorities.map((p) => [p.priority, p.localities, p.endpoints.map((e) => `${e.address} ${e.source}`)]), [
    [0, ['r1/z1'], ['127.0.40.10:443 ServiceEntry/shop/payments#0']],
    [1, [''], ['127.0.40.11:443 ServiceEntry/shop/payments#1']],
  ]);
});

test('a client elsewhere gets another order; without outlier detection every endpoint is priority 0; the picker lists localities', () => {
  const away = localitiesView(registry, new URLSearchParams({ client: 'r9/z9', namespace: 'shop', host: 'payments.example.com' }));
  // Neither endpoint shares the client's region: both match at the same (lowest) level, one priority.
  assert.deepEqual(away.services[0]?.priorities.map((p) => [p.priority, p.localities]), [[0, ['', 'r1/z1']]]);
  const reviews = localitiesView(registry, new URLSearchParams({ client: 'r1/z1', namespace: 'shop', host: 'reviews.shop.test' }));
  assert.deepEqual(reviews.services.map((x) => [x.localityAware, x.localityLb.setting, x.priorities.map((p) => p.priority)]), [[false, 'mesh', [0]]]);
  assert.ok(reviews.localities.some((l) => l.locality === 'r2/z2' && l.network === 'vm-net' && l.endpoints === 1), JSON.stringify(reviews.localities));
});
