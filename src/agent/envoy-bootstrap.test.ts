// The sidecar bootstrap a VM's Envoy starts from: it decodes into Envoy's Bootstrap type with no
// unknown field anywhere and passes every validate.rules constraint of Envoy's protos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { parse } from 'yaml';
import { BootstrapSchema } from '../gen/envoy/config/bootstrap/v3/bootstrap_pb.js';
import { ENVOY_TYPE_REGISTRY } from '../xds/generate/envoy/index.js';
import { checkConstraints } from '../xds/types/constraints.js';
import { envoyBootstrap, envoyBootstrapYaml, ENVOY_PORTS, SDS_CLUSTER, XDS_CLUSTER } from './envoy-bootstrap.js';
import type { AgentSettings } from './bootstrap.js';

const settings: AgentSettings = {
  controlPlane: '127.0.0.1:15012',
  namespace: 'vm-demo',
  group: 'web',
  serviceAccount: 'web-sa',
  network: 'vm-net',
  locality: 'us-east1/us-east1-b/rack-1',
  labels: { app: 'web', version: 'v1' },
  ports: { http: 8080 },
  trustDomain: 'cluster.local',
  clusterId: 'Kubernetes',
};

test('envoy bootstrap: YAML decodes strictly into Bootstrap and passes every validate.rules constraint', () => {
  const bootstrap = envoyBootstrap(settings, '127.0.3.7', 'web-127.0.3.7', { region: 'us-east1', zone: 'us-east1-b', subZone: 'rack-1' }, { xdsProxy: '127.0.0.1:15010', sdsAddress: '/var/run/meshbridge/sds.sock', xdsInitialMetadata: { 'x-meshbridge-local': 'secret' } });
  const yaml = envoyBootstrapYaml(bootstrap, ENVOY_TYPE_REGISTRY);
  // fromJson refuses unknown fields unless told otherwise: a misspelt field would throw here.
  const decoded = fromJson(BootstrapSchema, parse(yaml) as JsonValue, { registry: ENVOY_TYPE_REGISTRY });
  assert.deepEqual(checkConstraints(BootstrapSchema, decoded, ENVOY_TYPE_REGISTRY), []);
  assert.equal(decoded.node?.id, 'sidecar~127.0.3.7~web-127.0.3.7.vm-demo~vm-demo.svc.cluster.local');
  assert.deepEqual(decoded.node?.metadata?.LABELS, { app: 'web', version: 'v1' });
  assert.equal(decoded.node?.metadata?.INTERCEPTION_MODE, 'REDIRECT');
  assert.deepEqual(decoded.staticResources?.clusters.map((c) => c.name), [XDS_CLUSTER, SDS_CLUSTER, 'prometheus_stats']);
  const ports = decoded.staticResources?.listeners.map((l) => (l.address?.address.case === 'socketAddress' ? l.address.address.value.portSpecifier.value : undefined));
  assert.deepEqual(ports, [ENVOY_PORTS.prometheus, ENVOY_PORTS.health]);
  assert.deepEqual(decoded.dynamicResources?.adsConfig?.grpcServices[0]?.initialMetadata.map((h) => h.key), ['x-meshbridge-local']);
  const sds = decoded.staticResources?.clusters[1]?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier;
  assert.equal(sds?.case === 'endpoint' && sds.value.address?.address.case === 'pipe' ? sds.value.address.address.value.path : '', '/var/run/meshbridge/sds.sock');
});

test('envoy bootstrap: a broken bootstrap is caught by the checker (an empty xDS proxy address)', () => {
  const bootstrap = envoyBootstrap(settings, '127.0.3.7', 'web', { region: '', zone: '', subZone: '' }, { xdsProxy: '' });
  const found = checkConstraints(BootstrapSchema, bootstrap, ENVOY_TYPE_REGISTRY).map((v) => `${v.path} ${v.rule}`);
  assert.ok(found.some((f) => f.endsWith('pipe.path string.min_len')), found.join('\n'));
});
