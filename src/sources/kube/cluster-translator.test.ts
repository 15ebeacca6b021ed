/**
 * Kubernetes objects read from a cluster → the registry (src/sources/kube/translate.ts,
 * cluster-translator.ts): Istio's endpoint rules for pods (istio-semantics E-SEL-3, E-ATTR-1/2/3/5,
 * E-LBL-3, E-SEL-10), EndpointSlices joined to pods by targetRef, locality re-derived on node label
 * changes, and work that grows with what changed. The objects are the JSON an API server sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterTranslator } from './cluster-translator.js';
import type { KubeObject } from './informer.js';
import type { Registry } from '../../registry/registry.js';
import type { Workload } from '../../model/mesh/types.js';
import { kubeNamespace, kubeNode, kubePod, kubeService, kubeSlice as slice } from '../../../test/support/kube-objects.js';
import { addresses, endpoints, exclusions, meshNetworkFromCidr, pod as yamlPod, registryFrom, serviceEntry, workloadEntry, yamlDocs } from '../../../test/support/mesh.js';

const HOST = 'a.ns1.svc.cluster.local';
const SVC_HOST = 'svc.ns1.svc.cluster.local';

/** A registry over the given store YAML, with a translator writing the cluster side. */
function setup(...yaml: string[]): { registry: Registry; cluster: ClusterTranslator } {
  const registry = registryFrom(yamlDocs(serviceEntry('a', 'ns1', HOST), ...yaml));
  return { registry, cluster: new ClusterTranslator(registry.inputs.cluster, 'istio-system') };
}

function workload(registry: Registry, key: string): Workload {
  const w = registry.workloads.get(key);
  assert.ok(w, `workload ${key}`);
  return w;
}

function selected(registry: Registry, host = HOST): string[] {
  return addresses(endpoints(registry, { host }).services.find((s) => s.host === host)?.endpoints ?? []).sort();
}

function podComputations(registry: Registry): number {
  return registry.derived.get('registry/PodWorkloads')?.stats.computations ?? 0;
}

test('E-SEL-3: a Running or Pending pod with an IP, Ready and not terminating is a workload a ServiceEntry selects', () => {
  const { registry, cluster } = setup();
  cluster.apply('Pod', kubePod('running', { ip: '10.0.0.1' }));
  cluster.apply('Pod', kubePod('pending', { ip: '10.0.0.2', phase: 'Pending' }));
  assert.deepEqual(selected(registry), ['10.0.0.1:8080', '10.0.0.2:8080']);
});

test('E-SEL-3: not Ready, terminating, no IP, Succeeded: not selected, each with its reason; becoming Ready again brings it back', () => {
  const { registry, cluster } = setup();
  cluster.apply('Pod', kubePod('unready', { ip: '10.0.0.1', ready: false }));
  cluster.apply('Pod', kubePod('terminating', { ip: '10.0.0.2', terminating: true }));
  cluster.apply('Pod', kubePod('no-ip', { ip: '' }));
  cluster.apply('Pod', kubePod('done', { ip: '10.0.0.4', phase: 'Succeeded' }));
  assert.deepEqual(selected(registry), []);
  const details = ['unready', 'terminating', 'no-ip', 'done'].map((n) => workload(registry, `Pod/ns1/${n}`).exclusion?.detail);
  assert.deepEqual(details, ['the pod is not Ready', 'the pod is terminating', 'the pod has no IP yet', 'the pod has phase Succeeded']);
  const explained = endpoints(registry, { host: HOST, explain: true }).services.find((s) => s.host === HOST);
  assert.ok(explained);
  assert.deepEqual(exclusions(explained), ['Pod/ns1/done unhealthy', 'Pod/ns1/no-ip unhealthy', 'Pod/ns1/terminating unhealthy', 'Pod/ns1/unready unhealthy']);

  cluster.apply('Pod', kubePod('unready', { ip: '10.0.0.1', rv: '2' }));
  assert.deepEqual(selected(registry), ['10.0.0.1:8080']);
  cluster.apply('Pod', kubePod('unready', { ip: '10.0.0.1', rv: '3' }), true);
  assert.deepEqual(selected(registry), [], 'a deleted pod leaves');
});

test('E-ATTR-2, E-ATTR-1: the pod\'s service account is its identity; tls mode comes from the security.istio.io/tlsMode label only', () => {
  const { registry, cluster } = setup();
  cluster.apply('Pod', kubePod('meshed', { ip: '10.0.0.1', serviceAccount: 'reviews', labels: { app: 'a', 'security.istio.io/tlsMode': 'istio' } }));
  cluster.apply('Pod', kubePod('plain', { ip: '10.0.0.2', serviceAccount: 'reviews' }));
  const meshed = workload(registry, 'Pod/ns1/meshed');
  assert.equal(meshed.identity, 'spiffe://cluster.local/ns/ns1/sa/reviews');
  assert.equal(meshed.tlsMode, 'istio');
  assert.equal(workload(registry, 'Pod/ns1/plain').tlsMode, 'disabled', 'a pod without the label is disabled even with a service account');
});

test('E-ATTR-3, E-LBL-3: locality from the pod label topology.istio.io/locality, else its node\'s topology labels, set as labels', () => {
  const { registry, cluster } = setup();
  cluster.apply('Node', kubeNode('n1', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-1', 'topology.istio.io/subzone': 'rack7' }));
  cluster.apply('Pod', kubePod('on-node', { ip: '10.0.0.1', node: 'n1' }));
  cluster.apply('Pod', kubePod('labelled', { ip: '10.0.0.2', node: 'n1', labels: { app: 'a', 'topology.istio.io/locality': 'us.us-2.r1' } }));
  cluster.apply('Pod', kubePod('legacy', { ip: '10.0.0.3', node: 'n2', labels: { app: 'a', 'failure-domain.beta.kubernetes.io/region': 'x' } }));
  const onNode = workload(registry, 'Pod/ns1/on-node');
  assert.equal(onNode.locality, 'eu/eu-1/rack7');
  assert.equal(onNode.labels['topology.kubernetes.io/zone'], 'eu-1');
  assert.equal(onNode.labels['kubernetes.io/hostname'], 'n1');
  assert.equal(workload(registry, 'Pod/ns1/labelled').locality, 'us/us-2/r1', 'the pod label wins over the node');
  assert.equal(workload(registry, 'Pod/ns1/legacy').locality, '', 'a node not (yet) read gives no locality');
  cluster.apply('Node', kubeNode('n2', { 'failure-domain.beta.kubernetes.io/region': 'old', 'failure-domain.beta.kubernetes.io/zone': 'old-1' }));
  assert.equal(workload(registry, 'Pod/ns1/legacy').locality, 'old/old-1/', 'the legacy failure-domain labels, once the node arrives');
});

test('a node\'s topology label change re-derives the locality of its pods (Istio does not: istio#51144), and only theirs; a heartbeat re-derives nothing', () => {
  const { registry, cluster } = setup();
  cluster.apply('Node', kubeNode('n1', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-1' }));
  cluster.apply('Node', kubeNode('n2', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-2' }));
  for (let i = 0; i < 20; i++) cluster.apply('Pod', kubePod(`p${i}`, { ip: `10.0.0.${i + 1}`, node: i < 2 ? 'n1' : 'n2' }));
  let before = podComputations(registry);
  cluster.apply('Node', kubeNode('n1', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-3' }, '2'));
  assert.equal(podComputations(registry) - before, 2, 'the two pods on n1, not the 18 others');
  assert.equal(workload(registry, 'Pod/ns1/p0').locality, 'eu/eu-3/');
  assert.equal(workload(registry, 'Pod/ns1/p2').locality, 'eu/eu-2/');
  before = podComputations(registry);
  cluster.apply('Node', kubeNode('n1', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-3', 'node.kubernetes.io/instance-type': 'big' }, '3'));
  assert.equal(podComputations(registry) - before, 0, 'a change of other labels or of the heartbeat');
});

test('E-ATTR-5: network from the pod label, else the system namespace\'s label (re-read when it changes), else MeshNetworks', () => {
  const { registry, cluster } = setup(meshNetworkFromCidr('net-cidr', '10.0.0.0/16'));
  cluster.apply('Pod', kubePod('labelled', { ip: '10.0.0.1', labels: { app: 'a', 'topology.istio.io/network': 'net-pod' } }));
  cluster.apply('Pod', kubePod('plain', { ip: '10.0.0.2' }));
  assert.equal(workload(registry, 'Pod/ns1/plain').network, 'net-cidr', 'MeshNetworks while the system namespace has no label');
  cluster.apply('Namespace', kubeNamespace('ns1', { 'topology.istio.io/network': 'not-the-system-namespace' }));
  assert.equal(workload(registry, 'Pod/ns1/plain').network, 'net-cidr');
  cluster.apply('Namespace', kubeNamespace('istio-system', { 'topology.istio.io/network': 'net-system' }));
  assert.equal(workload(registry, 'Pod/ns1/plain').network, 'net-system');
  assert.equal(workload(registry, 'Pod/ns1/labelled').network, 'net-pod', 'the pod label wins');
  cluster.setSystemNamespace('mesh-system');
  assert.equal(workload(registry, 'Pod/ns1/plain').network, 'net-cidr', 'another system namespace (MeshConfig rootNamespace) without the label');
});

test('EndpointSlices: a Service\'s pod endpoints are the pods its slices name by targetRef (not all its selector matches); an endpoint whose pod has not arrived waits for it', () => {
  const { registry, cluster } = setup();
  cluster.apply('Service', kubeService('svc', { app: 'a' }));
  cluster.apply('Pod', kubePod('p1', { ip: '10.0.0.1' }));
  cluster.apply('Pod', kubePod('not-in-slice', { ip: '10.0.0.9' }));
  assert.deepEqual(selected(registry, SVC_HOST), [], 'no slice yet: no endpoint (the selector alone does not make one)');
  cluster.apply('EndpointSlice', slice('svc-abc', 'svc', ['p1', 'p2']));
  assert.deepEqual(selected(registry, SVC_HOST), ['10.0.0.1:8080'], 'p2 is listed but has not arrived');
  cluster.apply('Pod', kubePod('p2', { ip: '10.0.0.2' }));
  assert.deepEqual(selected(registry, SVC_HOST), ['10.0.0.1:8080', '10.0.0.2:8080'], 'p2 arrived');
  cluster.apply('EndpointSlice', slice('svc-def', 'svc', ['p3']));
  cluster.apply('Pod', kubePod('p3', { ip: '10.0.0.3' }));
  assert.deepEqual(selected(registry, SVC_HOST), ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080'], 'slices of one Service add up');
  cluster.apply('EndpointSlice', slice('svc-abc', 'svc', ['p1']), true);
  assert.deepEqual(selected(registry, SVC_HOST), ['10.0.0.3:8080'], 'a deleted slice takes its endpoints');
});

test('EndpointSlices: an endpoint without a Pod targetRef is joined by IP to a pod of the namespace, also when the pod comes later', () => {
  const { registry, cluster } = setup();
  cluster.apply('Service', kubeService('svc', { app: 'a' }));
  const bare = (ips: string[]): KubeObject => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'svc-manual', namespace: 'ns1', labels: { 'kubernetes.io/service-name': 'svc' } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip] })),
  });
  cluster.apply('Pod', kubePod('other-ns', { ns: 'ns2', ip: '10.0.0.5' }));
  cluster.apply('EndpointSlice', bare(['10.0.0.5', '10.0.0.6']));
  assert.deepEqual(selected(registry, SVC_HOST), [], 'a pod of another namespace with the address is not joined');
  cluster.apply('Pod', kubePod('late', { ip: '10.0.0.6' }));
  assert.deepEqual(selected(registry, SVC_HOST), ['10.0.0.6:8080'], 'the pod taking the address joins');
  cluster.apply('Pod', kubePod('late', { ip: '10.0.0.6', ready: false, rv: '2' }));
  const listed = endpoints(registry, { host: SVC_HOST }).services.find((s) => s.host === SVC_HOST)?.endpoints ?? [];
  assert.deepEqual(listed.map((e) => `${e.address} ${e.health}`), ['10.0.0.6 UNHEALTHY'], 'its readiness counts: listed as a not-ready address (EDS-4)');
  cluster.apply('Pod', kubePod('late', { ip: '10.0.0.6' }), true);
  cluster.apply('Pod', kubePod('replacement', { ip: '10.0.0.6' }));
  assert.deepEqual(selected(registry, SVC_HOST), ['10.0.0.6:8080']);
  assert.deepEqual(registry.inputs.cluster.Service.get('Service/ns1/svc')?.endpointPods, ['replacement']);
});

test('EndpointSlices Istio ignores: multi-cluster (MCS) slices and FQDN slices', () => {
  const { registry, cluster } = setup();
  cluster.apply('Service', kubeService('svc', { app: 'a' }));
  cluster.apply('Pod', kubePod('p1', { ip: '10.0.0.1' }));
  cluster.apply('EndpointSlice', slice('mcs', 'svc', ['p1'], { extraLabels: { 'multicluster.kubernetes.io/service-name': 'svc' } }));
  cluster.apply('EndpointSlice', slice('fqdn', 'svc', ['p1'], { addressType: 'FQDN' }));
  assert.deepEqual(selected(registry, SVC_HOST), []);
});

test('E-SEL-10: a Service read from the cluster also selects the WorkloadEntries of its namespace (its slices never hold VMs)', () => {
  const { registry, cluster } = setup(
    workloadEntry('vm', 'ns1', 'address: 10.1.0.1\nlabels: {app: a}\nports: {http: 9090}'),
    workloadEntry('vm-other-ns', 'ns2', 'address: 10.1.0.2\nlabels: {app: a}'),
  );
  cluster.apply('Service', kubeService('svc', { app: 'a' }));
  cluster.apply('Pod', kubePod('p1', { ip: '10.0.0.1' }));
  cluster.apply('EndpointSlice', slice('svc-abc', 'svc', ['p1']));
  assert.deepEqual(selected(registry, SVC_HOST), ['10.0.0.1:8080', '10.1.0.1:9090']);
});

test('a ServiceEntry selects cluster pods and the store\'s WorkloadEntries together (one workloadSelector)', () => {
  const { registry, cluster } = setup(workloadEntry('vm', 'ns1', 'address: 10.1.0.1\nlabels: {app: a}'));
  cluster.apply('Pod', kubePod('p1', { ip: '10.0.0.1' }));
  assert.deepEqual(selected(registry), ['10.0.0.1:8080', '10.1.0.1:80']);
});

test('work grows with what changed: a pod event re-derives that pod only; a write changing no field the registry reads re-derives nothing', () => {
  const { registry, cluster } = setup();
  for (let i = 0; i < 100; i++) cluster.apply('Pod', kubePod(`p${i}`, { ip: `10.0.${Math.floor(i / 200)}.${(i % 200) + 1}` }));
  let before = podComputations(registry);
  cluster.apply('Pod', kubePod('p7', { ip: '10.0.0.8', ready: false, rv: '2' }));
  assert.equal(podComputations(registry) - before, 1);
  before = podComputations(registry);
  cluster.apply('Pod', kubePod('p7', { ip: '10.0.0.8', ready: false, rv: '3' }));
  assert.equal(podComputations(registry) - before, 0, 'a new resourceVersion and restart count only');
});

test('a Pod written in the store shadows the cluster\'s pod of the same namespace and name; the cluster\'s shows again when it goes', () => {
  const { registry, cluster } = setup(yamlPod('p1', 'ns1', '10.9.9.9', 'app: a'));
  cluster.apply('Pod', kubePod('p1', { ip: '10.0.0.1' }));
  assert.equal(workload(registry, 'Pod/ns1/p1').address, '10.9.9.9');
  registry.inputs.Pod.delete('Pod/ns1/p1');
  assert.equal(workload(registry, 'Pod/ns1/p1').address, '10.0.0.1');
});

test('malformed objects never throw: wrong field types read as absent', () => {
  const { registry, cluster } = setup();
  const bad = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad', namespace: 'ns1', labels: { app: 'a', n: 5 } }, spec: { containers: 'nope', nodeName: 7 }, status: { podIP: ['x'], conditions: {} } } as unknown as KubeObject;
  cluster.apply('Pod', bad);
  cluster.apply('Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'ns1' }, spec: { ports: [{ port: 'x' }, null], selector: 'a' } });
  cluster.apply('EndpointSlice', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', namespace: 'ns1', labels: { 'kubernetes.io/service-name': 'svc' } }, endpoints: [null, { targetRef: 'p' }] });
  assert.equal(workload(registry, 'Pod/ns1/bad').exclusion?.detail, 'the pod has no IP yet');
  assert.deepEqual(selected(registry, SVC_HOST), []);
});

test('a batch (a list or relist) reaches the registry as one change per input collection, the last write per object winning', () => {
  const { registry, cluster } = setup();
  const batches: number[] = [];
  const unsubscribe = registry.inputs.cluster.Pod.subscribe((events) => batches.push(events.length));
  try {
    cluster.batch(() => {
      for (let i = 1; i <= 50; i++) cluster.apply('Pod', kubePod(`p${i}`, { ip: `10.0.3.${i}` }));
      cluster.apply('Pod', kubePod('gone', { ip: '10.0.3.99' }));
      cluster.apply('Pod', kubePod('gone', { ip: '10.0.3.99' }), true);
      assert.deepEqual(batches, [], 'nothing reaches the registry before the batch ends');
    });
    assert.deepEqual(batches, [50], 'one batch of 50 adds; the pod added and deleted in the batch never appears');
    assert.equal(selected(registry).length, 50);
    assert.equal(registry.workloads.get('Pod/ns1/gone'), undefined);
    cluster.apply('Pod', kubePod('p51', { ip: '10.0.3.51' }));
    assert.deepEqual(batches, [50, 1], 'outside a batch every event is written at once');
  } finally {
    unsubscribe();
  }
});
