/**
 * The one conformance suite of the store port (model/config/store.ts), run against every
 * implementation: memory (src/sources/memory), the folder of YAML (src/sources/file) and etcd
 * (test/store/etcd-store.test.ts). STYLE principle 8: one suite per port (Hono's
 * router/common.case.test.ts, krt's conformance_test.go).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigStore, StoreEvent, WriteResult } from '../../src/model/config/store.js';
import { objectKey, type ConfigObject, type WorkloadEntry } from '../../src/model/config/types.js';
import { objectsFrom } from '../support/mesh.js';
import { StoreMirror, until } from './store-mirror.js';

export interface StoreUnderTest {
  readonly store: ConfigStore;
  /** A second client of the same store (etcd: its own connection); the same store where there is one. */
  readonly other: ConfigStore;
  /** Puts objects in the store the way its operators do (folder: YAML files), and waits until it serves them. */
  seed(objects: readonly ConfigObject[]): Promise<void>;
  /** True when seeded objects may not be written (the file store's folder). */
  readonly seedsReadOnly: boolean;
  /**
   * False for a store whose writes of several objects are not one transaction (Kubernetes: one request
   * per object, checked whole before the first): such a write's objects do not share one revision nor
   * arrive in one watch event. Default true.
   */
  readonly transactional?: boolean;
  /** The kinds the store keeps, when not all (Kubernetes: Istio's CRDs, no MeshConfig). */
  readonly keeps?: (kind: string) => boolean;
  /** Makes the store forget its history up to now (etcd: compaction). */
  forgetHistory(): Promise<void>;
  cleanup(): Promise<void>;
}

export function we(name: string, address: string, ns = 'ns1', extra: Partial<Pick<WorkloadEntry, 'status'>> & { annotations?: Record<string, string> } = {}): WorkloadEntry {
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name, namespace: ns, labels: { app: name }, annotations: extra.annotations ?? {} },
    spec: { address, ports: { http: 8080 } },
    ...(extra.status ? { status: extra.status } : {}),
    origin: { file: '', line: 0, column: 0, order: 0 },
  };
}

const EVERY_KIND = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc, namespace: ns1}
spec: {hosts: [svc.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: svc}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: grp, namespace: ns1}
spec: {template: {ports: {http: 8080}, serviceAccount: sa}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: ns1}
spec: {host: svc.example.com}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: seeded, namespace: ns1}
spec: {address: 127.0.9.1}
---
apiVersion: meshbridge.io/v1alpha1
kind: MeshConfig
metadata: {name: mesh}
spec: {trustDomain: example.org}
`;

function ok(r: WriteResult): Extract<WriteResult, { ok: true }> {
  if (!r.ok) assert.fail(`write failed: ${r.failure.code}: ${r.failure.message}`);
  return r;
}

function failed(r: WriteResult, code: string): NonNullable<Extract<WriteResult, { ok: false }>['failure']> {
  assert.equal(r.ok, false, `expected ${code}, the write succeeded`);
  if (r.ok) throw new Error('unreachable');
  assert.equal(r.failure.code, code, r.failure.message);
  return r.failure;
}

const ref = (name: string, ns = 'ns1') => ({ kind: 'WorkloadEntry' as const, namespace: ns, name });

export function configStoreConformance(name: string, make: () => Promise<StoreUnderTest>): void {
  const withStore = (title: string, body: (s: StoreUnderTest) => Promise<void>): void => {
    void test(`store conformance (${name}): ${title}`, { timeout: 20_000 }, async () => {
      const s = await make();
      try {
        await body(s);
      } finally {
        await s.cleanup();
      }
    });
  };

  withStore('create stores the object with resourceVersion, creationTimestamp and uid; get and list return it', async ({ store }) => {
    const before = await store.list();
    const r = ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1', 'ns1', { status: { conditions: [{ type: 'Healthy', status: 'True' }] } }) }]));
    const stored = r.objects[0];
    assert.ok(stored?.metadata.resourceVersion && Number(stored.metadata.resourceVersion) > Number(before.revision));
    assert.equal(r.revision, stored.metadata.resourceVersion);
    assert.ok(stored.metadata.creationTimestamp && stored.metadata.uid);
    assert.equal((stored as WorkloadEntry).status?.conditions?.[0]?.type, 'Healthy', 'create keeps the given status');
    const got = await store.get(ref('vm1'));
    assert.equal(got?.metadata.resourceVersion, stored.metadata.resourceVersion);
    assert.deepEqual((got as WorkloadEntry).spec, { address: '127.0.8.1', ports: { http: 8080 } });
    const after = await store.list();
    assert.equal(after.revision, r.revision);
    assert.ok(after.objects.some((o) => objectKey(o) === 'WorkloadEntry/ns1/vm1'));
    assert.equal(await store.get(ref('absent')), undefined);
  });

  withStore('create of an existing object fails with AlreadyExists', async ({ store }) => {
    ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1') }]));
    const f = failed(await store.write([{ op: 'create', object: we('vm1', '127.0.8.2') }]), 'AlreadyExists');
    assert.match(f.message, /WorkloadEntry ns1\/vm1 already exists/);
  });

  withStore('update: with the current resourceVersion it succeeds, with a stale one it is a Conflict carrying the current object; status is kept', async ({ store }) => {
    const v1 = ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1', 'ns1', { status: { conditions: [{ type: 'Healthy', status: 'True' }] } }) }])).objects[0] as WorkloadEntry;
    const v2 = ok(await store.write([{ op: 'update', object: { ...v1, spec: { ...v1.spec, weight: 3 }, status: { conditions: [] } } }])).objects[0] as WorkloadEntry;
    assert.ok(Number(v2.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
    assert.equal(v2.spec.weight, 3);
    assert.equal(v2.status?.conditions?.[0]?.type, 'Healthy', 'update does not write status');
    assert.equal(v2.metadata.generation, 2, 'a spec change bumps the generation');
    assert.equal(v2.metadata.uid, v1.metadata.uid);
    assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
    const stale = failed(await store.write([{ op: 'update', object: { ...v1, spec: { ...v1.spec, weight: 5 } } }]), 'Conflict');
    assert.equal(stale.current?.metadata.resourceVersion, v2.metadata.resourceVersion);
    assert.match(stale.message, new RegExp(`resourceVersion ${v1.metadata.resourceVersion}.*has ${v2.metadata.resourceVersion}`));
    const { resourceVersion: _rv, ...meta } = v1.metadata;
    const blind = ok(await store.write([{ op: 'update', object: { ...v1, metadata: meta, spec: { ...v1.spec, weight: 7 } } }])).objects[0] as WorkloadEntry;
    assert.equal(blind.spec.weight, 7, 'without a resourceVersion an update is unconditional');
    failed(await store.write([{ op: 'update', object: we('absent', '127.0.8.9') }]), 'NotFound');
  });

  withStore('an update that changes nothing writes nothing: same resourceVersion, no watch event', async ({ store }) => {
    const v1 = ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1') }])).objects[0] as WorkloadEntry;
    const events: StoreEvent[] = [];
    const w = store.watch(v1.metadata.resourceVersion ?? '0', (e) => events.push(e));
    const again = ok(await store.write([{ op: 'update', object: v1 }])).objects[0];
    assert.equal(again?.metadata.resourceVersion, v1.metadata.resourceVersion);
    ok(await store.write([{ op: 'create', object: we('vm2', '127.0.8.2') }]));
    await until(() => events.some((e) => e.type === 'changes'));
    const changes = events.flatMap((e) => (e.type === 'changes' ? e.changes : []));
    assert.deepEqual(changes.map((c) => (c.type === 'put' ? objectKey(c.object) : c.key)), ['WorkloadEntry/ns1/vm2']);
    await w.close();
  });

  withStore('updateStatus replaces only the status, with optimistic concurrency', async ({ store }) => {
    const v1 = ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1') }])).objects[0] as WorkloadEntry;
    const status = { conditions: [{ type: 'Healthy', status: 'False', message: 'HTTP 503' }] };
    const v2 = ok(await store.write([{ op: 'updateStatus', ref: ref('vm1'), status, resourceVersion: v1.metadata.resourceVersion ?? '' }])).objects[0] as WorkloadEntry;
    assert.deepEqual(v2.status, status);
    assert.deepEqual(v2.spec, v1.spec);
    assert.equal(v2.metadata.generation, v1.metadata.generation, 'status does not bump the generation');
    failed(await store.write([{ op: 'updateStatus', ref: ref('vm1'), status: {}, resourceVersion: v1.metadata.resourceVersion ?? '' }]), 'Conflict');
    failed(await store.write([{ op: 'updateStatus', ref: ref('absent'), status: {} }]), 'NotFound');
    const cleared = ok(await store.write([{ op: 'updateStatus', ref: ref('vm1'), status: undefined }])).objects[0] as WorkloadEntry;
    assert.equal(cleared.status, undefined);
  });

  withStore('delete: a stale resourceVersion is a Conflict, then the object is gone; a missing one is NotFound', async ({ store }) => {
    const v1 = ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1') }])).objects[0] as WorkloadEntry;
    ok(await store.write([{ op: 'updateStatus', ref: ref('vm1'), status: { conditions: [] } }]));
    failed(await store.write([{ op: 'delete', ref: ref('vm1'), resourceVersion: v1.metadata.resourceVersion ?? '' }]), 'Conflict');
    ok(await store.write([{ op: 'delete', ref: ref('vm1') }]));
    assert.equal(await store.get(ref('vm1')), undefined);
    failed(await store.write([{ op: 'delete', ref: ref('vm1') }]), 'NotFound');
  });

  withStore('a transaction is all or nothing, and its writes share one revision', async ({ store, transactional }) => {
    ok(await store.write([{ op: 'create', object: we('b', '127.0.8.2') }]));
    const f = failed(await store.write([{ op: 'create', object: we('a', '127.0.8.1') }, { op: 'create', object: we('b', '127.0.8.3') }]), 'AlreadyExists');
    assert.equal(f.index, 1);
    assert.equal(await store.get(ref('a')), undefined, 'nothing of a failed transaction is written');
    const both = ok(await store.write([{ op: 'create', object: we('a', '127.0.8.1') }, { op: 'update', object: we('b', '127.0.8.4') }]));
    if (transactional !== false) assert.equal(both.objects[0]?.metadata.resourceVersion, both.objects[1]?.metadata.resourceVersion);
    else assert.ok(both.objects.every((o) => o?.metadata.resourceVersion !== undefined), 'each object written, at its own revision');
    failed(await store.write([{ op: 'delete', ref: ref('a') }, { op: 'delete', ref: ref('a') }]), 'Invalid');
  });

  withStore('admission: an invalid object is refused with field findings and nothing is written', async ({ store }) => {
    const bad = { ...we('bad', '127.0.8.1'), spec: { address: '127.0.8.1', ports: { http: 70000 } } } as WorkloadEntry;
    const f = failed(await store.write([{ op: 'create', object: we('good', '127.0.8.2') }, { op: 'create', object: bad }]), 'Invalid');
    assert.equal(f.index, 1);
    assert.ok(f.findings?.some((x) => x.field === 'spec.ports.http'), JSON.stringify(f.findings));
    assert.equal(await store.get(ref('good')), undefined);
  });

  withStore('list and watch every kind: changes after the listed revision arrive in order, once, a transaction in one event', async (s) => {
    const { store } = s;
    const kept = (o: ConfigObject): boolean => s.keeps?.(o.kind) ?? true;
    await s.seed(objectsFrom(EVERY_KIND).filter(kept));
    const listing = await store.list();
    assert.deepEqual(
      listing.objects.map(objectKey).sort(),
      ['DestinationRule/ns1/dr', 'MeshConfig/mesh', 'ServiceEntry/ns1/svc', 'WorkloadEntry/ns1/seeded', 'WorkloadGroup/ns1/grp'].filter((k) => s.keeps?.(k.split('/')[0] ?? '') ?? true),
    );
    assert.ok(listing.objects.every((o) => o.metadata.resourceVersion !== undefined));
    const mirror = new StoreMirror(store, listing);
    const t1 = ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1') }, { op: 'create', object: we('vm2', '127.0.8.2') }]));
    ok(await s.other.write([{ op: 'updateStatus', ref: ref('vm1'), status: { conditions: [{ type: 'Healthy', status: 'True' }] } }]));
    ok(await store.write([{ op: 'delete', ref: ref('vm2') }]));
    const last = ok(await store.write([{ op: 'create', object: we('vm3', '127.0.8.3') }]));
    await until(() => mirror.revision >= Number(last.revision));
    if (s.transactional !== false) assert.equal(mirror.batchOf(t1.revision), 1, 'the two creates of one transaction arrive in one event');
    assert.deepEqual(mirror.duplicates, []);
    assert.deepEqual(mirror.keys(), (await store.list()).objects.map(objectKey).sort());
    assert.equal((mirror.get('WorkloadEntry/ns1/vm1') as WorkloadEntry | undefined)?.status?.conditions?.[0]?.status, 'True');
    await mirror.close();
  });

  withStore('a watch from an earlier revision replays what it missed (or resyncs): the mirror ends equal to the store', async ({ store }) => {
    const start = ok(await store.write([{ op: 'create', object: we('vm0', '127.0.8.10') }])).revision;
    for (let i = 1; i <= 5; i++) ok(await store.write([{ op: 'create', object: we(`vm${i}`, `127.0.8.${i}`) }]));
    ok(await store.write([{ op: 'delete', ref: ref('vm0') }]));
    const mirror = new StoreMirror(store, { objects: [], revision: start, problems: [] }, [we('vm0', '127.0.8.10')]);
    const now = await store.list();
    await until(() => mirror.revision >= Number(now.revision));
    assert.deepEqual(mirror.keys(), now.objects.map(objectKey).sort());
    await mirror.close();
  });

  withStore('a watch from a forgotten (compacted) revision gets a complete resync', async (s) => {
    const { store } = s;
    const start = ok(await store.write([{ op: 'create', object: we('vm0', '127.0.8.10') }])).revision;
    ok(await store.write([{ op: 'create', object: we('vm1', '127.0.8.1') }]));
    ok(await store.write([{ op: 'delete', ref: ref('vm0') }]));
    await s.forgetHistory();
    const mirror = new StoreMirror(store, { objects: [], revision: start, problems: [] }, [we('vm0', '127.0.8.10')]);
    const now = await store.list();
    await until(() => mirror.revision >= Number(now.revision));
    assert.ok(mirror.resyncs >= 1, 'resynced');
    assert.deepEqual(mirror.keys(), now.objects.map(objectKey).sort());
    await mirror.close();
  });

  withStore('compare-and-swap: two clients incrementing one counter with retry lose no update', async (s) => {
    ok(await s.store.write([{ op: 'create', object: we('counter', '127.0.8.1', 'ns1', { annotations: { n: '0' } }) }]));
    const increment = async (store: ConfigStore): Promise<void> => {
      for (;;) {
        const cur = await store.get(ref('counter'));
        if (!cur) throw new Error('gone');
        const n = Number(cur.metadata.annotations['n']) + 1;
        const r = await store.write([{ op: 'update', object: { ...cur, metadata: { ...cur.metadata, annotations: { n: String(n) } } } as ConfigObject }]);
        if (r.ok) return;
        assert.equal(r.failure.code, 'Conflict');
      }
    };
    const N = 15;
    await Promise.all([
      (async () => {
        for (let i = 0; i < N; i++) await increment(s.store);
      })(),
      (async () => {
        for (let i = 0; i < N; i++) await increment(s.other);
      })(),
    ]);
    assert.equal((await s.store.get(ref('counter')))?.metadata.annotations['n'], String(2 * N));
  });

  withStore('seeded objects: status can always be written; spec writes are refused where the store is read-only', async (s) => {
    await s.seed(objectsFrom(EVERY_KIND).filter((o) => s.keeps?.(o.kind) ?? true));
    const seeded = ref('seeded');
    const r = ok(await s.store.write([{ op: 'updateStatus', ref: seeded, status: { conditions: [{ type: 'Healthy', status: 'True' }] } }]));
    assert.equal((r.objects[0] as WorkloadEntry).status?.conditions?.[0]?.status, 'True');
    const cur = (await s.store.get(seeded)) as WorkloadEntry;
    const upd = await s.store.write([{ op: 'update', object: { ...cur, spec: { ...cur.spec, weight: 2 } } }]);
    const del = await s.store.write([{ op: 'delete', ref: seeded }]);
    if (s.seedsReadOnly) {
      assert.match(failed(upd, 'ReadOnly').message, /WorkloadEntry ns1\/seeded/);
      failed(del, 'ReadOnly');
    } else {
      ok(upd);
      ok(del);
    }
  });
}
