/**
 * Leader election and replica liveness with coordination.k8s.io/v1 Leases
 * (src/sources/kube/lease-election.ts) and the shared Secrets (kube-secrets.ts), against the fake
 * Kubernetes API server, the project's one TEST DOUBLE (docs/kubernetes-fake.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/lib/log/logger.js';
import type { CoordinationEvent } from '../../src/lifecycle/coordination.js';
import { KubeStore } from '../../src/sources/kube/kube-store.js';
import { CA_SECRET, kubeSecretSlot, readKubeOnboarding, SIGNING_KEY_SECRET } from '../../src/sources/kube/kube-secrets.js';
import { KubeTransport } from '../../src/sources/kube/kube-transport.js';
import { LEADER_LEASE, LeaseCoordination, replicaLeaseName } from '../../src/sources/kube/lease-election.js';
import { sharedCaFilesIn, sharedSigningKeyIn } from '../../src/sources/shared-secrets.js';
import { FakeKubeApiServer, ISTIO_CRDS } from '../support/fake-kube-apiserver.js';

const SYSTEM = 'istio-system';

async function fake(t: { after(fn: () => Promise<void>): void }): Promise<{ kube: FakeKubeApiServer; transport: KubeTransport }> {
  const kube = await FakeKubeApiServer.start();
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM } });
  t.after(() => kube.close());
  return { kube, transport: new KubeTransport({ server: kube.url }) };
}

function replica(transport: KubeTransport, instance: string, t: { after(fn: () => Promise<void>): void }): { c: LeaseCoordination; events: CoordinationEvent[] } {
  const c = new LeaseCoordination(transport, { instance, namespace: SYSTEM, leaseDurationSeconds: 1, retryPeriodMs: 200, log: silentLogger });
  const events: CoordinationEvent[] = [];
  c.subscribe((e) => events.push(e));
  t.after(() => c.stop());
  return { c, events };
}

interface Lease {
  metadata: { resourceVersion: string };
  spec: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number; renewTime?: string };
}

function lease(kube: FakeKubeApiServer, name: string): Lease | undefined {
  return kube.store.get(kube.store.typeOf({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }), SYSTEM, name) as Lease | undefined;
}

async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('two replicas: exactly one holds the leader Lease and renews it; each sees the other live', async (t) => {
  const { kube, transport } = await fake(t);
  const a = replica(transport, 'mb-a', t);
  const b = replica(transport, 'mb-b', t);
  await Promise.all([a.c.start(), b.c.start()]);
  await until(() => (a.c.leadership() !== undefined) !== (b.c.leadership() !== undefined), 'one leader');
  const [leader, follower] = a.c.leadership() ? [a, b] : [b, a];
  const held = lease(kube, LEADER_LEASE);
  assert.equal(held?.spec.holderIdentity, leader.c.instance);
  assert.equal(held?.spec.leaseDurationSeconds, 1);
  const renewed = held?.spec.renewTime;
  await sleep(1500); // longer than the lease duration: renewed meanwhile, never taken over
  assert.equal(lease(kube, LEADER_LEASE)?.spec.holderIdentity, leader.c.instance);
  assert.notEqual(lease(kube, LEADER_LEASE)?.spec.renewTime, renewed, 'the holder renews');
  assert.equal(follower.c.leadership(), undefined);
  assert.deepEqual(follower.events, [], 'the follower was never elected');
  assert.ok(a.c.isLive('mb-b') && b.c.isLive('mb-a'), 'each sees the other replica live');
  assert.ok(a.c.knows('mb-b') && !a.c.knows('istiod-5d8f'), 'replicas know each other, not an istiod');
  assert.ok(lease(kube, replicaLeaseName('mb-a')) && lease(kube, replicaLeaseName('mb-b')));
  const fence = leader.c.leadership()?.fence;
  assert.ok(fence);
  assert.equal(await leader.c.fenceHolds(fence), true);
});

test('the leader stopping releases the Lease: the other takes it at its next retry, the old fence no longer holds, and the stopped replica is lost', async (t) => {
  const { kube, transport } = await fake(t);
  const a = replica(transport, 'mb-a', t);
  await a.c.start();
  await until(() => a.c.leadership() !== undefined, 'a elected');
  const fence = a.c.leadership()?.fence;
  assert.ok(fence);
  const b = replica(transport, 'mb-b', t);
  await b.c.start();
  await until(() => b.c.isLive('mb-a'), 'b seeing a');
  const transitions = lease(kube, LEADER_LEASE)?.spec.leaseTransitions ?? 0;
  await a.c.stop();
  assert.equal(lease(kube, LEADER_LEASE)?.spec.holderIdentity, '', 'released as client-go does (no holder)');
  await until(() => b.c.leadership() !== undefined, 'b elected');
  assert.equal(lease(kube, LEADER_LEASE)?.spec.holderIdentity, 'mb-b');
  assert.equal(lease(kube, LEADER_LEASE)?.spec.leaseTransitions, transitions + 1);
  assert.equal(await a.c.fenceHolds(fence), false, "the stopped leader's fence no longer holds");
  await until(() => b.events.some((e) => e.type === 'instanceLost' && e.instance === 'mb-a'), 'mb-a lost');
  assert.ok(b.c.knows('mb-a'), 'a stopped replica stays known (its entries are still meshbridge\'s)');
  assert.equal(await b.c.confirmLive('mb-a'), false);
});

test('a leader that no longer holds the Lease is fenced: the store refuses its fenced writes', async (t) => {
  const { kube, transport } = await fake(t);
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
  for (const crd of ISTIO_CRDS) kube.store.seed(crd);
  const a = replica(transport, 'mb-a', t);
  await a.c.start();
  await until(() => a.c.leadership() !== undefined, 'a elected');
  const fence = a.c.leadership()?.fence;
  assert.ok(fence);
  const store = new KubeStore(transport, { fenceHolds: (f) => a.c.fenceHolds(f) });
  t.after(() => store.close());
  const ref = { kind: 'WorkloadEntry' as const, namespace: 'demo', name: 'x' };
  const entry = { kind: 'WorkloadEntry', apiVersion: 'networking.istio.io/v1', metadata: { ...ref, labels: {}, annotations: {} }, spec: { address: '127.0.82.1' }, origin: { file: 't', line: 1, column: 1, order: 0 } } as const;
  assert.ok((await store.write([{ op: 'create', object: entry }], { fence })).ok, 'the leader writes with its fence');
  // Another replica takes the Lease over behind a's back (as after a long pause of a).
  const cur = lease(kube, LEADER_LEASE);
  assert.ok(cur);
  await transport.json('PUT', `/apis/coordination.k8s.io/v1/namespaces/${SYSTEM}/leases/${LEADER_LEASE}`, {}, { ...cur, spec: { ...cur.spec, holderIdentity: 'mb-b', leaseTransitions: (cur.spec.leaseTransitions ?? 0) + 1 } });
  const refused = await store.write([{ op: 'delete', ref }], { fence });
  assert.ok(!refused.ok);
  assert.equal(refused.failure.code, 'Fenced');
  assert.match(refused.failure.message, /not the leader any more/);
  assert.ok(await store.get(ref), 'nothing deleted');
});

test('the signing key and the CA are created once in Secrets: replicas racing get the same values; configure reads them', async (t) => {
  const { transport } = await fake(t);
  const keys = await Promise.all([1, 2, 3].map((n) => sharedSigningKeyIn(kubeSecretSlot(transport, SYSTEM, SIGNING_KEY_SECRET), () => Buffer.alloc(32, n))));
  assert.equal(new Set(keys.map((k) => k.toString('hex'))).size, 1, 'one key for every replica');
  const ca = { caCert: 'c', caKey: 'k', rootCert: 'root', certChain: 'chain' };
  const cas = await Promise.all(['r1', 'r2'].map((root) => sharedCaFilesIn(kubeSecretSlot(transport, SYSTEM, CA_SECRET), { ...ca, rootCert: root })));
  assert.equal(cas[0]?.rootCert, cas[1]?.rootCert);
  const onboarding = await readKubeOnboarding(transport, SYSTEM);
  assert.equal(onboarding?.signingKey.toString('hex'), keys[0]?.toString('hex'));
  assert.equal(onboarding?.rootCert, cas[0]?.rootCert);
  assert.equal(await readKubeOnboarding(transport, 'other'), undefined, 'a namespace no replica used holds nothing');
});
