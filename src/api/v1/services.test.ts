// /api/v1 services read models (issue 18 views 1 and 2) on test/fixtures/api/mesh.yaml: one table
// across sources with counts by kind and health, and pods and VMs side by side with the reason of
// their health, where their locality came from and the object that selected them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf } from '../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../test/support/paths.js';
import { serviceDetailView, servicesView } from './services.js';

const FILE = join('test', 'fixtures', 'api', 'mesh.yaml');
const registry = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }]);

test('services: one row per host with its source, VIPs (spec and auto-allocated) and member counts by kind and health', () => {
  const { services } = servicesView(registry);
  assert.deepEqual(
    services.map((s) => [s.namespace, s.host, s.kind, s.resolution, s.location, s.definedBy, s.addresses.spec, s.addresses.auto.length]),
    [
      ['shop', 'payments.example.com', 'ServiceEntry', 'STATIC', 'MESH_EXTERNAL', { key: 'ServiceEntry/shop/payments', location: `${FILE}:77` }, [], 2],
      ['shop', 'reviews.shop.test', 'ServiceEntry', 'STATIC', 'MESH_INTERNAL', { key: 'ServiceEntry/shop/reviews', location: `${FILE}:10` }, [], 2],
    ],
  );
  const reviews = services[1];
  assert.deepEqual(reviews?.ports, [{ number: 9080, name: 'http', protocol: 'HTTP', targetPort: 8080 }]);
  // A pod and three VMs: one VM fails its probe and is left out of EDS, counted as UNHEALTHY.
  assert.deepEqual(reviews?.endpoints, {
    total: 4,
    byKind: { Pod: 1, WorkloadEntry: 3, inline: 0 },
    byHealth: { HEALTHY: 1, UNHEALTHY: 1, UNKNOWN: 2, DRAINING: 0 },
    leftOutUnhealthy: 1,
  });
  assert.deepEqual(services[0]?.endpoints, { total: 2, byKind: { Pod: 0, WorkloadEntry: 0, inline: 2 }, byHealth: { HEALTHY: 0, UNHEALTHY: 0, UNKNOWN: 2, DRAINING: 0 }, leftOutUnhealthy: 0 });
});

test('service detail: pods and VMs side by side with ports, network, locality and its source, identity, TLS mode, health and its reason, selector', () => {
  const detail = serviceDetailView(registry, 'shop', 'reviews.shop.test');
  assert.ok(detail);
  const rows = detail.members.map((m) => ({
    kind: m.kind,
    name: m.name,
    address: m.address,
    ports: m.ports.map((p) => `${p.servicePort}/${p.portName}->${p.port}`),
    network: m.network,
    locality: `${m.locality} (${m.localitySource})`,
    weight: m.weight,
    identity: m.identity,
    tlsMode: m.tlsMode,
    health: `${m.health}: ${m.healthReason}`,
    inEndpoints: m.inEndpoints,
    selectedBy: m.selectedBy,
  }));
  const common = { ports: ['9080/http->8080'], selectedBy: 'ServiceEntry/shop/reviews' };
  assert.deepEqual(rows, [
    { ...common, kind: 'Pod', name: 'reviews-pod', address: '127.0.40.1', network: '', locality: 'r1/z1/ (Node node-a labels)', weight: 1, identity: 'spiffe://cluster.local/ns/shop/sa/reviews', tlsMode: 'istio', health: 'HEALTHY: the pod is Ready', inEndpoints: true },
    { ...common, kind: 'WorkloadEntry', name: 'reviews-legacy', address: '127.0.40.4', network: '', locality: 'r3/z3 (label topology.istio.io/locality)', weight: 5, identity: null, tlsMode: 'disabled', health: 'UNKNOWN: not health checked (no proxy.istio.io/health-checks-enabled): sent as UNKNOWN, which Envoy treats as healthy', inEndpoints: true },
    { ...common, kind: 'WorkloadEntry', name: 'reviews-vm-127.0.40.2', address: '127.0.40.2', network: 'vm-net', locality: 'r2/z2 (WorkloadEntry spec.locality)', weight: 1, identity: 'spiffe://cluster.local/ns/shop/sa/reviews-vm', tlsMode: 'istio', health: 'UNKNOWN: Healthy condition True (probed 2026-12-06T10:00:05Z): healthy, sent to proxies as UNKNOWN as every WorkloadEntry is (E-ATTR-7), which Envoy treats as healthy', inEndpoints: true },
    { ...common, kind: 'WorkloadEntry', name: 'reviews-vm-127.0.40.3', address: '127.0.40.3', network: 'vm-net', locality: ' (none)', weight: 1, identity: 'spiffe://cluster.local/ns/shop/sa/reviews-vm', tlsMode: 'istio', health: 'UNHEALTHY: health checks are enabled and its Healthy condition is False: GET /ready: 503', inEndpoints: false },
  ]);
  const pod = detail.members[0];
  assert.deepEqual(pod?.selector, { app: 'reviews' });
  assert.equal(pod?.labels['version'], 'v1');
  assert.equal(pod?.location, `${FILE}:20`);
  assert.deepEqual(
    detail.leftOut.map((x) => [x.source, x.reason]),
    [['WorkloadEntry/other/reviews-elsewhere', 'namespace']],
  );
});

test('service detail: inline endpoints name their ServiceEntry; an unknown service is undefined (404)', () => {
  const detail = serviceDetailView(registry, 'shop', 'payments.example.com');
  assert.deepEqual(
    detail?.members.map((m) => [m.kind, m.source, m.address, m.locality, m.localitySource, m.selectedBy, m.selector, m.healthReason]),
    [
      ['inline', 'ServiceEntry/shop/payments#0', '127.0.40.10', 'r1/z1', 'ServiceEntry ServiceEntry/shop/payments spec.endpoints[0].locality', 'ServiceEntry/shop/payments', null, 'an inline endpoint: not health checked (sent as UNKNOWN)'],
      ['inline', 'ServiceEntry/shop/payments#1', '127.0.40.11', '', 'none', 'ServiceEntry/shop/payments', null, 'an inline endpoint: not health checked (sent as UNKNOWN)'],
    ],
  );
  assert.equal(serviceDetailView(registry, 'shop', 'nothing.example.com'), undefined);
  assert.equal(serviceDetailView(registry, 'other', 'reviews.shop.test'), undefined);
});

test('services: the response is plain JSON (what the HTTP API sends is what the function returns)', () => {
  const view = servicesView(registry);
  assert.deepEqual(JSON.parse(JSON.stringify(view)), view);
  const detail = serviceDetailView(registry, 'shop', 'reviews.shop.test');
  assert.deepEqual(JSON.parse(JSON.stringify(detail)), detail);
});
