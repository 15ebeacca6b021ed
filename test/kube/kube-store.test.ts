/**
 * `--store kube://` (src/sources/kube/kube-store.ts): the store port on Istio's CRDs, against the
 * fake Kubernetes API server, the project's one TEST DOUBLE (docs/kubernetes-fake.md; its fidelity is
 * checked with kubectl in fake-apiserver-kubectl.test.ts). Each test has its own fake.
 * - Istio objects are listed and watched; a CRD created mid-run starts its informer and its objects
 *   appear; a CRD deleted takes them away;
 * - an auto-registered WorkloadEntry is created with an ownerReference to its WorkloadGroup
 *   (controller: true) and its status through `/status`;
 * - a status write on a stale resourceVersion is a 409 → Conflict; through the lifecycle's
 *   read-decide-write loop it is retried on the fresh object and no condition is lost;
 * - deletes carry preconditions (uid and resourceVersion);
 * - an entry whose `istio.io/workloadController` is another control plane (an istiod) is left alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mutateEntry, setCondition } from '../../src/lifecycle/entry-writes.js';
import type { StoreEvent } from '../../src/model/config/store.js';
import type { ConfigObject, WorkloadEntry } from '../../src/model/config/types.js';
import { KubeStore, type KubeStoreOptions } from '../../src/sources/kube/kube-store.js';
import { KubeTransport } from '../../src/sources/kube/kube-transport.js';
import { FakeKubeApiServer, ISTIO_CRDS, type JsonObject } from '../support/fake-kube-apiserver.js';

const NS = 'demo';
const FAST = { initialMs: 50, maxMs: 200 };

async function cluster(t: { after(fn: () => Promise<void>): void }, crds: readonly JsonObject[] = ISTIO_CRDS, options: KubeStoreOptions = {}): Promise<{ kube: FakeKubeApiServer; store: KubeStore }> {
  const kube = await FakeKubeApiServer.start();
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (const c of crds) kube.store.seed(c);
  const store = new KubeStore(new KubeTransport({ server: kube.url }), { backoff: FAST, syncTimeoutMs: 10_000, ...options });
  t.after(async () => {
    await store.close();
    await kube.close();
  });
  return { kube, store };
}

function serviceEntry(name: string, host: string): JsonObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name, namespace: NS }, spec: { hosts: [host], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', location: 'MESH_INTERNAL', workloadSelector: { labels: { app: name } } } };
}

function workloadGroup(name: string): JsonObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name, namespace: NS }, spec: { metadata: { labels: { app: name } }, template: { ports: { http: 8080 } } } };
}

function autoEntry(name: string, group: string, controller: string): WorkloadEntry {
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name, namespace: NS, labels: { app: group }, annotations: { 'istio.io/autoRegistrationGroup': group, 'istio.io/workloadController': controller } },
    spec: { address: '127.0.80.1', labels: { app: group } },
    status: { conditions: [{ type: 'Connected', status: 'True', reason: 'Connected' }] },
    origin: { file: 'test', line: 1, column: 1, order: 0 },
  };
}

async function until<T>(probe: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const WE_PATH = `/apis/networking.istio.io/v1/namespaces/${NS}/workloadentries`;

test('Istio objects in the cluster are listed and watched: adds, updates and deletes arrive as changes', async (t) => {
  const { kube, store } = await cluster(t);
  kube.store.seed(serviceEntry('a', 'a.example.com'));
  const listing = await store.list();
  assert.deepEqual(listing.objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`), ['ServiceEntry/demo/a']);
  assert.deepEqual(listing.problems, []);
  const events: StoreEvent[] = [];
  const w = store.watch(listing.revision, (e) => events.push(e));
  t.after(() => w.close());
  kube.store.seed(serviceEntry('b', 'b.example.com'));
  kube.store.unseed('networking.istio.io/v1', 'ServiceEntry', NS, 'a');
  await until(() => (events.length >= 2 ? true : undefined), 'two changes');
  assert.equal(events.filter((e) => e.type === 'resync').length, 0, 'no resync: the watch went on from the listing');
  const changes = events.flatMap((e) => (e.type === 'changes' ? e.changes : []));
  assert.deepEqual(changes.map((c) => (c.type === 'put' ? `put ${c.object.metadata.name}` : `delete ${c.key}`)), ['put b', 'delete ServiceEntry/demo/a']);
  assert.ok(Number((events.at(-1) as { revision: string }).revision) > Number(listing.revision), 'the revision advances');
});

test('a CRD created mid-run starts its informer: its objects appear; deleting the CRD takes them away', async (t) => {
  const serviceEntryCrd = ISTIO_CRDS.find((c) => (c.metadata as { name: string }).name === 'serviceentries.networking.istio.io');
  assert.ok(serviceEntryCrd);
  const { kube, store } = await cluster(t, []);
  const first = await store.list();
  assert.deepEqual(first.objects, [], 'no Istio CRD in the cluster: an empty store, not an error');
  const seen = new Map<string, ConfigObject>();
  const w = store.watch(first.revision, (e) => {
    assert.notEqual(e.type, 'resync', 'the watch goes on from the listing');
    if (e.type !== 'changes') return;
    for (const c of e.changes) {
      if (c.type === 'put') seen.set(`${c.object.kind}/${c.object.metadata.name}`, c.object);
      else seen.delete(c.key.replace(`/${NS}/`, '/'));
    }
  });
  t.after(() => w.close());
  kube.store.seed(serviceEntryCrd);
  kube.store.seed(serviceEntry('late', 'late.example.com'));
  const late = await until(() => seen.get('ServiceEntry/late'), 'the ServiceEntry of a CRD installed after the store started');
  assert.equal(late.apiVersion, 'networking.istio.io/v1');
  assert.deepEqual(store.servedKinds(), [{ kind: 'ServiceEntry', apiVersion: 'networking.istio.io/v1', synced: true }]);
  assert.equal((await store.list()).objects.length, 1);
  kube.store.unseed('apiextensions.k8s.io/v1', 'CustomResourceDefinition', '', 'serviceentries.networking.istio.io');
  await until(() => (seen.size === 0 ? true : undefined), 'the objects of a deleted CRD going');
  assert.deepEqual(store.servedKinds(), []);
});

test('a CRD serving only v1beta1 and v1alpha3 is read at v1beta1, the version the API server prefers', async (t) => {
  const { kube, store } = await cluster(t, []);
  const crd = structuredClone(ISTIO_CRDS.find((c) => (c.metadata as { name: string }).name === 'serviceentries.networking.istio.io')) as JsonObject & { spec: { versions: { name: string; storage: boolean }[] } };
  crd.spec.versions = crd.spec.versions.filter((v) => v.name !== 'v1').map((v, i) => ({ ...v, storage: i === 0 }));
  kube.store.seed(crd);
  kube.store.seed({ ...serviceEntry('old', 'old.example.com'), apiVersion: 'networking.istio.io/v1beta1' });
  store.start();
  const listing = await until(() => (store.servedKinds().length === 1 ? true : undefined), 'the CRD').then(() => store.list());
  assert.deepEqual(store.servedKinds().map((s) => s.apiVersion), ['networking.istio.io/v1beta1']);
  assert.deepEqual(listing.objects.map((o) => o.metadata.name), ['old']);
  assert.ok(kube.requests((r) => r.verb === 'list' && r.path === '/apis/networking.istio.io/v1beta1/serviceentries').length > 0);
});

test('an invalid object in the cluster is a problem naming the field, and is left out', async (t) => {
  const { kube, store } = await cluster(t);
  kube.store.seed({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'bad', namespace: NS }, spec: { hosts: [] } });
  const listing = await store.list();
  assert.deepEqual(listing.objects, []);
  assert.equal(listing.problems.length, 1);
  assert.equal(listing.problems[0]?.key, 'ServiceEntry/demo/bad');
  assert.match(listing.problems[0]?.message ?? '', /hosts/);
});

test('an auto-registered WorkloadEntry is created with an ownerReference to its WorkloadGroup (controller: true), its status written through /status', async (t) => {
  const { kube, store } = await cluster(t);
  const group = kube.store.seed(workloadGroup('vm'));
  await store.list();
  const r = await store.write([{ op: 'create', object: autoEntry('vm-127.0.80.1', 'vm', 'meshbridge-a') }]);
  assert.ok(r.ok, JSON.stringify(r));
  const stored = kube.store.list(kube.store.typeOf({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry' }), NS)[0] as JsonObject & { metadata: { ownerReferences?: unknown[]; resourceVersion: string }; status?: { conditions?: { type: string }[] } };
  assert.deepEqual(stored.metadata.ownerReferences, [{ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', name: 'vm', uid: (group.metadata as { uid: string }).uid, controller: true }]);
  assert.deepEqual(stored.status?.conditions?.map((c) => c.type), ['Connected']);
  const writes = kube.requests((x) => x.path.startsWith(WE_PATH) && x.verb !== 'get' && x.verb !== 'list' && x.verb !== 'watch');
  assert.deepEqual(writes.map((x) => `${x.method} ${x.subresource} ${x.status}`), ['POST  201', 'PUT status 200']);
  const written = r.objects[0];
  assert.equal(written?.metadata.resourceVersion, stored.metadata.resourceVersion, 'the write answers the object as stored');
  const listed = (await store.list()).objects.find((o) => o.metadata.name === 'vm-127.0.80.1');
  assert.equal(listed?.metadata.resourceVersion, stored.metadata.resourceVersion, 'a list right after the write sees it (read your writes)');
});

test('a status write on a stale resourceVersion is a 409 Conflict; the read-decide-write loop retries it on the fresh object and no condition is lost', async (t) => {
  const { kube, store } = await cluster(t);
  kube.store.seed(workloadGroup('vm'));
  await store.list();
  const ref = { kind: 'WorkloadEntry' as const, namespace: NS, name: 'vm-127.0.80.1' };
  const created = await store.write([{ op: 'create', object: autoEntry(ref.name, 'vm', 'meshbridge-a') }]);
  assert.ok(created.ok);
  const staleRv = created.objects[0]?.metadata.resourceVersion ?? '';

  // Another writer (another replica) adds its condition through /status.
  const concurrent = async (): Promise<void> => {
    const cur = await store.get(ref);
    const w = await new KubeTransport({ server: kube.url }).json('PUT', `${WE_PATH}/${ref.name}/status`, {}, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: { name: ref.name, namespace: NS, resourceVersion: cur?.metadata.resourceVersion },
      status: setCondition((cur as WorkloadEntry | undefined)?.status, { type: 'Other', status: 'True' }, 'Other'),
    });
    assert.ok(w);
  };
  await concurrent();
  const direct = await store.write([{ op: 'updateStatus', ref, status: { conditions: [] }, resourceVersion: staleRv }]);
  assert.ok(!direct.ok);
  assert.equal(direct.failure.code, 'Conflict');
  assert.match(direct.failure.message, new RegExp(`resourceVersion ${staleRv}`));
  assert.deepEqual((direct.failure.current as WorkloadEntry | undefined)?.status?.conditions?.map((c) => c.type), ['Connected', 'Other'], 'the Conflict carries the fresh object');

  // The lifecycle's loop: decided on a read that another writer overtakes before the write.
  let decisions = 0;
  kube.clearRequests();
  const r = await mutateEntry(store, ref, (cur) => {
    decisions++;
    if (!cur) return undefined;
    const op = { op: 'updateStatus' as const, ref, status: setCondition(cur.status, { type: 'Healthy', status: 'True' }, 'Healthy'), resourceVersion: cur.metadata.resourceVersion ?? '' };
    if (decisions === 1) return { ...op, resourceVersion: staleRv };
    return op;
  });
  assert.equal(r.kind, 'written');
  assert.equal(decisions, 2, 'decided again on the fresh object');
  const statusWrites = kube.requests((x) => x.subresource === 'status' && x.method === 'PUT').map((x) => x.status);
  assert.deepEqual(statusWrites, [409, 200], 'the stale write reached the API server and was refused with 409, then the retry passed');
  const final = await store.get(ref);
  assert.deepEqual((final as WorkloadEntry | undefined)?.status?.conditions?.map((c) => c.type).sort(), ['Connected', 'Healthy', 'Other'], 'no condition lost');
});

test('deletes carry preconditions (uid and resourceVersion); a delete for an older resourceVersion is a Conflict', async (t) => {
  const { kube, store } = await cluster(t);
  await store.list();
  const ref = { kind: 'WorkloadEntry' as const, namespace: NS, name: 'plain' };
  const created = await store.write([{ op: 'create', object: { ...autoEntry('plain', 'none', 'meshbridge-a'), status: undefined } as unknown as WorkloadEntry }]);
  assert.ok(created.ok);
  const rv1 = created.objects[0]?.metadata.resourceVersion ?? '';
  const updated = await store.write([{ op: 'updateStatus', ref, status: { conditions: [{ type: 'Healthy', status: 'True' }] } }]);
  assert.ok(updated.ok);
  const stale = await store.write([{ op: 'delete', ref, resourceVersion: rv1 }]);
  assert.ok(!stale.ok);
  assert.equal(stale.failure.code, 'Conflict');
  const rv2 = updated.objects[0]?.metadata.resourceVersion ?? '';
  const gone = await store.write([{ op: 'delete', ref, resourceVersion: rv2 }]);
  assert.ok(gone.ok, JSON.stringify(gone));
  const del = kube.requests((x) => x.method === 'DELETE' && x.path === `${WE_PATH}/plain`);
  assert.deepEqual(del.map((x) => x.status), [409, 200], 'the stale delete was refused by the API server (its precondition), the fresh one passed');
  const body = JSON.parse(del[1]?.body ?? '{}') as { preconditions?: { uid?: string; resourceVersion?: string } };
  assert.equal(body.preconditions?.resourceVersion, rv2);
  assert.equal(body.preconditions?.uid, created.objects[0]?.metadata.uid);
  assert.equal(await store.get(ref), undefined);
});

test('an entry controlled by another control plane (an istiod sharing the cluster) is left alone', async (t) => {
  const { kube, store } = await cluster(t, ISTIO_CRDS, { controls: (controller) => controller.startsWith('meshbridge-') });
  kube.store.seed({ ...(JSON.parse(JSON.stringify({ ...autoEntry('theirs', 'vm', 'istiod-5d8f'), origin: undefined })) as JsonObject) });
  await store.list();
  const ref = { kind: 'WorkloadEntry' as const, namespace: NS, name: 'theirs' };
  const before = kube.requests((x) => x.method !== 'GET').length;
  for (const op of [{ op: 'delete' as const, ref }, { op: 'updateStatus' as const, ref, status: { conditions: [] } }]) {
    const r = await store.write([op]);
    assert.ok(!r.ok);
    assert.equal(r.failure.code, 'ReadOnly');
    assert.match(r.failure.message, /controlled by istiod-5d8f, not by this meshbridge control plane/);
  }
  assert.equal(kube.requests((x) => x.method !== 'GET').length, before, 'nothing was written');
  assert.ok(await store.get(ref));
});

test('compare-and-swap: two stores incrementing one counter annotation with retry lose no update (an unchanged-looking write at a stale version is still a 409)', async (t) => {
  const { kube, store } = await cluster(t);
  const other = new KubeStore(new KubeTransport({ server: kube.url }), { backoff: FAST });
  t.after(() => other.close());
  const ref = { kind: 'WorkloadEntry' as const, namespace: NS, name: 'counter' };
  const counter = autoEntry('counter', 'none', 'meshbridge-a');
  const created = await store.write([{ op: 'create', object: { ...counter, metadata: { ...counter.metadata, annotations: { n: '0' } } } }]);
  assert.ok(created.ok);
  let conflicts = 0;
  const increment = async (s: KubeStore): Promise<void> => {
    for (;;) {
      const cur = await s.get(ref);
      assert.ok(cur);
      const n = Number(cur.metadata.annotations['n']) + 1;
      const r = await s.write([{ op: 'update', object: { ...cur, metadata: { ...cur.metadata, annotations: { n: String(n) } } } }]);
      if (r.ok) return;
      assert.equal(r.failure.code, 'Conflict');
      conflicts++;
    }
  };
  const N = 12;
  await Promise.all([store, other].map(async (s) => {
    for (let i = 0; i < N; i++) await increment(s);
  }));
  assert.equal((await store.get(ref))?.metadata.annotations['n'], String(2 * N));
  assert.ok(conflicts > 0, 'the two writers did collide');
});

test('a write of several objects is checked whole before its first request: an existing or invalid one leaves nothing written', async (t) => {
  const { kube, store } = await cluster(t);
  await store.list();
  assert.ok((await store.write([{ op: 'create', object: { ...autoEntry('b', 'none', 'meshbridge-a'), status: undefined } as unknown as WorkloadEntry }])).ok);
  kube.clearRequests();
  const exists = await store.write([{ op: 'create', object: autoEntry('a', 'none', 'meshbridge-a') }, { op: 'create', object: autoEntry('b', 'none', 'meshbridge-a') }]);
  assert.ok(!exists.ok);
  assert.deepEqual([exists.failure.code, exists.failure.index], ['AlreadyExists', 1]);
  const bad = { ...autoEntry('c', 'none', 'meshbridge-a'), spec: { address: '127.0.80.3', ports: { http: 70000 } } } as WorkloadEntry;
  const invalid = await store.write([{ op: 'create', object: autoEntry('a', 'none', 'meshbridge-a') }, { op: 'create', object: bad }]);
  assert.ok(!invalid.ok);
  assert.equal(invalid.failure.code, 'Invalid');
  assert.ok(invalid.failure.findings?.some((f) => f.field === 'spec.ports.http'), JSON.stringify(invalid.failure.findings));
  assert.deepEqual(kube.requests((r) => r.method !== 'GET'), [], 'no write request was sent');
  assert.equal(await store.get({ kind: 'WorkloadEntry', namespace: NS, name: 'a' }), undefined);
});
