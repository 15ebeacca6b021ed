import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { ClusterSchema } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ClusterLoadAssignmentSchema } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { ListenerSchema } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import { encodeResource } from './encoded-resource.js';
import { CLUSTER, ENDPOINT, LISTENER, NAME_TABLE, RESOURCE_TYPES, ROUTE, SECRET, resourceTypeOf, TypeUrl } from './resource-types.js';
import type { XdsResourceType } from './resource-type.js';
import { toBinary } from '@bufbuild/protobuf';
import { DiscoveryResponseSchema } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';

test('one descriptor per type URL, with the full-state rule for LDS, CDS and NDS only', () => {
  assert.equal(LISTENER.typeUrl, TypeUrl.Listener);
  assert.equal(ROUTE.typeUrl, TypeUrl.RouteConfiguration);
  assert.equal(CLUSTER.typeUrl, TypeUrl.Cluster);
  assert.equal(ENDPOINT.typeUrl, TypeUrl.ClusterLoadAssignment);
  assert.equal(SECRET.typeUrl, TypeUrl.Secret);
  assert.equal(NAME_TABLE.typeUrl, TypeUrl.NameTable);
  assert.equal(NAME_TABLE.typeUrl, 'type.googleapis.com/istio.networking.nds.v1.NameTable');
  assert.deepEqual(RESOURCE_TYPES.filter((t) => t.fullState).map((t) => t.shortName).sort(), ['CDS', 'LDS', 'NDS']);
  assert.deepEqual(RESOURCE_TYPES.filter((t) => t.legacyWildcard).map((t) => t.shortName).sort(), ['CDS', 'LDS', 'NDS']);
  for (const t of RESOURCE_TYPES) assert.equal(resourceTypeOf(t.typeUrl), t);
  assert.equal(resourceTypeOf('type.googleapis.com/unknown.Type'), undefined);
});

test('push order is make-before-break: CDS, EDS, LDS, RDS', () => {
  assert.deepEqual(RESOURCE_TYPES.map((t) => t.shortName), ['CDS', 'EDS', 'LDS', 'RDS', 'SDS', 'NDS']);
});

test('names come from the field each type is subscribed by', () => {
  assert.equal(LISTENER.nameOf(create(ListenerSchema, { name: 'svc:80' })), 'svc:80');
  assert.equal(ENDPOINT.nameOf(create(ClusterLoadAssignmentSchema, { clusterName: 'eds-a' })), 'eds-a');
});

test('encoding packs an Any whose type URL is the descriptor type URL, versioned by content', () => {
  const cla = create(ClusterLoadAssignmentSchema, { clusterName: 'eds-a', endpoints: [{ priority: 1 }] });
  const a = encodeResource(ENDPOINT, cla);
  assert.equal(a.any.typeUrl, TypeUrl.ClusterLoadAssignment);
  assert.equal(a.name, 'eds-a');
  assert.equal(anyUnpack(a.any, ClusterLoadAssignmentSchema)?.endpoints[0]?.priority, 1);
  const same = encodeResource(ENDPOINT, create(ClusterLoadAssignmentSchema, { clusterName: 'eds-a', endpoints: [{ priority: 1 }] }));
  assert.equal(same.version, a.version, 'equal bytes, equal version');
  const other = encodeResource(ENDPOINT, create(ClusterLoadAssignmentSchema, { clusterName: 'eds-a', endpoints: [{ priority: 2 }] }));
  assert.notEqual(other.version, a.version);
});

test('sotwSize is the exact number of bytes a resource adds to a DiscoveryResponse', () => {
  const r = encodeResource(CLUSTER, create(ClusterSchema, { name: 'c'.repeat(300) }));
  const empty = toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { typeUrl: CLUSTER.typeUrl })).length;
  const one = toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { typeUrl: CLUSTER.typeUrl, resources: [r.any] })).length;
  assert.equal(one - empty, r.sotwSize);
});

test('encoding a message of another type is a bug and throws', () => {
  const wrong = ENDPOINT as unknown as XdsResourceType<typeof ListenerSchema>;
  assert.throws(() => encodeResource(wrong, create(ListenerSchema, { name: 'x' })), /expected envoy.config.endpoint.v3.ClusterLoadAssignment/);
});
