// Outbound listeners and routes of the Envoy flavour (one HTTP listener and route per port, TCP
// listeners per address, virtualOutbound).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { HttpConnectionManagerSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import type { Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { generateFor, registryOfYaml, sidecar } from '../../../../test/support/xds-generation.js';
import { WEB } from '../../../../test/support/xds-test-meshes.js';


const r = generateFor(registryOfYaml(WEB), sidecar({ namespace: 'web' }));

function filterOf(l: Listener | undefined) {
  const f = l?.filterChains[0]?.filters[0];
  assert.ok(f?.configType.case === 'typedConfig', `listener ${l?.name} has a typed filter`);
  return f.configType.value;
}

test('HTTP-family ports (and ports without protocol) share one listener 0.0.0.0_<port> with RDS <port>', () => {
  const hcm = anyUnpack(filterOf(r.listeners.get('0.0.0.0_80')), HttpConnectionManagerSchema);
  assert.ok(hcm?.routeSpecifier.case === 'rds');
  assert.equal(hcm.routeSpecifier.value.routeConfigName, '80');
  assert.equal(r.listeners.get('0.0.0.0_80')?.bindToPort, false);
  const rc = r.routes.get('80');
  assert.deepEqual(rc?.virtualHosts.map((v) => v.name), ['a.web.internal:80', 'b.web.internal:80', 'allow_any']);
  const a = rc.virtualHosts[0];
  assert.ok(a);
  for (const d of ['a.web.internal', 'a.web.internal:80', '10.40.0.1', '10.40.0.1:80']) assert.ok(a.domains.includes(d), d);
  const route = a.routes[0]?.action;
  assert.ok(route?.case === 'route' && route.value.clusterSpecifier.case === 'cluster');
  assert.equal(route.value.clusterSpecifier.value, 'outbound|80||a.web.internal');
  assert.equal(route.value.timeout?.seconds, 0n, "Istio disables Envoy's default 15s route timeout");
});

test('consistent hash on a header becomes an Envoy route hash policy (and RING_HASH on the cluster)', () => {
  const b = r.routes.get('80')?.virtualHosts.find((v) => v.name === 'b.web.internal:80');
  const action = b?.routes[0]?.action;
  assert.ok(action?.case === 'route');
  assert.deepEqual(action.value.hashPolicy.map((h) => h.policySpecifier.case === 'header' && h.policySpecifier.value.headerName), ['x-user']);
  assert.equal(r.clusters.get('outbound|80||b.web.internal')?.lbConfig.case, 'ringHashLbConfig');
});

test('TCP (and other non-HTTP) ports of a service with an address get <address>_<port> with tcp_proxy; without one, none', () => {
  const tcp = anyUnpack(filterOf(r.listeners.get('10.40.0.1_6379')), TcpProxySchema);
  assert.equal(tcp?.clusterSpecifier.case === 'cluster' && tcp.clusterSpecifier.value, 'outbound|6379||a.web.internal');
  // b has no spec address, and STATIC services get auto-allocated ones (A-V2): its listener uses the IPv4 one.
  const names = [...r.listeners.keys()].filter((n) => n.endsWith('_7070'));
  assert.equal(names.length, 1);
  assert.match(names[0] ?? '', /^240\.240\.\d+\.\d+_7070$/);
});

test('virtualOutbound on 15001 hands connections over by original destination, else to PassthroughCluster', () => {
  const vo = r.listeners.get('virtualOutbound');
  assert.equal(vo?.useOriginalDst, true);
  assert.equal(vo.address?.address.case === 'socketAddress' && vo.address.address.value.portSpecifier.value, 15001);
  const tcp = anyUnpack(filterOf(vo), TcpProxySchema);
  assert.equal(tcp?.clusterSpecifier.case === 'cluster' && tcp.clusterSpecifier.value, 'PassthroughCluster');
  for (const n of ['PassthroughCluster', 'BlackHoleCluster', 'InboundPassthroughCluster']) assert.ok(r.clusters.has(n), n);
});
