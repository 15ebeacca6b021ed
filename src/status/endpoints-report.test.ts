/**
 * The `endpoints` report (cli-contract): its JSON shape and the `--explain` reasons (namespace,
 * labels, unhealthy, resolution, address, port, subset, network).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, endpoints, exclusions, pod, service, workloadEntry, yamlDocs } from '../../test/support/mesh.js';

const entry = (resolution = 'STATIC', selector = '{app: a}') => `
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: se, namespace: ns1}
  spec:
    hosts: [a.example.com]
    location: MESH_INTERNAL
    ports: [{number: 80, name: http, protocol: HTTP}]
    resolution: ${resolution}
    workloadSelector:
      labels: ${selector}
`;
const A = 'outbound|80||a.example.com';

// ---- shape ----

test('contract: a service endpoint has every field; tlsMode and serviceAccount are null when absent', () => {
  const r = endpoints(yamlDocs(entry(), workloadEntry('vm', 'ns1', 'address: 2.2.2.2\nlocality: us/east/a\nlabels: {app: a, security.istio.io/tlsMode: ""}')));
  const s = service(r, 'a.example.com');
  assert.deepEqual(Object.keys(s), ['host', 'namespace', 'resolution', 'location', 'addresses', 'ports', 'endpoints']);
  assert.deepEqual(s.endpoints[0], {
    address: '2.2.2.2',
    port: 80,
    servicePort: 80,
    portName: 'http',
    labels: {
      app: 'a',
      'security.istio.io/tlsMode': '',
      'topology.kubernetes.io/region': 'us',
      'topology.kubernetes.io/zone': 'east',
      'topology.istio.io/subzone': 'a',
      'topology.istio.io/cluster': 'Kubernetes',
    },
    locality: 'us/east/a',
    network: '',
    weight: 1,
    tlsMode: null,
    serviceAccount: null,
    health: 'UNKNOWN',
    source: 'WorkloadEntry/ns1/vm',
  });
});

test('contract: a cluster lists its locality groups and endpoints with the sent fields', () => {
  const r = endpoints(yamlDocs(entry(), workloadEntry('vm', 'ns1', 'address: 2.2.2.2\nserviceAccount: sa\nlabels: {app: a}')));
  assert.deepEqual(cluster(r, A), {
    name: A,
    host: 'a.example.com',
    port: 80,
    subset: '',
    type: 'EDS',
    localities: [{ locality: '', priority: 0, weight: 1, endpoints: [{ address: '2.2.2.2', port: 80, weight: 1, health: 'UNKNOWN', tlsMode: 'istio', source: 'WorkloadEntry/ns1/vm' }] }],
  });
});

test('contract: a named Kubernetes targetPort is reported as its name, a numeric one as a number', () => {
  const r = endpoints(`
    apiVersion: v1
    kind: Service
    metadata: {name: svc, namespace: ns1}
    spec:
      clusterIP: 10.96.0.1
      ports: [{name: http, port: 80, targetPort: web}, {name: grpc, port: 9090, targetPort: 9091}]
  `);
  assert.deepEqual(service(r, 'svc.ns1.svc.cluster.local').ports, [
    { number: 80, name: 'http', protocol: 'HTTP', targetPort: 'web' },
    { number: 9090, name: 'grpc', protocol: 'GRPC', targetPort: 9091 },
  ]);
});

test('contract: services are sorted by host then namespace; --host and --port filter both views', () => {
  const se = (name: string, ns: string, host: string) => `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: ${name}, namespace: ${ns}}
    spec:
      hosts: [${host}]
      ports: [{number: 80, name: http, protocol: HTTP}, {number: 81, name: http2, protocol: HTTP}]
      resolution: STATIC
      endpoints: [{address: 1.1.1.1}]
  `;
  const config = yamlDocs(se('b', 'ns2', 'b.example.com'), se('a2', 'ns2', 'a.example.com'), se('a1', 'ns1', 'a.example.com'));
  assert.deepEqual(endpoints(config).services.map((s) => `${s.host}/${s.namespace}`), ['a.example.com/ns1', 'a.example.com/ns2', 'b.example.com/ns2']);
  const filtered = endpoints(config, { host: 'b.example.com', port: 81 });
  assert.deepEqual(filtered.services.map((s) => [s.host, s.ports.map((p) => p.number), s.endpoints.map((e) => e.servicePort)]), [['b.example.com', [81], [81]]]);
  assert.deepEqual(filtered.clusters.map((c) => c.name), ['outbound|81||b.example.com']);
});

test('contract: excluded appears only with --explain', () => {
  const config = yamlDocs(entry(), workloadEntry('vm', 'ns1', 'address: 2.2.2.2\nlabels: {app: a}'));
  const plain = endpoints(config);
  assert.equal('excluded' in service(plain, 'a.example.com'), false);
  assert.equal('excluded' in cluster(plain, A), false);
  const explained = endpoints(config, { explain: true });
  assert.deepEqual(service(explained, 'a.example.com').excluded, []);
  assert.deepEqual(cluster(explained, A).excluded, []);
});

// ---- --explain reasons ----

test('explain: namespace — matching labels in another namespace (E-SEL-1)', () => {
  const r = endpoints(yamlDocs(entry(), workloadEntry('vm-2', 'ns2', 'address: 2.2.2.2\nlabels: {app: a}')), { explain: true });
  const s = service(r, 'a.example.com');
  assert.deepEqual(exclusions(s), ['WorkloadEntry/ns2/vm-2 namespace']);
  assert.match(s.excluded?.[0]?.detail ?? '', /ns2/);
});

test('explain: labels — a candidate with a selector key but another value (E-SEL-2); unrelated workloads are not listed', () => {
  const r = endpoints(
    yamlDocs(
      entry('STATIC', '{app: a, version: v1}'),
      workloadEntry('v2', 'ns1', 'address: 2.2.2.2\nlabels: {app: a, version: v2}'),
      workloadEntry('other', 'ns1', 'address: 2.2.2.3\nlabels: {team: x}'),
    ),
    { explain: true },
  );
  const s = service(r, 'a.example.com');
  assert.deepEqual(exclusions(s), ['WorkloadEntry/ns1/v2 labels']);
  assert.match(s.excluded?.[0]?.detail ?? '', /version=v2/);
});

test('explain: unhealthy — a health-checked entry without a Healthy condition, and a pod that is not ready (H-GATE-2, E-SEL-3)', () => {
  const r = endpoints(
    yamlDocs(
      entry(),
      workloadEntry('vm', 'ns1', 'address: 2.2.2.2\nlabels: {app: a}', 'annotations: {proxy.istio.io/health-checks-enabled: "true"}'),
      `
      apiVersion: v1
      kind: Pod
      metadata: {name: p, namespace: ns1, labels: {app: a}}
      spec: {containers: [{name: app}]}
      status: {podIP: 10.0.0.1, phase: Running, conditions: [{type: Ready, status: "False"}]}
      `,
    ),
    { explain: true },
  );
  assert.deepEqual(exclusions(service(r, 'a.example.com')), ['Pod/ns1/p unhealthy', 'WorkloadEntry/ns1/vm unhealthy']);
});

test('explain: resolution — a DNS-name entry selected by a STATIC entry (E-SEL-6)', () => {
  const r = endpoints(yamlDocs(entry(), workloadEntry('vm', 'ns1', 'address: vm.corp.example\nlabels: {app: a}')), { explain: true });
  assert.deepEqual(exclusions(service(r, 'a.example.com')), ['WorkloadEntry/ns1/vm resolution']);
});

test('explain: address — a Kubernetes Service never selects a DNS-name entry (E-SEL-10); EDS drops host names (EDS-3)', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: svc, namespace: ns1}
      spec:
        clusterIP: 10.96.0.1
        selector: {app: a}
        ports: [{name: http, port: 80}]
      `,
      workloadEntry('vm', 'ns1', 'address: vm.corp.example\nlabels: {app: a}'),
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: dns, namespace: ns1}
      spec:
        hosts: [svc.ns1.svc.cluster.local]
        location: MESH_INTERNAL
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DNS
        endpoints: [{address: legacy.example.org}]
      `,
    ),
    { explain: true },
  );
  assert.deepEqual(exclusions(service(r, 'svc.ns1.svc.cluster.local')), ['WorkloadEntry/ns1/vm address']);
  assert.deepEqual(exclusions(cluster(r, 'outbound|80||svc.ns1.svc.cluster.local')), ['ServiceEntry/ns1/dns#0 address']);
});

test('explain: port — the Service targetPort name is missing on the entry (E-SEL-10)', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: svc, namespace: ns1}
      spec:
        clusterIP: 10.96.0.1
        selector: {app: a}
        ports: [{name: http, port: 80, targetPort: web}]
      `,
      workloadEntry('vm', 'ns1', 'address: 2.2.2.2\nlabels: {app: a}'),
    ),
    { explain: true },
  );
  const s = service(r, 'svc.ns1.svc.cluster.local');
  assert.deepEqual(exclusions(s), ['WorkloadEntry/ns1/vm port']);
  assert.match(s.excluded?.[0]?.detail ?? '', /web/);
});

test('explain: subset — the endpoint lacks the subset labels (EDS-3)', () => {
  const r = endpoints(
    yamlDocs(
      entry(),
      workloadEntry('v1', 'ns1', 'address: 1.1.1.1\nlabels: {app: a, version: v1}'),
      workloadEntry('v2', 'ns1', 'address: 2.2.2.2\nlabels: {app: a, version: v2}'),
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr, namespace: ns1}\nspec: {host: a.example.com, subsets: [{name: v1, labels: {version: v1}}]}',
    ),
    { explain: true },
  );
  assert.deepEqual(exclusions(cluster(r, 'outbound|80|v1|a.example.com')), ['WorkloadEntry/ns1/v2 subset']);
  assert.deepEqual(exclusions(cluster(r, A)), []);
});

test('explain: network — a remote endpoint without mTLS cannot use the gateway (N-4); address — no address and no gateway (N-3)', () => {
  const r = endpoints(
    yamlDocs(
      entry(),
      workloadEntry('plain', 'ns1', 'address: 2.2.2.2\nnetwork: n2\nlabels: {app: a}'),
      workloadEntry('meshed', 'ns1', 'address: 2.2.2.3\nnetwork: n2\nserviceAccount: sa\nlabels: {app: a}'),
      workloadEntry('lost', 'ns1', 'address: ""\nnetwork: n3\nserviceAccount: sa\nlabels: {app: a}'),
      'apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {n2: {gateways: [{address: 9.9.9.9, port: 15443}]}}}',
    ),
    { client: { namespace: 'ns1', network: 'n1' }, explain: true },
  );
  const c = cluster(r, A);
  assert.deepEqual(exclusions(c), ['WorkloadEntry/ns1/lost address', 'WorkloadEntry/ns1/plain network']);
  assert.deepEqual(c.localities.flatMap((g) => g.endpoints.map((e) => `${e.address}:${e.port} ${e.source}`)), ['9.9.9.9:15443 Gateway/n2']);
});

test('explain: pods and entries that are selected are not listed; a selector-less entry explains nothing', () => {
  const r = endpoints(
    yamlDocs(
      entry(),
      pod('p', 'ns1', '10.0.0.1', 'app: a'),
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: inline, namespace: ns1}
      spec:
        hosts: [b.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 1.1.1.1}]
      `,
    ),
    { explain: true },
  );
  assert.deepEqual(service(r, 'a.example.com').excluded, []);
  assert.deepEqual(service(r, 'b.example.com').excluded, []);
});
