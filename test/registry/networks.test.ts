/**
 * Rules N-* (multi-network, split-horizon EDS), through the `endpoints` report (eds_sh_test.go
 * TestSplitHorizonEds, mesh_network_test.go TestMeshNetworking / TestEmptyAddressWorkloadEntry /
 * TestNetworkGatewayUpdates).
 *
 * Not covered: N-7 (REQUESTED_NETWORK_VIEW is node metadata the CLI has no option for).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, endpoints, exclusions, sortedAddresses, workloadEntry, yamlDocs, type ReportOptions } from '../support/mesh.js';
import type { ClusterReport } from '../../src/status/endpoints-report.js';
import { indexGateways } from '../../src/registry/view/networks.js';

/** `address:port/weight` of every endpoint, sorted. */
function weighted(c: ClusterReport): string[] {
  return c.localities.flatMap((g) => g.endpoints.map((e) => `${e.address}:${e.port}/${e.weight}`)).sort();
}

// ---- eds_sh_test: service5 in four networks (1, 2, 3 and 4 endpoints; 1, 1, 2 and 0 gateways) ----

const service5 = () => {
  const docs = [
    `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: service5, namespace: default}
    spec:
      hosts: [service5.default.svc.cluster.local]
      location: MESH_INTERNAL
      ports: [{number: 1080, name: http-main, protocol: HTTP, targetPort: 2080}]
      resolution: STATIC
      workloadSelector:
        labels: {app: service5}
    `,
    `
    apiVersion: meshbridge.io/v1alpha1
    kind: MeshNetworks
    metadata: {name: mesh-networks}
    spec:
      networks:
        network1: {gateways: [{address: 159.122.219.1, port: 80}]}
        network2: {gateways: [{address: 159.122.219.2, port: 80}]}
        network3: {gateways: [{address: 159.122.219.3, port: 80}, {address: 179.114.119.3, port: 80}]}
    `,
  ];
  for (let n = 1; n <= 4; n++) {
    for (let i = 1; i <= n; i++) {
      docs.push(
        workloadEntry(`network${n}-${i}`, 'default', `address: 10.${n}.0.${i}\nnetwork: network${n}\nlocality: az\nserviceAccount: service5\nlabels: {app: service5}`),
      );
    }
  }
  return yamlDocs(...docs);
};
const S5 = 'outbound|1080||service5.default.svc.cluster.local';
const from = (network: string): ReportOptions => ({ client: { namespace: 'ns1', network } });

test('N-2, N-3, N-4, N-5, N-6: from network1: local weight 2, network2 gateway 4, network3 gateways 3 each, network4 direct 2', () => {
  const c = cluster(endpoints(service5(), from('network1')), S5);
  assert.deepEqual(weighted(c), [
    '10.1.0.1:2080/2',
    '10.4.0.1:2080/2',
    '10.4.0.2:2080/2',
    '10.4.0.3:2080/2',
    '10.4.0.4:2080/2',
    '159.122.219.2:80/4',
    '159.122.219.3:80/3',
    '179.114.119.3:80/3',
  ]);
  assert.equal(c.localities.length, 1);
  assert.equal(c.localities[0]?.weight, 20);
});

test('N-6: from network3: three local endpoints, network1 gateway 2, network2 gateway 4, network4 direct', () => {
  const c = cluster(endpoints(service5(), from('network3')), S5);
  assert.deepEqual(weighted(c), [
    '10.3.0.1:2080/2',
    '10.3.0.2:2080/2',
    '10.3.0.3:2080/2',
    '10.4.0.1:2080/2',
    '10.4.0.2:2080/2',
    '10.4.0.3:2080/2',
    '10.4.0.4:2080/2',
    '159.122.219.1:80/2',
    '159.122.219.2:80/4',
  ]);
});

test('N-6: from network4 (no gateway of its own): four local endpoints and every other network through its gateways', () => {
  const c = cluster(endpoints(service5(), from('network4')), S5);
  assert.deepEqual(weighted(c), [
    '10.4.0.1:2080/2',
    '10.4.0.2:2080/2',
    '10.4.0.3:2080/2',
    '10.4.0.4:2080/2',
    '159.122.219.1:80/2',
    '159.122.219.2:80/4',
    '159.122.219.3:80/3',
    '179.114.119.3:80/3',
  ]);
});

test('N-5: gateway endpoints follow the direct ones in their group, sorted by address then port, tlsMode istio, source Gateway/<network>', () => {
  const c = cluster(endpoints(service5(), from('network2')), S5);
  const eps = c.localities[0]?.endpoints ?? [];
  const firstGateway = eps.findIndex((e) => e.source.startsWith('Gateway/'));
  assert.ok(eps.slice(0, firstGateway).every((e) => !e.source.startsWith('Gateway/')));
  assert.deepEqual(
    eps.slice(firstGateway).map((e) => `${e.address} ${e.source} ${e.tlsMode} ${e.health}`),
    [
      '159.122.219.1 Gateway/network1 istio UNKNOWN',
      '159.122.219.3 Gateway/network3 istio UNKNOWN',
      '179.114.119.3 Gateway/network3 istio UNKNOWN',
    ],
  );
});

test('N-2: the scale factor is the LCM of gateway counts per network and per network+cluster', () => {
  const gw = (network: string, address: string, cluster: string) => ({ network, address, port: 15443, cluster, source: 'test' });
  assert.equal(indexGateways([]).scaleFactor, 1);
  assert.equal(indexGateways([gw('a', '1.1.1.1', ''), gw('b', '2.2.2.1', ''), gw('b', '2.2.2.2', ''), gw('c', '3.3.3.1', ''), gw('c', '3.3.3.2', ''), gw('c', '3.3.3.3', '')]).scaleFactor, 6);
  // network a: 3 gateways, 2 of them without cluster and 1 in cluster k: lcm(3, 2, 1) = 6
  assert.equal(indexGateways([gw('a', '1.1.1.1', ''), gw('a', '1.1.1.2', ''), gw('a', '1.1.1.3', 'k')]).scaleFactor, 6);
});

// ---- N-1: where gateways come from ----

function podsAndVm(gatewayDocs: string[], pa = ''): string {
  return yamlDocs(
    `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: app, namespace: ns1}
    spec:
      hosts: [app.example.com]
      location: MESH_INTERNAL
      ports: [{number: 8080, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints:
      - {address: 10.10.10.10, network: network-1, serviceAccount: app}
      - {address: 10.10.10.20, network: network-2, serviceAccount: app}
      - {address: 10.10.10.30, network: vm, serviceAccount: app}
      - {address: "", network: network-2, serviceAccount: app}
    `,
    ...gatewayDocs,
    ...(pa ? [pa] : []),
  );
}
const APP = 'outbound|8080||app.example.com';

test('N-1: without any gateway the filter is skipped: every endpoint with an address is sent directly', () => {
  const c = cluster(endpoints(podsAndVm([]), { client: { namespace: 'ns1', network: 'vm' }, explain: true }), APP);
  assert.deepEqual(sortedAddresses(c), ['10.10.10.10:8080', '10.10.10.20:8080', '10.10.10.30:8080']);
  assert.deepEqual(exclusions(c), ['ServiceEntry/ns1/app#3 address']);
});

test('N-1: a Service labelled with a network is that network\'s gateway (load balancer IP, port 15443 or the gatewayPort label)', () => {
  const labelled = (port: string) => `
    apiVersion: v1
    kind: Service
    metadata:
      name: istio-eastwestgateway
      namespace: istio-system
      labels: {topology.istio.io/network: network-2${port ? `, networking.istio.io/gatewayPort: "${port}"` : ''}}
    spec:
      type: LoadBalancer
      ports: [{name: tls, port: 15443}]
    status:
      loadBalancer:
        ingress: [{ip: 3.3.3.3}]
  `;
  const c = cluster(endpoints(podsAndVm([labelled('')]), { client: { namespace: 'ns1', network: 'vm' } }), APP);
  assert.deepEqual(sortedAddresses(c), ['10.10.10.10:8080', '10.10.10.30:8080', '3.3.3.3:15443']);
  const custom = cluster(endpoints(podsAndVm([labelled('443')]), { client: { namespace: 'ns1', network: 'vm' } }), APP);
  assert.ok(sortedAddresses(custom).includes('3.3.3.3:443'));
});

test('N-1: a MeshNetworks registryServiceName gateway resolves to the Service external address', () => {
  const docs = [
    `
    apiVersion: v1
    kind: Service
    metadata: {name: istio-ingressgateway, namespace: istio-system}
    spec:
      type: ClusterIP
      externalIPs: [2.2.2.2]
      ports: [{name: tls, port: 15443}]
    `,
    `
    apiVersion: meshbridge.io/v1alpha1
    kind: MeshNetworks
    metadata: {name: networks}
    spec:
      networks:
        network-1:
          endpoints: [{fromRegistry: Kubernetes}]
          gateways: [{registryServiceName: istio-ingressgateway.istio-system.svc.cluster.local, port: 15443}]
    `,
  ];
  const c = cluster(endpoints(podsAndVm(docs), { client: { namespace: 'ns1', network: 'vm' } }), APP);
  assert.deepEqual(sortedAddresses(c), ['10.10.10.20:8080', '10.10.10.30:8080', '2.2.2.2:15443']);
});

test('N-3: the client network, an endpoint without network, and a network without gateway are all reached directly', () => {
  const docs = [
    `
    apiVersion: meshbridge.io/v1alpha1
    kind: MeshNetworks
    metadata: {name: networks}
    spec:
      networks:
        network-1: {gateways: [{address: 2.2.2.2, port: 15443}]}
        network-2: {gateways: [{address: 3.3.3.3, port: 15443}]}
    `,
  ];
  const fromNet1 = cluster(endpoints(podsAndVm(docs), { client: { namespace: 'ns1', network: 'network-1' } }), APP);
  // network-2 (two endpoints, one without address) through its gateway; vm has no gateway: direct
  assert.deepEqual(weighted(fromNet1), ['10.10.10.10:8080/1', '10.10.10.30:8080/1', '3.3.3.3:15443/2']);
  const fromVm = cluster(endpoints(podsAndVm(docs), { client: { namespace: 'ns1', network: 'vm' } }), APP);
  assert.deepEqual(weighted(fromVm), ['10.10.10.30:8080/1', '2.2.2.2:15443/1', '3.3.3.3:15443/2']);
});

test('N-3: an endpoint without network is local to every client', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: app, namespace: ns1}
      spec:
        hosts: [app.example.com]
        ports: [{number: 8080, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 10.0.0.1, serviceAccount: app}]
      `,
      'apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {network-1: {gateways: [{address: 2.2.2.2, port: 15443}]}}}',
    ),
    { client: { namespace: 'ns1', network: 'network-1' } },
  );
  assert.deepEqual(sortedAddresses(cluster(r, APP)), ['10.0.0.1:8080']);
});

test('N-3: a client without network reaches a gatewayed network through its gateway (the doc\'s exception)', () => {
  const docs = ['apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {network-2: {gateways: [{address: 3.3.3.3, port: 15443}]}}}'];
  const c = cluster(endpoints(podsAndVm(docs), { client: { namespace: 'ns1' } }), APP);
  assert.deepEqual(weighted(c), ['10.10.10.10:8080/1', '10.10.10.30:8080/1', '3.3.3.3:15443/2']);
});

test('N-4: a remote endpoint without mTLS metadata is dropped instead of routed through the gateway', () => {
  const docs = ['apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {network-2: {gateways: [{address: 3.3.3.3, port: 15443}]}}}'];
  const disable = `
    apiVersion: security.istio.io/v1
    kind: PeerAuthentication
    metadata: {name: off, namespace: istio-system}
    spec: {mtls: {mode: DISABLE}}
  `;
  const c = cluster(endpoints(podsAndVm(docs, disable), { client: { namespace: 'ns1', network: 'network-1' }, explain: true }), APP);
  assert.deepEqual(sortedAddresses(c), ['10.10.10.10:8080', '10.10.10.30:8080']);
  assert.deepEqual(exclusions(c), ['ServiceEntry/ns1/app#1 network', 'ServiceEntry/ns1/app#3 network']);
});

test('N-4: the gateways of the endpoint network and cluster are preferred over the network ones', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: app, namespace: ns1}
      spec:
        hosts: [app.example.com]
        ports: [{number: 8080, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints: [{address: 10.0.0.2, network: network-2, serviceAccount: app}]
      `,
      'apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {network-2: {gateways: [{address: 9.9.9.9, port: 15443}]}}}',
      `
      apiVersion: v1
      kind: Service
      metadata: {name: eastwest, namespace: istio-system, labels: {topology.istio.io/network: network-2}}
      spec: {type: LoadBalancer, ports: [{name: tls, port: 15443}]}
      status: {loadBalancer: {ingress: [{ip: 4.4.4.4}]}}
      `,
    ),
    { client: { namespace: 'ns1', network: 'network-1' } },
  );
  // the labelled Service is in the local cluster (Kubernetes): it serves network-2 endpoints of this cluster
  assert.deepEqual(weighted(cluster(r, APP)), ['4.4.4.4:15443/2']);
});

test('N-4, N-5: network-only entries through gateways, per subset ("multiple subsets", TestEmptyAddressWorkloadEntry)', () => {
  const we = (i: number, address: string, network: string, version: string) =>
    workloadEntry(`we-${i}`, 'test', `address: "${address}"\nnetwork: ${network}\nserviceAccount: foo\nlabels: {app: remote-we-svc, version: ${version}}`);
  const config = (entries: string[]) =>
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: remote-we-svc, namespace: test}
      spec:
        hosts: [remote-we-svc]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        location: MESH_INTERNAL
        workloadSelector:
          labels: {app: remote-we-svc}
      `,
      ...entries,
      'apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {network-1: {gateways: [{address: 1.1.1.1, port: 15443}]}, network-2: {gateways: [{address: 2.2.2.2, port: 15443}]}}}',
      `
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: subset-se, namespace: test}
      spec:
        host: "*"
        subsets:
        - {name: v1, labels: {version: v1}}
        - {name: v2, labels: {version: v2}}
        - {name: v3, labels: {version: v3}}
      `,
    );
  const client: ReportOptions = { client: { namespace: 'test', network: 'network-1' } };
  const groupsOf = (c: ClusterReport) => c.localities.map((g) => `${g.locality}|${g.weight}: ${g.endpoints.map((e) => `${e.address}/${e.weight}`).join(' ')}`);
  // "single subset": a same-network entry without address is ignored; two remote ones merge into weight 2
  const single = endpoints(config([we(0, '1.2.3.4', 'network-1', 'v1'), we(1, '', 'network-1', 'vj'), we(2, '', 'network-2', 'v1'), we(3, '', 'network-2', 'v1'), we(4, '', 'no-gateway-address', 'v1')]), client);
  assert.deepEqual(groupsOf(cluster(single, 'outbound|80||remote-we-svc')), ['|3: 1.2.3.4/1 2.2.2.2/2']);
  assert.deepEqual(groupsOf(cluster(single, 'outbound|80|v1|remote-we-svc')), ['|3: 1.2.3.4/1 2.2.2.2/2']);
  // "multiple subsets"
  const multiple = endpoints(config([we(0, '1.2.3.4', 'network-1', 'v1'), we(1, '', 'network-1', 'v2'), we(2, '', 'network-2', 'v1'), we(3, '', 'network-2', 'v2')]), client);
  assert.deepEqual(groupsOf(cluster(multiple, 'outbound|80||remote-we-svc')), ['|3: 1.2.3.4/1 2.2.2.2/2']);
  assert.deepEqual(groupsOf(cluster(multiple, 'outbound|80|v1|remote-we-svc')), ['|2: 1.2.3.4/1 2.2.2.2/1']);
  assert.deepEqual(groupsOf(cluster(multiple, 'outbound|80|v2|remote-we-svc')), ['|1: 2.2.2.2/1']);
  assert.deepEqual(groupsOf(cluster(multiple, 'outbound|80|v3|remote-we-svc')), []);
});

test('N-5: a group emptied by the filter stays in the list, without weight', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: app, namespace: ns1}
      spec:
        hosts: [app.example.com]
        ports: [{number: 8080, name: http, protocol: HTTP}]
        resolution: STATIC
        endpoints:
        - {address: 10.0.0.1, locality: here}
        - {address: 10.0.0.2, network: network-2, locality: there}
      `,
      'apiVersion: meshbridge.io/v1alpha1\nkind: MeshNetworks\nmetadata: {name: n}\nspec: {networks: {network-2: {gateways: [{address: 2.2.2.2, port: 15443}]}}}',
    ),
    { client: { namespace: 'ns1', network: 'network-1' } },
  );
  assert.deepEqual(
    cluster(r, APP).localities.map((g) => [g.locality, g.weight, g.endpoints.length]),
    [
      ['here', 1, 1],
      ['there', 0, 0],
    ],
  );
});
