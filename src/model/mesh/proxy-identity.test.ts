import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import { proxyIdentityFromNode } from './proxy-identity.js';

test('an Istio sidecar node: ip, name, namespace, labels, network, cluster id and locality', () => {
  const p = proxyIdentityFromNode(create(NodeSchema, {
    id: 'sidecar~10.0.0.7~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local',
    cluster: 'reviews.bookinfo',
    locality: { region: 'us', zone: 'us-east-1', subZone: 'az-1' },
    metadata: { NAMESPACE: 'bookinfo', LABELS: { app: 'reviews', version: 'v1', n: 1 }, NETWORK: 'net1', CLUSTER_ID: 'c1' },
    userAgentName: 'envoy',
    userAgentVersionType: { case: 'userAgentVersion', value: '1.30.0' },
  }));
  assert.equal(p.kind, 'envoy');
  assert.equal(p.nodeType, 'sidecar');
  assert.equal(p.ip, '10.0.0.7');
  assert.equal(p.workloadName, 'reviews-v1-abc');
  assert.equal(p.namespace, 'bookinfo');
  assert.equal(p.dnsDomain, 'bookinfo.svc.cluster.local');
  assert.deepEqual(p.labels, { app: 'reviews', version: 'v1' }, 'non-string label values are dropped');
  assert.equal(p.network, 'net1');
  assert.equal(p.clusterId, 'c1');
  assert.equal(p.serviceCluster, 'reviews.bookinfo');
  assert.deepEqual(p.locality, { region: 'us', zone: 'us-east-1', subZone: 'az-1' });
  assert.equal(p.userAgent, 'envoy/1.30.0');
});

test('a proxyless gRPC node is told apart by GENERATOR=grpc; namespace from the id without metadata', () => {
  const p = proxyIdentityFromNode(create(NodeSchema, {
    id: 'proxyless~10.0.0.9~app-1.ns2~ns2.svc.cluster.local',
    metadata: { GENERATOR: 'grpc', INSTANCE_IPS: '10.0.0.9,fd00::9' },
  }));
  assert.equal(p.kind, 'grpc');
  assert.equal(p.nodeType, 'proxyless');
  assert.equal(p.namespace, 'ns2');
  assert.deepEqual(p.ips, ['10.0.0.9', 'fd00::9']);
  assert.deepEqual(p.locality, { region: '', zone: '', subZone: '' });
});

test('an id of another shape is accepted as it is', () => {
  const p = proxyIdentityFromNode(create(NodeSchema, { id: 'node-A' }));
  assert.equal(p.id, 'node-A');
  assert.equal(p.kind, 'envoy');
  assert.equal(p.ip, undefined);
  assert.equal(p.namespace, undefined);
  assert.deepEqual(p.ips, []);
});

test('issue 7: CERTIFICATE_PROVIDERS metadata is parsed as a sorted, de-duplicated list; absent when not advertised', () => {
  const withProviders = proxyIdentityFromNode(
    create(NodeSchema, { id: 'proxyless~127.0.0.5~srv.demo~demo.svc.cluster.local', metadata: { GENERATOR: 'grpc', CERTIFICATE_PROVIDERS: ' other, default ,default' } }),
  );
  assert.deepEqual(withProviders.certificateProviders, ['default', 'other']);
  const without = proxyIdentityFromNode(create(NodeSchema, { id: 'proxyless~127.0.0.5~srv.demo~demo.svc.cluster.local', metadata: { GENERATOR: 'grpc' } }));
  assert.equal(without.certificateProviders, undefined);
});

test('issue 13: a VM agent named after its IP keeps its full name (the namespace is after the last dot)', () => {
  const p = proxyIdentityFromNode(create(NodeSchema, { id: 'sidecar~127.0.0.5~web-vm-127.0.0.5.vm-demo~vm-demo.svc.cluster.local', metadata: {} }));
  assert.equal(p.workloadName, 'web-vm-127.0.0.5');
  assert.equal(p.namespace, 'vm-demo');
});
