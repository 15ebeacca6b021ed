/**
 * Rules C-* (clusters) and EDS-* (ClusterLoadAssignments) of the client's cluster view, through the
 * `endpoints` report.
 *
 * Not covered (not part of the CLI contract): C-2 and the SNI-cluster filter of EDS-11 (only
 * `outbound|...` clusters are listed), C-3's gateway (Router) EDS for NONE, C-6 (transport sockets
 * and SANs are not reported), EDS-1 requests for unknown clusters, EDS-4's REQUESTED_NETWORK_VIEW,
 * cluster-local services and DRAINING/TERMINATING states (no input produces them), EDS-8 dual
 * stack / HBONE (flags off), EDS-10 telemetry metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addresses,
  cluster,
  clusterNames,
  endpoints,
  exclusions,
  pod,
  sent,
  sortedAddresses,
  workloadEntry,
  yamlDocs,
} from '../../../test/support/mesh.js';

function staticEntry(extra = '', ports = '[{number: 80, name: http, protocol: HTTP, targetPort: 8080}]'): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      location: MESH_INTERNAL
      ports: ${ports}
      resolution: STATIC
      workloadSelector:
        labels: {app: a}
${extra}`;
}

function rule(spec: string, ns = 'ns1', name = 'dr'): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: ${name}, namespace: ${ns}}
    spec:
${spec
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
  `;
}

// ---- C ----

test('C-1: cluster names use the service port (never the targetPort), subsets from DestinationRules', () => {
  const r = endpoints(
    yamlDocs(
      staticEntry(),
      workloadEntry('v1', 'ns1', 'address: 1.1.1.1\nlabels: {app: a, version: v1}'),
      rule('host: a.example.com\nsubsets:\n- {name: v1, labels: {version: v1}}\n- {name: v2, labels: {version: v2}}'),
    ),
  );
  assert.deepEqual(clusterNames(r), ['outbound|80|v1|a.example.com', 'outbound|80|v2|a.example.com', 'outbound|80||a.example.com']);
  const c = cluster(r, 'outbound|80|v1|a.example.com');
  assert.deepEqual([c.host, c.port, c.subset, c.type], ['a.example.com', 80, 'v1', 'EDS']);
  assert.deepEqual(addresses(c), ['1.1.1.1:8080']);
});

test('C-1: a DestinationRule with a short host applies to the Kubernetes Service of its namespace', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: reviews, namespace: ns1}
      spec:
        clusterIP: 10.96.0.9
        selector: {app: reviews}
        ports: [{name: http, port: 9080}]
      `,
      pod('r1', 'ns1', '10.0.0.1', 'app: reviews\nversion: v1'),
      rule('host: reviews\nsubsets:\n- {name: v1, labels: {version: v1}}'),
    ),
  );
  assert.deepEqual(addresses(cluster(r, 'outbound|9080|v1|reviews.ns1.svc.cluster.local')), ['10.0.0.1:9080']);
});

test('C-4, C-5: a DNS cluster carries its endpoints inline; one with no endpoints (also a subset) is not generated', () => {
  const dns = `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: dns, namespace: ns1}
    spec:
      hosts: [d.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: DNS
      endpoints:
      - {address: us.example.org, labels: {version: v1}}
  `;
  const r = endpoints(yamlDocs(dns, rule('host: d.example.com\nsubsets:\n- {name: v1, labels: {version: v1}}\n- {name: v2, labels: {version: v2}}')));
  assert.deepEqual(clusterNames(r), ['outbound|80|v1|d.example.com', 'outbound|80||d.example.com']);
  assert.equal(cluster(r, 'outbound|80||d.example.com').type, 'STRICT_DNS');
  assert.deepEqual(addresses(cluster(r, 'outbound|80|v1|d.example.com')), ['us.example.org:80']);
});

test('C-5: an EDS cluster with no endpoints is still generated, with an empty assignment', () => {
  const r = endpoints(staticEntry());
  const c = cluster(r, 'outbound|80||a.example.com');
  assert.equal(c.type, 'EDS');
  assert.deepEqual(sent(c), []);
});

test('C-4: a DNS cluster skips an endpoint without address (a network-only entry)', () => {
  const r = endpoints(
    yamlDocs(
      staticEntry().replace('resolution: STATIC', 'resolution: DNS'),
      workloadEntry('net-only', 'ns1', 'address: ""\nnetwork: n2\nlabels: {app: a}'),
      workloadEntry('named', 'ns1', 'address: vm.example.org\nlabels: {app: a}'),
    ),
    { explain: true },
  );
  const c = cluster(r, 'outbound|80||a.example.com');
  assert.deepEqual(addresses(c), ['vm.example.org:8080']);
  assert.deepEqual(exclusions(c), ['WorkloadEntry/ns1/net-only address']);
});

test('C-7, EDS-3: EDS matches endpoints by port name, DNS clusters by port number', () => {
  const two = (resolution: string, addr1: string, addr2: string) =>
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: one, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z"}
      spec:
        hosts: [h.example.com]
        ports: [{number: 80, name: http-port, protocol: HTTP}]
        resolution: ${resolution}
        endpoints: [{address: ${addr1}}]
      `,
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: two, namespace: ns1, creationTimestamp: "2024-01-02T00:00:00Z"}
      spec:
        hosts: [h.example.com]
        ports: [{number: 4567, name: http-port, protocol: HTTP}]
        resolution: ${resolution}
        endpoints: [{address: ${addr2}}]
      `,
    );
  const eds = endpoints(two('STATIC', '1.1.1.1', '2.2.2.2'));
  assert.deepEqual(sortedAddresses(cluster(eds, 'outbound|80||h.example.com')), ['1.1.1.1:80', '2.2.2.2:4567']);
  const dns = endpoints(two('DNS', 'one.example.org', 'two.example.org'));
  assert.deepEqual(addresses(cluster(dns, 'outbound|80||h.example.com')), ['one.example.org:80']);
  assert.deepEqual(addresses(cluster(dns, 'outbound|4567||h.example.com')), ['two.example.org:4567']);
});

// ---- EDS ----

test('EDS-2, C-4: DNS services are not EDS: their clusters are STRICT_DNS/LOGICAL_DNS with inline endpoints', () => {
  const r = endpoints(
    yamlDocs(staticEntry().replace('resolution: STATIC', 'resolution: DNS_ROUND_ROBIN'), workloadEntry('vm', 'ns1', 'address: vm.example.org\nlabels: {app: a}')),
  );
  const c = cluster(r, 'outbound|80||a.example.com');
  assert.equal(c.type, 'LOGICAL_DNS');
  assert.deepEqual(addresses(c), ['vm.example.org:8080']);
});

test('EDS-3: host names never reach EDS (a DNS entry merged into a STATIC host); unix sockets pass', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: static, namespace: ns1, creationTimestamp: "2024-01-01T00:00:00Z"}
      spec:
        hosts: [m.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 1.1.1.1}, {address: "unix:///run/app.sock"}]
      `,
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: dns, namespace: ns1, creationTimestamp: "2024-01-02T00:00:00Z"}
      spec:
        hosts: [m.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS
        endpoints: [{address: dns.example.org}]
      `,
    ),
    { explain: true },
  );
  const c = cluster(r, 'outbound|80||m.example.com');
  assert.deepEqual(addresses(c), ['1.1.1.1:80', 'unix:///run/app.sock:0']);
  assert.deepEqual(exclusions(c), ['ServiceEntry/ns1/dns#0 address']);
});

test('EDS-3: a subset cluster keeps only endpoints carrying all the subset labels', () => {
  const r = endpoints(
    yamlDocs(
      staticEntry(),
      workloadEntry('v1', 'ns1', 'address: 1.1.1.1\nlabels: {app: a, version: v1, track: stable}'),
      workloadEntry('v2', 'ns1', 'address: 2.2.2.2\nlabels: {app: a, version: v2, track: stable}'),
      rule('host: a.example.com\nsubsets:\n- {name: v1-stable, labels: {version: v1, track: stable}}\n- {name: stable, labels: {track: stable}}\n- {name: none, labels: {version: v3}}'),
    ),
  );
  assert.deepEqual(addresses(cluster(r, 'outbound|80|v1-stable|a.example.com')), ['1.1.1.1:8080']);
  assert.deepEqual(addresses(cluster(r, 'outbound|80|stable|a.example.com')), ['1.1.1.1:8080', '2.2.2.2:8080']);
  assert.deepEqual(addresses(cluster(r, 'outbound|80|none|a.example.com')), []);
});

test('EDS-5: endpoints are grouped by exact locality string, groups sorted by that string', () => {
  const r = endpoints(
    yamlDocs(
      staticEntry(),
      workloadEntry('z', 'ns1', 'address: 1.1.1.1\nlocality: us-west/zone-b\nlabels: {app: a}'),
      workloadEntry('y', 'ns1', 'address: 1.1.1.2\nlocality: us-east/zone-a/rack-1\nlabels: {app: a}'),
      workloadEntry('x', 'ns1', 'address: 1.1.1.3\nlabels: {app: a}'),
      workloadEntry('w', 'ns1', 'address: 1.1.1.4\nlocality: us-west/zone-b\nlabels: {app: a}'),
    ),
  );
  const c = cluster(r, 'outbound|80||a.example.com');
  assert.deepEqual(
    c.localities.map((g) => [g.locality, addresses(g.endpoints)]),
    [
      ['', ['1.1.1.3:8080']],
      ['us-east/zone-a/rack-1', ['1.1.1.2:8080']],
      ['us-west/zone-b', ['1.1.1.4:8080', '1.1.1.1:8080']],
    ],
  );
});

test('EDS-6: endpoint weights, group weight = sum (TestEdsWeightedServiceEntry: a = 1 + 8 = 9, b = 3)', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: weighted, namespace: ns1}
    spec:
      hosts: [weighted.static.svc.cluster.local]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints:
      - {address: 1.1.1.1, locality: b, weight: 3}
      - {address: 2.2.2.2, locality: a, weight: 8}
      - {address: 3.3.3.3, locality: a}
  `);
  const c = cluster(r, 'outbound|80||weighted.static.svc.cluster.local');
  assert.deepEqual(
    c.localities.map((g) => ({ locality: g.locality, weight: g.weight, eps: g.endpoints.map((e) => `${e.address}/${e.weight}`) })),
    [
      { locality: 'a', weight: 9, eps: ['2.2.2.2/8', '3.3.3.3/1'] },
      { locality: 'b', weight: 3, eps: ['1.1.1.1/3'] },
    ],
  );
});

test('EDS-6: the group weight saturates at 2^32-1', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: heavy, namespace: ns1}
    spec:
      hosts: [heavy.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints:
      - {address: 1.1.1.1, weight: 4294967295}
      - {address: 1.1.1.2, weight: 4294967295}
  `);
  assert.equal(cluster(r, 'outbound|80||heavy.example.com').localities[0]?.weight, 4294967295);
});

test('EDS-9: the tlsMode metadata is sent for tls mode "istio" unless PeerAuthentication disables mTLS', () => {
  const config = (pa: string) =>
    yamlDocs(
      staticEntry(),
      workloadEntry('meshed', 'ns1', 'address: 1.1.1.1\nserviceAccount: sa\nlabels: {app: a}'),
      workloadEntry('plain', 'ns1', 'address: 1.1.1.2\nlabels: {app: a}'),
      ...(pa ? [pa] : []),
    );
  const modes = (config: string) => Object.fromEntries(sent(cluster(endpoints(config), 'outbound|80||a.example.com')).map((e) => [e.address, e.tlsMode]));
  assert.deepEqual(modes(config('')), { '1.1.1.1': 'istio', '1.1.1.2': null });
  const pa = (ns: string, spec: string) => `
    apiVersion: security.istio.io/v1
    kind: PeerAuthentication
    metadata: {name: pa, namespace: ${ns}}
    spec: ${spec}
  `;
  assert.deepEqual(modes(config(pa('ns1', '{mtls: {mode: DISABLE}}'))), { '1.1.1.1': null, '1.1.1.2': null });
  assert.deepEqual(modes(config(pa('istio-system', '{mtls: {mode: DISABLE}}'))), { '1.1.1.1': null, '1.1.1.2': null });
  assert.deepEqual(modes(config(pa('ns1', '{mtls: {mode: STRICT}}'))), { '1.1.1.1': 'istio', '1.1.1.2': null });
  assert.deepEqual(modes(config(pa('other', '{mtls: {mode: DISABLE}}'))), { '1.1.1.1': 'istio', '1.1.1.2': null });
  // port-level: the endpoint port (8080, the targetPort) is what counts
  assert.deepEqual(
    modes(config(pa('ns1', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {"8080": {mode: DISABLE}}}'))),
    { '1.1.1.1': null, '1.1.1.2': null },
  );
  assert.deepEqual(
    modes(config(pa('ns1', '{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {"80": {mode: DISABLE}}}'))),
    { '1.1.1.1': 'istio', '1.1.1.2': null },
  );
});

test('EDS-9: a DestinationRule TLS mode decides: enabled iff ISTIO_MUTUAL; metadata only for a non-disabled tls mode', () => {
  const config = (tls: string) =>
    yamlDocs(
      staticEntry(),
      workloadEntry('meshed', 'ns1', 'address: 1.1.1.1\nserviceAccount: sa\nlabels: {app: a}'),
      workloadEntry('plain', 'ns1', 'address: 1.1.1.2\nlabels: {app: a}'),
      rule(`host: a.example.com\ntrafficPolicy: {tls: ${tls}}`),
    );
  const modes = (config: string) => Object.fromEntries(sent(cluster(endpoints(config), 'outbound|80||a.example.com')).map((e) => [e.address, e.tlsMode]));
  assert.deepEqual(modes(config('{mode: ISTIO_MUTUAL}')), { '1.1.1.1': 'istio', '1.1.1.2': null });
  assert.deepEqual(modes(config('{mode: SIMPLE}')), { '1.1.1.1': null, '1.1.1.2': null });
  assert.deepEqual(modes(config('{mode: DISABLE}')), { '1.1.1.1': null, '1.1.1.2': null });
  assert.deepEqual(modes(config('{sni: x.example.com}')), { '1.1.1.1': null, '1.1.1.2': null }, 'a tls block without mode is DISABLE');
  // ISTIO_MUTUAL wins over a PeerAuthentication DISABLE
  const pa = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: pa, namespace: ns1}\nspec: {mtls: {mode: DISABLE}}';
  assert.deepEqual(modes(yamlDocs(config('{mode: ISTIO_MUTUAL}'), pa)), { '1.1.1.1': 'istio', '1.1.1.2': null });
});

test('EDS-9: the DestinationRule TLS mode of an endpoint comes from the first subset its labels match, on every cluster', () => {
  const r = endpoints(
    yamlDocs(
      staticEntry(),
      workloadEntry('v1', 'ns1', 'address: 1.1.1.1\nserviceAccount: sa\nlabels: {app: a, version: v1}'),
      workloadEntry('v2', 'ns1', 'address: 1.1.1.2\nserviceAccount: sa\nlabels: {app: a, version: v2}'),
      rule(
        'host: a.example.com\ntrafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\nsubsets:\n- {name: v1, labels: {version: v1}, trafficPolicy: {tls: {mode: DISABLE}}}\n- {name: v2, labels: {version: v2}}',
      ),
    ),
  );
  for (const name of ['outbound|80||a.example.com', 'outbound|80|v1|a.example.com', 'outbound|80|v2|a.example.com']) {
    const modes = Object.fromEntries(sent(cluster(r, name)).map((e) => [e.address, e.tlsMode]));
    const want: Record<string, string | null> = {};
    if (!name.includes('|v2|')) want['1.1.1.1'] = null;
    if (!name.includes('|v1|')) want['1.1.1.2'] = 'istio';
    assert.deepEqual(modes, want, name);
  }
});

test('EDS-9: a port-level TLS setting applies to its port only', () => {
  const r = endpoints(
    yamlDocs(
      staticEntry('', '[{number: 80, name: http, protocol: HTTP}, {number: 81, name: http-alt, protocol: HTTP}]'),
      workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nserviceAccount: sa\nlabels: {app: a}'),
      rule('host: a.example.com\ntrafficPolicy:\n  portLevelSettings:\n  - {port: {number: 81}, tls: {mode: DISABLE}}'),
    ),
  );
  assert.equal(sent(cluster(r, 'outbound|80||a.example.com'))[0]?.tlsMode, 'istio');
  assert.equal(sent(cluster(r, 'outbound|81||a.example.com'))[0]?.tlsMode, null);
});

test('EDS-9: DestinationRule lookup: client namespace, then service namespace, then root; never another namespace', () => {
  const meshed = yamlDocs(staticEntry(), workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nserviceAccount: sa\nlabels: {app: a}'));
  const disable = (ns: string, name = 'dr') => rule('host: a.example.com\ntrafficPolicy: {tls: {mode: DISABLE}}', ns, name);
  const mutual = (ns: string, name = 'dr2') => rule('host: a.example.com\ntrafficPolicy: {tls: {mode: ISTIO_MUTUAL}}', ns, name);
  const mode = (config: string, client: string) => sent(cluster(endpoints(config, { client: { namespace: client } }), 'outbound|80||a.example.com'))[0]?.tlsMode;
  assert.equal(mode(yamlDocs(meshed, disable('other')), 'client'), 'istio', 'a rule in an unrelated namespace does not apply');
  assert.equal(mode(yamlDocs(meshed, disable('ns1')), 'client'), null, 'service namespace');
  assert.equal(mode(yamlDocs(meshed, disable('istio-system')), 'client'), null, 'root namespace');
  assert.equal(mode(yamlDocs(meshed, disable('ns1'), rule('host: a.example.com\ntrafficPolicy: {tls: {mode: ISTIO_MUTUAL}}', 'client')), 'client'), 'istio', 'client namespace first');
  assert.equal(mode(yamlDocs(meshed, mutual('ns1'), disable('istio-system')), 'client'), 'istio', 'service namespace before root');
});

test('EDS-7, EDS-8: an IP endpoint is sent with its address, port and health; a pod HEALTHY, an entry UNKNOWN', () => {
  const r = endpoints(yamlDocs(staticEntry(), workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'), pod('p', 'ns1', '10.0.0.1', 'app: a')));
  assert.deepEqual(
    sent(cluster(r, 'outbound|80||a.example.com')).map((e) => `${e.address}:${e.port} ${e.health}`),
    ['10.0.0.1:8080 HEALTHY', '1.1.1.1:8080 UNKNOWN'],
  );
});

test('EDS-4, EDS-7: a not-Ready pod behind a Kubernetes Service is sent UNHEALTHY; a terminating one is not sent', () => {
  const config = (dr: string) =>
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: svc, namespace: ns1}
      spec:
        clusterIP: 10.96.0.1
        selector: {app: svc}
        ports: [{name: http, port: 80}]
      `,
      pod('ready', 'ns1', '10.0.0.1', 'app: svc'),
      `
      apiVersion: v1
      kind: Pod
      metadata: {name: not-ready, namespace: ns1, labels: {app: svc}}
      spec: {containers: [{name: app}]}
      status: {podIP: 10.0.0.2, phase: Running, conditions: [{type: Ready, status: "False"}]}
      `,
      `
      apiVersion: v1
      kind: Pod
      metadata: {name: leaving, namespace: ns1, labels: {app: svc}, deletionTimestamp: "2024-01-01T00:00:00Z"}
      spec: {containers: [{name: app}]}
      status: {podIP: 10.0.0.3, phase: Running, conditions: [{type: Ready, status: "True"}]}
      `,
      ...(dr ? [dr] : []),
    );
  const C = 'outbound|80||svc.ns1.svc.cluster.local';
  assert.deepEqual(
    sent(cluster(endpoints(config('')), C)).map((e) => `${e.address} ${e.health}`),
    ['10.0.0.2 UNHEALTHY', '10.0.0.1 HEALTHY'],
  );
  const strict = endpoints(config(rule('host: svc.ns1.svc.cluster.local\ntrafficPolicy: {outlierDetection: {minHealthPercent: 50}}')), { explain: true });
  assert.deepEqual(addresses(cluster(strict, C)), ['10.0.0.1:80']);
  assert.deepEqual(exclusions(cluster(strict, C)), ['Pod/ns1/not-ready unhealthy']);
  const zero = endpoints(config(rule('host: svc.ns1.svc.cluster.local\ntrafficPolicy: {outlierDetection: {minHealthPercent: 0}}')));
  assert.deepEqual(sortedAddresses(cluster(zero, C)), ['10.0.0.1:80', '10.0.0.2:80']);
});

test('EDS-4: an endpoint without address on the client network (or without any gateway) is never sent', () => {
  const config = (networks: string) =>
    yamlDocs(
      staticEntry(),
      workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nnetwork: n1\nlabels: {app: a}'),
      workloadEntry('net-only', 'ns1', 'address: ""\nnetwork: n1\nserviceAccount: sa\nlabels: {app: a}'),
      ...(networks ? [networks] : []),
    );
  const client = { client: { namespace: 'ns1', network: 'n1' } };
  assert.deepEqual(addresses(cluster(endpoints(config(''), client), 'outbound|80||a.example.com')), ['1.1.1.1:8080']);
  const withGateway = 'apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {n1: {gateways: [{address: 9.9.9.9, port: 15443}]}}}';
  assert.deepEqual(addresses(cluster(endpoints(config(withGateway), client), 'outbound|80||a.example.com')), ['1.1.1.1:8080']);
});

test('EDS-11, EDS-12: the network filter runs before locality priorities: a gateway endpoint takes its group priority', () => {
  const r = endpoints(
    yamlDocs(
      staticEntry(),
      workloadEntry('near', 'ns1', 'address: 1.1.1.1\nlocality: r1/z1\nnetwork: n1\nlabels: {app: a}'),
      workloadEntry('far', 'ns1', 'address: 2.2.2.2\nlocality: r2/z1\nnetwork: n2\nserviceAccount: sa\nlabels: {app: a}'),
      'apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {n2: {gateways: [{address: 9.9.9.9, port: 15443}]}}}',
      rule('host: a.example.com\ntrafficPolicy: {outlierDetection: {interval: 1s}}'),
    ),
    { client: { namespace: 'ns1', network: 'n1', locality: 'r1/z1' } },
  );
  assert.deepEqual(
    cluster(r, 'outbound|80||a.example.com').localities.map((g) => `${g.locality} p${g.priority}: ${addresses(g.endpoints).join(',')}`),
    ['r1/z1 p0: 1.1.1.1:8080', 'r2/z1 p1: 9.9.9.9:15443'],
  );
});
