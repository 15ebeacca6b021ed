/**
 * Issue 14, end to end with real processes: `meshbridge serve --config DIR --kubeconfig PATH` reads
 * pods from a Kubernetes API server while the Istio resources stay in the YAML folder. The API server
 * is the fake one (test/support/fake-kube-apiserver.ts), THE ONE TEST DOUBLE of the project: no real
 * kube-apiserver can be installed here; its fidelity is checked with kubectl in test/kube. Everything
 * else is real: serve and `meshbridge agent` processes, gRPC backends on 127.x addresses standing for
 * two pods and a VM, and a proxyless @grpc/grpc-js-xds client calling the ServiceEntry's host.
 * - one workloadSelector selects the two cluster pods (no YAML for them) and a VM registered through
 *   its WorkloadGroup; the client reaches all three;
 * - a pod turned NotReady in the API server leaves the traffic within a second (and `endpoints
 *   --server --explain` says why), and comes back when Ready again;
 * - the VirtualService migration 100/0 → 0/100 between subsets `vm` and `k8s` works with the pods
 *   read from the cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from '../xds/fixtures/backends.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';
import { kubePod, kubeService, kubeSlice, seedable } from '../support/kube-objects.js';
import { backend, docs, NS, proxyless, serviceEntry, subsetSplit, versionSubsets, workloadEntry, workloadGroup, type Own } from './mesh.js';
import { cleanups, runCli, startServe, waitFor } from './serve-process.js';
import { startVmAgent } from './vm-agent.js';

const HOST = 'svc1.kube.test';
const MIGRATION_HOST = 'mig.kube.test';

/** The fake API server (stopped at the end of the test) holding the namespace `demo`. */
async function fakeCluster(own: Own): Promise<FakeKubeApiServer> {
  const kube = own(await FakeKubeApiServer.start(), (k) => k.close());
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  return kube;
}

function kubeconfigOf(kube: FakeKubeApiServer): string {
  return kube.writeKubeconfig(join(mkdtempSync(join(tmpdir(), 'mb-kube-')), 'kubeconfig'));
}

test('serve --kubeconfig: a ServiceEntry selects cluster pods and a registered VM together; a pod turned NotReady leaves the traffic and comes back', { timeout: 150_000 }, async (t) => {
  const own = cleanups(t);
  const pod1 = own(await startBackend('pod1', '127.0.71.1'), (b) => b.stop());
  const pod2 = own(await startBackend('pod2', '127.0.71.2'), (b) => b.stop());
  const vm = own(await startBackend('vm', '127.0.71.3'), (b) => b.stop());

  const kube = await fakeCluster(own);
  const podObject = (name: string, ip: string, port: number, ready: boolean) =>
    seedable(kubePod(name, { ns: NS, ip, port, portName: 'grpc', ready, labels: { app: 'svc1' }, serviceAccount: 'svc1' }));
  kube.store.seed(podObject('svc1-a', pod1.host, pod1.port, true));
  kube.store.seed(podObject('svc1-b', pod2.host, pod2.port, true));
  kube.store.seed(seedable(kubeService('svc1', { app: 'svc1' }, NS)));
  kube.store.seed(seedable(kubeSlice('svc1-x1', 'svc1', ['svc1-a', 'svc1-b'], { ns: NS })));

  const serve = own(
    await startServe({ files: { 'mesh.yaml': serviceEntry('svc1', HOST, { app: 'svc1' }), 'group.yaml': workloadGroup('svc1-vm', 'svc1', vm.port) }, args: ['--kubeconfig', kubeconfigOf(kube)] }),
    (s) => s.stop(),
  );
  assert.match(serve.logs(), /Kubernetes cluster read/);
  // The fake's four namespaces of every cluster (default, kube-system, kube-public, kube-node-lease) and demo.
  const sourcez = await serve.get<{ kubernetes: { server: string; informers: { name: string; synced: boolean; objects: number }[] } }>('/debug/sourcez');
  assert.equal(sourcez.kubernetes.server, kube.url);
  assert.deepEqual(
    sourcez.kubernetes.informers.map((i) => `${i.name} synced=${i.synced} objects=${i.objects}`),
    ['namespaces synced=true objects=5', 'nodes synced=true objects=0', 'services synced=true objects=1', 'endpointslices synced=true objects=1', 'pods synced=true objects=2'],
  );
  const groupFile = join(mkdtempSync(join(tmpdir(), 'mb-vm-')), 'group.yaml');
  writeFileSync(groupFile, workloadGroup('svc1-vm', 'svc1', vm.port));
  const agent = await startVmAgent(own, { groupFile, controlPlane: serve.xdsTls, stateDir: `${serve.dir}.state`, ip: vm.host });

  const client = own(new XdsClientChild(proxyless(serve.xds, HOST)), (c) => c.stop());
  await client.ready(30_000);
  const calls = async (count = 30): Promise<Record<string, number>> => {
    const r = await client.send({ op: 'call', count, deadlineMs: 2000 }, 30_000);
    assert.deepEqual(r.errors, []);
    return r.counts;
  };
  await waitFor(
    async () => {
      const counts = await calls();
      return ['pod1', 'pod2', 'vm'].every((id) => (counts[id] ?? 0) > 0) ? counts : undefined;
    },
    30_000,
    `calls reaching both pods and the VM (agent log:\n${agent.logs()})`,
  );

  kube.store.seed(podObject('svc1-b', pod2.host, pod2.port, false));
  const turned = Date.now();
  await waitFor(async () => ((await calls(10))['pod2'] === undefined ? true : undefined), 10_000, 'pod2 leaving the traffic');
  const left = Date.now() - turned;
  assert.ok(left <= 1000 + 500, `pod2 left the traffic ${left} ms after turning NotReady (one call round included)`);
  const without = await calls();
  assert.equal(without['pod2'], undefined, 'a NotReady pod gets no call');
  assert.ok((without['pod1'] ?? 0) > 0 && (without['vm'] ?? 0) > 0);
  const explained = await runCli(['endpoints', '--server', `http://${serve.http}`, '--client-namespace', NS, '--host', HOST, '--explain']);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /left out: Pod\/demo\/svc1-b: unhealthy \(the pod is not Ready\)/, 'endpoints --explain says why the cluster pod is out');

  kube.store.seed(podObject('svc1-b', pod2.host, pod2.port, true));
  await waitFor(async () => (((await calls())['pod2'] ?? 0) > 0 ? true : undefined), 10_000, 'pod2 back in the traffic');
});

test('serve --kubeconfig: the VirtualService migration 100/0 → 0/100 between subsets vm and k8s moves the traffic from a VM to the cluster\'s pods', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const [vm, podA, podB] = await Promise.all([backend(own, 'vm', '127.0.72.1'), backend(own, 'k8s', '127.0.72.2'), backend(own, 'k8s', '127.0.72.3')]);
  const kube = await fakeCluster(own);
  for (const [name, b] of [['mig-a', podA], ['mig-b', podB]] as const) {
    kube.store.seed(seedable(kubePod(name, { ns: NS, ip: b.host, port: b.port, portName: 'grpc', labels: { app: 'mig', version: 'k8s' } })));
  }
  const mesh = docs(serviceEntry('mig', MIGRATION_HOST, { app: 'mig' }), workloadEntry('mig-vm', vm, { app: 'mig', version: 'vm' }), versionSubsets('mig', MIGRATION_HOST));
  const serve = own(
    await startServe({ files: { 'mesh.yaml': mesh, 'route.yaml': subsetSplit('mig', MIGRATION_HOST, 100, 0) }, args: ['--kubeconfig', kubeconfigOf(kube)] }),
    (s) => s.stop(),
  );
  const client = own(new XdsClientChild(proxyless(serve.xds, MIGRATION_HOST)), (c) => c.stop());
  await client.ready(30_000);
  const start = await client.send({ op: 'call', count: 40, deadlineMs: 10_000, waitForReady: true }, 15_000);
  assert.deepEqual(start.errors, []);
  assert.deepEqual(start.counts, { vm: 40 }, '100/0: everything on the VM');

  serve.write('route.yaml', subsetSplit('mig', MIGRATION_HOST, 0, 100));
  const moved = await client.send({ op: 'until', backend: 'k8s', streak: 20, timeoutMs: 5000 }, 8000);
  assert.ok(moved.reached, `0/100: the pods never took 20 calls in a row (last: ${moved.last})`);
  const all = await client.send({ op: 'call', count: 40, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(all.errors, []);
  assert.deepEqual(all.counts, { k8s: 40 }, '0/100: everything on the cluster pods');
});
