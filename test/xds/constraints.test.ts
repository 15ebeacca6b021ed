// The validate.rules checker: one broken resource per kind of rule (each must be reported with its
// path and rule), a valid resource that passes, and every Envoy resource meshbridge generates for the
// example meshes passing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { anyPack, DurationSchema } from '@bufbuild/protobuf/wkt';
import { ClusterSchema, Cluster_DiscoveryType, Cluster_LbPolicy } from '../../src/gen/envoy/config/cluster/v3/cluster_pb.js';
import { AddressSchema, SocketAddressSchema, PipeSchema, CidrRangeSchema } from '../../src/gen/envoy/config/core/v3/address_pb.js';
import { RouteConfigurationSchema } from '../../src/gen/envoy/config/route/v3/route_pb.js';
import { VirtualHostSchema, RouteSchema, RouteMatchSchema, WeightedClusterSchema, RouteActionSchema, HeaderMatcherSchema } from '../../src/gen/envoy/config/route/v3/route_components_pb.js';
import { HttpConnectionManagerSchema } from '../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { FilterChainSchema, FilterSchema } from '../../src/gen/envoy/config/listener/v3/listener_components_pb.js';
import { ListenerSchema as LdsListenerSchema } from '../../src/gen/envoy/config/listener/v3/listener_pb.js';
import { ENVOY_TYPE_REGISTRY } from '../../src/xds/generate/envoy/index.js';
import { allResources, exampleFiles, generateFor, GOLDEN_PROXIES, registryOf, sidecar } from '../support/xds-generation.js';
import { checkConstraints } from '../../src/xds/types/constraints.js';

const validCluster = () =>
  create(ClusterSchema, {
    name: 'outbound|80||svc.test',
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.EDS },
    connectTimeout: create(DurationSchema, { seconds: 10n }),
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
  });

const rulesOf = (v: { rule: string; path: string }[]) => v.map((x) => `${x.path} ${x.rule}`);

test('constraints: a valid cluster has no violation', () => {
  assert.deepEqual(checkConstraints(ClusterSchema, validCluster(), ENVOY_TYPE_REGISTRY), []);
});

test('constraints: string.min_len, duration.gt, enum.defined_only on a cluster', () => {
  const c = validCluster();
  c.name = '';
  c.connectTimeout = create(DurationSchema, {});
  c.lbPolicy = 77 as Cluster_LbPolicy;
  assert.deepEqual(rulesOf(checkConstraints(ClusterSchema, c, ENVOY_TYPE_REGISTRY)), ['name string.min_len', 'connect_timeout duration.gt', 'lb_policy enum.defined_only']);
});

test('constraints: uint32.lte, message.required and a required oneof in an address', () => {
  const tooHigh = create(AddressSchema, { address: { case: 'socketAddress', value: create(SocketAddressSchema, { address: '127.0.0.1', portSpecifier: { case: 'portValue', value: 70000 } }) } });
  assert.deepEqual(rulesOf(checkConstraints(AddressSchema, tooHigh, ENVOY_TYPE_REGISTRY)), ['socket_address.port_value uint32.lte']);
  const noPort = create(AddressSchema, { address: { case: 'socketAddress', value: create(SocketAddressSchema, { address: '127.0.0.1' }) } });
  assert.deepEqual(rulesOf(checkConstraints(AddressSchema, noPort, ENVOY_TYPE_REGISTRY)), ['socket_address.port_specifier oneof.required']);
  assert.deepEqual(rulesOf(checkConstraints(AddressSchema, create(AddressSchema, {}), ENVOY_TYPE_REGISTRY)), ['address oneof.required']);
  const pipe = create(AddressSchema, { address: { case: 'pipe', value: create(PipeSchema, { path: '/tmp/s', mode: 777 }) } });
  assert.deepEqual(rulesOf(checkConstraints(AddressSchema, pipe, ENVOY_TYPE_REGISTRY)), ['pipe.mode uint32.lte']);
});

test('constraints: a wrapper value is checked when set', () => {
  const cidr = create(CidrRangeSchema, { addressPrefix: '10.0.0.0', prefixLen: 129 });
  assert.deepEqual(rulesOf(checkConstraints(CidrRangeSchema, cidr, ENVOY_TYPE_REGISTRY)), ['prefix_len uint32.lte']);
  cidr.prefixLen = 8;
  assert.deepEqual(checkConstraints(CidrRangeSchema, cidr, ENVOY_TYPE_REGISTRY), []);
});

test('constraints: repeated.min_items, list items and header-name regexes in routes', () => {
  const route = create(RouteConfigurationSchema, {
    name: 'r',
    virtualHosts: [
      create(VirtualHostSchema, {
        name: 'vh',
        domains: [],
        routes: [
          create(RouteSchema, {
            match: create(RouteMatchSchema, { pathSpecifier: { case: 'prefix', value: '/' }, headers: [create(HeaderMatcherSchema, { name: 'bad header\n' })] }),
            action: { case: 'route', value: create(RouteActionSchema, { clusterSpecifier: { case: 'weightedClusters', value: create(WeightedClusterSchema, { clusters: [] }) } }) },
          }),
          create(RouteSchema, {}),
        ],
        requestHeadersToRemove: [''],
      }),
    ],
  });
  assert.deepEqual(rulesOf(checkConstraints(RouteConfigurationSchema, route, ENVOY_TYPE_REGISTRY)).sort(), [
    'virtual_hosts[0].domains repeated.min_items',
    'virtual_hosts[0].request_headers_to_remove[0] string.min_len',
    'virtual_hosts[0].routes[0].match.headers[0].name string.well_known_regex',
    'virtual_hosts[0].routes[0].route.weighted_clusters.clusters repeated.min_items',
    'virtual_hosts[0].routes[1].action oneof.required',
    'virtual_hosts[0].routes[1].match message.required',
  ].sort());
});

test('constraints: rules inside an Any are checked through the type registry', () => {
  const hcm = create(HttpConnectionManagerSchema, { statPrefix: '' });
  const listener = create(LdsListenerSchema, {
    name: 'l',
    filterChains: [create(FilterChainSchema, { filters: [create(FilterSchema, { name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } })] })],
  });
  const found = rulesOf(checkConstraints(LdsListenerSchema, listener, ENVOY_TYPE_REGISTRY));
  assert.ok(found.includes('filter_chains[0].filters[0].typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.stat_prefix string.min_len'), found.join('\n'));
});

test('constraints: every Envoy resource generated for the example mesh passes', () => {
  const registry = registryOf(exampleFiles());
  let checked = 0;
  for (const [label, options] of Object.entries(GOLDEN_PROXIES)) {
    for (const { type, name, message } of allResources(generateFor(registry, sidecar(options)))) {
      const violations = checkConstraints(type.schema, message, ENVOY_TYPE_REGISTRY);
      assert.deepEqual(violations, [], `${label} ${type.shortName} ${name}`);
      checked++;
    }
  }
  assert.ok(checked > 20, `checked ${checked} resources`);
});
