/**
 * Rule E-SEL-10: Kubernetes Services selecting WorkloadEntries (and pods), with their port rules
 * (serviceregistry_test.go "Service selects WorkloadEntry ..." variants).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addresses, cluster, endpoints, exclusions, pod, service, sortedAddresses, workloadEntry, yamlDocs } from '../../test/support/mesh.js';

const HOST = 'service.ns1.svc.cluster.local';
const C = `outbound|80||${HOST}`;

function kubeService(ports: string, extra = ''): string {
  return `
    apiVersion: v1
    kind: Service
    metadata: {name: service, namespace: ns1}
    spec:
      clusterIP: 9.9.9.9
      selector: {app: a}
      ports: ${ports}
${extra}`;
}

test('E-SEL-10: a Kubernetes Service selects WorkloadEntries of its namespace whose labels match', () => {
  const r = endpoints(
    yamlDocs(
      kubeService('[{name: http, port: 80}]'),
      workloadEntry('workload', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}'),
      workloadEntry('other-labels', 'ns1', 'address: 2.3.4.6\nlabels: {app: b}'),
      workloadEntry('other-namespace', 'ns2', 'address: 2.3.4.7\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(addresses(service(r, HOST).endpoints), ['2.3.4.5:80']);
  assert.deepEqual(addresses(cluster(r, C)), ['2.3.4.5:80']);
});

test('E-SEL-10: omitted targetPort: the WorkloadEntry port under the service port name wins ("with port name")', () => {
  const r = endpoints(yamlDocs(kubeService('[{name: my-port, port: 80}]'), workloadEntry('workload', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}\nports: {my-port: 8080}')));
  assert.deepEqual(addresses(cluster(r, C)), ['2.3.4.5:8080']);
});

test('E-SEL-10: a named targetPort is looked up in the WorkloadEntry ports; entries without it are skipped', () => {
  const r = endpoints(
    yamlDocs(
      kubeService('[{name: http, port: 80, targetPort: my-port}]'),
      workloadEntry('has-port', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}\nports: {my-port: 8080}'),
      workloadEntry('lacks-port', 'ns1', 'address: 2.3.4.6\nlabels: {app: a}\nports: {http: 9090}'),
    ),
    { explain: true },
  );
  assert.deepEqual(addresses(cluster(r, C)), ['2.3.4.5:8080']);
  assert.deepEqual(exclusions(service(r, HOST)), ['WorkloadEntry/ns1/lacks-port port']);
});

test('E-SEL-10: a numeric targetPort is used unless the WorkloadEntry maps the service port name', () => {
  const r = endpoints(
    yamlDocs(
      kubeService('[{name: http, port: 80, targetPort: 8080}]'),
      workloadEntry('mapped', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}\nports: {http: 9090}'),
      workloadEntry('unmapped', 'ns1', 'address: 2.3.4.6\nlabels: {app: a}\nports: {other: 7070}'),
    ),
  );
  assert.deepEqual(sortedAddresses(cluster(r, C)), ['2.3.4.5:9090', '2.3.4.6:8080']);
});

test('E-SEL-10, E-SEL-6: DNS-name and unix WorkloadEntries are never selected by Kubernetes Services', () => {
  const r = endpoints(
    yamlDocs(
      kubeService('[{name: http, port: 80}]'),
      workloadEntry('dns', 'ns1', 'address: vm.corp.example\nlabels: {app: a}'),
      workloadEntry('uds', 'ns1', 'address: unix:///var/run/sock\nlabels: {app: a}'),
      workloadEntry('ip', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(addresses(service(r, HOST).endpoints), ['2.3.4.5:80']);
});

test('E-SEL-10, E-SEL-7: a network-only WorkloadEntry (no address) is selected and reached through its gateway', () => {
  // mesh_network_test.go TestEmptyAddressWorkloadEntry, "Service" variant, "single subset" entries
  const we = (i: number, address: string, network: string, version: string) =>
    workloadEntry(`we-${i}`, 'test', `address: "${address}"\nserviceAccount: foo\nnetwork: ${network}\nlabels: {app: remote-we-svc, version: ${version}}`);
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: remote-we-svc, namespace: test}
      spec:
        clusterIP: 10.96.0.1
        selector: {app: remote-we-svc}
        ports: [{port: 80, protocol: TCP}]
      `,
      we(0, '1.2.3.4', 'network-1', 'v1'),
      we(1, '', 'network-1', 'vj'),
      we(2, '', 'network-2', 'v1'),
      we(3, '', 'network-2', 'v1'),
      we(4, '', 'no-gateway-address', 'v1'),
      `
      apiVersion: meshbridge.io/v1alpha1
      kind: MeshNetworks
      metadata: {name: networks}
      spec:
        networks:
          network-1: {gateways: [{address: 1.1.1.1, port: 15443}]}
          network-2: {gateways: [{address: 2.2.2.2, port: 15443}]}
      `,
    ),
    { client: { namespace: 'test', network: 'network-1' } },
  );
  const c = cluster(r, 'outbound|80||remote-we-svc.test.svc.cluster.local');
  assert.deepEqual(
    c.localities.map((g) => ({ locality: g.locality, weight: g.weight, endpoints: g.endpoints.map((e) => `${e.address}:${e.port}/${e.weight}`) })),
    [{ locality: '', weight: 3, endpoints: ['1.2.3.4:80/1', '2.2.2.2:15443/2'] }],
  );
});

test('E-SEL-10: a headless Service does not select WorkloadEntries (pods still are its endpoints)', () => {
  const r = endpoints(
    yamlDocs(
      kubeService('[{name: http, port: 80}]').replace('clusterIP: 9.9.9.9', 'clusterIP: None'),
      workloadEntry('vm', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}'),
      pod('p', 'ns1', '10.0.0.1', 'app: a'),
    ),
  );
  assert.deepEqual(addresses(service(r, HOST).endpoints), ['10.0.0.1:80']);
});

test('E-SEL-10: UDP service ports get no WorkloadEntry endpoints', () => {
  const r = endpoints(
    yamlDocs(
      kubeService('[{name: dns, port: 53, protocol: UDP}, {name: http, port: 80}]'),
      workloadEntry('vm', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(
    service(r, HOST).endpoints.map((e) => `${e.address}:${e.port}/${e.servicePort}`),
    ['2.3.4.5:80/80'],
  );
});

test('E-SEL-10: a Service without selector selects nothing', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: v1
      kind: Service
      metadata: {name: service, namespace: ns1}
      spec:
        clusterIP: 9.9.9.9
        ports: [{name: http, port: 80}]
      `,
      workloadEntry('vm', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(service(r, HOST).endpoints, []);
});

test('E-SEL-10, E-PORT-2: pods behind a Service: a named targetPort resolves against the container ports', () => {
  const r = endpoints(
    yamlDocs(
      kubeService('[{name: http, port: 80, targetPort: web}]'),
      pod('with-web', 'ns1', '10.0.0.1', 'app: a', 'containers:\n- name: app\n  ports: [{name: web, containerPort: 8080}]'),
      pod('without-web', 'ns1', '10.0.0.2', 'app: a'),
    ),
  );
  assert.deepEqual(addresses(cluster(r, C)), ['10.0.0.1:8080']);
});
