// Issue 15 (bench S6), through a real ControlPlane and real ADS streams: Envoy sidecars of different
// classes (each has a workload of its own, so its CDS differs) read EDS from one slot per relevance
// class: the same snapshot version, made once per endpoint change whatever the number of sidecars.
// Measured cause: the push history in front of the cache did not forward `aliasType`, so serve wrote
// every sidecar's EDS to a slot of its own (2,000 selections and comparisons per endpoint change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiscoveryRequestSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { CLUSTER, ENDPOINT } from '../../src/xds/types/resource-types.js';
import { openAds, startControlPlaneOn } from '../support/control-plane.js';

const MESH = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms, namespace: ns1}
spec: {hosts: [vms.mesh.test], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: vm}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: ns1}
spec: {address: 127.0.66.11, labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-2, namespace: ns1}
spec: {address: 127.0.66.12, labels: {app: vm, admin: 'yes'}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: admin, namespace: ns1}
spec: {hosts: [admin.mesh.test], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 81, name: http-admin, protocol: HTTP}], workloadSelector: {labels: {admin: 'yes'}}}
`;
const THIRD_VM = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-3, namespace: ns1}
spec: {address: 127.0.66.13, labels: {app: vm}}
`;
const CLUSTER_NAME = 'outbound|80||vms.mesh.test';
const sidecarNode = (ip: string) => ({ id: `sidecar~${ip}~vm.ns1~ns1.svc.cluster.local`, metadata: { NAMESPACE: 'ns1' } });

test('Envoy sidecars of different classes share one EDS slot: one version per endpoint change', { timeout: 60_000 }, async (t) => {
  const cp = await startControlPlaneOn({ 'mesh.yaml': MESH });
  t.after(() => cp.stop());
  const versions = async (ip: string): Promise<{ cds: string; eds: () => Promise<string> }> => {
    const cds = openAds(cp.xds, sidecarNode(ip), CLUSTER.typeUrl, []);
    const eds = openAds(cp.xds, sidecarNode(ip), ENDPOINT.typeUrl, [CLUSTER_NAME]);
    t.after(() => {
      cds.close();
      eds.close();
    });
    const c = await cds.next(10_000);
    assert.ok(c.resources.length > 0, 'CDS answered');
    return {
      cds: c.versionInfo,
      eds: async () => {
        const r = await eds.next(10_000);
        eds.send(create(DiscoveryRequestSchema, { typeUrl: ENDPOINT.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: [CLUSTER_NAME] }));
        return r.versionInfo;
      },
    };
  };
  const one = await versions('127.0.66.11');
  const two = await versions('127.0.66.12');
  assert.notEqual(one.cds, two.cds, 'the two sidecars have different CDS (vm-2 also serves port 81)');
  const [e1, e2] = [await one.eds(), await two.eds()];
  assert.equal(e1, e2, 'and read the same EDS snapshot');
  const views = cp.cp.xds.streams().map((s) => s.stream.view);
  assert.equal(new Set(views).size, 2);

  writeFileSync(join(cp.dir, 'vm-3.yaml'), THIRD_VM);
  const [n1, n2] = [await one.eds(), await two.eds()];
  assert.notEqual(n1, e1);
  assert.equal(n1, n2, 'an endpoint change makes one new EDS snapshot for both');
  const [s1, s2] = views.map((v) => cp.cp.cache.current(v, ENDPOINT.typeUrl));
  assert.ok(s1 !== undefined && s1 === s2, 'one snapshot object in the cache');
});
