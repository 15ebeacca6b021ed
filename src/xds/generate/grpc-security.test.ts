// Issue 7: TLS and authorization in the proxyless gRPC flavour, through the push pipeline: gating on
// CERTIFICATE_PROVIDERS, view separation, the per-cluster mTLS decision, and the server inbound
// Listener per PeerAuthentication (mesh, namespace, workload scope, port level).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, type JsonValue } from '@bufbuild/protobuf';
import { RBACSchema } from '../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { NodeSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { Listener } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import { HttpConnectionManagerSchema } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from '../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import type { ResourceSink } from '../cache/resource-cache.js';
import { proxyIdentityFromNode, type ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import { generateFor, registryOfYaml } from '../../../test/support/xds-generation.js';
import { SECURE_GRPC as SERVICES } from '../../../test/support/xds-test-meshes.js';
import { inboundListenerName, MESHBRIDGE_METADATA_KEY } from './names.js';
import { grpcGenerator } from './grpc-generator.js';
import { XdsPipeline } from './pipeline.js';


function yamlOf(...docs: string[]): string {
  return [SERVICES, ...docs].join('\n---\n');
}

function peerAuthentication(namespace: string, name: string, spec: string): string {
  return `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: ${spec}`;
}

function proxyless(ip: string, name: string, tls: boolean): ProxyIdentity {
  return proxyIdentityFromNode(
    create(NodeSchema, {
      id: `proxyless~${ip}~${name}.apps~apps.svc.cluster.local`,
      metadata: { GENERATOR: 'grpc', NAMESPACE: 'apps', ...(tls ? { CERTIFICATE_PROVIDERS: 'default' } : {}) },
    }),
  );
}

const CLIENT_TLS = proxyless('10.9.0.1', 'client', true);
const CLIENT_PLAIN = proxyless('10.9.0.1', 'client', false);

/** `servedListeners`: the inbound listener names the proxy's xDS-enabled server subscribes to. */
function generate(yaml: string, proxy: ProxyIdentity, servedListeners?: readonly string[]) {
  return generateFor(registryOfYaml(yaml), proxy, { grpc: grpcGenerator }, servedListeners);
}

/** The SANs of a cluster's UpstreamTlsContext, or undefined when it has no transport socket. */
function upstreamSans(c: Cluster | undefined): string[] | undefined {
  assert.ok(c, 'cluster generated');
  const socket = c.transportSocket;
  if (!socket) return undefined;
  assert.equal(socket.name, 'envoy.transport_sockets.tls');
  const ctx = socket.configType.case === 'typedConfig' ? anyUnpack(socket.configType.value, UpstreamTlsContextSchema) : undefined;
  assert.ok(ctx?.commonTlsContext, 'an UpstreamTlsContext');
  const common = ctx.commonTlsContext;
  assert.equal(common.tlsCertificateProviderInstance?.instanceName, 'default');
  assert.equal(common.tlsParams, undefined, 'grpc-js-xds refuses tls_params');
  assert.equal(common.tlsCertificateSdsSecretConfigs.length, 0, 'grpc-js-xds refuses SDS');
  assert.equal(common.validationContextType.case, 'validationContext');
  const vc = common.validationContextType.value;
  assert.equal(vc?.caCertificateProviderInstance?.instanceName, 'default');
  return vc?.matchSubjectAltNames.map((m) => (m.matchPattern.case === 'exact' ? m.matchPattern.value : `?${m.matchPattern.case ?? ''}`));
}

const SECURE = 'outbound|80||secure.apps.test';
const MIXED = 'outbound|80||mixed.apps.test';

test('gating: without CERTIFICATE_PROVIDERS a proxyless node gets no TLS at all, even under STRICT', () => {
  const yaml = yamlOf(peerAuthentication('istio-system', 'default', '{mtls: {mode: STRICT}}'));
  const plain = generate(yaml, CLIENT_PLAIN);
  for (const [name, c] of plain.clusters) assert.equal(c.transportSocket, undefined, `${name} has no transport socket`);
  const tls = generate(yaml, CLIENT_TLS);
  assert.deepEqual(upstreamSans(tls.clusters.get(SECURE)), ['spiffe://cluster.local/ns/apps/sa/sa1', 'spiffe://cluster.local/ns/apps/sa/sa2']);
  // Everything else is the same resource set, plus the parts of the mixed cluster (issue 7 split).
  assert.deepEqual([...plain.clusters.keys(), `${MIXED}|mtls`, `${MIXED}|plaintext`].sort(), [...tls.clusters.keys()].sort());
  assert.deepEqual([...plain.listeners.keys()].sort(), [...tls.listeners.keys()].sort());
});

test('view keys: proxies that differ only in CERTIFICATE_PROVIDERS never share a view or a class', () => {
  const aliases = new Map<string, string>();
  const sink: ResourceSink = {
    setResources: () => undefined,
    updateResources: () => undefined,
    alias: (view, target) => (target === undefined ? aliases.delete(view) : aliases.set(view, target)),
    dropView: () => undefined,
  };
  const pipeline = new XdsPipeline({ registry: registryOfYaml(SERVICES), cache: sink, generators: { grpc: grpcGenerator } });
  const plainView = pipeline.viewOf(CLIENT_PLAIN);
  const tlsView = pipeline.viewOf(CLIENT_TLS);
  const tlsAgain = pipeline.viewOf(proxyless('10.9.0.2', 'other', true));
  assert.notEqual(plainView, tlsView);
  assert.notEqual(aliases.get(plainView), aliases.get(tlsView), 'different classes');
  assert.equal(aliases.get(tlsAgain), aliases.get(tlsView), 'TLS-capable proxies still share with each other');
});

test('cluster TLS decision (C-6 per cluster): all endpoints qualify -> mTLS; mixed -> original cluster plaintext (split, grpc-split.test); DestinationRule ISTIO_MUTUAL / DISABLE decide; PeerAuthentication DISABLE -> plaintext', () => {
  const auto = generate(yamlOf(), CLIENT_TLS);
  assert.ok(upstreamSans(auto.clusters.get(SECURE)), 'every endpoint has tlsMode istio and an identity');
  assert.equal(upstreamSans(auto.clusters.get(MIXED)), undefined, 'one endpoint without a service account: plaintext');

  const dr = (host: string, mode: string) =>
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr-${host.split('.')[0] ?? ''}, namespace: apps}\nspec: {host: ${host}, trafficPolicy: {tls: {mode: ${mode}}}}`;
  const ruled = generate(yamlOf(dr('mixed.apps.test', 'ISTIO_MUTUAL'), dr('secure.apps.test', 'DISABLE')), CLIENT_TLS);
  assert.deepEqual(upstreamSans(ruled.clusters.get(MIXED)), ['spiffe://cluster.local/ns/apps/sa/sa3'], 'DR ISTIO_MUTUAL: mTLS even for a mixed cluster');
  assert.equal(upstreamSans(ruled.clusters.get(SECURE)), undefined, 'DR DISABLE: plaintext');

  const disabled = generate(yamlOf(peerAuthentication('apps', 'default', '{mtls: {mode: DISABLE}}')), CLIENT_TLS);
  assert.equal(upstreamSans(disabled.clusters.get(SECURE)), undefined, 'PeerAuthentication DISABLE: the endpoints do not accept mTLS');

  const noAuto = generate(yamlOf('apiVersion: meshbridge.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: mesh}\nspec: {enableAutoMtls: false}'), CLIENT_TLS);
  assert.equal(upstreamSans(noAuto.clusters.get(SECURE)), undefined, 'auto mTLS off: plaintext');
});

/** mtlsMode metadata, whether the chain has TLS, and the HTTP filter names of an inbound Listener. */
/** `tls`: false (plaintext), 'required' (mutual TLS) or 'optional' (TLS, the client certificate requested, not required). */
function inboundShape(l: Listener | undefined): { mode: JsonValue | undefined; tls: false | 'required' | 'optional'; filters: string[]; address: string } {
  assert.ok(l, 'inbound listener generated');
  const chain = l.filterChains[0];
  assert.ok(chain && l.filterChains.length === 1);
  assert.equal(chain.filterChainMatch?.transportProtocol, 'raw_buffer', 'grpc-js-xds only serves raw_buffer chains');
  const f = chain.filters[0];
  const hcm = f?.configType.case === 'typedConfig' ? anyUnpack(f.configType.value, HttpConnectionManagerSchema) : undefined;
  assert.ok(hcm);
  assert.equal(hcm.routeSpecifier.case, 'routeConfig');
  const route = hcm.routeSpecifier.value?.virtualHosts[0]?.routes[0];
  assert.equal(route?.action.case, 'nonForwardingAction');
  let tls: false | 'required' | 'optional' = false;
  if (chain.transportSocket) {
    const ctx = chain.transportSocket.configType.case === 'typedConfig' ? anyUnpack(chain.transportSocket.configType.value, DownstreamTlsContextSchema) : undefined;
    assert.equal(ctx?.commonTlsContext?.tlsCertificateProviderInstance?.instanceName, 'default');
    tls = ctx?.requireClientCertificate === true ? 'required' : 'optional';
  }
  const sa = l.address?.address.case === 'socketAddress' ? l.address.address.value : undefined;
  const meta = l.metadata?.filterMetadata[MESHBRIDGE_METADATA_KEY] as Record<string, JsonValue> | undefined;
  return { mode: meta?.['mtlsMode'], tls, filters: hcm.httpFilters.map((h) => h.name), address: `${sa?.address ?? ''}:${sa?.portSpecifier.value ?? ''}` };
}

const SERVER_TLS = proxyless('10.6.0.1', 'secure-1', true);
const L8080 = inboundListenerName('10.6.0.1', 8080);
const L9090 = inboundListenerName('10.6.0.1', 9090);
const SERVED = [L8080, L9090];

test('server inbound listener: named by the template, bound to the workload address, one per port; mesh default PERMISSIVE is TLS with an optional client certificate for a TLS-capable server with tlsMode istio, else plaintext; mtlsMode PERMISSIVE', () => {
  assert.equal(L8080, 'xds.istio.io/grpc/lds/inbound/10.6.0.1:8080');
  // Nothing is generated before a server asks for it (a client on a workload's IP shares its class).
  assert.deepEqual([...generate(yamlOf(), SERVER_TLS).listeners.keys()].filter((n) => n.startsWith('xds.istio.io/')), []);
  const r = generate(yamlOf(), SERVER_TLS, SERVED);
  assert.deepEqual([...r.listeners.keys()].filter((n) => n.startsWith('xds.istio.io/')).sort(), [L8080, L9090]);
  assert.deepEqual(inboundShape(r.listeners.get(L8080)), { mode: 'PERMISSIVE', tls: 'optional', filters: ['envoy.filters.http.router'], address: '10.6.0.1:8080' });
  // Without the provider the server cannot do TLS, and its clients get no TLS either: plaintext (Istio's grpcgen).
  assert.deepEqual(inboundShape(generate(yamlOf(), proxyless('10.6.0.1', 'secure-1', false), SERVED).listeners.get(L8080)), { mode: 'PERMISSIVE', tls: false, filters: ['envoy.filters.http.router'], address: '10.6.0.1:8080' });
  assert.equal(generate(yamlOf(), CLIENT_TLS).listeners.size, r.listeners.size - 2, 'a client-only node gets no inbound listener');
});

test('PeerAuthentication scope: mesh STRICT; namespace overrides mesh; workload selector overrides namespace; port level overrides the workload policy', () => {
  const mesh = peerAuthentication('istio-system', 'default', '{mtls: {mode: STRICT}}');
  const strict = generate(yamlOf(mesh), SERVER_TLS, SERVED);
  assert.deepEqual(inboundShape(strict.listeners.get(L8080)), { mode: 'STRICT', tls: 'required', filters: ['envoy.filters.http.router'], address: '10.6.0.1:8080' });

  const ns = peerAuthentication('apps', 'default', '{mtls: {mode: DISABLE}}');
  const byNamespace = generate(yamlOf(mesh, ns), SERVER_TLS, SERVED);
  assert.equal(inboundShape(byNamespace.listeners.get(L8080)).mode, 'DISABLE');
  assert.equal(inboundShape(byNamespace.listeners.get(L8080)).tls, false);

  const workload = peerAuthentication('apps', 'secure', '{selector: {matchLabels: {app: secure}}, mtls: {mode: STRICT}, portLevelMtls: {"9090": {mode: PERMISSIVE}}}');
  const byWorkload = generate(yamlOf(mesh, ns, workload), SERVER_TLS, SERVED);
  assert.deepEqual([inboundShape(byWorkload.listeners.get(L8080)).mode, inboundShape(byWorkload.listeners.get(L8080)).tls], ['STRICT', 'required']);
  assert.deepEqual([inboundShape(byWorkload.listeners.get(L9090)).mode, inboundShape(byWorkload.listeners.get(L9090)).tls], ['PERMISSIVE', 'optional'], 'port level: PERMISSIVE, TLS with the client certificate optional');

  // A node without the provider still gets TLS on a STRICT port (it NACKs rather than serve plaintext).
  const noProvider = generate(yamlOf(mesh), proxyless('10.6.0.1', 'secure-1', false), SERVED);
  assert.equal(inboundShape(noProvider.listeners.get(L8080)).tls, 'required');
});

test('server inbound listener: AuthorizationPolicies that select the workload become RBAC filters before the router (DENY, then ALLOW)', () => {
  const ap = (name: string, spec: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: apps}\nspec: ${spec}`;
  const r = generate(
    yamlOf(
      ap('allow', '{selector: {matchLabels: {app: secure}}, rules: [{from: [{source: {principals: [cluster.local/ns/apps/sa/client]}}]}]}'),
      ap('deny', '{action: DENY, rules: [{to: [{operation: {paths: [/admin/*]}}]}]}'),
      ap('other', '{selector: {matchLabels: {app: mixed}}, action: DENY, rules: [{}]}'),
    ),
    SERVER_TLS,
    SERVED,
  );
  assert.deepEqual(inboundShape(r.listeners.get(L8080)).filters, ['envoy.filters.http.rbac.DENY', 'envoy.filters.http.rbac.ALLOW', 'envoy.filters.http.router']);
  assert.deepEqual(rbacPolicyNames(r.listeners.get(L8080)), [['ns[apps]-policy[deny]-rule[0]'], ['ns[apps]-policy[allow]-rule[0]']], 'a policy selecting other workloads is not applied');
});

/** The RBAC policy names of each RBAC filter of an inbound listener, in filter order. */
function rbacPolicyNames(l: Listener | undefined): string[][] {
  const f = l?.filterChains[0]?.filters[0];
  const hcm = f?.configType.case === 'typedConfig' ? anyUnpack(f.configType.value, HttpConnectionManagerSchema) : undefined;
  assert.ok(hcm);
  return hcm.httpFilters.flatMap((h) => {
    const rbac = h.configType.case === 'typedConfig' ? anyUnpack(h.configType.value, RBACSchema) : undefined;
    return rbac ? [Object.keys(rbac.rules?.policies ?? {})] : [];
  });
}

/** A sink that keeps only the Listeners set per view, and the view aliases (the pipeline's classes). */
function listenerSink(): { listeners: Map<string, Map<string, Listener>>; aliases: Map<string, string>; sink: ResourceSink } {
  const listeners = new Map<string, Map<string, Listener>>();
  const aliases = new Map<string, string>();
  const sink: ResourceSink = {
    setResources(view, type, resources) {
      if (!type.typeUrl.endsWith('Listener')) return;
      listeners.set(view, new Map([...resources].map(([n, r]) => [n, r.message as Listener])));
    },
    updateResources: () => undefined,
    alias: (view, target) => (target === undefined ? aliases.delete(view) : aliases.set(view, target)),
    dropView: () => undefined,
  };
  return { listeners, aliases, sink };
}

test("requested inbound listeners: the workload at the requested IP decides; an unknown address gets the namespace's or mesh's PeerAuthentication and selector-less AuthorizationPolicies (issue 11: STRICT + mesh DENY, not plaintext and open)", () => {
  const { listeners, aliases, sink } = listenerSink();
  const meshDeny = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-outsiders, namespace: istio-system}\nspec: {action: DENY, rules: [{from: [{source: {notNamespaces: [apps]}}]}]}';
  const yaml = yamlOf(peerAuthentication('istio-system', 'default', '{mtls: {mode: STRICT}}'), meshDeny);
  const pipeline = new XdsPipeline({ registry: registryOfYaml(yaml), cache: sink, generators: { grpc: grpcGenerator } });
  // A node whose own IP is no workload's: nothing is generated until it asks.
  const view = pipeline.viewOf(proxyless('10.9.0.7', 'server', true));
  const known = inboundListenerName('10.6.0.2', 8080);
  const unknown = inboundListenerName('10.7.0.9', 7000);
  const current = () => listeners.get(aliases.get(view) ?? view) ?? new Map<string, Listener>();
  assert.equal([...current().keys()].filter((n) => n.startsWith('xds.istio.io/')).length, 0);
  pipeline.noteRequestedListeners(view, ['secure.apps.test:80', known, unknown]);
  assert.deepEqual(inboundShape(current().get(known)), { mode: 'STRICT', tls: 'required', filters: ['envoy.filters.http.rbac.DENY', 'envoy.filters.http.router'], address: '10.6.0.2:8080' });
  assert.deepEqual(inboundShape(current().get(unknown)), { mode: 'STRICT', tls: 'required', filters: ['envoy.filters.http.rbac.DENY', 'envoy.filters.http.router'], address: '10.7.0.9:7000' });
  assert.deepEqual(rbacPolicyNames(current().get(unknown)), [['ns[istio-system]-policy[deny-outsiders]-rule[0]']]);
  pipeline.noteRequestedListeners(view, ['secure.apps.test:80']);
  assert.equal(current().get(unknown), undefined, 'unsubscribed: no longer generated');
});

test('two servers that share a view (two VMs of one WorkloadGroup: same namespace and labels, other IPs) each keep their inbound listener; a stream that ends takes only its own', () => {
  const { listeners, aliases, sink } = listenerSink();
  const pipeline = new XdsPipeline({ registry: registryOfYaml(yamlOf(peerAuthentication('istio-system', 'default', '{mtls: {mode: STRICT}}'))), cache: sink, generators: { grpc: grpcGenerator } });
  const viewA = pipeline.viewOf(proxyless('10.9.0.7', 'server', true));
  const viewB = pipeline.viewOf(proxyless('10.9.0.8', 'server', true));
  assert.equal(viewA, viewB, 'the view key does not hold the IP: the two servers share it');
  const a = inboundListenerName('10.9.0.7', 8080);
  const b = inboundListenerName('10.9.0.8', 8080);
  const current = () => [...(listeners.get(aliases.get(viewA) ?? viewA) ?? new Map<string, Listener>()).keys()].filter((n) => n.startsWith('xds.istio.io/')).sort();
  pipeline.noteRequestedListeners(viewA, [a], 'stream-a');
  pipeline.noteRequestedListeners(viewB, [b], 'stream-b');
  assert.deepEqual(current(), [a, b], "B's request does not replace A's");
  pipeline.noteRequestedListeners(viewA, ['apps.test:80'], 'stream-a-clients');
  assert.deepEqual(current(), [a, b], 'a stream asking for client listeners only takes nothing away');
  pipeline.release(viewB, 'stream-b');
  assert.deepEqual(current(), [a], "B's stream ended: its listener goes, A's stays");
});
