// Outbound clusters of the Envoy flavour against Istio's cluster rules (istio-semantics.md §7).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Cluster_DiscoveryType, Cluster_DnsLookupFamily, Cluster_LbPolicy, type Cluster } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { TransportSocket } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { UpstreamTlsContextSchema, type UpstreamTlsContext } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { HttpProtocolOptionsSchema } from '../../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { generateFor, registryOfYaml, sidecar, type EnvoyResources } from '../../../../test/support/xds-generation.js';
import { SHOP } from '../../../../test/support/xds-test-meshes.js';


const shop = generateFor(registryOfYaml(SHOP), sidecar({ namespace: 'shop', ip: '10.9.9.9' }));

function cluster(r: EnvoyResources, name: string): Cluster {
  const c = r.clusters.get(name);
  assert.ok(c, `cluster ${name} is generated (have: ${[...r.clusters.keys()].join(', ')})`);
  return c;
}

function tlsOf(s: TransportSocket | undefined): UpstreamTlsContext {
  assert.equal(s?.name, 'envoy.transport_sockets.tls');
  assert.equal(s.configType.case, 'typedConfig');
  const ctx = anyUnpack(s.configType.value, UpstreamTlsContextSchema);
  assert.ok(ctx, 'an UpstreamTlsContext');
  return ctx;
}

function sans(t: UpstreamTlsContext): string[] {
  const v = t.commonTlsContext?.validationContextType;
  assert.equal(v?.case, 'combinedValidationContext');
  return (v.value.defaultValidationContext?.matchSubjectAltNames ?? []).map((m) => (m.matchPattern.case === 'exact' ? m.matchPattern.value : '?'));
}

test('C-1: outbound|<service port>|<subset>|<host>, never the targetPort', () => {
  const names = [...shop.clusters.keys()].filter((n) => n.includes('cart.shop.internal')).sort();
  assert.deepEqual(names, ['outbound|80|v1|cart.shop.internal', 'outbound|80||cart.shop.internal', 'outbound|9090|v1|cart.shop.internal', 'outbound|9090||cart.shop.internal']);
});

test('C-3: STATIC → EDS (eds_cluster_config over ADS), DNS → STRICT_DNS, DNS_ROUND_ROBIN → LOGICAL_DNS, NONE → ORIGINAL_DST', () => {
  const eds = cluster(shop, 'outbound|80||cart.shop.internal');
  assert.deepEqual(eds.clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.EDS });
  assert.equal(eds.edsClusterConfig?.serviceName, 'outbound|80||cart.shop.internal');
  assert.equal(eds.edsClusterConfig.edsConfig?.configSourceSpecifier.case, 'ads');
  assert.equal(eds.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST, "Istio's default LB");
  assert.equal(eds.connectTimeout?.seconds, 10n);
  const strict = cluster(shop, 'outbound|443||api.example.com');
  assert.deepEqual(strict.clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.STRICT_DNS });
  assert.equal(strict.dnsLookupFamily, Cluster_DnsLookupFamily.V4_ONLY);
  // C-4 / E-SRC-1: DNS endpoints inline, the host name itself on the port.
  const ep = strict.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier;
  assert.ok(ep?.case === 'endpoint' && ep.value.address?.address.case === 'socketAddress');
  assert.equal(ep.value.address.address.value.address, 'api.example.com');
  assert.deepEqual(cluster(shop, 'outbound|5432||db.example.com').clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.LOGICAL_DNS });
  const passthrough = cluster(shop, 'outbound|8000||legacy.shop.internal');
  assert.deepEqual(passthrough.clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST });
  assert.equal(passthrough.lbPolicy, Cluster_LbPolicy.CLUSTER_PROVIDED);
  assert.ok(!shop.endpoints.has('outbound|8000||legacy.shop.internal'), 'ORIGINAL_DST has no EDS');
  assert.ok(!shop.endpoints.has('outbound|443||api.example.com'), 'EDS-2: DNS clusters have no EDS');
});

test('C-5: a DNS cluster with no endpoints is not generated; an EDS cluster with none is, with an empty assignment', () => {
  assert.ok(!shop.clusters.has('outbound|80||empty.shop.internal'));
  const r = generateFor(registryOfYaml(SHOP.replace('endpoints: [{ address: 192.0.2.7, serviceAccount: partner }]', 'workloadSelector: { labels: { app: nobody } }')), sidecar({ namespace: 'shop' }));
  cluster(r, 'outbound|80||partner.example.com');
  assert.deepEqual(r.endpoints.get('outbound|80||partner.example.com')?.endpoints, []);
});

test('C-8: NONE + targetPort sets ORIGINAL_DST upstream_port_override', () => {
  const c = cluster(shop, 'outbound|8000||legacy.shop.internal');
  assert.equal(c.lbConfig.case, 'originalDstLbConfig');
  assert.equal(c.lbConfig.value.upstreamPortOverride, 9000);
});

test('C-6, C-2: auto mTLS on a MESH_INTERNAL service: tlsMode-istio (Istio mTLS, SNI outbound_.<port>_.<subset>_.<host>) and tlsMode-disabled matches', () => {
  for (const [name, sni] of [
    ['outbound|80||cart.shop.internal', 'outbound_.80_._.cart.shop.internal'],
    ['outbound|80|v1|cart.shop.internal', 'outbound_.80_.v1_.cart.shop.internal'],
  ] as const) {
    const c = cluster(shop, name);
    assert.equal(c.transportSocket, undefined);
    assert.deepEqual(c.transportSocketMatches.map((m) => [m.name, m.match]), [['tlsMode-istio', { tlsMode: 'istio' }], ['tlsMode-disabled', {}]]);
    assert.equal(c.transportSocketMatches[1]?.transportSocket?.name, 'envoy.transport_sockets.raw_buffer');
    const t = tlsOf(c.transportSocketMatches[0]?.transportSocket);
    assert.equal(t.sni, sni);
    assert.deepEqual(t.commonTlsContext?.alpnProtocols, ['istio-peer-exchange', 'istio']);
    assert.deepEqual(t.commonTlsContext.tlsCertificateSdsSecretConfigs.map((s) => s.name), ['default']);
    assert.equal(t.commonTlsContext.validationContextType.case === 'combinedValidationContext' && t.commonTlsContext.validationContextType.value.validationContextSdsSecretConfig?.name, 'ROOTCA');
    // SANs: endpoints' SPIFFE identities (all subsets) + the SE's subjectAltNames, sorted.
    assert.deepEqual(sans(t), ['spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://cluster.local/ns/shop/sa/cart-legacy', 'spiffe://cluster.local/ns/shop/sa/cart-v1']);
  }
  // EDS-9: the endpoint metadata the tlsMode-istio match selects, in the JSON form Envoy compares.
  const md = shop.endpoints.get('outbound|80||cart.shop.internal')?.endpoints[0]?.lbEndpoints[0]?.metadata?.filterMetadata;
  assert.deepEqual(md?.['envoy.transport_socket_match'], { tlsMode: 'istio' });
});

test('C-6: an HTTP/2 (GRPC) port adds h2 to the mTLS ALPN and speaks HTTP/2 upstream', () => {
  const c = cluster(shop, 'outbound|9090||cart.shop.internal');
  assert.deepEqual(tlsOf(c.transportSocketMatches[0]?.transportSocket).commonTlsContext?.alpnProtocols, ['istio-peer-exchange', 'istio', 'h2']);
  const opts = c.typedExtensionProtocolOptions['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.ok(opts);
  assert.equal(anyUnpack(opts, HttpProtocolOptionsSchema)?.upstreamProtocolOptions.case, 'explicitHttpConfig');
});

test('C-6: MESH_EXTERNAL never gets auto mTLS, even with tlsMode=istio endpoints', () => {
  const c = cluster(shop, 'outbound|80||partner.example.com');
  assert.deepEqual(c.transportSocketMatches, []);
  assert.equal(c.transportSocket, undefined);
});

test('C-6: mesh enableAutoMtls false turns auto mTLS off', () => {
  const mesh = 'apiVersion: meshbridge.io/v1alpha1\nkind: MeshConfig\nmetadata: { name: mesh }\nspec: { enableAutoMtls: false }\n---\n';
  const r = generateFor(registryOfYaml(mesh + SHOP), sidecar({ namespace: 'shop' }));
  assert.deepEqual(cluster(r, 'outbound|80||cart.shop.internal').transportSocketMatches, []);
});

test('C-6: a namespace PeerAuthentication DISABLE makes the inferred mode DISABLE (no auto mTLS)', () => {
  const pa = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: shop }\nspec: { mtls: { mode: DISABLE } }\n---\n';
  const r = generateFor(registryOfYaml(pa + SHOP), sidecar({ namespace: 'shop' }));
  assert.deepEqual(cluster(r, 'outbound|80||cart.shop.internal').transportSocketMatches, []);
});

test('C-6: DestinationRule ISTIO_MUTUAL puts the Istio mTLS socket on the cluster itself', () => {
  const c = cluster(shop, 'outbound|80||pay.shop.internal');
  assert.deepEqual(c.transportSocketMatches, []);
  const t = tlsOf(c.transportSocket);
  assert.equal(t.sni, 'outbound_.80_._.pay.shop.internal');
  assert.deepEqual(sans(t), ['spiffe://cluster.local/ns/shop/sa/pay']);
});

test('C-6: DestinationRule DISABLE means plaintext, no auto mTLS', () => {
  const c = cluster(shop, 'outbound|80||plain.shop.internal');
  assert.equal(c.transportSocket, undefined);
  assert.deepEqual(c.transportSocketMatches, []);
});

test('DestinationRule SIMPLE: TLS origination with the host as SNI and the system roots from istio-agent', () => {
  const t = tlsOf(cluster(shop, 'outbound|443||api.example.com').transportSocket);
  assert.equal(t.sni, 'api.example.com');
  assert.deepEqual(t.commonTlsContext?.tlsCertificateSdsSecretConfigs, []);
  const v = t.commonTlsContext.validationContextType;
  assert.equal(v.case === 'combinedValidationContext' && v.value.validationContextSdsSecretConfig?.name, 'file-root:system');
});

test('C-6: passthrough (NONE) services with a disabled endpoint, or none, get no mTLS', () => {
  const c = cluster(shop, 'outbound|8000||legacy.shop.internal');
  assert.equal(c.transportSocket, undefined);
  assert.deepEqual(c.transportSocketMatches, []);
});
