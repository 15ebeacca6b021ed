/**
 * Rules D-* (the same host in several ServiceEntries / a Kubernetes Service), proved through the
 * registry and the `endpoints` report (controller_test.go TestServiceDiscoveryServiceUpdate,
 * TestServiceDiscoveryServiceDeleteOverlapping, TestServiceDiscoveryServiceInstancesForDnsRoundRobinLB;
 * sidecar.go appendSidecarServices / selectServices).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addresses,
  cluster,
  clusterNames,
  endpoints,
  pod,
  service,
  sortedAddresses,
  workloadEntry,
  yamlDocs,
} from '../../test/support/mesh.js';

const httpStatic = `
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: http-static, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z"}
  spec:
    hosts: ["*.google.com"]
    ports:
    - {number: 80, name: http-port, protocol: http}
    - {number: 8080, name: http-alt-port, protocol: http}
    location: MESH_EXTERNAL
    resolution: STATIC
    endpoints:
    - address: 2.2.2.2
      ports: {http-port: 7080, http-alt-port: 18080}
      labels: {security.istio.io/tlsMode: istio}
    - address: 3.3.3.3
      ports: {http-port: 1080}
      labels: {security.istio.io/tlsMode: istio}
    - address: 4.4.4.4
      ports: {http-port: 1080}
      labels: {foo: bar}
`;
const httpStaticOverlay = `
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: http-static-overlay, namespace: ns1, creationTimestamp: "2024-01-01T00:01:00Z"}
  spec:
    hosts: ["*.google.com"]
    ports:
    - {number: 4567, name: http-port, protocol: http}
    location: MESH_EXTERNAL
    resolution: STATIC
    endpoints:
    - address: 5.5.5.5
      labels: {overlay: bar}
`;

test('D-1: a second ServiceEntry for the same host and namespace adds its endpoints (TestServiceDiscoveryServiceUpdate "add entry")', () => {
  const r = endpoints(yamlDocs(httpStatic, httpStaticOverlay), { host: '*.google.com' });
  assert.deepEqual(
    service(r, '*.google.com').endpoints.map((e) => `${e.source} ${e.address}:${e.port}/${e.servicePort}`).sort(),
    [
      'ServiceEntry/ns1/http-static#0 2.2.2.2:7080/80',
      'ServiceEntry/ns1/http-static#1 3.3.3.3:1080/80',
      'ServiceEntry/ns1/http-static#2 4.4.4.4:1080/80',
      'ServiceEntry/ns1/http-static#0 2.2.2.2:18080/8080',
      'ServiceEntry/ns1/http-static#1 3.3.3.3:8080/8080',
      'ServiceEntry/ns1/http-static#2 4.4.4.4:8080/8080',
      'ServiceEntry/ns1/http-static-overlay#0 5.5.5.5:4567/4567',
    ].sort(),
  );
  assert.ok(service(r, '*.google.com').endpoints.at(-1)?.source.includes('overlay'), 'the younger entry comes last');
});

test('D-1: endpoints are concatenated oldest ServiceEntry first, whatever the file order', () => {
  const young = `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: young, namespace: ns1, creationTimestamp: "2024-02-01T00:00:00Z"}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints: [{address: 2.2.2.2}]
  `;
  const old = young.replace('name: young', 'name: old').replace('2024-02-01', '2024-01-01').replace('2.2.2.2', '1.1.1.1');
  const r = endpoints(yamlDocs(young, old));
  assert.deepEqual(addresses(service(r, 'a.example.com').endpoints), ['1.1.1.1:80', '2.2.2.2:80']);
  assert.deepEqual(addresses(cluster(r, 'outbound|80||a.example.com')), ['1.1.1.1:80', '2.2.2.2:80']);
});

test('D-2: two identical ServiceEntries give every endpoint twice; deleting one restores the single copy', () => {
  const selector = `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: selector, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z"}
    spec:
      hosts: [selector.com]
      ports:
      - {number: 444, name: tcp-444, protocol: tcp}
      - {number: 445, name: http-445, protocol: http}
      workloadSelector:
        labels: {app: wle}
      resolution: STATIC
  `;
  const alt = selector.replace('name: selector,', 'name: alt,').replace('00:00:00Z', '00:01:00Z');
  const wl = workloadEntry('wl', 'ns1', 'address: 2.2.2.2\nlabels: {app: wle}\nserviceAccount: default');
  const both = endpoints(yamlDocs(selector, alt, wl));
  assert.deepEqual(sortedAddresses(service(both, 'selector.com').endpoints), ['2.2.2.2:444', '2.2.2.2:444', '2.2.2.2:445', '2.2.2.2:445']);
  assert.deepEqual(addresses(cluster(both, 'outbound|444||selector.com')), ['2.2.2.2:444', '2.2.2.2:444']);
  const one = endpoints(yamlDocs(alt, wl));
  assert.deepEqual(sortedAddresses(service(one, 'selector.com').endpoints), ['2.2.2.2:444', '2.2.2.2:445']);
});

test('D-3: DNS_ROUND_ROBIN keeps only the first endpoint per service port number across ServiceEntries', () => {
  const first = `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: dns-rr-1, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z"}
    spec:
      hosts: [rr.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS}]
      resolution: DNS_ROUND_ROBIN
      endpoints: [{address: first.example.org}]
  `;
  const second = first.replace('dns-rr-1', 'dns-rr-2').replace('00:00:00Z', '00:01:00Z').replace('first.example.org', 'second.example.org');
  const r = endpoints(yamlDocs(second, first));
  assert.deepEqual(addresses(service(r, 'rr.example.com').endpoints), ['first.example.org:80', 'first.example.org:443']);
  assert.deepEqual(addresses(cluster(r, 'outbound|80||rr.example.com')), ['first.example.org:80']);
  assert.deepEqual(addresses(cluster(r, 'outbound|443||rr.example.com')), ['first.example.org:443']);
});

test('D-3: DNS_ROUND_ROBIN keeps one endpoint per port also within one ServiceEntry (several selected workloads)', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: rr, namespace: ns1}
      spec:
        hosts: [rr.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS_ROUND_ROBIN
        workloadSelector:
          labels: {app: rr}
      `,
      workloadEntry('a', 'ns1', 'address: a.example.org\nlabels: {app: rr}'),
      workloadEntry('b', 'ns1', 'address: b.example.org\nlabels: {app: rr}'),
    ),
  );
  assert.deepEqual(addresses(cluster(r, 'outbound|80||rr.example.com')), ['a.example.org:80']);
});

test('D-4: same namespace: the oldest entry defines the service; a compatible younger one adds its ports by number', () => {
  const r = endpoints(yamlDocs(httpStaticOverlay, httpStatic), { host: '*.google.com' });
  assert.deepEqual(
    service(r, '*.google.com').ports.map((p) => p.number),
    [80, 8080, 4567],
  );
  assert.deepEqual(clusterNames(r), ['outbound|4567||*.google.com', 'outbound|8080||*.google.com', 'outbound|80||*.google.com']);
});

test('D-4: a younger entry that differs in resolution, labels, selector or exportTo is not merged (its ports are ignored)', () => {
  const older = `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: older, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z"}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints: [{address: 1.1.1.1}]
  `;
  const younger = (change: string) =>
    `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: younger, namespace: ns1, creationTimestamp: "2024-02-01T00:00:00Z"${change.startsWith('labels') ? `, ${change}` : ''}}
    spec:
      hosts: [a.example.com]
      ports: [{number: 9090, name: other, protocol: HTTP}]
      resolution: ${change === 'dns' ? 'DNS' : 'STATIC'}
      ${change === 'exportTo' ? 'exportTo: ["."]' : ''}
      endpoints: [{address: ${change === 'dns' ? 'b.example.org' : '2.2.2.2'}}]
  `;
  for (const change of ['dns', 'labels: {team: x}', 'exportTo']) {
    const r = endpoints(yamlDocs(older, younger(change)), { host: 'a.example.com' });
    assert.deepEqual(service(r, 'a.example.com').ports.map((p) => p.number), [80], change);
    assert.equal(service(r, 'a.example.com').resolution, 'STATIC', change);
    assert.deepEqual(clusterNames(r), ['outbound|80||a.example.com'], change);
  }
  const same = endpoints(yamlDocs(older, younger('')), { host: 'a.example.com' });
  assert.deepEqual(service(same, 'a.example.com').ports.map((p) => p.number), [80, 9090]);
});

test('D-4: a Kubernetes Service with the same host and namespace always beats a ServiceEntry', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: squatter, namespace: ns1, creationTimestamp: "2020-01-01T00:00:00Z"}
      spec:
        hosts: [svc.ns1.svc.cluster.local]
        ports: [{number: 9999, name: http, protocol: HTTP}]
        resolution: DNS
      `,
      `
      apiVersion: v1
      kind: Service
      metadata: {name: svc, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z"}
      spec:
        clusterIP: 10.96.0.5
        selector: {app: svc}
        ports: [{name: http, port: 80}]
      `,
      pod('p', 'ns1', '10.0.0.1', 'app: svc'),
    ),
    { host: 'svc.ns1.svc.cluster.local' },
  );
  const s = service(r, 'svc.ns1.svc.cluster.local');
  assert.equal(s.resolution, 'STATIC');
  assert.deepEqual(s.ports.map((p) => p.number), [80]);
  assert.deepEqual(clusterNames(r), ['outbound|80||svc.ns1.svc.cluster.local']);
});

test('D-4, D-5: different namespaces: the client namespace wins, else the oldest; EDS uses only the winner namespace endpoints', () => {
  const shared = (ns: string, time: string, ip: string) => `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: shared, namespace: ${ns}, creationTimestamp: "${time}"}
    spec:
      hosts: [shared.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints: [{address: ${ip}}]
  `;
  const config = yamlDocs(shared('ns2', '2024-01-01T00:01:00Z', '2.2.2.2'), shared('ns1', '2024-01-01T00:00:00Z', '1.1.1.1'));
  const C = 'outbound|80||shared.example.com';
  assert.deepEqual(addresses(cluster(endpoints(config, { client: { namespace: 'ns1' } }), C)), ['1.1.1.1:80']);
  assert.deepEqual(addresses(cluster(endpoints(config, { client: { namespace: 'ns2' } }), C)), ['2.2.2.2:80']);
  assert.deepEqual(addresses(cluster(endpoints(config, { client: { namespace: 'ns3' } }), C)), ['1.1.1.1:80']);
  // the registry view keeps both, one entry per (host, namespace)
  const r = endpoints(config, { client: { namespace: 'ns3' } });
  assert.deepEqual(r.services.map((s) => `${s.host}/${s.namespace}`), ['shared.example.com/ns1', 'shared.example.com/ns2']);
});

test('D-4: different namespaces: a Kubernetes Service is preferred over ServiceEntries of other namespaces', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: se, namespace: ns2, creationTimestamp: "2020-01-01T00:00:00Z"}
      spec:
        hosts: [svc.ns3.svc.cluster.local]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 2.2.2.2}]
      `,
      `
      apiVersion: v1
      kind: Service
      metadata: {name: svc, namespace: ns3, creationTimestamp: "2024-01-01T00:00:00Z"}
      spec:
        clusterIP: 10.96.0.5
        selector: {app: svc}
        ports: [{name: http, port: 80}]
      `,
      pod('p', 'ns3', '10.0.0.1', 'app: svc'),
    ),
    { client: { namespace: 'ns1' } },
  );
  assert.deepEqual(addresses(cluster(r, 'outbound|80||svc.ns3.svc.cluster.local')), ['10.0.0.1:80']);
});

test('D-5: a ServiceEntry with the host and namespace of a Kubernetes Service adds its endpoints where port names match', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: svc, namespace: ns1}
      spec:
        clusterIP: 10.96.0.5
        selector: {app: svc}
        ports: [{name: http, port: 80}]
      `,
      pod('p', 'ns1', '10.0.0.1', 'app: svc'),
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: vms, namespace: ns1}
      spec:
        hosts: [svc.ns1.svc.cluster.local]
        ports: [{number: 80, name: http, protocol: HTTP}, {number: 81, name: other, protocol: HTTP}]
        location: MESH_INTERNAL
        resolution: STATIC
        endpoints: [{address: 2.2.2.2}]
      `,
    ),
  );
  assert.deepEqual(addresses(cluster(r, 'outbound|80||svc.ns1.svc.cluster.local')), ['10.0.0.1:80', '2.2.2.2:80']);
  assert.deepEqual(clusterNames(r), ['outbound|80||svc.ns1.svc.cluster.local']);
});

test('D-6: two same-namespace entries reusing a port name with different numbers feed each other\'s clusters', () => {
  const r = endpoints(yamlDocs(httpStatic, httpStaticOverlay), { host: '*.google.com' });
  const expected = ['2.2.2.2:7080', '3.3.3.3:1080', '4.4.4.4:1080', '5.5.5.5:4567'];
  assert.deepEqual(sortedAddresses(cluster(r, 'outbound|80||*.google.com')), expected);
  assert.deepEqual(sortedAddresses(cluster(r, 'outbound|4567||*.google.com')), expected);
  assert.deepEqual(sortedAddresses(cluster(r, 'outbound|8080||*.google.com')), ['2.2.2.2:18080', '3.3.3.3:8080', '4.4.4.4:8080']);
});

test('D-5, C-7: a DNS cluster matches endpoints by port number, not name', () => {
  const dns = (name: string, time: string, number: number, addr: string) => `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: ${name}, namespace: ns1, creationTimestamp: "${time}"}
    spec:
      hosts: [d.example.com]
      ports: [{number: ${number}, name: http-port, protocol: HTTP}]
      resolution: DNS
      endpoints: [{address: ${addr}}]
  `;
  const r = endpoints(yamlDocs(dns('one', '2024-01-01T00:00:00Z', 80, 'one.example.org'), dns('two', '2024-01-02T00:00:00Z', 4567, 'two.example.org')));
  assert.deepEqual(addresses(cluster(r, 'outbound|80||d.example.com')), ['one.example.org:80']);
  assert.deepEqual(addresses(cluster(r, 'outbound|4567||d.example.com')), ['two.example.org:4567']);
});

test('D-1, D-4: equal creation timestamps are ordered by ServiceEntry name (same namespace) and by namespace (across)', () => {
  const se = (name: string, ns: string, ip: string, port: number) => `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: ${name}, namespace: ${ns}, creationTimestamp: "2024-01-01T00:00:00Z"}
    spec:
      hosts: [t.example.com]
      ports: [{number: ${port}, name: http, protocol: HTTP}]
      resolution: ${port === 80 ? 'STATIC' : 'DNS'}
      endpoints: [{address: ${ip}}]
  `;
  // same namespace: "a-entry" is older than "b-entry" although it comes later in the file
  const same = endpoints(yamlDocs(se('b-entry', 'ns1', 'b.example.org', 8080), se('a-entry', 'ns1', '1.1.1.1', 80)));
  assert.equal(service(same, 't.example.com').resolution, 'STATIC');
  assert.deepEqual(service(same, 't.example.com').endpoints.map((e) => e.source), ['ServiceEntry/ns1/a-entry#0', 'ServiceEntry/ns1/b-entry#0']);
  // across namespaces, for a client elsewhere: namespace order
  const across = endpoints(yamlDocs(se('x', 'nsb', '2.2.2.2', 80), se('x', 'nsa', '1.1.1.1', 80)), { client: { namespace: 'other' } });
  assert.deepEqual(addresses(cluster(across, 'outbound|80||t.example.com')), ['1.1.1.1:80']);
});

test('D-5, E-SEL-5, E-SEL-10: "All directions": a Service and a ServiceEntry for one host both select the pod and the entry', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: service, namespace: namespace}
      spec:
        clusterIP: 9.9.9.9
        selector: {app: foo}
        ports: [{name: http, port: 80}]
      `,
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: service-entry, namespace: namespace}
      spec:
        hosts: [service.namespace.svc.cluster.local]
        ports: [{name: http, number: 80, protocol: http}]
        resolution: STATIC
        workloadSelector:
          labels: {app: foo}
      `,
      pod('pod', 'namespace', '1.2.3.4', 'app: foo'),
      workloadEntry('workload', 'namespace', 'address: 2.3.4.5\nlabels: {app: foo}'),
    ),
    { client: { namespace: 'namespace' } },
  );
  assert.deepEqual(sortedAddresses(cluster(r, 'outbound|80||service.namespace.svc.cluster.local')), ['1.2.3.4:80', '1.2.3.4:80', '2.3.4.5:80', '2.3.4.5:80']);
  assert.deepEqual(r.services.map((s) => `${s.host}/${s.namespace}`), ['service.namespace.svc.cluster.local/namespace']);
  assert.equal(service(r, 'service.namespace.svc.cluster.local').resolution, 'STATIC');
});

test('D-3: the DNS_ROUND_ROBIN rule follows the registry: a younger round-robin entry adds nothing to a port an older STATIC entry holds', () => {
  const se = (name: string, time: string, resolution: string, address: string) => `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: ${name}, namespace: ns1, creationTimestamp: "${time}"}
    spec:
      hosts: [rr.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: ${resolution}
      endpoints: [{address: ${address}}]
  `;
  const staticFirst = endpoints(yamlDocs(se('a', '2024-01-01T00:00:00Z', 'STATIC', '1.1.1.1'), se('b', '2024-01-02T00:00:00Z', 'DNS_ROUND_ROBIN', 'rr.example.org')));
  assert.deepEqual(addresses(service(staticFirst, 'rr.example.com').endpoints), ['1.1.1.1:80']);
  // the other way round, the younger STATIC entry still adds its endpoint
  const rrFirst = endpoints(yamlDocs(se('a', '2024-01-01T00:00:00Z', 'DNS_ROUND_ROBIN', 'rr.example.org'), se('b', '2024-01-02T00:00:00Z', 'STATIC', '1.1.1.1')));
  assert.deepEqual(addresses(service(rrFirst, 'rr.example.com').endpoints), ['rr.example.org:80', '1.1.1.1:80']);
  // and another namespace keeps its own first endpoint
  const otherNs = endpoints(yamlDocs(se('a', '2024-01-01T00:00:00Z', 'DNS_ROUND_ROBIN', 'one.example.org'), se('b', '2024-01-02T00:00:00Z', 'DNS_ROUND_ROBIN', 'two.example.org').replace('namespace: ns1', 'namespace: other')));
  assert.deepEqual(addresses(service(otherNs, 'rr.example.com', 'other').endpoints), ['two.example.org:80']);
});
