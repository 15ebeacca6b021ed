import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { unifiedDiff } from '../lib/text/line-diff.js';
import { CertificateAuthority } from '../security/ca.js';
import { clusterRows, listenerRows, secretRows } from './proxy-config-command.js';

test('clusters: outbound|port|subset|host split into istioctl columns; a DestinationRule named from Istio metadata; filters', () => {
  const clusters = [
    { name: 'outbound|80|v1|reviews.demo.test', type: 'EDS', metadata: { filterMetadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/demo/destination-rule/reviews' } } } },
    { name: 'outbound|80||reviews.demo.test', type: 'EDS' },
    { name: 'PassthroughCluster', clusterType: { name: 'envoy.cluster.original_dst' } },
    { name: 'BlackHoleCluster' },
  ];
  assert.deepEqual(clusterRows(clusters), [
    ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'],
    ['reviews.demo.test', '80', 'v1', 'outbound', 'EDS', 'reviews.demo'],
    ['reviews.demo.test', '80', '-', 'outbound', 'EDS', '-'],
    ['PassthroughCluster', '-', '-', '-', 'envoy.cluster.original_dst', '-'],
    ['BlackHoleCluster', '-', '-', '-', 'STATIC', '-'],
  ]);
  assert.deepEqual(clusterRows(clusters, { subset: 'v1' }).slice(1).map((r) => r[2]), ['v1']);
});

test('listeners: a row per filter chain with its match and destination', () => {
  const hcm = { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', rds: { routeConfigName: '80' } };
  const listener = {
    name: '0.0.0.0_80',
    address: { socketAddress: { address: '0.0.0.0', portValue: 80 } },
    filterChains: [
      { filterChainMatch: { prefixRanges: [{ addressPrefix: '10.0.0.1', prefixLen: 32 }], transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] }, filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm }] },
      { filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', cluster: 'PassthroughCluster' } }] },
    ],
  };
  assert.deepEqual(listenerRows([listener]), [
    ['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION'],
    ['0.0.0.0', '80', 'Addr: 10.0.0.1/32; Trans: raw_buffer; App: http/1.1,h2c', 'Route: 80'],
    ['0.0.0.0', '80', 'ALL', 'Cluster: PassthroughCluster'],
  ]);
  assert.deepEqual(listenerRows([listener], '81'), [['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION']]);
});

test('secrets: type, status and the certificate dates and serial', async () => {
  const { files } = await CertificateAuthority.createSelfSigned('cluster.local');
  const cert = new X509Certificate(files.rootCert);
  const rows = secretRows([{ name: 'ROOTCA', validationContext: { trustedCa: { inlineBytes: Buffer.from(files.rootCert).toString('base64') } } }, { name: 'default' }], true);
  assert.deepEqual(rows[1], ['ROOTCA', 'CA', 'ACTIVE', 'true', cert.serialNumber.toLowerCase(), new Date(cert.validTo).toISOString(), new Date(cert.validFrom).toISOString()]);
  assert.deepEqual(rows[2], ['default', '-', 'ACTIVE', '-', '-', '-', '-']);
  assert.equal(secretRows([{ name: 'x' }], false)[1]?.[2], 'WARMING');
});

test('unifiedDiff: hunks with context, empty when equal', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n', { before: 'x', after: 'y' }), '');
  const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n');
  const after = ['1', '2', '3', '4', 'five', '6', '7', '8', '9', '10', '11'].join('\n');
  assert.equal(
    unifiedDiff(before, after, { before: 'acked', after: 'now' }, 1),
    ['--- acked', '+++ now', '@@ -4,3 +4,3 @@', ' 4', '-5', '+five', ' 6', '@@ -10,1 +10,2 @@', ' 10', '+11', ''].join('\n'),
  );
});
