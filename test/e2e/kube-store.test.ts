/**
 * Issue 14, end to end with real processes: `meshbridge serve --store kube:// --kubeconfig PATH`, the
 * cluster IS the store. The API server is the fake one (test/support/fake-kube-apiserver.ts), THE ONE
 * TEST DOUBLE of the project: no real kube-apiserver can be installed here; its fidelity is checked
 * with kubectl in test/kube. Everything else is real: serve replicas, `meshbridge agent` (configured
 * by `workload entry configure --store kube://`, which reads the signing key and root from the
 * cluster's Secrets), `meshbridge apply/get/delete --store kube://`.
 * - a VM registers through a WorkloadGroup stored in the cluster: its WorkloadEntry is created there
 *   with an ownerReference to the group, its `Healthy` condition is written through `/status`, and it
 *   is deleted (with preconditions) after the grace period once the agent stops;
 *   an istiod's entry in the same namespace (its `istio.io/workloadController`) is never written;
 * - two replicas: one holds the leader Lease; the holder killed (SIGKILL), the other takes it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeKubeApiServer, ISTIO_CRDS } from '../support/fake-kube-apiserver.js';
import { startReplica, type Replica } from '../support/serve-replica.js';
import { NS, serviceEntry, workloadGroup, type Own } from './mesh.js';
import { cleanups, runCli, waitFor } from './serve-process.js';
import { startVmAgent } from './vm-agent.js';

const SYSTEM = 'istio-system';
const WE_PATH = `/apis/networking.istio.io/v1/namespaces/${NS}/workloadentries`;

interface Entry {
  metadata: { name: string; uid: string; resourceVersion: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

interface Lease {
  spec?: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number; renewTime?: string };
}

/** The fake API server holding Istio's CRDs and the namespaces `demo` and `istio-system`; its kubeconfig. */
async function fakeCluster(own: Own): Promise<{ kube: FakeKubeApiServer; kubeconfig: string }> {
  const kube = own(await FakeKubeApiServer.start(), (k) => k.close());
  for (const ns of [NS, SYSTEM]) kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  for (const crd of ISTIO_CRDS) kube.store.seed(crd);
  return { kube, kubeconfig: kube.writeKubeconfig(join(mkdtempSync(join(tmpdir(), 'mb-kstore-')), 'kubeconfig')) };
}

/** The WorkloadEntries in the cluster but the istiod's one. */
function entries(kube: FakeKubeApiServer): Entry[] {
  return (kube.store.list(kube.store.typeOf({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry' }), NS) as unknown as Entry[]).filter((e) => e.metadata.name !== ISTIOD_ENTRY);
}

const ISTIOD_ENTRY = 'vm-127.0.81.9';

function leaderLease(kube: FakeKubeApiServer): Lease | undefined {
  return kube.store.get(kube.store.typeOf({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }), SYSTEM, 'meshbridge-leader');
}

async function replica(own: Own, kubeconfig: string, instance: string, extra: readonly string[] = []): Promise<Replica> {
  return own(await startReplica('kube://', instance, ['--kubeconfig', kubeconfig, '--session-ttl', '2', ...extra]), (r) => r.kill('SIGKILL'));
}

test('serve --store kube://: a VM registered through a WorkloadGroup in the cluster gets a WorkloadEntry there (owned by the group), Healthy through /status, deleted after the grace period', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const vmIp = '127.0.81.1';
  const app: Server = own(createServer((s) => s.end()), (s) => new Promise((r) => s.close(r)));
  await new Promise<void>((r) => app.listen(0, vmIp, r));
  const appPort = (app.address() as { port: number }).port;
  const { kube, kubeconfig } = await fakeCluster(own);
  const groupYaml = workloadGroup('vm', 'vm', appPort, `{tcpSocket: {port: ${appPort}}, periodSeconds: 1}`);

  // The group goes into the cluster through the CLI: `apply --store kube://`.
  const groupFile = join(mkdtempSync(join(tmpdir(), 'mb-kstore-vm-')), 'group.yaml');
  writeFileSync(groupFile, groupYaml);
  const seFile = join(mkdtempSync(join(tmpdir(), 'mb-kstore-se-')), 'se.yaml');
  writeFileSync(seFile, serviceEntry('vm', 'vm.kube.test', { app: 'vm' }));
  const applied = await runCli(['apply', '-f', groupFile, '-f', seFile, '--store', 'kube://', '--kubeconfig', kubeconfig], 20_000);
  assert.equal(applied.code, 0, applied.stderr);
  const group = kube.store.get(kube.store.typeOf({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup' }), NS, 'vm') as { metadata: { uid: string } } | undefined;
  assert.ok(group, 'apply --store kube:// created the WorkloadGroup in the cluster');
  const listed = await runCli(['get', 'serviceentry', 'vm', '-n', NS, '-o', 'json', '--store', 'kube://', '--kubeconfig', kubeconfig], 20_000);
  assert.equal(listed.code, 0, listed.stderr);
  const read = (JSON.parse(listed.stdout) as { items: { kind: string; metadata: { name: string; uid?: string } }[] }).items;
  assert.deepEqual(read.map((o) => `${o.kind}/${o.metadata.name}`), ['ServiceEntry/vm'], 'get --store kube:// reads it back');
  assert.ok(read[0]?.metadata.uid !== undefined, 'as the API server stored it');

  // An istiod sharing the cluster: its entry, disconnected long ago, is its own to delete, not meshbridge's.
  kube.store.seed({
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadEntry',
    metadata: { name: ISTIOD_ENTRY, namespace: NS, annotations: { 'istio.io/autoRegistrationGroup': 'vm', 'istio.io/workloadController': 'istiod-5d8f9c', 'istio.io/disconnectedAt': '2020-01-01T00:00:00.000000000Z' } },
    spec: { address: '127.0.81.9', labels: { app: 'vm' } },
  });
  const serve = await replica(own, kubeconfig, 'meshbridge-e2e-a', ['--grace-period', '1500']);
  const xdsTls = await waitFor(() => serve.xdsTls(), 15_000, 'the secure xDS address');
  const agent = await startVmAgent(own, { groupFile, controlPlane: xdsTls, ip: vmIp, store: ['--store', 'kube://', '--kubeconfig', kubeconfig] });

  const entry = await waitFor(
    () => entries(kube).find((e) => (e.status?.conditions ?? []).some((c) => c.type === 'Healthy' && c.status === 'True')),
    30_000,
    `a Healthy WorkloadEntry in the cluster (agent log:\n${agent.logs()}\nserve log:\n${serve.logs()})`,
  );
  assert.equal(entry.metadata.name, `vm-${vmIp}`);
  assert.equal(entry.metadata.annotations?.['istio.io/workloadController'], 'meshbridge-e2e-a');
  assert.deepEqual(entry.metadata.ownerReferences?.map((r) => ({ kind: r.kind, name: r.name, uid: r.uid, controller: r.controller })), [{ kind: 'WorkloadGroup', name: 'vm', uid: group.metadata.uid, controller: true }]);
  const statusWrites = kube.requests((r) => r.method === 'PUT' && r.path === `${WE_PATH}/vm-${vmIp}/status`);
  assert.ok(statusWrites.some((r) => r.status === 200 && /"Healthy"/.test(r.body)), 'the Healthy condition was written through the status subresource');
  assert.ok(statusWrites.every((r) => (JSON.parse(r.body) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion !== undefined), 'every status write carries a resourceVersion');

  // The agent stops: the entry is marked disconnected, then deleted after the grace period.
  agent.process.kill('SIGTERM');
  const stoppedAt = Date.now();
  await waitFor(() => (entries(kube).length === 0 ? true : undefined), 30_000, `the entry deleted after the grace period (serve log:\n${serve.logs()})`);
  assert.ok(Date.now() - stoppedAt >= 1400, 'not before the grace period');
  const deletes = kube.requests((r) => r.method === 'DELETE' && r.path === `${WE_PATH}/vm-${vmIp}`);
  assert.ok(deletes.length >= 1);
  const pre = (JSON.parse(deletes.at(-1)?.body ?? '{}') as { preconditions?: { uid?: string; resourceVersion?: string } }).preconditions;
  assert.equal(pre?.uid, entry.metadata.uid, 'the delete names the uid it read');
  assert.ok(pre?.resourceVersion !== undefined, 'and its resourceVersion');

  assert.ok(kube.store.get(kube.store.typeOf({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry' }), NS, ISTIOD_ENTRY), "the istiod's entry is left alone");
  assert.deepEqual(kube.requests((r) => r.method !== 'GET' && r.path.startsWith(`${WE_PATH}/${ISTIOD_ENTRY}`)), [], 'never written');

  const deleted = await runCli(['delete', 'serviceentry', 'vm', '-n', NS, '--store', 'kube://', '--kubeconfig', kubeconfig], 20_000);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(kube.store.get(kube.store.typeOf({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry' }), NS, 'vm'), undefined, 'delete --store kube:// removed it from the cluster');
});

test('serve --store kube://: two replicas elect one Lease holder; the holder killed, the other takes the Lease', { timeout: 90_000 }, async (t) => {
  const own = cleanups(t);
  const { kube, kubeconfig } = await fakeCluster(own);
  const a = await replica(own, kubeconfig, 'meshbridge-lease-a');
  const b = await replica(own, kubeconfig, 'meshbridge-lease-b');
  const first = await waitFor(() => leaderLease(kube)?.spec?.holderIdentity || undefined, 15_000, 'a leader');
  assert.ok(['meshbridge-lease-a', 'meshbridge-lease-b'].includes(first));
  assert.equal(leaderLease(kube)?.spec?.leaseDurationSeconds, 2);
  const replicaLeases = kube.store.list(kube.store.typeOf({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }), SYSTEM).map((l) => (l.metadata as { name: string }).name).sort();
  assert.deepEqual(replicaLeases, ['meshbridge-leader', 'meshbridge-replica-meshbridge-lease-a', 'meshbridge-replica-meshbridge-lease-b']);
  // Still one holder a few renewals later: the other never took it over.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(leaderLease(kube)?.spec?.holderIdentity, first);
  const [holder, other] = first === a.instance ? [a, b] : [b, a];
  const transitions = leaderLease(kube)?.spec?.leaseTransitions ?? 0;
  await holder.kill('SIGKILL'); // a crash: nothing released
  // The holder's last renewal: the Lease may be taken only once it has not changed for its duration
  // (2 s) as the other replica observed it, so never sooner than 2 s after that renewal (measuring
  // from the kill instead would count the time between the last renewal and the kill twice).
  const lastRenewal = Date.parse(leaderLease(kube)?.spec?.renewTime ?? '');
  assert.ok(Number.isFinite(lastRenewal), 'the holder renewed the Lease');
  await waitFor(() => (leaderLease(kube)?.spec?.holderIdentity === other.instance ? true : undefined), 20_000, `${other.instance} taking the Lease (its log:\n${other.logs()})`);
  const afterRenewal = Date.now() - lastRenewal;
  assert.ok(afterRenewal >= 2000, `not before the lease duration after the holder's last renewal (${afterRenewal} ms)`);
  assert.equal(leaderLease(kube)?.spec?.leaseTransitions, transitions + 1, 'a takeover counts a transition');
  await waitFor(() => (/elected leader/.test(other.logs()) ? true : undefined), 5000, `${other.instance} saying it leads`);
});
