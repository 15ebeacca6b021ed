/**
 * Rules E-SEL-1..9 (selection), E-LBL-* (labels), E-ATTR-* (identity, tls mode, locality, network,
 * weight, health, workload name) and H-GATE-* (health gating), proved through the registry and the
 * `endpoints` report. E-SEL-10 (Kubernetes Services) is in kube-services.test.ts.
 *
 * Not covered: H-GATE-1 (PILOT_ENABLE_WORKLOAD_ENTRY_HEALTHCHECKS is always on here; there is no
 * switch to turn it off).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addresses,
  cluster,
  clusterNames,
  endpoints,
  pod,
  registryFrom,
  sent,
  service,
  sortedAddresses,
  workloadEntry,
  yamlDocs,
  meshNetworkFromCidr,
} from '../../test/support/mesh.js';

/** A ServiceEntry `se` for host `a.example.com` in `ns` selecting `selector` (a YAML flow map). */
function selectingEntry(opts: { ns?: string; selector?: string; resolution?: string; ports?: string; location?: string } = {}): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ${opts.ns ?? 'ns1'}}
    spec:
      hosts: [a.example.com]
      location: ${opts.location ?? 'MESH_INTERNAL'}
      ports: ${opts.ports ?? '[{number: 80, name: http, protocol: HTTP}]'}
      resolution: ${opts.resolution ?? 'STATIC'}
      workloadSelector:
        labels: ${opts.selector ?? '{app: a}'}
  `;
}

const A = 'outbound|80||a.example.com';

// ---- E-SEL ----

test('E-SEL-1: a selector only considers workloads in the ServiceEntry namespace, for every client', () => {
  const config = yamlDocs(
    `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      exportTo: ["*"]
      workloadSelector:
        labels: {app: a}
    `,
    workloadEntry('in-ns1', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'),
    workloadEntry('in-ns2', 'ns2', 'address: 2.2.2.2\nlabels: {app: a}'),
    pod('pod-ns2', 'ns2', '3.3.3.3', 'app: a'),
  );
  for (const namespace of ['ns1', 'ns2']) {
    const r = endpoints(config, { client: { namespace } });
    assert.deepEqual(addresses(cluster(r, A)), ['1.1.1.1:80']);
    assert.deepEqual(addresses(service(r, 'a.example.com', 'ns1').endpoints), ['1.1.1.1:80']);
  }
});

test('E-SEL-2: selector labels must be a subset of the workload labels (every key, equal value)', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry({ selector: '{app: a, version: v1}' }),
      workloadEntry('both', 'ns1', 'address: 1.1.1.1\nlabels: {app: a, version: v1, extra: x}'),
      workloadEntry('other-version', 'ns1', 'address: 2.2.2.2\nlabels: {app: a, version: v2}'),
      workloadEntry('missing-key', 'ns1', 'address: 3.3.3.3\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(addresses(cluster(r, A)), ['1.1.1.1:80']);
});

test('E-SEL-2, E-LBL-3: selection sees the augmented labels (cluster id, topology from locality, network)', () => {
  const config = (selector: string) =>
    yamlDocs(
      selectingEntry({ selector }),
      workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlocality: us-east/zone-a/rack-1\nnetwork: net-1\nlabels: {app: a}'),
    );
  for (const selector of [
    '{topology.istio.io/cluster: Kubernetes}',
    '{topology.kubernetes.io/region: us-east, topology.kubernetes.io/zone: zone-a}',
    '{topology.istio.io/subzone: rack-1}',
    '{topology.istio.io/network: net-1}',
  ]) {
    assert.deepEqual(addresses(service(endpoints(config(selector)), 'a.example.com').endpoints), ['1.1.1.1:80'], selector);
  }
});

test('E-SEL-3: only Ready pods with an IP that are neither terminating nor Succeeded/Failed are endpoints', () => {
  const notReady = `
    apiVersion: v1
    kind: Pod
    metadata: {name: not-ready, namespace: ns1, labels: {app: a}}
    spec: {containers: [{name: app}]}
    status:
      podIP: 10.0.0.2
      phase: Running
      conditions: [{type: Ready, status: "False"}]
  `;
  const pending = `
    apiVersion: v1
    kind: Pod
    metadata: {name: pending, namespace: ns1, labels: {app: a}}
    spec: {containers: [{name: app}]}
    status: {phase: Pending}
  `;
  const terminating = `
    apiVersion: v1
    kind: Pod
    metadata: {name: terminating, namespace: ns1, labels: {app: a}, deletionTimestamp: "2024-01-01T00:00:00Z"}
    spec: {containers: [{name: app}]}
    status:
      podIP: 10.0.0.3
      phase: Running
      conditions: [{type: Ready, status: "True"}]
  `;
  const failed = `
    apiVersion: v1
    kind: Pod
    metadata: {name: failed, namespace: ns1, labels: {app: a}}
    spec: {containers: [{name: app}]}
    status:
      podIP: 10.0.0.4
      phase: Failed
      conditions: [{type: Ready, status: "True"}]
  `;
  const succeeded = failed.replace('name: failed', 'name: succeeded').replace('10.0.0.4', '10.0.0.5').replace('phase: Failed', 'phase: Succeeded');
  const r = endpoints(yamlDocs(selectingEntry(), pod('ready', 'ns1', '10.0.0.1', 'app: a'), notReady, pending, terminating, failed, succeeded));
  assert.deepEqual(addresses(cluster(r, A)), ['10.0.0.1:80']);
  // and a pod that becomes ready again is re-added
  const again = endpoints(yamlDocs(selectingEntry(), pod('ready', 'ns1', '10.0.0.1', 'app: a'), pod('not-ready', 'ns1', '10.0.0.2', 'app: a')));
  assert.deepEqual(sortedAddresses(cluster(again, A)), ['10.0.0.1:80', '10.0.0.2:80']);
});

test('E-SEL-4: an empty selector selects every workload (pods and entries) of the namespace', () => {
  for (const selector of ['{}']) {
    const entryWithEmptySelector = `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: se, namespace: ns1}
      spec:
        hosts: [a.example.com]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: STATIC
        workloadSelector: ${selector}
    `;
    const r = endpoints(
      yamlDocs(
        entryWithEmptySelector,
        workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: x}'),
        workloadEntry('bare', 'ns1', 'address: 1.1.1.2'),
        pod('p', 'ns1', '10.0.0.1', 'app: y'),
        workloadEntry('elsewhere', 'ns2', 'address: 2.2.2.2'),
      ),
    );
    assert.deepEqual(sortedAddresses(cluster(r, A)), ['1.1.1.1:80', '1.1.1.2:80', '10.0.0.1:80']);
  }
  const labelsEmpty = endpoints(yamlDocs(selectingEntry({ selector: '{}' }), workloadEntry('vm', 'ns1', 'address: 1.1.1.1')));
  assert.deepEqual(addresses(cluster(labelsEmpty, A)), ['1.1.1.1:80']);
});

test('E-SEL-5: pods first, then WorkloadEntries, each by name; per workload the ports in ServiceEntry order', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry({ ports: '[{number: 80, name: http, protocol: HTTP}, {number: 81, name: http2, protocol: HTTP}]' }),
      workloadEntry('we-b', 'ns1', 'address: 1.1.1.2\nlabels: {app: a}'),
      workloadEntry('we-a', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'),
      pod('pod-b', 'ns1', '10.0.0.2', 'app: a'),
      pod('pod-a', 'ns1', '10.0.0.1', 'app: a'),
    ),
  );
  assert.deepEqual(
    service(r, 'a.example.com').endpoints.map((e) => `${e.source}:${e.servicePort}`),
    [
      'Pod/ns1/pod-a:80',
      'Pod/ns1/pod-a:81',
      'Pod/ns1/pod-b:80',
      'Pod/ns1/pod-b:81',
      'WorkloadEntry/ns1/we-a:80',
      'WorkloadEntry/ns1/we-a:81',
      'WorkloadEntry/ns1/we-b:80',
      'WorkloadEntry/ns1/we-b:81',
    ],
  );
});

test('E-SEL-6: a DNS-name WorkloadEntry is used only by DNS and DNS_ROUND_ROBIN entries', () => {
  const config = (resolution: string) =>
    yamlDocs(selectingEntry({ resolution }), workloadEntry('vm', 'ns1', 'address: vm1.corp.example\nlabels: {app: a}'));
  for (const resolution of ['STATIC', 'NONE']) {
    assert.deepEqual(service(endpoints(config(resolution)), 'a.example.com').endpoints, [], resolution);
  }
  assert.deepEqual(addresses(cluster(endpoints(config('DNS')), A)), ['vm1.corp.example:80']);
  assert.deepEqual(addresses(cluster(endpoints(config('DNS_ROUND_ROBIN')), A)), ['vm1.corp.example:80']);
});

test('E-SEL-6, E-PORT-1: a unix-socket WorkloadEntry is ignored by a STATIC selector, used by a DNS one with port 0', () => {
  const config = (resolution: string) =>
    yamlDocs(selectingEntry({ resolution }), workloadEntry('uds', 'ns1', 'address: unix:///var/run/app.sock\nlabels: {app: a}'));
  assert.deepEqual(service(endpoints(config('STATIC')), 'a.example.com').endpoints, []);
  const dns = service(endpoints(config('DNS')), 'a.example.com');
  assert.deepEqual(addresses(dns.endpoints), ['unix:///var/run/app.sock:0']);
});

test('E-SEL-7: a WorkloadEntry without address (network only) is selectable', () => {
  const r = endpoints(yamlDocs(selectingEntry(), workloadEntry('net-only', 'ns1', 'address: ""\nnetwork: net-2\nlabels: {app: a}')));
  const eps = service(r, 'a.example.com').endpoints;
  assert.equal(eps.length, 1);
  assert.equal(eps[0]?.address, '');
  assert.equal(eps[0]?.network, 'net-2');
});

test('E-SEL-8: when labels stop matching, the entry leaves; the other matching entry stays', () => {
  const before = yamlDocs(
    selectingEntry(),
    workloadEntry('vm1', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'),
    workloadEntry('vm2', 'ns1', 'address: 1.1.1.2\nlabels: {app: a}'),
  );
  const after = yamlDocs(
    selectingEntry(),
    workloadEntry('vm1', 'ns1', 'address: 1.1.1.1\nlabels: {app: b}'),
    workloadEntry('vm2', 'ns1', 'address: 1.1.1.2\nlabels: {app: a}'),
  );
  assert.deepEqual(sortedAddresses(cluster(endpoints(before), A)), ['1.1.1.1:80', '1.1.1.2:80']);
  assert.deepEqual(addresses(cluster(endpoints(after), A)), ['1.1.1.2:80']);
});

test('E-SEL-8: the registry follows a label change incrementally (same registry, inputs replaced)', async () => {
  const { registryFromObjects } = await import('./offline-mesh.js');
  const { replaceInputs } = await import('./registry.js');
  const { objectsFrom } = await import('../../test/support/mesh.js');
  const first = objectsFrom(yamlDocs(selectingEntry(), workloadEntry('vm1', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}')));
  const registry = registryFromObjects(first);
  assert.deepEqual(addresses(cluster(endpoints(registry), A)), ['1.1.1.1:80']);
  replaceInputs(registry.inputs, objectsFrom(yamlDocs(selectingEntry(), workloadEntry('vm1', 'ns1', 'address: 1.1.1.1\nlabels: {app: b}'))));
  assert.deepEqual(addresses(cluster(endpoints(registry), A)), []);
  replaceInputs(registry.inputs, objectsFrom(yamlDocs(selectingEntry(), workloadEntry('vm1', 'ns1', 'address: 1.1.1.9\nlabels: {app: a}'))));
  assert.deepEqual(addresses(cluster(endpoints(registry), A)), ['1.1.1.9:80']);
});

test('E-SEL-9: one WorkloadEntry selected by several ServiceEntries is an endpoint of each', () => {
  const second = selectingEntry().replace('name: se,', 'name: se2,').replace('a.example.com', 'b.example.com');
  const r = endpoints(yamlDocs(selectingEntry(), second, workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}')));
  assert.deepEqual(addresses(cluster(r, A)), ['1.1.1.1:80']);
  assert.deepEqual(addresses(cluster(r, 'outbound|80||b.example.com')), ['1.1.1.1:80']);
});

// ---- E-LBL ----

test('E-LBL-1: a WorkloadEntry uses spec.labels merged with metadata.labels, metadata winning', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry({ selector: '{app: b}' }),
      workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a, version: v1}', 'labels: {app: b, my-label: bar}'),
    ),
  );
  const e = service(r, 'a.example.com').endpoints[0];
  assert.deepEqual(e?.labels, { app: 'b', version: 'v1', 'my-label': 'bar', 'topology.istio.io/cluster': 'Kubernetes' });
  // selecting on the overridden spec value finds nothing
  const r2 = endpoints(yamlDocs(selectingEntry({ selector: '{app: a}' }), workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}', 'labels: {app: b}')));
  assert.deepEqual(service(r2, 'a.example.com').endpoints, []);
});

test('E-LBL-1: metadata labels alone are enough to be selected, and count for the tls mode', () => {
  const r = endpoints(
    yamlDocs(selectingEntry(), workloadEntry('vm', 'ns1', 'address: 1.1.1.1', 'labels: {app: a, security.istio.io/tlsMode: istio}')),
  );
  const e = service(r, 'a.example.com').endpoints[0];
  assert.equal(e?.tlsMode, 'istio');
});

test('E-LBL-2: inline endpoints use only their own labels (not the ServiceEntry metadata labels)', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1, labels: {team: x}}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints:
      - address: 1.1.1.1
        labels: {app: a}
  `);
  assert.deepEqual(service(r, 'a.example.com').endpoints[0]?.labels, { app: 'a', 'topology.istio.io/cluster': 'Kubernetes' });
});

test('E-LBL-3: topology labels from the locality overwrite user values; cluster set; network only when absent', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      workloadEntry(
        'vm1',
        'ns1',
        'address: 1.1.1.1\nlocality: r1/z1/s1\nnetwork: net-1\nlabels: {app: a, topology.kubernetes.io/region: user-region, topology.istio.io/cluster: user-cluster}',
      ),
      workloadEntry('vm2', 'ns1', 'address: 1.1.1.2\nnetwork: net-1\nlabels: {app: a, topology.istio.io/network: user-net}'),
      workloadEntry('vm3', 'ns1', 'address: 1.1.1.3\nlabels: {app: a}'),
    ),
  );
  const bySource = new Map(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.labels]));
  assert.deepEqual(bySource.get('WorkloadEntry/ns1/vm1'), {
    app: 'a',
    'topology.kubernetes.io/region': 'r1',
    'topology.kubernetes.io/zone': 'z1',
    'topology.istio.io/subzone': 's1',
    'topology.istio.io/cluster': 'Kubernetes',
    'topology.istio.io/network': 'net-1',
  });
  assert.equal(bySource.get('WorkloadEntry/ns1/vm2')?.['topology.istio.io/network'], 'user-net');
  assert.deepEqual(bySource.get('WorkloadEntry/ns1/vm3'), { app: 'a', 'topology.istio.io/cluster': 'Kubernetes' });
});

test('E-LBL-3: the cluster label is the mesh cluster id', () => {
  const r = endpoints(
    yamlDocs(
      `
      apiVersion: meshbridge.io/v1alpha1
      kind: MeshConfig
      metadata: {name: mesh}
      spec: {clusterId: cluster-7}
      `,
      selectingEntry(),
      workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'),
    ),
  );
  assert.equal(service(r, 'a.example.com').endpoints[0]?.labels['topology.istio.io/cluster'], 'cluster-7');
});

// ---- E-ATTR ----

test('E-ATTR-1: tls mode from the label verbatim, else "istio" with a service account, else "disabled"', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      workloadEntry('label', 'ns1', 'address: 1.1.1.1\nserviceAccount: sa\nlabels: {app: a, security.istio.io/tlsMode: disabled}'),
      workloadEntry('sa', 'ns1', 'address: 1.1.1.2\nserviceAccount: sa\nlabels: {app: a}'),
      workloadEntry('none', 'ns1', 'address: 1.1.1.3\nlabels: {app: a}'),
      workloadEntry('custom', 'ns1', 'address: 1.1.1.4\nlabels: {app: a, security.istio.io/tlsMode: mutual}'),
    ),
  );
  const modes = Object.fromEntries(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.tlsMode]));
  assert.deepEqual(modes, {
    'WorkloadEntry/ns1/label': 'disabled',
    'WorkloadEntry/ns1/sa': 'istio',
    'WorkloadEntry/ns1/none': 'disabled',
    'WorkloadEntry/ns1/custom': 'mutual',
  });
});

test('E-ATTR-1: inline endpoints follow the same tls rule', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints:
      - {address: 1.1.1.1, serviceAccount: sa}
      - {address: 1.1.1.2}
      - {address: 1.1.1.3, labels: {security.istio.io/tlsMode: istio}}
  `);
  assert.deepEqual(
    service(r, 'a.example.com').endpoints.map((e) => e.tlsMode),
    ['istio', 'disabled', 'istio'],
  );
});

test('E-ATTR-1: a pod is "disabled" without the tls label even with a service account; the label counts', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      pod('plain', 'ns1', '10.0.0.1', 'app: a', 'serviceAccountName: sa\ncontainers:\n- name: app'),
      pod('meshed', 'ns1', '10.0.0.2', 'app: a\nsecurity.istio.io/tlsMode: istio'),
    ),
  );
  const modes = Object.fromEntries(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.tlsMode]));
  assert.deepEqual(modes, { 'Pod/ns1/plain': 'disabled', 'Pod/ns1/meshed': 'istio' });
});

test('E-ATTR-2: identity is spiffe://<trust domain>/ns/<namespace>/sa/<serviceAccount>; none without an account', () => {
  const config = (mesh: string) =>
    yamlDocs(
      ...(mesh ? [mesh] : []),
      selectingEntry(),
      workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nserviceAccount: details\nlabels: {app: a}'),
      workloadEntry('anon', 'ns1', 'address: 1.1.1.2\nlabels: {app: a}'),
      pod('p', 'ns1', '10.0.0.1', 'app: a', 'serviceAccountName: pod-sa\ncontainers:\n- name: app'),
    );
  const ids = (r: ReturnType<typeof endpoints>) => Object.fromEntries(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.serviceAccount]));
  assert.deepEqual(ids(endpoints(config(''))), {
    'Pod/ns1/p': 'spiffe://cluster.local/ns/ns1/sa/pod-sa',
    'WorkloadEntry/ns1/vm': 'spiffe://cluster.local/ns/ns1/sa/details',
    'WorkloadEntry/ns1/anon': null,
  });
  const custom = endpoints(config('apiVersion: meshbridge.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: m}\nspec: {trustDomain: example.org}'));
  assert.equal(ids(custom)['WorkloadEntry/ns1/vm'], 'spiffe://example.org/ns/ns1/sa/details');
});

test('E-ATTR-2: inline endpoints take the ServiceEntry namespace for their identity', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: payments}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints:
      - {address: 1.1.1.1, serviceAccount: vm}
  `, { client: { namespace: 'payments' } });
  assert.equal(service(r, 'a.example.com').endpoints[0]?.serviceAccount, 'spiffe://cluster.local/ns/payments/sa/vm');
});

test('E-ATTR-3: locality field wins; else topology.istio.io/locality; else istio-locality; dots become slashes without a slash', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      workloadEntry('field', 'ns1', 'address: 1.1.1.1\nlocality: r1/z1/s1\nlabels: {app: a, topology.istio.io/locality: other.z.s}'),
      workloadEntry('topology', 'ns1', 'address: 1.1.1.2\nlabels: {app: a, topology.istio.io/locality: r2.z2.s2, istio-locality: r9.z9}'),
      workloadEntry('legacy', 'ns1', 'address: 1.1.1.3\nlabels: {app: a, istio-locality: r3.z3}'),
    ),
  );
  const loc = Object.fromEntries(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.locality]));
  assert.deepEqual(loc, {
    'WorkloadEntry/ns1/field': 'r1/z1/s1',
    'WorkloadEntry/ns1/topology': 'r2/z2/s2',
    'WorkloadEntry/ns1/legacy': 'r3/z3',
  });
});

test('E-ATTR-4, E-LBL-3: a locality splits into region/zone/subzone; parts after the third are dropped; empty parts set no label', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      workloadEntry('four', 'ns1', 'address: 1.1.1.1\nlocality: r/z/s/extra\nlabels: {app: a}'),
      workloadEntry('one', 'ns1', 'address: 1.1.1.2\nlocality: r\nlabels: {app: a}'),
    ),
  );
  const labels = Object.fromEntries(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.labels]));
  const topo = (l: Readonly<Record<string, string>> | undefined) => [l?.['topology.kubernetes.io/region'], l?.['topology.kubernetes.io/zone'], l?.['topology.istio.io/subzone']];
  assert.deepEqual(topo(labels['WorkloadEntry/ns1/four']), ['r', 'z', 's']);
  // Istio AugmentLabels sets only the non-empty parts
  assert.deepEqual(topo(labels['WorkloadEntry/ns1/one']), ['r', undefined, undefined]);
  const c = cluster(r, A);
  assert.deepEqual(c.localities.map((g) => g.locality), ['r', 'r/z/s/extra']);
});

test('E-ATTR-5: a WorkloadEntry network is exactly spec.network (the network label is not consulted)', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      workloadEntry('spec', 'ns1', 'address: 1.1.1.1\nnetwork: net-1\nlabels: {app: a}'),
      workloadEntry('label', 'ns1', 'address: 1.1.1.2\nlabels: {app: a, topology.istio.io/network: net-2}'),
    ),
  );
  const nets = Object.fromEntries(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.network]));
  assert.deepEqual(nets, { 'WorkloadEntry/ns1/spec': 'net-1', 'WorkloadEntry/ns1/label': '' });
});

test('E-ATTR-5: a pod network comes from its label, else from the MeshNetworks ranges', () => {
  const r = endpoints(
    yamlDocs(
      meshNetworkFromCidr('net-cidr', '10.10.0.0/16'),
      selectingEntry(),
      pod('labelled', 'ns1', '10.0.0.1', 'app: a\ntopology.istio.io/network: net-label'),
      pod('in-range', 'ns1', '10.10.0.1', 'app: a'),
      pod('outside', 'ns1', '10.20.0.1', 'app: a'),
    ),
  );
  const nets = Object.fromEntries(service(r, 'a.example.com').endpoints.map((e) => [e.source, e.network]));
  assert.deepEqual(nets, { 'Pod/ns1/labelled': 'net-label', 'Pod/ns1/in-range': 'net-cidr', 'Pod/ns1/outside': '' });
});

test('E-ATTR-6: weight 0 or absent counts as 1 everywhere; other weights are kept', () => {
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      workloadEntry('absent', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'),
      workloadEntry('zero', 'ns1', 'address: 1.1.1.2\nweight: 0\nlabels: {app: a}'),
      workloadEntry('eight', 'ns1', 'address: 1.1.1.3\nweight: 8\nlabels: {app: a}'),
    ),
  );
  assert.deepEqual(service(r, 'a.example.com').endpoints.map((e) => e.weight), [1, 8, 1]); // absent, eight, zero (E-SEL-5 order)
  const c = cluster(r, A);
  assert.deepEqual(sent(c).map((e) => e.weight), [1, 8, 1]); // absent, eight, zero (E-SEL-5 order)
  assert.equal(c.localities[0]?.weight, 10);
});

test('E-ATTR-7, EDS-7: WorkloadEntries and inline endpoints carry UNKNOWN health, pods HEALTHY', () => {
  const r = endpoints(
    yamlDocs(selectingEntry(), workloadEntry('vm', 'ns1', 'address: 1.1.1.1\nlabels: {app: a}'), pod('p', 'ns1', '10.0.0.1', 'app: a')),
  );
  assert.deepEqual(Object.fromEntries(sent(cluster(r, A)).map((e) => [e.source, e.health])), {
    'Pod/ns1/p': 'HEALTHY',
    'WorkloadEntry/ns1/vm': 'UNKNOWN',
  });
  const inline = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: se, namespace: ns1}
    spec:
      hosts: [a.example.com]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: STATIC
      endpoints: [{address: 1.1.1.1}]
  `);
  assert.equal(sent(cluster(inline, A))[0]?.health, 'UNKNOWN');
});

test('E-ATTR-8: workload name: auto-registration group annotation, else the workload-name label, else the entry name', () => {
  const registry = registryFrom(
    yamlDocs(
      workloadEntry('auto', 'ns1', 'address: 1.1.1.1\nlabels: {service.istio.io/workload-name: lbl}', 'annotations: {istio.io/autoRegistrationGroup: group}'),
      workloadEntry('labelled', 'ns1', 'address: 1.1.1.2\nlabels: {service.istio.io/workload-name: lbl}'),
      workloadEntry('plain', 'ns1', 'address: 1.1.1.3'),
    ),
  );
  const names = Object.fromEntries(registry.workloads.list().map((w) => [w.key, w.workloadName]));
  assert.deepEqual(names, { 'WorkloadEntry/ns1/auto': 'group', 'WorkloadEntry/ns1/labelled': 'lbl', 'WorkloadEntry/ns1/plain': 'plain' });
});

// ---- H-GATE ----

function gated(annotation: string | undefined, condition: string | undefined): string {
  const meta = annotation === undefined ? '' : `annotations: {proxy.istio.io/health-checks-enabled: "${annotation}"}`;
  const status = condition === undefined ? '' : `\nstatus:\n  conditions:\n  - {type: Healthy, status: "${condition}"}`;
  return workloadEntry('vm', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}', meta) + status;
}

test('H-GATE-2: with health checks enabled (any Go true spelling) the entry is used only while Healthy is "True"', () => {
  for (const value of ['true', '1', 't', 'T', 'TRUE', 'True']) {
    assert.deepEqual(addresses(cluster(endpoints(yamlDocs(selectingEntry(), gated(value, undefined))), A)), [], `${value}, no condition`);
    assert.deepEqual(addresses(cluster(endpoints(yamlDocs(selectingEntry(), gated(value, 'True'))), A)), ['2.3.4.5:80'], `${value}, Healthy`);
    assert.deepEqual(addresses(cluster(endpoints(yamlDocs(selectingEntry(), gated(value, 'False'))), A)), [], `${value}, not Healthy`);
    assert.deepEqual(addresses(cluster(endpoints(yamlDocs(selectingEntry(), gated(value, 'Unknown'))), A)), [], `${value}, Unknown`);
  }
});

test('H-GATE-2: other conditions do not count, only type Healthy', () => {
  const we =
    workloadEntry('vm', 'ns1', 'address: 2.3.4.5\nlabels: {app: a}', 'annotations: {proxy.istio.io/health-checks-enabled: "true"}') +
    '\nstatus:\n  conditions:\n  - {type: Ready, status: "True"}';
  assert.deepEqual(addresses(cluster(endpoints(yamlDocs(selectingEntry(), we)), A)), []);
});

test('H-GATE-3: annotation absent, empty, "false" or unparsable: the entry is always used, whatever its conditions', () => {
  for (const value of [undefined, '', 'false', 'yes', 'enabled']) {
    for (const condition of [undefined, 'False', 'True']) {
      assert.deepEqual(
        addresses(cluster(endpoints(yamlDocs(selectingEntry(), gated(value, condition))), A)),
        ['2.3.4.5:80'],
        `annotation ${String(value)}, condition ${String(condition)}`,
      );
    }
  }
});

test('H-GATE-4: an excluded entry vanishes from ServiceEntries and Kubernetes Services; it is never sent UNHEALTHY', () => {
  const svc = `
    apiVersion: v1
    kind: Service
    metadata: {name: svc, namespace: ns1}
    spec:
      clusterIP: 10.96.0.10
      selector: {app: a}
      ports: [{name: http, port: 80}]
  `;
  const r = endpoints(yamlDocs(selectingEntry(), svc, gated('true', 'False')));
  assert.deepEqual(service(r, 'a.example.com').endpoints, []);
  assert.deepEqual(service(r, 'svc.ns1.svc.cluster.local').endpoints, []);
  assert.deepEqual(addresses(cluster(r, A)), []);
  assert.deepEqual(addresses(cluster(r, 'outbound|80||svc.ns1.svc.cluster.local')), []);
  assert.ok(r.clusters.every((c) => sent(c).every((e) => e.health !== 'UNHEALTHY')));
});

test('H-GATE-2: gating applies to WorkloadEntries only (inline endpoints have no status)', () => {
  const r = endpoints(yamlDocs(selectingEntry(), gated('true', 'True'), workloadEntry('vm2', 'ns1', 'address: 2.3.4.6\nlabels: {app: a}')));
  assert.deepEqual(sortedAddresses(cluster(r, A)), ['2.3.4.5:80', '2.3.4.6:80']);
  assert.deepEqual(clusterNames(r), [A]);
});

test('E-ATTR-3, E-LBL-3: a pod takes its locality label, else its node topology labels as "region/zone/subzone" (empty parts kept)', () => {
  const node = (name: string, labels: string) => `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, labels: {${labels}}}`;
  const onNode = (name: string, ip: string, nodeName: string, labels = 'app: a') =>
    pod(name, 'ns1', ip, labels, `nodeName: ${nodeName}\ncontainers:\n- name: app`);
  const r = endpoints(
    yamlDocs(
      selectingEntry(),
      node('full', 'topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1, topology.istio.io/subzone: s1'),
      node('no-subzone', 'topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1'),
      node('beta', 'failure-domain.beta.kubernetes.io/region: old-r, failure-domain.beta.kubernetes.io/zone: old-z'),
      onNode('on-full', '10.0.0.1', 'full'),
      onNode('on-no-subzone', '10.0.0.2', 'no-subzone'),
      onNode('on-beta', '10.0.0.3', 'beta'),
      onNode('labelled', '10.0.0.4', 'full', 'app: a\nistio-locality: lr.lz'),
      onNode('nowhere', '10.0.0.5', 'missing-node'),
    ),
  );
  const eps = service(r, 'a.example.com').endpoints;
  assert.deepEqual(Object.fromEntries(eps.map((e) => [e.source, e.locality])), {
    'Pod/ns1/labelled': 'lr/lz',
    'Pod/ns1/nowhere': '',
    'Pod/ns1/on-beta': 'old-r/old-z/',
    'Pod/ns1/on-full': 'r1/z1/s1',
    'Pod/ns1/on-no-subzone': 'r1/z1/',
  });
  const full = eps.find((e) => e.source === 'Pod/ns1/on-full');
  assert.equal(full?.labels['kubernetes.io/hostname'], 'full');
  assert.equal(full?.labels['topology.istio.io/subzone'], 's1');
});
