/**
 * Rules S-* (a ServiceEntry as services), API-2/API-7 (defaults) and E-SRC-* (where endpoints come
 * from), proved through the registry and the `endpoints` report.
 *
 * Not covered: S-6 (LABEL_CANONICAL_SERVICES_FOR_MESH_EXTERNAL_SERVICE_ENTRIES is off by default and
 * canonical labels are not part of the report); DYNAMIC_DNS clusters (dynamic forward proxy: not a
 * cluster type of the contract, so no cluster is listed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addresses,
  cluster,
  clusterNames,
  endpoints,
  service,
  sortedAddresses,
  workloadEntry,
  yamlDocs,
} from '../../test/support/mesh.js';
import { specAddressesOf } from './service-entries.js';
import type { ServiceEntry } from '../model/config/types.js';

function seWith(resolution: string, extra = ''): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: se
      namespace: ns1
    spec:
      hosts:
      - a.example.com
      ports:
      - number: 80
        name: http
        protocol: HTTP
      resolution: ${resolution}
${extra}`;
}

test('S-1, C-3: resolution decides the cluster type (STATIC EDS, DNS STRICT_DNS, DNS_ROUND_ROBIN LOGICAL_DNS, NONE ORIGINAL_DST)', () => {
  const inline = '      endpoints:\n      - address: 1.1.1.1\n';
  const dnsInline = '      endpoints:\n      - address: one.example.org\n';
  assert.equal(cluster(endpoints(seWith('STATIC', inline)), 'outbound|80||a.example.com').type, 'EDS');
  assert.equal(cluster(endpoints(seWith('DNS', dnsInline)), 'outbound|80||a.example.com').type, 'STRICT_DNS');
  assert.equal(cluster(endpoints(seWith('DNS_ROUND_ROBIN', dnsInline)), 'outbound|80||a.example.com').type, 'LOGICAL_DNS');
  assert.equal(cluster(endpoints(seWith('NONE')), 'outbound|80||a.example.com').type, 'ORIGINAL_DST');
});

test('S-1: a DYNAMIC_DNS entry gets no cluster of the contract types (dynamic forward proxy)', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: dyn, namespace: ns1}
    spec:
      hosts: ["*.dyn.example.com"]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: DYNAMIC_DNS
  `);
  assert.deepEqual(clusterNames(r), []);
  assert.equal(service(r, '*.dyn.example.com').resolution, 'DYNAMIC_DNS');
});

test('S-7, C-3: the RACE_FIRST_TCP_CONNECT connect strategy turns a DNS cluster into LOGICAL_DNS', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: se
      namespace: ns1
      annotations:
        istio.io/connect-strategy: RACE_FIRST_TCP_CONNECT
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: DNS
  `);
  assert.equal(cluster(r, 'outbound|80||a.example.com').type, 'LOGICAL_DNS');
});

test('API-2, S-1: resolution omitted is NONE (ORIGINAL_DST) and location omitted is MESH_EXTERNAL', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      addresses: [10.0.0.1]
      ports: [{number: 80, name: http, protocol: HTTP}]
  `);
  const s = service(r, 'a.example.com');
  assert.equal(s.resolution, 'NONE');
  assert.equal(s.location, 'MESH_EXTERNAL');
  const c = cluster(r, 'outbound|80||a.example.com');
  assert.equal(c.type, 'ORIGINAL_DST');
  assert.deepEqual(c.localities, []);
});

test('API-7: a MESH_EXTERNAL (defaulted location) ServiceEntry with a selector still selects workloads', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: selector, namespace: ns1}
      spec:
        hosts: [selector.com]
        ports: [{number: 444, name: tcp-444, protocol: TCP}]
        resolution: STATIC
        workloadSelector:
          labels: {app: wle}
      `,
      workloadEntry('wl', 'ns1', 'address: 2.2.2.2\nlabels: {app: wle}'),
    ),
  );
  assert.equal(service(r, 'selector.com').location, 'MESH_EXTERNAL');
  assert.deepEqual(addresses(cluster(r, 'outbound|444||selector.com')), ['2.2.2.2:444']);
});

test('S-2: one service per (host, address): two hosts and two CIDRs give both addresses to each host', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: multi, namespace: ns1}
    spec:
      hosts: [a.example.com, b.example.com]
      addresses: [10.1.0.0/16, 10.2.0.0/16]
      ports: [{number: 80, name: http, protocol: HTTP}]
      location: MESH_INTERNAL
  `);
  assert.deepEqual(service(r, 'a.example.com').addresses, ['10.1.0.0/16', '10.2.0.0/16']);
  assert.deepEqual(service(r, 'b.example.com').addresses, ['10.1.0.0/16', '10.2.0.0/16']);
});

test('S-2: a /32 or /128 CIDR is reduced to the bare IP; entries that are neither IP nor CIDR are skipped', () => {
  const se = {
    spec: { hosts: ['a'], addresses: ['1.2.3.4/32', '2001:db8::1/128', '10.0.0.0/8', '5.6.7.8', 'not-an-ip', '1.2.3.4/33'] },
  } as unknown as ServiceEntry;
  assert.deepEqual(specAddressesOf(se), ['1.2.3.4', '2001:db8::1', '10.0.0.0/8', '5.6.7.8']);
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      addresses: [1.2.3.4/32]
      ports: [{number: 80, name: http, protocol: HTTP}]
  `);
  assert.deepEqual(service(r, 'a.example.com').addresses, ['1.2.3.4']);
});

test('S-2, D-2: a STATIC entry with two addresses has its endpoints once per address', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      addresses: [10.0.0.1, 10.0.0.2]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints:
      - address: 1.1.1.1
  `);
  assert.deepEqual(addresses(service(r, 'a.example.com').endpoints), ['1.1.1.1:80', '1.1.1.1:80']);
  assert.deepEqual(addresses(cluster(r, 'outbound|80||a.example.com')), ['1.1.1.1:80', '1.1.1.1:80']);
});

test('S-3: the host is kept verbatim (wildcards too), with the namespace, location and ports (protocol parsed)', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: wild, namespace: ns1}
    spec:
      hosts: ["*.google.com"]
      location: MESH_INTERNAL
      ports:
      - {number: 80, name: http-port, protocol: http}
      - {number: 8443, name: tls, protocol: tls, targetPort: 9443}
      - {number: 9000, name: other}
      resolution: STATIC
      endpoints:
      - address: 2.2.2.2
  `);
  const s = service(r, '*.google.com');
  assert.equal(s.namespace, 'ns1');
  assert.equal(s.location, 'MESH_INTERNAL');
  assert.deepEqual(s.ports, [
    { number: 80, name: 'http-port', protocol: 'HTTP' },
    { number: 8443, name: 'tls', protocol: 'TLS', targetPort: 9443 },
    { number: 9000, name: 'other', protocol: '' },
  ]);
  cluster(r, 'outbound|80||*.google.com');
});

test('S-4, C-8: resolution NONE keeps targetPort on the port (passthrough override), cluster ORIGINAL_DST without endpoints', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: tcp-none, namespace: ns1}
    spec:
      hosts: [tcpnone.com]
      addresses: [172.217.0.0/16]
      ports: [{number: 444, name: tcp-444, protocol: tcp, targetPort: 8443}]
      resolution: NONE
  `);
  const s = service(r, 'tcpnone.com');
  assert.deepEqual(s.ports, [{ number: 444, name: 'tcp-444', protocol: 'TCP', targetPort: 8443 }]);
  assert.deepEqual(s.endpoints, []);
  const c = cluster(r, 'outbound|444||tcpnone.com');
  assert.equal(c.type, 'ORIGINAL_DST');
  assert.deepEqual(c.localities, []);
});

test('C-3: UDP ports get no cluster', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      ports:
      - {number: 53, name: dns, protocol: UDP}
      - {number: 80, name: http, protocol: HTTP}
      resolution: STATIC
      endpoints:
      - address: 1.1.1.1
  `);
  assert.deepEqual(clusterNames(r), ['outbound|80||a.example.com']);
});

test('E-SRC-1, E-ATTR-1: DNS without endpoints or selector: each host resolves itself, one endpoint per port', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: http-dns-no-endpoints, namespace: ns1}
    spec:
      hosts: [google.com, www.wikipedia.org]
      ports:
      - {number: 80, name: http-port, protocol: http}
      - {number: 8080, name: http-alt-port, protocol: http}
      location: MESH_EXTERNAL
      resolution: DNS
  `);
  for (const host of ['google.com', 'www.wikipedia.org']) {
    const s = service(r, host);
    assert.deepEqual(
      s.endpoints.map((e) => ({ address: e.address, port: e.port, servicePort: e.servicePort, labels: e.labels, tlsMode: e.tlsMode, serviceAccount: e.serviceAccount, weight: e.weight, locality: e.locality })),
      [
        { address: host, port: 80, servicePort: 80, labels: {}, tlsMode: 'disabled', serviceAccount: null, weight: 1, locality: '' },
        { address: host, port: 8080, servicePort: 8080, labels: {}, tlsMode: 'disabled', serviceAccount: null, weight: 1, locality: '' },
      ],
    );
    assert.deepEqual(addresses(cluster(r, `outbound|80||${host}`)), [`${host}:80`]);
    assert.deepEqual(addresses(cluster(r, `outbound|8080||${host}`)), [`${host}:8080`]);
  }
});

test('E-SRC-1: the host-name endpoint uses targetPort when set (DNS and DNS_ROUND_ROBIN)', () => {
  for (const resolution of ['DNS', 'DNS_ROUND_ROBIN']) {
    const r = endpoints(`
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: dns-target-port, namespace: ns1}
      spec:
        hosts: [google.com]
        ports: [{number: 80, name: http-port, protocol: http, targetPort: 8080}]
        resolution: ${resolution}
    `);
    const c = cluster(r, 'outbound|80||google.com');
    assert.equal(c.type, resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS');
    assert.deepEqual(addresses(c), ['google.com:8080']);
    assert.equal(c.localities[0]?.endpoints[0]?.tlsMode, null);
  }
});

test('E-SRC-2: inline endpoints give one endpoint per port for every host, sourced by their index', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: static, namespace: ns1}
    spec:
      hosts: [a.example.com, b.example.com]
      ports:
      - {number: 80, name: http, protocol: HTTP}
      - {number: 443, name: tls, protocol: TLS}
      resolution: STATIC
      endpoints:
      - address: 1.1.1.1
      - address: 2.2.2.2
        ports: {tls: 8443}
  `);
  for (const host of ['a.example.com', 'b.example.com']) {
    const s = service(r, host);
    assert.deepEqual(
      s.endpoints.map((e) => `${e.source} ${e.address}:${e.port}/${e.servicePort}`).sort(),
      [
        'ServiceEntry/ns1/static#0 1.1.1.1:443/443',
        'ServiceEntry/ns1/static#0 1.1.1.1:80/80',
        'ServiceEntry/ns1/static#1 2.2.2.2:80/80',
        'ServiceEntry/ns1/static#1 2.2.2.2:8443/443',
      ],
    );
    assert.deepEqual(sortedAddresses(cluster(r, `outbound|443||${host}`)), ['1.1.1.1:443', '2.2.2.2:8443']);
  }
});

test('E-SRC-2: DNS with inline endpoints resolves those endpoints, not the host', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: dns, namespace: ns1}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: DNS
      endpoints:
      - address: us.example.org
      - address: eu.example.org
        ports: {http: 8080}
  `);
  assert.deepEqual(addresses(cluster(r, 'outbound|80||a.example.com')), ['us.example.org:80', 'eu.example.org:8080']);
});

test('E-SRC-3, C-5: a DNS selector that selects nothing gives no endpoints (no fallback to the host) and no cluster', () => {
  const r = endpoints(
    yamlDocs(
      seWith('DNS', '      workloadSelector:\n        labels: {app: nothing}\n'),
      workloadEntry('other', 'ns1', 'address: 1.1.1.1\nlabels: {app: other}'),
    ),
  );
  assert.deepEqual(service(r, 'a.example.com').endpoints, []);
  assert.deepEqual(clusterNames(r), []);
});

test('E-SRC-4: resolution NONE without a selector has no endpoints', () => {
  const r = endpoints(seWith('NONE'));
  assert.deepEqual(service(r, 'a.example.com').endpoints, []);
});

test('E-SRC-4: resolution NONE with a selector: the selected workloads are endpoints of the service, the sidecar cluster is ORIGINAL_DST', () => {
  const r = endpoints(
    yamlDocs(
      seWith('NONE', '      workloadSelector:\n        labels: {app: a}\n'),
      workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(addresses(service(r, 'a.example.com').endpoints), ['1.1.1.1:80']);
  const c = cluster(r, 'outbound|80||a.example.com');
  assert.equal(c.type, 'ORIGINAL_DST');
  assert.deepEqual(c.localities, []);
});

test('E-SRC-2, E-SRC-3: a selector wins over the host-name fallback even when it selects something in DNS mode', () => {
  const r = endpoints(
    yamlDocs(
      seWith('DNS', '      workloadSelector:\n        labels: {app: a}\n'),
      workloadEntry('vm', 'ns1', 'address: vm.corp.example\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(addresses(service(r, 'a.example.com').endpoints), ['vm.corp.example:80']);
});
