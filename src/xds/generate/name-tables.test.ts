// NDS through the push pipeline and a real resource cache: one proxy's table follows what it can see,
// is handed to the cache again exactly when its content changes (endpoint-only changes of resolution
// NONE services included: istio#49769), and a push recomputes only the hosts it changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { NameTableSchema } from '../../gen/istio/networking/nds/v1/nds_pb.js';
import { buildRegistry, createInputs, replaceInputs } from '../../registry/registry.js';
import { objectsFrom } from '../../../test/support/mesh.js';
import { sidecar } from '../../../test/support/xds-generation.js';
import { ResourceCache } from '../cache/resource-cache.js';
import { NAME_TABLE } from '../types/resource-types.js';
import { envoyGenerator } from './envoy/index.js';
import { grpcGenerator } from './grpc-generator.js';
import { XdsPipeline } from './pipeline.js';
import { proxylessClient } from '../../../test/support/xds-generation.js';

const SERVICES = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z" }
spec: { hosts: [db.mesh.test], location: MESH_INTERNAL, ports: [{ number: 5432, name: tcp, protocol: TCP }], resolution: DNS }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vms, namespace: ns1 }
spec:
  hosts: [vms.mesh.test]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: NONE
  workloadSelector: { labels: { app: vm } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: private, namespace: ns2 }
spec: { hosts: [private.mesh.test], addresses: [10.20.0.1], exportTo: ["."], location: MESH_INTERNAL, ports: [{ number: 80, name: http, protocol: HTTP }], resolution: STATIC }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-1, namespace: ns1 }
spec: { address: 127.0.0.11, labels: { app: vm } }
`;

const SECOND_VM = `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-2, namespace: ns1 }
spec: { address: 127.0.0.12, labels: { app: vm } }
`;

const DESTINATION_RULE = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: db, namespace: ns1 }
spec: { host: db.mesh.test, trafficPolicy: { connectionPool: { tcp: { maxConnections: 7 } } } }
`;

function setup() {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  replaceInputs(inputs, objectsFrom(SERVICES));
  const cache = new ResourceCache({ bootId: 'test' });
  const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: envoyGenerator, grpc: grpcGenerator }, debounceMs: 1, debounceMaxMs: 5 });
  pipeline.start();
  const view = pipeline.viewOf(sidecar({ namespace: 'ns1', ip: '127.0.0.50' }));
  const table = () => {
    const snapshot = cache.current(view, NAME_TABLE.typeUrl);
    const resource = snapshot?.resources.get('');
    assert.ok(snapshot && resource, 'the view has a name table');
    const entries = fromBinary(NameTableSchema, resource.any.value).table;
    return { version: snapshot.version, ips: Object.fromEntries(Object.entries(entries).map(([h, e]) => [h, e.ips])) };
  };
  return { inputs, registry, cache, pipeline, table };
}

test('NDS: a proxy view gets the table of what it can see: auto-allocated VIPs, endpoint IPs of a NONE service, not another namespace\'s private host', async () => {
  const { pipeline, table } = setup();
  try {
    assert.deepEqual(table().ips, { 'db.mesh.test': ['240.240.0.1', '2001:2::1'], 'vms.mesh.test': ['127.0.0.11'] });
  } finally {
    await pipeline.stop();
  }
});

test('NDS: a new WorkloadEntry behind a resolution NONE service re-sends the table; an unrelated change does not', async () => {
  const { inputs, pipeline, table } = setup();
  try {
    const first = table();
    const computedBefore = pipeline.nameTables.hostsComputed;
    replaceInputs(inputs, objectsFrom(SERVICES, SECOND_VM));
    await pipeline.flush();
    const second = table();
    assert.notEqual(second.version, first.version, 'the table changed: a new version');
    assert.deepEqual(second.ips['vms.mesh.test']?.slice().sort(), ['127.0.0.11', '127.0.0.12']);
    // Work grows with the change: only the changed host was recomputed, not the whole mesh.
    assert.equal(pipeline.nameTables.hostsComputed - computedBefore, 1);
    replaceInputs(inputs, objectsFrom(SERVICES, SECOND_VM, DESTINATION_RULE));
    await pipeline.flush();
    assert.equal(table().version, second.version, 'a DestinationRule does not change the table: nothing re-sent');
  } finally {
    await pipeline.stop();
  }
});

test('NDS: a proxyless gRPC view has no name table', async () => {
  const { cache, pipeline } = setup();
  try {
    const view = pipeline.viewOf(proxylessClient('ns1'));
    assert.equal(cache.current(view, NAME_TABLE.typeUrl), undefined);
  } finally {
    await pipeline.stop();
  }
});
