// Issue 7: per-endpoint auto mTLS for proxyless gRPC clients. gRPC has no per-endpoint transport
// sockets (A29), so a mixed cluster (C-6: some endpoints tlsMode istio with a service account, some
// not) is split into `<cluster>|mtls` and `<cluster>|plaintext` for TLS-capable nodes, and the
// routes of its service send to both with weighted_clusters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { NodeSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { RouteConfiguration } from '../../gen/envoy/config/route/v3/route_pb.js';
import { UpstreamTlsContextSchema } from '../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { proxyIdentityFromNode, type ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import { generateFor, registryOfYaml } from '../../../test/support/xds-generation.js';
import { splitDestinations, tlsPartName, type TlsPart } from './grpc-tls.js';
import { grpcGenerator } from './grpc-generator.js';

const SE = (name: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: apps}
spec:
  hosts: [${name}.apps.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: {app: ${name}}}${extra}`;

const WE = (name: string, app: string, address: string, o: { sa?: string; weight?: number; version?: string; locality?: string } = {}) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}, namespace: apps}
spec:
  address: ${address}
  labels: {app: ${app}, version: ${o.version ?? 'v1'}}
  ports: {grpc: 8080}${o.sa ? `\n  serviceAccount: ${o.sa}` : ''}${o.weight ? `\n  weight: ${o.weight}` : ''}${o.locality ? `\n  locality: ${o.locality}` : ''}`;

const MIXED_YAML = [SE('mixed'), WE('m1', 'mixed', '10.6.0.3', { sa: 'sa3' }), WE('m2', 'mixed', '10.6.0.4')];
const MIXED = 'outbound|80||mixed.apps.test';
const SA3 = 'spiffe://cluster.local/ns/apps/sa/sa3';

function proxyless(tls: boolean): ProxyIdentity {
  return proxyIdentityFromNode(
    create(NodeSchema, {
      id: 'proxyless~10.9.0.1~client.apps~apps.svc.cluster.local',
      metadata: { GENERATOR: 'grpc', NAMESPACE: 'apps', ...(tls ? { CERTIFICATE_PROVIDERS: 'default' } : {}) },
    }),
  );
}

function generate(docs: readonly string[], tls = true) {
  return generateFor(registryOfYaml(docs.join('\n---\n')), proxyless(tls), { grpc: grpcGenerator });
}

/** SANs of the cluster's UpstreamTlsContext; undefined when plaintext. */
function sans(c: Cluster | undefined): string[] | undefined {
  assert.ok(c, 'cluster generated');
  if (!c.transportSocket) return undefined;
  const ctx = c.transportSocket.configType.case === 'typedConfig' ? anyUnpack(c.transportSocket.configType.value, UpstreamTlsContextSchema) : undefined;
  const vc = ctx?.commonTlsContext?.validationContextType.case === 'validationContext' ? ctx.commonTlsContext.validationContextType.value : undefined;
  assert.equal(vc?.caCertificateProviderInstance?.instanceName, 'default');
  return vc?.matchSubjectAltNames.map((m) => (m.matchPattern.case === 'exact' ? m.matchPattern.value : '?'));
}

function addresses(cla: ClusterLoadAssignment | undefined): string[] {
  assert.ok(cla, 'load assignment generated');
  return cla.endpoints.flatMap((l) =>
    l.lbEndpoints.map((e) => (e.hostIdentifier.case === 'endpoint' && e.hostIdentifier.value.address?.address.case === 'socketAddress' ? e.hostIdentifier.value.address.address.value.address : '?')),
  );
}

/** Each route's destinations as `cluster=weight` (weight 1 for a lone cluster). */
function destinations(rc: RouteConfiguration | undefined): string[][] {
  assert.ok(rc, 'route configuration generated');
  return (rc.virtualHosts[0]?.routes ?? []).map((r) => {
    assert.equal(r.action.case, 'route');
    const cs = r.action.value.clusterSpecifier;
    if (cs.case === 'cluster') return [`${cs.value}=1`];
    assert.equal(cs.case, 'weightedClusters');
    return (cs.value?.clusters ?? []).map((c) => `${c.name}=${c.weight ?? 0}`);
  });
}

const ROUTE_NAME = 'mixed.apps.test:80';

test('C-6 split: a mixed cluster gets an mTLS part (SANs of exactly its endpoints) and a plaintext part; the route weighs them 1:1', () => {
  const r = generate(MIXED_YAML);
  const mtls = tlsPartName(MIXED, 'mtls');
  const plain = tlsPartName(MIXED, 'plaintext');
  assert.equal(mtls, `${MIXED}|mtls`);
  assert.equal(plain, `${MIXED}|plaintext`);
  assert.deepEqual(sans(r.clusters.get(mtls)), [SA3]);
  assert.equal(sans(r.clusters.get(plain)), undefined);
  assert.equal(r.clusters.get(mtls)?.clusterDiscoveryType.case, 'type');
  assert.equal(r.clusters.get(mtls)?.edsClusterConfig?.serviceName, mtls, 'EDS service name is the part name');
  assert.equal(r.clusters.get(plain)?.edsClusterConfig?.serviceName, plain);
  assert.deepEqual(addresses(r.endpoints.get(mtls)), ['10.6.0.3']);
  assert.deepEqual(addresses(r.endpoints.get(plain)), ['10.6.0.4']);
  assert.equal(r.endpoints.get(mtls)?.clusterName, mtls);
  // The original cluster stays as before (plaintext, every endpoint) for other hosts' routes.
  assert.equal(sans(r.clusters.get(MIXED)), undefined);
  assert.deepEqual(addresses(r.endpoints.get(MIXED)).sort(), ['10.6.0.3', '10.6.0.4']);
  assert.deepEqual(destinations(r.routes.get(ROUTE_NAME)), [[`${mtls}=1`, `${plain}=1`]]);
});

test('C-6 split: part weights are the sums of endpoint weights (E-ATTR-6), with the same LB policy and outlier detection', () => {
  const outlier = `\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: mixed, namespace: apps}\nspec: {host: mixed.apps.test, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}}}`;
  const r = generate([SE('mixed'), WE('m1', 'mixed', '10.6.0.3', { sa: 'sa3', weight: 3 }), WE('m2', 'mixed', '10.6.0.4', { sa: 'sa4', weight: 3 }), WE('m3', 'mixed', '10.6.0.5', { weight: 4 }), WE('m4', 'mixed', '10.6.0.6') + outlier]);
  assert.deepEqual(destinations(r.routes.get(ROUTE_NAME)), [[`${MIXED}|mtls=6`, `${MIXED}|plaintext=5`]]);
  assert.deepEqual(sans(r.clusters.get(`${MIXED}|mtls`)), [SA3, 'spiffe://cluster.local/ns/apps/sa/sa4']);
  const original = r.clusters.get(MIXED);
  for (const kind of ['mtls', 'plaintext'] as const) {
    const part = r.clusters.get(`${MIXED}|${kind}`);
    assert.equal(part?.lbPolicy, original?.lbPolicy);
    assert.equal(part?.outlierDetection?.consecutive5xx?.valueOf(), 3);
  }
});

test('C-6 split: VirtualService weights are multiplied by the part weights; subsets are split on their own endpoints', () => {
  const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mixed, namespace: apps}
spec:
  host: mixed.apps.test
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]`;
  const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mixed, namespace: apps}
spec:
  hosts: [mixed.apps.test]
  http:
  - route:
    - {destination: {host: mixed.apps.test, subset: v1}, weight: 75}
    - {destination: {host: mixed.apps.test, subset: v2}, weight: 25}`;
  const r = generate([
    SE('mixed'),
    WE('m1', 'mixed', '10.6.0.3', { sa: 'sa3' }),
    WE('m2', 'mixed', '10.6.0.4', { weight: 2 }),
    WE('m3', 'mixed', '10.6.0.5', { sa: 'sa3', version: 'v2' }),
    dr,
    vs,
  ]);
  const v1 = 'outbound|80|v1|mixed.apps.test';
  const v2 = 'outbound|80|v2|mixed.apps.test';
  // v1 is mixed (weights 1 : 2) -> 75 * 1/3 : 75 * 2/3 = 25 : 50; v2 has only TLS endpoints: not
  // split, mTLS, 25. Reduced by their greatest common divisor: 1 : 2 : 1.
  assert.deepEqual(destinations(r.routes.get(ROUTE_NAME)), [[`${v1}|mtls=1`, `${v1}|plaintext=2`, `${v2}=1`]]);
  assert.deepEqual(sans(r.clusters.get(v2)), [SA3]);
  assert.equal(r.clusters.has(`${v2}|mtls`), false);
  assert.deepEqual(addresses(r.endpoints.get(`${v1}|plaintext`)), ['10.6.0.4']);
});

test('C-6 split: a DestinationRule tls setting decides for the whole cluster (ISTIO_MUTUAL all mTLS, DISABLE all plaintext): no split', () => {
  for (const mode of ['ISTIO_MUTUAL', 'DISABLE']) {
    const dr = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: mixed, namespace: apps}\nspec: {host: mixed.apps.test, trafficPolicy: {tls: {mode: ${mode}}}}`;
    const r = generate([...MIXED_YAML, dr]);
    assert.equal(r.clusters.has(`${MIXED}|mtls`), false, mode);
    assert.equal(r.clusters.has(`${MIXED}|plaintext`), false, mode);
    assert.deepEqual(destinations(r.routes.get(ROUTE_NAME)), [[`${MIXED}=1`]], mode);
    assert.deepEqual(sans(r.clusters.get(MIXED)), mode === 'ISTIO_MUTUAL' ? [SA3] : undefined, mode);
  }
});

test('C-6 split: a node without the certificate provider, mesh auto mTLS off, and a MESH_EXTERNAL service are not split', () => {
  const plain = generate(MIXED_YAML, false);
  assert.deepEqual([...plain.clusters.keys()], [MIXED]);
  assert.deepEqual(destinations(plain.routes.get(ROUTE_NAME)), [[`${MIXED}=1`]]);
  const noAuto = generate([...MIXED_YAML, 'apiVersion: meshbridge.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: mesh}\nspec: {enableAutoMtls: false}']);
  assert.deepEqual([...noAuto.clusters.keys()], [MIXED]);
  const external = generate([SE('mixed').replace('MESH_INTERNAL', 'MESH_EXTERNAL'), ...MIXED_YAML.slice(1)]);
  assert.deepEqual([...external.clusters.keys()], [MIXED]);
  assert.deepEqual(destinations(external.routes.get(ROUTE_NAME)), [[`${MIXED}=1`]]);
});

test('C-6 split: locality groups are restricted per part, keeping priorities', () => {
  const dr = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: mixed, namespace: apps}\nspec: {host: mixed.apps.test, trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: true}}, outlierDetection: {consecutive5xxErrors: 5}}}`;
  const r = generate([SE('mixed'), WE('m1', 'mixed', '10.6.0.3', { sa: 'sa3', locality: 'r1/z1' }), WE('m2', 'mixed', '10.6.0.4', { locality: 'r1/z1' }), WE('m3', 'mixed', '10.6.0.5', { locality: 'r2/z1' }), dr]);
  const shape = (cla: ClusterLoadAssignment | undefined, keep: readonly string[]) =>
    (cla?.endpoints ?? []).flatMap((l) => {
      const kept = addresses({ ...cla, endpoints: [l] } as ClusterLoadAssignment).filter((a) => keep.includes(a));
      return kept.length > 0 ? [`${l.locality?.region}/${l.locality?.zone}@${l.priority}:${kept.join(',')}`] : [];
    });
  const plain = r.endpoints.get(`${MIXED}|plaintext`);
  assert.equal(plain?.endpoints.length, 2, 'both localities of the plaintext endpoints');
  assert.deepEqual(shape(plain, ['10.6.0.4', '10.6.0.5']), shape(r.endpoints.get(MIXED), ['10.6.0.4', '10.6.0.5']), 'same localities and priorities as the original');
  assert.deepEqual(addresses(r.endpoints.get(`${MIXED}|mtls`)), ['10.6.0.3']);
});

const part = (name: string, weight: number): TlsPart => ({ kind: name.endsWith('mtls') ? 'mtls' : 'plaintext', name, localities: [], sans: [], weight });

test('splitDestinations: exact proportions in integers, reduced; clusters not split are kept; never a 0 weight', () => {
  const parts = new Map([['a', [part('a|mtls', 1), part('a|plaintext', 2)]], ['b', [part('b|mtls', 3), part('b|plaintext', 5)]]]);
  const of = (c: string) => parts.get(c);
  assert.deepEqual(splitDestinations([{ cluster: 'a', weight: 0 }], of), [{ cluster: 'a|mtls', weight: 1 }, { cluster: 'a|plaintext', weight: 2 }]);
  // a 50 -> 50/3, 100/3; b 50 -> 150/8, 250/8; c 0... not split: kept. LCM 24, then reduced.
  assert.deepEqual(splitDestinations([{ cluster: 'a', weight: 50 }, { cluster: 'b', weight: 50 }, { cluster: 'c', weight: 10 }], of), [
    { cluster: 'a|mtls', weight: 8 * 50 },
    { cluster: 'a|plaintext', weight: 16 * 50 },
    { cluster: 'b|mtls', weight: 9 * 50 },
    { cluster: 'b|plaintext', weight: 15 * 50 },
    { cluster: 'c', weight: 24 * 10 },
  ].map((d) => ({ ...d, weight: d.weight / 10 })));
  // Huge weights: scaled to fit in uint32, the tiny part keeps weight 1.
  const huge = splitDestinations([{ cluster: 'h', weight: 1 }], () => [part('h|mtls', 1), part('h|plaintext', 2 ** 32 - 1)]);
  assert.equal(huge.length, 2);
  assert.ok(huge.every((d) => d.weight >= 1 && Number.isInteger(d.weight)));
  assert.ok(huge.reduce((s, d) => s + d.weight, 0) <= 2 ** 32 - 1);
});

test('splitDestinations: a split with one non-empty part (the other omitted) routes to that part alone', () => {
  assert.deepEqual(splitDestinations([{ cluster: 'a', weight: 0 }], () => [part('a|plaintext', 4)]), [{ cluster: 'a|plaintext', weight: 1 }]);
});
