// The agent's side of NDS: what a NameTable response gives the DNS proxy, and which responses are
// refused (the ADS session NACKs them with the reason, and the table in use stays).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import { DiscoveryResponseSchema } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { NameTableSchema } from '../../gen/istio/networking/nds/v1/nds_pb.js';
import { AgentDns, NAME_TABLE_TYPE_URL, nameTableOfResponse } from './agent-dns.js';

function response(resources: { typeUrl: string; value: Uint8Array }[]) {
  return create(DiscoveryResponseSchema, { typeUrl: NAME_TABLE_TYPE_URL, versionInfo: 'v1', nonce: 'n1', resources });
}
const table = toBinary(NameTableSchema, create(NameTableSchema, { table: { 'reviews.ns1.svc.cluster.local': { ips: ['10.96.0.9'], registry: 'Kubernetes', shortname: 'reviews', namespace: 'ns1' }, 'db.mesh.test': { ips: ['240.240.0.1', '2001:2::1'], registry: 'External' } } }));

test('NDS response: one NameTable becomes the proxy\'s table (Kubernetes names kept)', () => {
  const got = nameTableOfResponse(response([{ typeUrl: NAME_TABLE_TYPE_URL, value: table }]));
  assert.deepEqual(Object.fromEntries(got ?? []), {
    'reviews.ns1.svc.cluster.local': { ips: ['10.96.0.9'], registry: 'Kubernetes', shortname: 'reviews', namespace: 'ns1' },
    'db.mesh.test': { ips: ['240.240.0.1', '2001:2::1'], registry: 'External' },
  });
});

test('NDS response: none is ignored; two, another type or bytes that do not decode are refused with the reason', () => {
  assert.equal(nameTableOfResponse(response([])), undefined);
  assert.throws(() => nameTableOfResponse(response([{ typeUrl: NAME_TABLE_TYPE_URL, value: table }, { typeUrl: NAME_TABLE_TYPE_URL, value: table }])), /must carry one resource, not 2/);
  assert.throws(() => nameTableOfResponse(response([{ typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: table }])), /of type "type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster"/);
  assert.throws(() => nameTableOfResponse(response([{ typeUrl: NAME_TABLE_TYPE_URL, value: new Uint8Array([0x0a, 0xff]) }])), /cannot decode the NameTable/);
});

test('agent DNS: a refused response keeps the table in use; a missing resolv.conf is logged, not fatal', () => {
  const lines: string[] = [];
  const dns = new AgentDns({ resolvConfPath: '/nonexistent/resolv.conf', namespace: 'ns1', metrics: new Registry(), log: (l) => lines.push(l) });
  assert.match(lines[0] ?? '', /^warning: dns: cannot read \/nonexistent\/resolv\.conf: .*questions outside the mesh get SERVFAIL$/);
  assert.equal(dns.describe().received, false, 'before the first table');
  dns.onResponse(response([{ typeUrl: NAME_TABLE_TYPE_URL, value: table }]));
  assert.throws(() => dns.onResponse(response([{ typeUrl: NAME_TABLE_TYPE_URL, value: new Uint8Array([0x0a, 0xff]) }])));
  const after = dns.describe();
  assert.equal(after.received, true);
  assert.deepEqual(after.table['db.mesh.test']?.ips, ['240.240.0.1', '2001:2::1']);
  assert.deepEqual(after.names['reviews.']?.a, ['10.96.0.9'], 'the short name of the VM\'s namespace');
});
