// NDS over real gRPC from a real ControlPlane: an Envoy-flavour node subscribing to
// `type.googleapis.com/istio.networking.nds.v1.NameTable` with no names gets its one unnamed
// NameTable over SotW and over delta, and gets it again when a new WorkloadEntry joins a
// resolution NONE service (an endpoint-only change: Istio sends nothing there, istio#49769).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary } from '@bufbuild/protobuf';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { NameTableSchema } from '../../src/gen/istio/networking/nds/v1/nds_pb.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { openAds, startControlPlaneOn } from '../support/control-plane.js';
import { RawAdsStream } from './fixtures/ads-client.js';

const NDS = 'type.googleapis.com/istio.networking.nds.v1.NameTable';

const MESH = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms, namespace: ns1}
spec: {hosts: [vms.mesh.test], location: MESH_INTERNAL, resolution: NONE, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: vm}}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: ns1}
spec: {hosts: [db.mesh.test], location: MESH_INTERNAL, resolution: DNS, ports: [{number: 5432, name: tcp, protocol: TCP}]}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: ns1}
spec: {address: 127.0.64.11, labels: {app: vm}}
`;

const SECOND_VM = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-2, namespace: ns1}
spec: {address: 127.0.64.12, labels: {app: vm}}
`;

const sidecarNode = (ip: string) => ({ id: `sidecar~${ip}~app-1.ns1~ns1.svc.cluster.local`, metadata: { NAMESPACE: 'ns1' } });

function ipsOf(bytes: Uint8Array): Record<string, string[]> {
  return Object.fromEntries(Object.entries(fromBinary(NameTableSchema, bytes).table).map(([h, e]) => [h, [...e.ips].sort()]));
}

test('NDS over SotW and delta: the proxy\'s table, and again after an endpoint-only change', { timeout: 60_000 }, async (t) => {
  const cp = await startControlPlaneOn({ 'mesh.yaml': MESH });
  t.after(() => cp.stop());

  const sotw = openAds(cp.xds, sidecarNode('127.0.64.1'), NDS, []);
  t.after(() => sotw.close());
  const first = await sotw.next(10_000);
  assert.equal(first.typeUrl, NDS);
  assert.equal(first.resources.length, 1);
  assert.equal(first.resources[0]?.typeUrl, NDS);
  assert.deepEqual(ipsOf(first.resources[0]?.value ?? new Uint8Array()), { 'db.mesh.test': ['2001:2::1', '240.240.0.1'], 'vms.mesh.test': ['127.0.64.11'] });
  sotw.send(create(DiscoveryRequestSchema, { typeUrl: NDS, versionInfo: first.versionInfo, responseNonce: first.nonce }));

  const delta = new RawAdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(cp.xds, adsServiceDefinition.DeltaAggregatedResources, 30_000);
  t.after(() => delta.close());
  delta.send(create(DeltaDiscoveryRequestSchema, { node: sidecarNode('127.0.64.2'), typeUrl: NDS }));
  const firstDelta = await delta.next(10_000);
  assert.equal(firstDelta.typeUrl, NDS);
  assert.equal(firstDelta.resources.length, 1);
  assert.deepEqual(ipsOf(firstDelta.resources[0]?.resource?.value ?? new Uint8Array())['vms.mesh.test'], ['127.0.64.11']);
  delta.send(create(DeltaDiscoveryRequestSchema, { typeUrl: NDS, responseNonce: firstDelta.nonce }));

  writeFileSync(join(cp.dir, 'vm-2.yaml'), SECOND_VM);
  const second = await sotw.next(10_000);
  assert.notEqual(second.versionInfo, first.versionInfo);
  assert.deepEqual(ipsOf(second.resources[0]?.value ?? new Uint8Array())['vms.mesh.test'], ['127.0.64.11', '127.0.64.12']);
  const secondDelta = await delta.next(10_000);
  assert.deepEqual(ipsOf(secondDelta.resources[0]?.resource?.value ?? new Uint8Array())['vms.mesh.test'], ['127.0.64.11', '127.0.64.12']);
});
