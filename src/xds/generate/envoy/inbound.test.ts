// The inbound side of a VM's own sidecar (C-1 inbound names, E-PORT-1 endpoint ports, X-1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Cluster_DiscoveryType } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { HttpConnectionManagerSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import { RBACSchema as NetworkRbacSchema } from '../../../gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js';
import { RBACSchema as HttpRbacSchema } from '../../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import { RBAC_Action } from '../../../gen/envoy/config/rbac/v3/rbac_pb.js';
import { exampleFiles, generateFor, registryOf, registryOfYaml, sidecar } from '../../../../test/support/xds-generation.js';
import { VM } from '../../../../test/support/xds-test-meshes.js';

function chain(l: Listener | undefined, port: number) {
  const c = l?.filterChains.find((f) => f.filterChainMatch?.destinationPort === port);
  assert.ok(c, `virtualInbound has a filter chain for destination port ${port}`);
  const f = c.filters[0];
  assert.ok(f?.configType.case === 'typedConfig');
  return { chain: c, hcm: anyUnpack(f.configType.value, HttpConnectionManagerSchema), tcp: anyUnpack(f.configType.value, TcpProxySchema) };
}

test('seed example, C-1: details VM (SE port 80, targetPort 8080) gets inbound|8080|| STATIC to 127.0.0.1:8080', () => {
  const r = generateFor(registryOf(exampleFiles()), sidecar({ namespace: 'bookinfo', ip: '127.0.2.20', name: 'details-vm' }));
  const c = r.clusters.get('inbound|8080||');
  assert.ok(c, 'the inbound cluster is named after the endpoint port, not the service port');
  assert.ok(!r.clusters.has('inbound|80||'));
  assert.deepEqual(c.clusterDiscoveryType, { case: 'type', value: Cluster_DiscoveryType.STATIC });
  const ep = c.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier;
  assert.ok(ep?.case === 'endpoint' && ep.value.address?.address.case === 'socketAddress');
  assert.deepEqual([ep.value.address.address.value.address, ep.value.address.address.value.portSpecifier.value], ['127.0.0.1', 8080]);

  const vi = r.listeners.get('virtualInbound');
  assert.equal(vi?.address?.address.case === 'socketAddress' && vi.address.address.value.portSpecifier.value, 15006);
  const { hcm } = chain(vi, 8080);
  assert.ok(hcm, 'HTTP port: an HTTP connection manager');
  assert.equal(hcm.routeSpecifier.case, 'routeConfig');
  const action = hcm.routeSpecifier.value.virtualHosts[0]?.routes[0]?.action;
  assert.ok(action?.case === 'route' && action.value.clusterSpecifier.case === 'cluster');
  assert.equal(action.value.clusterSpecifier.value, 'inbound|8080||');
});

test('a proxy that is no WorkloadEntry has no inbound cluster, only the passthrough virtualInbound', () => {
  const r = generateFor(registryOf(exampleFiles()), sidecar({ namespace: 'bookinfo', ip: '10.99.0.1' }));
  assert.deepEqual([...r.clusters.keys()].filter((n) => n.startsWith('inbound|')), []);
  const vi = r.listeners.get('virtualInbound');
  // Mesh default PERMISSIVE: the catch-all terminates mTLS (tls chain) and passes plaintext through (issue 11).
  assert.deepEqual(vi?.filterChains.map((c) => c.name), ['virtualInbound-blackhole', 'virtualInbound-catchall-tcp-mtls']);
  assert.equal(vi.defaultFilterChain?.name, 'virtualInbound-catchall-tcp');
});


test('X-1, E-PORT-1: a service exported nowhere still gives inbound ports; a ports-map entry wins; TCP ports get tcp_proxy', () => {
  const r = generateFor(registryOfYaml(VM), sidecar({ namespace: 'apps', ip: '10.5.0.7', name: 'vm' }));
  assert.ok(!r.clusters.has('outbound|80||web.apps.internal'), 'exportTo ~: not visible outbound');
  assert.deepEqual([...r.clusters.keys()].filter((n) => n.startsWith('inbound|')).sort(), ['inbound|5432||', 'inbound|8080||', 'inbound|9443||']);
  const vi = r.listeners.get('virtualInbound');
  assert.ok(chain(vi, 8080).hcm);
  assert.ok(chain(vi, 9443).hcm, 'GRPC is HTTP-family');
  const { tcp } = chain(vi, 5432);
  assert.equal(tcp?.clusterSpecifier.case === 'cluster' && tcp.clusterSpecifier.value, 'inbound|5432||');
  assert.ok(r.clusters.get('inbound|9443||')?.typedExtensionProtocolOptions['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'], 'HTTP/2 to a gRPC application');
});

/** Issue 7: the chains of one inbound port as [name, transport protocol, TLS?]. */
function portChains(l: Listener | undefined, port: number): [string, string, boolean][] {
  return (l?.filterChains ?? [])
    .filter((c) => c.filterChainMatch?.destinationPort === port)
    .map((c) => [c.name, c.filterChainMatch?.transportProtocol ?? '', c.transportSocket?.name === 'envoy.transport_sockets.tls']);
}

const PA = (spec: string) => `---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: vm, namespace: apps}\nspec: ${spec}`;

test('issue 7, PeerAuthentication on the Envoy inbound side: STRICT = TLS chain only; PERMISSIVE = tls + raw_buffer chains with tls_inspector; DISABLE = plaintext; port level', () => {
  const vm = (yaml: string) => generateFor(registryOfYaml(`${VM}${yaml}`), sidecar({ namespace: 'apps', ip: '10.5.0.7', name: 'vm' })).listeners.get('virtualInbound');
  const permissive = vm('');
  assert.deepEqual(portChains(permissive, 8080), [['0.0.0.0_8080-mtls', 'tls', true], ['0.0.0.0_8080', 'raw_buffer', false]], 'mesh default PERMISSIVE');
  assert.deepEqual(permissive?.listenerFilters.map((f) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector']);

  const strict = vm(PA('{selector: {matchLabels: {app: vm}}, mtls: {mode: STRICT}, portLevelMtls: {"5432": {mode: DISABLE}}}'));
  assert.deepEqual(portChains(strict, 8080), [['0.0.0.0_8080', '', true]], 'STRICT: plaintext fails the handshake');
  assert.deepEqual(portChains(strict, 5432), [['0.0.0.0_5432', '', false]], 'port-level DISABLE');
  assert.deepEqual(strict?.listenerFilters.map((f) => f.name), ['envoy.filters.listener.original_dst'], 'no PERMISSIVE port: no tls_inspector');

  const disabled = vm(PA('{mtls: {mode: DISABLE}}'));
  assert.deepEqual(portChains(disabled, 9443), [['0.0.0.0_9443', '', false]]);
});

test('issue 7: AuthorizationPolicies selecting the VM become RBAC filters (DENY, then ALLOW) before the router of its HTTP inbound ports', () => {
  const ap = (name: string, spec: string) => `---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: apps}\nspec: ${spec}\n`;
  const r = generateFor(
    registryOfYaml(`${VM}${ap('allow', '{selector: {matchLabels: {app: vm}}, rules: [{to: [{operation: {methods: [GET]}}]}]}')}${ap('deny', '{action: DENY, rules: [{from: [{source: {namespaces: [evil]}}]}]}')}`),
    sidecar({ namespace: 'apps', ip: '10.5.0.7', name: 'vm' }),
  );
  const { hcm } = chain(r.listeners.get('virtualInbound'), 8080);
  assert.deepEqual(hcm?.httpFilters.map((f) => f.name), ['envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.router']);
});

test('issue 7: on TCP inbound ports the same policies become network RBAC filters before tcp_proxy; an ALLOW rule on HTTP-only attributes never matches there, a DENY rule ignores them', () => {
  const ap = (name: string, spec: string) => `---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: apps}\nspec: ${spec}\n`;
  const r = generateFor(
    registryOfYaml(`${VM}${ap('allow', '{selector: {matchLabels: {app: vm}}, rules: [{to: [{operation: {methods: [GET]}}]}, {from: [{source: {namespaces: [apps]}}]}]}')}${ap('deny', '{action: DENY, rules: [{from: [{source: {namespaces: [evil]}}], to: [{operation: {paths: [/admin]}}]}]}')}`),
    sidecar({ namespace: 'apps', ip: '10.5.0.7', name: 'vm' }),
  );
  const vi = r.listeners.get('virtualInbound');
  const tcpChain = vi?.filterChains.find((c) => c.filterChainMatch?.destinationPort === 5432 && c.filterChainMatch.transportProtocol !== 'tls');
  assert.deepEqual(tcpChain?.filters.map((f) => f.name), ['envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy']);
  const configs = (tcpChain?.filters ?? []).slice(0, 2).map((f) => (f.configType.case === 'typedConfig' ? anyUnpack(f.configType.value, NetworkRbacSchema) : undefined));
  assert.deepEqual(configs.map((c) => c?.statPrefix), ['tcp.', 'tcp.']);
  const [deny, allow] = configs;
  assert.equal(deny?.rules?.action, RBAC_Action.DENY);
  // DENY: the path condition cannot be evaluated on TCP and is dropped, so the rule denies the whole namespace.
  const denyRule = deny?.rules?.policies['ns[apps]-policy[deny]-rule[0]'];
  assert.ok(denyRule);
  assert.equal(denyRule.permissions[0]?.rule.case, 'any');
  assert.equal(allow?.rules?.action, RBAC_Action.ALLOW);
  assert.deepEqual(Object.keys(allow?.rules?.policies ?? {}), ['ns[apps]-policy[allow]-rule[1]'], 'the methods rule never matches a TCP connection: dropped');
  // HTTP ports keep both ALLOW rules in their HTTP RBAC filter.
  const { hcm } = chain(vi, 8080);
  const httpAllow = hcm?.httpFilters[1]?.configType.case === 'typedConfig' ? anyUnpack(hcm.httpFilters[1].configType.value, HttpRbacSchema) : undefined;
  assert.deepEqual(Object.keys(httpAllow?.rules?.policies ?? {}).sort(), ['ns[apps]-policy[allow]-rule[0]', 'ns[apps]-policy[allow]-rule[1]']);
});

/** The catch-all of virtualInbound: [chain name, transport protocol match, TLS?, filter names] for its chains without a port match and its default chain. */
function catchAll(l: Listener | undefined): [string, string, boolean, string[]][] {
  const chains = [...(l?.filterChains ?? []).filter((c) => c.filterChainMatch?.destinationPort === undefined), ...(l?.defaultFilterChain ? [l.defaultFilterChain] : [])];
  return chains.map((c) => [c.name, c.filterChainMatch?.transportProtocol ?? '', c.transportSocket?.name === 'envoy.transport_sockets.tls', c.filters.map((f) => f.name)]);
}

/** The network RBAC configs of the default (catch-all) chain, in order. */
function catchAllRbac(l: Listener | undefined) {
  return (l?.defaultFilterChain?.filters ?? []).flatMap((f) => (f.name === 'envoy.filters.network.rbac' && f.configType.case === 'typedConfig' ? [anyUnpack(f.configType.value, NetworkRbacSchema)] : []));
}

const NAMESPACE_STRICT = `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: apps}
spec: {mtls: {mode: STRICT}}
`;
const MESH_DENY = `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-evil, namespace: istio-system}
spec: {action: DENY, rules: [{from: [{source: {namespaces: [evil]}}]}]}
`;

test("issue 11: the catch-all (passthrough) chain gets the namespace's PeerAuthentication and the RBAC in scope, with and without an own workload: STRICT + mesh DENY = mTLS and a network RBAC DENY before tcp_proxy", () => {
  const tcp = ['envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy'];
  for (const proxy of [sidecar({ namespace: 'apps', ip: '10.5.0.7', name: 'vm' }), sidecar({ namespace: 'apps', ip: '10.99.0.1' })]) {
    const vi = generateFor(registryOfYaml(`${VM}${NAMESPACE_STRICT}${MESH_DENY}`), proxy).listeners.get('virtualInbound');
    assert.deepEqual(catchAll(vi), [['virtualInbound-catchall-tcp', '', true, tcp]], 'STRICT: the default chain terminates mTLS, plaintext fails the handshake');
    const [deny] = catchAllRbac(vi);
    assert.equal(deny?.rules?.action, RBAC_Action.DENY);
    assert.deepEqual(Object.keys(deny?.rules?.policies ?? {}), ['ns[istio-system]-policy[deny-evil]-rule[0]']);
  }
  // PERMISSIVE (no PeerAuthentication): mTLS terminated by a tls chain, plaintext by the default chain, both behind RBAC.
  const permissive = generateFor(registryOfYaml(`${VM}${MESH_DENY}`), sidecar({ namespace: 'apps', ip: '10.99.0.1' })).listeners.get('virtualInbound');
  assert.deepEqual(catchAll(permissive), [['virtualInbound-catchall-tcp-mtls', 'tls', true, tcp], ['virtualInbound-catchall-tcp', '', false, tcp]]);
  assert.ok(permissive?.listenerFilters.some((f) => f.name === 'envoy.filters.listener.tls_inspector'));
  // A selector policy of the namespace does not reach a proxy without a workload (selector-less scope only).
  const selected = generateFor(registryOfYaml(`${VM}---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-vm, namespace: apps}\nspec: {selector: {matchLabels: {app: vm}}, action: DENY, rules: [{}]}\n`), sidecar({ namespace: 'apps', ip: '10.99.0.1' })).listeners.get('virtualInbound');
  assert.deepEqual(catchAllRbac(selected), []);
});
