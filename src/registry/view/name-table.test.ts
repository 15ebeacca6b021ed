// One proxy's name table, after the cases of Istio's pkg/dns/server/name_table_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh/mesh-settings.js';
import type { Endpoint, MergedService } from '../../model/mesh/types.js';
import { buildNameTable } from './name-table.js';

function endpoint(address: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { address, port: 80, servicePort: 80, portName: 'http', labels: {}, locality: '', network: '', weight: 1, tlsMode: '', serviceAccount: null, health: 'HEALTHY', source: `WorkloadEntry/ns1/${address}`, namespace: 'ns1', workloadName: address, ...extra };
}

function service(host: string, extra: Partial<MergedService> = {}): MergedService {
  const namespace = extra.namespace ?? 'ns1';
  return {
    key: `${namespace}/${host}`,
    host,
    namespace,
    definedBy: `ServiceEntry/${namespace}/${host}`,
    source: 'ServiceEntry',
    resolution: 'STATIC',
    location: 'MESH_INTERNAL',
    ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: 0 }],
    addresses: [],
    exportTo: [],
    subjectAltNames: [],
    annotations: {},
    creation: { timestamp: '', order: 0 },
    endpoints: [],
    bundles: [],
    ...extra,
  };
}

const proxy = { namespace: 'ns1', network: '' };
const table = (services: MergedService[], p = proxy) => Object.fromEntries(buildNameTable(services, p, DEFAULT_MESH_SETTINGS));

test('name table: a service with addresses answers them, registry External', () => {
  assert.deepEqual(table([service('db.mesh.test', { addresses: ['240.240.0.1', '2001:2::1'] })]), { 'db.mesh.test': { ips: ['240.240.0.1', '2001:2::1'], registry: 'External' } });
});

test('name table: a Kubernetes Service carries shortname and namespace', () => {
  assert.deepEqual(table([service('reviews.ns1.svc.cluster.local', { source: 'Service', addresses: ['10.96.0.10'] })]), {
    'reviews.ns1.svc.cluster.local': { ips: ['10.96.0.10'], registry: 'Kubernetes', shortname: 'reviews', namespace: 'ns1' },
  });
});

test('name table: no address (DNS without VIP, STATIC without addresses, CIDR only) gives no entry', () => {
  assert.deepEqual(
    table([
      service('dns.mesh.test', { resolution: 'DNS', endpoints: [endpoint('10.0.0.1')] }),
      service('static.mesh.test', { endpoints: [endpoint('10.0.0.2')] }),
      service('cidr.mesh.test', { addresses: ['10.1.0.0/16'] }),
    ]),
    {},
  );
});

test('name table: resolution NONE without addresses answers its healthy IP endpoints on the proxy network, once each', () => {
  const none = service('headless.mesh.test', {
    resolution: 'NONE',
    endpoints: [endpoint('10.0.0.1'), endpoint('10.0.0.1', { port: 81 }), endpoint('10.0.0.2', { health: 'UNHEALTHY' }), endpoint('10.0.0.3', { network: 'net-b' }), endpoint('vm.example.test'), endpoint('10.0.0.4', { health: 'UNKNOWN' })],
  });
  assert.deepEqual(table([none]), { 'headless.mesh.test': { ips: ['10.0.0.1', '10.0.0.4'], registry: 'External' } });
  assert.deepEqual(table([none], { namespace: 'ns1', network: 'net-b' }), { 'headless.mesh.test': { ips: ['10.0.0.3'], registry: 'External' } });
  assert.deepEqual(table([service('noports.mesh.test', { resolution: 'NONE', ports: [], endpoints: [endpoint('10.0.0.1')] })]), {});
});

test('name table: the same host in two namespaces merges its IPs; a Kubernetes Service replaces ServiceEntries either way round', () => {
  const a = service('shared.mesh.test', { addresses: ['240.240.0.1'], exportTo: ['*'] });
  const b = service('shared.mesh.test', { namespace: 'ns2', addresses: ['240.240.0.2', '240.240.0.1'], exportTo: ['*'] });
  assert.deepEqual(table([a, b])['shared.mesh.test'], { ips: ['240.240.0.1', '240.240.0.2'], registry: 'External' });
  const k8s = service('details.ns1.svc.cluster.local', { source: 'Service', addresses: ['10.96.0.20'] });
  const decorator = service('details.ns1.svc.cluster.local', { addresses: ['240.240.0.9'] });
  const expected = { 'details.ns1.svc.cluster.local': { ips: ['10.96.0.20'], registry: 'Kubernetes', shortname: 'details', namespace: 'ns1' } };
  assert.deepEqual(table([decorator, k8s]), expected);
  assert.deepEqual(table([k8s, decorator]), expected);
});

test('name table: only services exported to the proxy namespace (X-1)', () => {
  const privateSe = service('private.mesh.test', { namespace: 'ns2', exportTo: ['.'], addresses: ['240.240.0.3'] });
  assert.deepEqual(table([privateSe]), {});
  assert.deepEqual(table([privateSe], { namespace: 'ns2', network: '' }), { 'private.mesh.test': { ips: ['240.240.0.3'], registry: 'External' } });
});
