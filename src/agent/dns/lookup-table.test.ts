// The lookup table against the table of Istio's pkg/dns/client/dns_test.go (TestDNS, fillTable),
// with `.test` in place of `.localhost` (test/support/dns-fixtures.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLookupTable, lookupHost, roundRobin, type AnswerRecord } from './lookup-table.js';
import { ISTIO_SETTINGS, ISTIO_TABLE } from '../../../test/support/dns-fixtures.js';
import { parseResolvConf } from './resolv-conf.js';

const table = buildLookupTable(ISTIO_TABLE, ISTIO_SETTINGS);
const a = (name: string, ...ips: string[]): AnswerRecord[] => ips.map((data) => ({ type: 'A', name, ttl: 30, data }));

const cases: { name: string; host: string; qtype?: string; expect: AnswerRecord[] | 'upstream' }[] = [
  { name: 'non k8s host in local cache', host: 'www.google.com.', expect: a('www.google.com.', '1.1.1.1') },
  { name: 'non k8s host with search namespace yields cname+A record', host: 'www.google.com.ns1.svc.cluster.local.', expect: [{ type: 'CNAME', name: 'www.google.com.ns1.svc.cluster.local.', ttl: 30, data: 'www.google.com.' }, ...a('www.google.com.', '1.1.1.1')] },
  { name: 'non k8s host not in local cache', host: 'www.bing.com.', expect: 'upstream' },
  { name: 'k8s host - fqdn', host: 'productpage.ns1.svc.cluster.local.', expect: a('productpage.ns1.svc.cluster.local.', '9.9.9.9') },
  { name: 'k8s host - name.namespace', host: 'productpage.ns1.', expect: a('productpage.ns1.', '9.9.9.9') },
  { name: 'k8s host - shortname', host: 'productpage.', expect: a('productpage.', '9.9.9.9') },
  { name: 'k8s host (name.namespace) with search namespace yields cname+A record', host: 'productpage.ns1.ns1.svc.cluster.local.', expect: [{ type: 'CNAME', name: 'productpage.ns1.ns1.svc.cluster.local.', ttl: 30, data: 'productpage.ns1.' }, ...a('productpage.ns1.', '9.9.9.9')] },
  { name: 'AAAA query for IPv4 k8s host (name.namespace) with search namespace', host: 'productpage.ns1.ns1.svc.cluster.local.', qtype: 'AAAA', expect: [] },
  { name: 'k8s host - non local namespace - name.namespace', host: 'example.ns2.', expect: a('example.ns2.', '10.10.10.10') },
  { name: 'k8s host - non local namespace - fqdn', host: 'example.ns2.svc.cluster.local.', expect: a('example.ns2.svc.cluster.local.', '10.10.10.10') },
  { name: 'k8s host - non local namespace - name.namespace.svc', host: 'example.ns2.svc.', expect: a('example.ns2.svc.', '10.10.10.10') },
  { name: 'k8s host - non local namespace - shortname goes upstream', host: 'example.', expect: 'upstream' },
  { name: 'alt host - name', host: 'svc-with-alt.', expect: a('svc-with-alt.', '15.15.15.15') },
  { name: 'alt host - name.namespace.svc.clusterset.local', host: 'svc-with-alt.ns1.svc.clusterset.local.', expect: a('svc-with-alt.ns1.svc.clusterset.local.', '15.15.15.15') },
  { name: 'remote cluster k8s svc - fqdn', host: 'details.ns2.svc.cluster.remote.', expect: a('details.ns2.svc.cluster.remote.', '11.11.11.11', '12.12.12.12', '13.13.13.13', '14.14.14.14') },
  { name: 'remote cluster k8s svc - name.namespace goes upstream (other domain)', host: 'details.ns2.', expect: 'upstream' },
  // Istio's code stores the FQDN's first-search-domain expansion as a CNAME too (lookupHost's comment).
  { name: 'fqdn expanded by the first search domain is a CNAME to the fqdn', host: 'productpage.ns1.svc.cluster.local.ns1.svc.cluster.local.', expect: [{ type: 'CNAME', name: 'productpage.ns1.svc.cluster.local.ns1.svc.cluster.local.', ttl: 30, data: 'productpage.ns1.svc.cluster.local.' }, ...a('productpage.ns1.svc.cluster.local.', '9.9.9.9')] },
  { name: 'expansions by the other search domains go upstream', host: 'productpage.ns1.svc.cluster.local.svc.cluster.local.', expect: 'upstream' },
  { name: 'TypeA query returns A records only', host: 'dual.test.', expect: a('dual.test.', '2.2.2.2') },
  { name: 'TypeAAAA query returns AAAA records only', host: 'dual.test.', qtype: 'AAAA', expect: [{ type: 'AAAA', name: 'dual.test.', ttl: 30, data: '2001:db8::ff00:42:8329' }] },
  { name: 'only AAAA records exist for type A: NODATA', host: 'ipv6.test.', expect: [] },
  { name: 'only A records exist for type AAAA: NODATA', host: 'ipv4.test.', qtype: 'AAAA', expect: [] },
  { name: 'wild card returns A record with the question as owner', host: 'foo.wildcard.', expect: a('foo.wildcard.', '10.10.10.10') },
  { name: 'most specific wild card wins', host: 'a.b.wildcard.', expect: a('a.b.wildcard.', '11.11.11.11') },
  { name: 'wild card with search namespace chains the pointer to the wildcard', host: 'foo.wildcard.ns1.svc.cluster.local.', expect: [{ type: 'CNAME', name: 'foo.wildcard.ns1.svc.cluster.local.', ttl: 30, data: '*.wildcard.' }, ...a('*.wildcard.', '10.10.10.10')] },
  { name: 'upper-case question is answered lower-cased', host: 'ProductPage.NS1.', expect: a('productpage.ns1.', '9.9.9.9') },
  { name: 'a known name asked for SRV goes upstream', host: 'productpage.ns1.', qtype: 'SRV', expect: 'upstream' },
  { name: 'an entry without usable IPs is left out', host: 'bad-ips.test.', expect: 'upstream' },
];

for (const c of cases) {
  test(`DNS lookup (Istio TestDNS): ${c.name}`, () => {
    const r = lookupHost(table, c.qtype ?? 'A', c.host);
    if (c.expect === 'upstream') assert.equal(r.found, false);
    else assert.deepEqual(r, { found: true, answers: c.expect });
  });
}

test('DNS lookup: the short name exists only for the proxy namespace', () => {
  const other = buildLookupTable(ISTIO_TABLE, { ...ISTIO_SETTINGS, proxyNamespace: 'ns2', proxyDomain: 'svc.cluster.local' });
  assert.equal(lookupHost(other, 'A', 'productpage.').found, false);
  assert.deepEqual(lookupHost(other, 'A', 'example.'), { found: true, answers: a('example.', '10.10.10.10') });
});

test('DNS round robin: CNAMEs first, addresses shuffled deterministically by the id source', () => {
  const records: AnswerRecord[] = [{ type: 'CNAME', name: 'x.', ttl: 30, data: 'y.' }, ...a('y.', '1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4')];
  let id = 0;
  const first = roundRobin(records, () => ++id);
  assert.equal(first[0]?.type, 'CNAME');
  assert.deepEqual(new Set(first.slice(1).map((r) => r.data)), new Set(['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4']));
  id = 0;
  assert.deepEqual(roundRobin(records, () => ++id), first);
  const two = a('y.', '1.1.1.1', '2.2.2.2');
  assert.deepEqual(roundRobin(two, () => 2).map((r) => r.data), ['2.2.2.2', '1.1.1.1']);
  assert.deepEqual(roundRobin(two, () => 1).map((r) => r.data), ['1.1.1.1', '2.2.2.2']);
});

test('resolv.conf: nameservers (with an optional port), the last search line, comments', () => {
  const conf = parseResolvConf('# generated\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 127.0.0.1:5300\nnameserver bogus\ndomain old.example\nsearch ec2.internal Corp.Example. ; note\noptions ndots:5\n');
  assert.deepEqual(conf, { nameservers: ['127.0.0.53:53', '[::1]:53', '127.0.0.1:5300'], search: ['ec2.internal', 'corp.example'] });
});
