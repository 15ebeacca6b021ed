/**
 * Rule L-11 on the wire: Envoy sidecars and proxyless gRPC clients get the same zone-aware
 * priorities in their ClusterLoadAssignments; Envoy clusters carry `zone_aware_lb_config` as Istio's
 * ZoneAwareLBSettings.ApplyToCluster sets it (min_cluster_size; routing_enabled 0 % when disabled).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { destinationRule, serviceEntry, workloadEntry, yamlDocs } from '../../../test/support/mesh.js';
import { generateFor, proxylessClient, registryOfYaml, sidecar } from '../../../test/support/xds-generation.js';
import { grpcGenerator } from './grpc-generator.js';

const NAME = 'outbound|80||za.apps.test';

function config(zoneAwareLbSetting: string): string {
  return yamlDocs(
    serviceEntry('za', 'apps', 'za.apps.test', { port: { number: 80, name: 'grpc', protocol: 'GRPC' } }),
    workloadEntry('near', 'apps', 'address: 10.8.0.1\nlocality: region1/zone2\nlabels: {app: za}'),
    workloadEntry('failover', 'apps', 'address: 10.8.0.2\nlocality: region2/zone1\nlabels: {app: za}'),
    workloadEntry('far', 'apps', 'address: 10.8.0.3\nlocality: region3/zone1\nlabels: {app: za}'),
    destinationRule('za', 'apps', 'za.apps.test', `trafficPolicy: {loadBalancer: {zoneAwareLbSetting: ${zoneAwareLbSetting}}}`),
  );
}

const FAILOVER = '{minClusterSize: 6, failover: [{from: region1, to: region2}]}';

function envoy(zoneAwareLbSetting: string) {
  return generateFor(registryOfYaml(config(zoneAwareLbSetting)), sidecar({ namespace: 'apps', ip: '10.9.9.9', locality: 'region1/zone1/subzone1' }));
}

function proxyless(zoneAwareLbSetting: string) {
  return generateFor(registryOfYaml(config(zoneAwareLbSetting)), proxylessClient('apps', 'region1/zone1/subzone1'), { grpc: grpcGenerator });
}

/** address -> priority in a ClusterLoadAssignment. */
function priorities(cla: ClusterLoadAssignment | undefined): Record<string, number> {
  assert.ok(cla, 'a ClusterLoadAssignment is sent');
  const out: Record<string, number> = {};
  for (const l of cla.endpoints) {
    for (const e of l.lbEndpoints) {
      if (e.hostIdentifier.case === 'endpoint' && e.hostIdentifier.value.address?.address.case === 'socketAddress') out[e.hostIdentifier.value.address.address.value.address] = l.priority;
    }
  }
  return out;
}

function zoneAwareConfig(c: Cluster | undefined) {
  const spec = c?.commonLbConfig?.localityConfigSpecifier;
  assert.equal(spec?.case, 'zoneAwareLbConfig', 'zone_aware_lb_config, not locality_weighted_lb_config');
  return spec.value;
}

test('L-11: Envoy and proxyless gRPC clients get the same region priorities (own region 0, failover region 1, others 2)', () => {
  const want = { '10.8.0.1': 0, '10.8.0.2': 1, '10.8.0.3': 2 };
  assert.deepEqual(priorities(envoy(FAILOVER).endpoints.get(NAME)), want);
  assert.deepEqual(priorities(proxyless(FAILOVER).endpoints.get(NAME)), want);
});

test('L-11: the Envoy cluster gets zone_aware_lb_config with min_cluster_size; enabled: false sets routing_enabled 0 % and leaves priorities at 0', () => {
  const on = zoneAwareConfig(envoy(FAILOVER).clusters.get(NAME));
  assert.equal(on.minClusterSize, 6n);
  assert.equal(on.routingEnabled, undefined);
  const disabled = envoy('{enabled: false}');
  assert.equal(zoneAwareConfig(disabled.clusters.get(NAME)).routingEnabled?.value, 0);
  assert.deepEqual(priorities(disabled.endpoints.get(NAME)), { '10.8.0.1': 0, '10.8.0.2': 0, '10.8.0.3': 0 });
  assert.deepEqual(priorities(proxyless('{enabled: false}').endpoints.get(NAME)), { '10.8.0.1': 0, '10.8.0.2': 0, '10.8.0.3': 0 });
});
