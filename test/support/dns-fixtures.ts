/**
 * The name table of Istio's pkg/dns/client/dns_test.go (fillTable), with `.test` in place of
 * `.localhost` (dig warns about special-use names), and the settings it is read with: proxy
 * namespace ns1, search list `ns1.svc.cluster.local svc.cluster.local cluster.local`.
 */
import type { NameInfo } from '../../src/agent/dns/lookup-table.js';

export const ISTIO_TABLE: ReadonlyMap<string, NameInfo> = new Map<string, NameInfo>([
  ['www.google.com', { ips: ['1.1.1.1'], registry: 'External' }],
  ['productpage.ns1.svc.cluster.local', { ips: ['9.9.9.9'], registry: 'Kubernetes', namespace: 'ns1', shortname: 'productpage' }],
  ['example.ns2.svc.cluster.local', { ips: ['10.10.10.10'], registry: 'Kubernetes', namespace: 'ns2', shortname: 'example' }],
  ['details.ns2.svc.cluster.remote', { ips: ['11.11.11.11', '12.12.12.12', '13.13.13.13', '14.14.14.14'], registry: 'Kubernetes', namespace: 'ns2', shortname: 'details' }],
  ['svc-with-alt.ns1.svc.cluster.local', { ips: ['15.15.15.15'], registry: 'Kubernetes', namespace: 'ns1', shortname: 'svc-with-alt', altHosts: ['svc-with-alt.ns1.svc.clusterset.local'] }],
  ['ipv6.test', { ips: ['2001:db8::ff00:42:8329'], registry: 'External' }],
  ['dual.test', { ips: ['2.2.2.2', '2001:db8::ff00:42:8329'], registry: 'External' }],
  ['ipv4.test', { ips: ['2.2.2.2'], registry: 'External' }],
  ['*.b.wildcard', { ips: ['11.11.11.11'], registry: 'External' }],
  ['*.wildcard', { ips: ['10.10.10.10'], registry: 'External' }],
  ['bad-ips.test', { ips: ['not-an-ip', '10.0.0.0/8'], registry: 'External' }],
]);

export const ISTIO_SETTINGS = { proxyNamespace: 'ns1', proxyDomain: 'ns1.svc.cluster.local', searchDomains: ['ns1.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] };
