/**
 * Rule C-9 (DestinationRule `loadBalancer.simple: PASSTHROUGH`), from the `endpoints` report to what
 * Envoy and proxyless gRPC clients receive. Istio's tables: cluster_builder_test.go
 * TestApplyDestinationRule "destination rule with pass through subsets" and "destination rule
 * static with pass", cluster_test.go TestApplyLoadBalancer "DNS cluster with PASSTHROUGH in DR".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster_DiscoveryType, Cluster_LbPolicy, type Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { cluster, destinationRule, endpoints, serviceEntry, workloadEntry, yamlDocs } from '../../../test/support/mesh.js';
import { generateFor, proxylessClient, registryOfYaml, sidecar, type EnvoyResources } from '../../../test/support/xds-generation.js';
import { grpcGenerator } from './grpc-generator.js';

function entry(resolution: 'STATIC' | 'DNS'): string {
  return serviceEntry('foo', 'apps', 'foo.apps.test', { resolution, port: { number: 8080, name: 'http', protocol: 'HTTP' } });
}

const ENTRIES = [
  workloadEntry('bar', 'apps', 'address: 10.7.0.1\nlabels: {app: foo, foo: bar}'),
  workloadEntry('baz', 'apps', 'address: 10.7.0.2\nlabels: {app: foo, foo: baz}'),
];

function rule(spec: string, name = 'foo'): string {
  return destinationRule(name, 'apps', 'foo.apps.test', spec);
}

const SUBSET_PASSTHROUGH = rule('subsets:\n- name: foobar\n  labels: {foo: bar}\n  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}');
const TOP_PASSTHROUGH = rule('trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}');

const DEFAULT = 'outbound|8080||foo.apps.test';
const FOOBAR = 'outbound|8080|foobar|foo.apps.test';

function report(...docs: string[]) {
  return endpoints(yamlDocs(...docs), { client: { namespace: 'apps' } });
}

function envoy(...docs: string[]): EnvoyResources {
  return generateFor(registryOfYaml(yamlDocs(...docs)), sidecar({ namespace: 'apps', ip: '10.9.9.9' }));
}

function proxyless(...docs: string[]): EnvoyResources {
  return generateFor(registryOfYaml(yamlDocs(...docs)), proxylessClient('apps'), { grpc: grpcGenerator });
}

function generated(r: EnvoyResources, name: string): Cluster {
  const c = r.clusters.get(name);
  assert.ok(c, `cluster ${name} is generated (have: ${[...r.clusters.keys()].join(', ')})`);
  return c;
}

function assertOriginalDst(c: Cluster): void {
  assert.deepEqual(c.clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST });
  assert.equal(c.lbPolicy, Cluster_LbPolicy.CLUSTER_PROVIDED);
  assert.equal(c.loadAssignment, undefined, 'no load assignment');
  assert.equal(c.edsClusterConfig, undefined, 'no EDS');
}

test('C-9: PASSTHROUGH in a subset makes that subset cluster ORIGINAL_DST with no endpoints; the default cluster stays EDS (TestApplyDestinationRule "destination rule with pass through subsets")', () => {
  const r = report(entry('STATIC'), ...ENTRIES, SUBSET_PASSTHROUGH);
  const subset = cluster(r, FOOBAR);
  assert.equal(subset.type, 'ORIGINAL_DST');
  assert.deepEqual(subset.localities, []);
  const main = cluster(r, DEFAULT);
  assert.equal(main.type, 'EDS');
  assert.equal(main.localities.flatMap((g) => g.endpoints).length, 2);

  const e = envoy(entry('STATIC'), ...ENTRIES, SUBSET_PASSTHROUGH);
  assertOriginalDst(generated(e, FOOBAR));
  assert.ok(!e.endpoints.has(FOOBAR), 'no ClusterLoadAssignment for the passthrough subset');
  assert.deepEqual(generated(e, DEFAULT).clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.EDS });
  assert.ok(e.endpoints.has(DEFAULT));
});

test('C-9: PASSTHROUGH at the top level turns a STATIC service cluster into ORIGINAL_DST with no endpoints (TestApplyDestinationRule "destination rule static with pass")', () => {
  const r = report(entry('STATIC'), ...ENTRIES, TOP_PASSTHROUGH);
  const c = cluster(r, DEFAULT);
  assert.equal(c.type, 'ORIGINAL_DST');
  assert.deepEqual(c.localities, []);
  const e = envoy(entry('STATIC'), ...ENTRIES, TOP_PASSTHROUGH);
  const c2 = generated(e, DEFAULT);
  assertOriginalDst(c2);
  assert.ok(!e.endpoints.has(DEFAULT));
  // Istio applies TLS after the load balancer: an ORIGINAL_DST cluster takes the auto-mTLS socket
  // itself (no endpoint metadata to match on), not transport_socket_matches.
  assert.equal(c2.transportSocket?.name, 'envoy.transport_sockets.tls');
  assert.deepEqual(c2.transportSocketMatches, []);
});

test('C-9: PASSTHROUGH turns a DNS (STRICT_DNS) cluster into ORIGINAL_DST, CLUSTER_PROVIDED, without load assignment (TestApplyLoadBalancer "DNS cluster with PASSTHROUGH in DR")', () => {
  const r = report(entry('DNS'), ...ENTRIES, TOP_PASSTHROUGH);
  const c = cluster(r, DEFAULT);
  assert.equal(c.type, 'ORIGINAL_DST');
  assert.deepEqual(c.localities, []);
  assertOriginalDst(generated(envoy(entry('DNS'), ...ENTRIES, TOP_PASSTHROUGH), DEFAULT));
  assert.equal(cluster(report(entry('DNS'), ...ENTRIES), DEFAULT).type, 'STRICT_DNS', 'without the rule');
});

test('C-9: a subset that does not say PASSTHROUGH itself inherits it from the top level unless its own load balancer overrides it', () => {
  const inherited = rule(
    'trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}\nsubsets:\n- {name: inherits, labels: {foo: bar}}\n- {name: own, labels: {foo: baz}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}',
  );
  const r = report(entry('STATIC'), ...ENTRIES, inherited);
  assert.equal(cluster(r, 'outbound|8080|inherits|foo.apps.test').type, 'ORIGINAL_DST');
  const own = cluster(r, 'outbound|8080|own|foo.apps.test');
  assert.equal(own.type, 'EDS');
  assert.deepEqual(own.localities.flatMap((g) => g.endpoints.map((x) => x.address)), ['10.7.0.2']);
});

test('C-9, proxyless gRPC: gRPC has no ORIGINAL_DST, so the client keeps the EDS cluster with its endpoints and round robin, as Istio\'s gRPC generator does', () => {
  const g = proxyless(entry('STATIC'), ...ENTRIES, TOP_PASSTHROUGH, rule('subsets:\n- name: foobar\n  labels: {foo: bar}\n  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}', 'foo2'));
  const main = generated(g, DEFAULT);
  assert.deepEqual(main.clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.EDS });
  assert.equal(main.lbPolicy, Cluster_LbPolicy.ROUND_ROBIN);
  const cla = g.endpoints.get(DEFAULT);
  assert.ok(cla, 'its ClusterLoadAssignment is sent');
  assert.equal(cla.endpoints.flatMap((l) => l.lbEndpoints).length, 2);
  assert.deepEqual(generated(g, FOOBAR).clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.EDS }, 'the passthrough subset too');
  assert.equal(g.endpoints.get(FOOBAR)?.endpoints.flatMap((l) => l.lbEndpoints).length, 1);
});
