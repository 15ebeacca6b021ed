// Golden files of the Envoy flavour for the example mesh (examples/*.yaml), generated through the
// push pipeline for three sidecars. Refresh with `REFRESH_GOLDEN=1 npm test` and review the diff.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { HttpConnectionManagerSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import type { RouteConfiguration } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { ENVOY_TYPE_REGISTRY } from './index.js';
import { exampleFiles, generateFor, GOLDEN_PROXIES, goldenJson, registryOf, sidecar, type EnvoyResources } from '../../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../../test/support/paths.js';

const GOLDEN_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'golden', 'envoy');
const refresh = process.env['REFRESH_GOLDEN'] === '1';

const registry = registryOf(exampleFiles());
const generated = Object.entries(GOLDEN_PROXIES).map(([name, o]) => ({ name, resources: generateFor(registry, sidecar(o)) }));

for (const { name, resources } of generated) {
  test(`golden: Envoy resources of ${name} match test/fixtures/golden/envoy/${name}.json`, () => {
    const file = join(GOLDEN_DIR, `${name}.json`);
    const actual = `${JSON.stringify(goldenJson(resources), null, 2)}\n`;
    if (refresh || !existsSync(file)) {
      mkdirSync(GOLDEN_DIR, { recursive: true });
      writeFileSync(file, actual);
      if (!refresh) assert.fail(`${file} did not exist and was written: review it and run again`);
      return;
    }
    assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from its golden file (REFRESH_GOLDEN=1 to accept)`);
  });

  test(`references resolve in ${name}: listeners → routes → clusters → endpoints`, () => {
    const referenced = clusterReferences(resources);
    for (const c of referenced) assert.ok(resources.clusters.has(c), `cluster ${c} is referenced but not generated`);
    for (const [n, c] of resources.clusters) {
      if (c.clusterDiscoveryType.case === 'type' && c.edsClusterConfig) {
        assert.ok(resources.endpoints.has(c.edsClusterConfig.serviceName), `EDS cluster ${n} has no ClusterLoadAssignment`);
      }
    }
    for (const n of resources.endpoints.keys()) assert.ok(resources.clusters.has(n), `ClusterLoadAssignment ${n} has no cluster`);
  });
}

/** Every cluster a listener (tcp_proxy, inline or RDS routes) names; asserts that RDS names exist. */
function clusterReferences(r: EnvoyResources): Set<string> {
  const out = new Set<string>();
  const fromRoutes = (rc: RouteConfiguration) => {
    for (const vh of rc.virtualHosts) {
      for (const route of vh.routes) {
        if (route.action.case !== 'route') continue;
        const cs = route.action.value.clusterSpecifier;
        if (cs.case === 'cluster') out.add(cs.value);
        if (cs.case === 'weightedClusters') for (const w of cs.value.clusters) out.add(w.name);
      }
    }
  };
  for (const l of r.listeners.values()) {
    for (const chain of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
      for (const f of chain.filters) {
        if (f.configType.case !== 'typedConfig') continue;
        const tcp = anyUnpack(f.configType.value, TcpProxySchema);
        if (tcp?.clusterSpecifier.case === 'cluster') out.add(tcp.clusterSpecifier.value);
        const hcm = anyUnpack(f.configType.value, HttpConnectionManagerSchema);
        if (hcm?.routeSpecifier.case === 'rds') {
          const rc = r.routes.get(hcm.routeSpecifier.value.routeConfigName);
          assert.ok(rc, `listener ${l.name} names route ${hcm.routeSpecifier.value.routeConfigName}, which is not generated`);
          fromRoutes(rc);
        }
        if (hcm?.routeSpecifier.case === 'routeConfig') fromRoutes(hcm.routeSpecifier.value);
      }
    }
  }
  return out;
}

test('the golden views differ where the proxies differ (locality, network, own workload)', () => {
  const [a, b, c] = generated.map((g) => g.resources);
  assert.ok(a && b && c);
  // (c) the VM sidecar alone has an inbound cluster (C-1: inbound|<endpoint port>||).
  assert.deepEqual([...a.clusters.keys()].filter((n) => n.startsWith('inbound|')), []);
  assert.deepEqual([...c.clusters.keys()].filter((n) => n.startsWith('inbound|')), ['inbound|8080||']);
  // (b) in network-1 reaches network-1 ratings VMs directly and network-2 through its gateway (N-3, N-4).
  const ratings = b.endpoints.get('outbound|9080||ratings.bookinfo.com');
  const addresses = ratings?.endpoints.flatMap((g) => g.lbEndpoints.map((e) => (e.hostIdentifier.case === 'endpoint' && e.hostIdentifier.value.address?.address.case === 'socketAddress' ? e.hostIdentifier.value.address.address.value.address : '')));
  assert.deepEqual(addresses?.sort(), ['127.0.2.31', '127.0.2.32', '127.0.3.2']);
  assert.ok(ENVOY_TYPE_REGISTRY.getMessage(HttpConnectionManagerSchema.typeName));
});
