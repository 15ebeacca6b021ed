/**
 * Rules X-* (which services a client sees), through the `endpoints` report.
 *
 * Not covered: X-2 (`serviceEntryVisibility.applyToSidecars` is off by default and not a MeshConfig
 * field meshbridge reads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addresses, cluster, clusterNames, endpoints, service, workloadEntry, yamlDocs } from '../../../test/support/mesh.js';
import { isExportedTo } from './visibility.js';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh/mesh-settings.js';

function exported(exportTo: string): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      ${exportTo === '' ? '' : `exportTo: ${exportTo}`}
      endpoints: [{address: 1.1.1.1}]
  `;
}

function visibleTo(config: string, namespace: string): boolean {
  const r = endpoints(config, { client: { namespace } });
  const inServices = r.services.some((s) => s.host === 'a.example.com');
  const inClusters = r.clusters.some((c) => c.host === 'a.example.com');
  assert.equal(inServices, inClusters, 'services and clusters agree on visibility');
  return inServices;
}

test('X-1: exportTo empty means the mesh default, "*" by default: everyone sees it', () => {
  assert.equal(visibleTo(exported(''), 'ns1'), true);
  assert.equal(visibleTo(exported(''), 'other'), true);
});

test('X-1: "." exports to the own namespace only', () => {
  assert.equal(visibleTo(exported('["."]'), 'ns1'), true);
  assert.equal(visibleTo(exported('["."]'), 'ns2'), false);
});

test('X-1: a namespace name exports to that namespace (and not to the own one unless listed)', () => {
  assert.equal(visibleTo(exported('[ns2]'), 'ns2'), true);
  assert.equal(visibleTo(exported('[ns2]'), 'ns3'), false);
  assert.equal(visibleTo(exported('[ns2]'), 'ns1'), false);
  assert.equal(visibleTo(exported('[".", ns2]'), 'ns1'), true);
});

test('X-1: "~" hides the service from every client, its own namespace included', () => {
  for (const ns of ['ns1', 'ns2']) assert.equal(visibleTo(exported('["~"]'), ns), false);
});

test('X-1: the mesh defaultServiceExportTo applies to entries without exportTo', () => {
  const mesh = `
    apiVersion: meshbridge.io/v1alpha1
    kind: MeshConfig
    metadata: {name: mesh}
    spec: {defaultServiceExportTo: ["."]}
  `;
  assert.equal(visibleTo(yamlDocs(mesh, exported('')), 'ns1'), true);
  assert.equal(visibleTo(yamlDocs(mesh, exported('')), 'ns2'), false);
  assert.equal(visibleTo(yamlDocs(mesh, exported('["*"]')), 'ns2'), true);
});

test('X-1: a Kubernetes Service exports with the networking.istio.io/exportTo annotation', () => {
  const svc = (annotation: string) => `
    apiVersion: v1
    kind: Service
    metadata:
      name: svc
      namespace: ns1
      annotations: {networking.istio.io/exportTo: "${annotation}"}
    spec:
      clusterIP: 10.96.0.1
      ports: [{name: http, port: 80}]
  `;
  assert.deepEqual(clusterNames(endpoints(svc('.'), { client: { namespace: 'ns2' } })), []);
  assert.deepEqual(clusterNames(endpoints(svc('.'), { client: { namespace: 'ns1' } })), ['outbound|80||svc.ns1.svc.cluster.local']);
  assert.deepEqual(clusterNames(endpoints(svc('ns1, ns2'), { client: { namespace: 'ns2' } })), ['outbound|80||svc.ns1.svc.cluster.local']);
});

test('X-1: isExportedTo on its own', () => {
  const mesh = DEFAULT_MESH_SETTINGS;
  assert.equal(isExportedTo([], 'a', 'b', mesh), true);
  assert.equal(isExportedTo(['.'], 'a', 'a', mesh), true);
  assert.equal(isExportedTo(['.'], 'a', 'b', mesh), false);
  assert.equal(isExportedTo(['~'], 'a', 'a', mesh), false);
  assert.equal(isExportedTo(['b'], 'a', 'b', mesh), true);
});

test('X-3: visibility does not change endpoint selection (the hidden service still has its endpoints for its own namespace)', () => {
  const config = yamlDocs(
    `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      exportTo: ["."]
      workloadSelector:
        labels: {app: a}
    `,
    workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'),
  );
  assert.deepEqual(endpoints(config, { client: { namespace: 'ns2' } }).services, []);
  const own = endpoints(config, { client: { namespace: 'ns1' } });
  assert.deepEqual(addresses(service(own, 'a.example.com').endpoints), ['1.1.1.1:80']);
  assert.deepEqual(addresses(cluster(own, 'outbound|80||a.example.com')), ['1.1.1.1:80']);
});

test('X-1, D-4: a same-host service hidden from the client does not win; the visible one does', () => {
  const shared = (ns: string, time: string, ip: string, exportTo: string) => `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: shared, namespace: ${ns}, creationTimestamp: "${time}"}
    spec:
      hosts: [shared.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      exportTo: ${exportTo}
      endpoints: [{address: ${ip}}]
  `;
  const r = endpoints(yamlDocs(shared('ns1', '2024-01-01T00:00:00Z', '1.1.1.1', '["."]'), shared('ns2', '2024-02-01T00:00:00Z', '2.2.2.2', '["*"]')), {
    client: { namespace: 'ns3' },
  });
  assert.deepEqual(addresses(cluster(r, 'outbound|80||shared.example.com')), ['2.2.2.2:80']);
});
