/**
 * The fake Kubernetes API server (the project's one TEST DOUBLE, test/support/fake-kube-apiserver.ts)
 * checked over plain HTTP against the API server's documented list/watch and write semantics: one
 * revision counter, watch replay and 410 Expired in both forms, selectors and their watch transitions,
 * bookmarks, timeoutSeconds, sendInitialEvents, faults, preconditions, the four patch types, Status
 * bodies, CRDs and discovery. Its fidelity against a real client is checked in
 * fake-apiserver-kubectl.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crd, FakeKubeApiServer, ISTIO_CRDS, type JsonObject } from '../support/fake-kube-apiserver.js';
import { kubeRequest, WatchReader } from '../support/kube-http.js';

let kube: FakeKubeApiServer;
const PODS = '/api/v1/namespaces/default/pods';
const WES = '/apis/networking.istio.io/v1/namespaces/default/workloadentries';

before(async () => {
  kube = await FakeKubeApiServer.start();
  for (const c of ISTIO_CRDS) kube.store.seed(c);
});
after(async () => {
  await kube.close();
});

function pod(name: string, labels: Record<string, string> = {}, phase = 'Running'): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { containers: [{ name: 'app', image: 'x' }] },
    status: { phase, podIP: '127.0.30.1', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return kubeRequest(kube.url, method, path, body, headers);
}

interface Meta {
  name: string;
  resourceVersion: string;
  generation?: number;
  uid: string;
  labels?: Record<string, string>;
  managedFields?: { manager: string; fieldsV1: unknown }[];
}
interface Obj {
  metadata: Meta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}
interface List {
  kind: string;
  metadata: { resourceVersion: string; continue?: string };
  items: Obj[];
}

function names(body: unknown): string[] {
  return (body as List).items.map((i) => i.metadata.name).sort();
}

function clean(prefix: string): void {
  const podType = kube.store.registry.get('', 'v1', 'pods');
  if (!podType) return;
  for (const p of kube.store.list(podType, 'default')) {
    const name = (p.metadata as { name: string }).name;
    if (name.startsWith(prefix)) kube.store.unseed('v1', 'Pod', 'default', name);
  }
}

test('one revision counter: every write bumps it, an object carries the revision of its last write, a no-op write does not', async () => {
  const r0 = kube.store.revision;
  const created = await call('POST', PODS, pod('rev-a'));
  assert.equal(created.status, 201);
  const a = created.body as Obj;
  assert.equal(a.metadata.resourceVersion, String(r0 + 1));
  assert.equal(a.metadata.generation, 1);
  assert.match(a.metadata.uid, /^[0-9a-f-]{36}$/);
  await call('POST', PODS, pod('rev-b'));
  const list = (await call('GET', PODS)).body as List;
  assert.equal(list.kind, 'PodList');
  assert.equal(list.metadata.resourceVersion, String(r0 + 2));
  const merged = await call('PATCH', `${PODS}/rev-a`, { metadata: { labels: { x: '1' } } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.equal((merged.body as Obj).metadata.resourceVersion, String(r0 + 3));
  const again = await call('PATCH', `${PODS}/rev-a`, { metadata: { labels: { x: '1' } } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.equal((again.body as Obj).metadata.resourceVersion, String(r0 + 3), 'unchanged object: no new revision');
  assert.equal(kube.store.revision, r0 + 3);
  clean('rev-');
});

test('watch: from "0" synthetic ADDED then live events; from N exactly the events after N', async () => {
  kube.store.seed(pod('w-a'));
  const from = kube.store.revision;
  const w0 = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=0&labelSelector=${encodeURIComponent('w')}`);
  kube.store.seed(pod('w-b', { w: '1' }));
  kube.store.seed(pod('w-a', { w: '1' }));
  const wN = new WatchReader(kube.url, `${PODS}?watch=1&resourceVersion=${from}`);
  const live = await wN.waitFor(2);
  assert.deepEqual(
    live.map((e) => `${e.type}:${e.object.metadata?.name}@${e.object.metadata?.resourceVersion}`),
    [`ADDED:w-b@${from + 1}`, `MODIFIED:w-a@${from + 2}`],
  );
  const first = await w0.waitFor(2);
  assert.deepEqual(first.map((e) => `${e.type}:${e.object.metadata?.name}`).sort(), ['ADDED:w-a', 'ADDED:w-b'].sort());
  assert.equal(w0.status, 200);
  w0.close();
  wN.close();
  clean('w-');
});

test('410 Expired: a watch from a compacted revision gets 200 + one ERROR event by default, HTTP 410 when switched; a list is not affected', async () => {
  const old = kube.store.revision;
  kube.store.seed(pod('gone-a'));
  kube.compact();
  const expiredBody = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'The resourceVersion for the provided watch is too old.',
    reason: 'Expired',
    code: 410,
  };
  const w = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=${old}`);
  await w.end();
  assert.equal(w.status, 200);
  assert.deepEqual(w.events, [{ type: 'ERROR', object: expiredBody }]);
  kube.expiredWatch = 'http';
  try {
    const r = await call('GET', `${PODS}?watch=true&resourceVersion=${old}`);
    assert.equal(r.status, 410);
    assert.deepEqual(r.body, expiredBody);
  } finally {
    kube.expiredWatch = 'event';
  }
  const current = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=${kube.store.revision}`);
  kube.store.seed(pod('gone-b'));
  assert.equal((await current.waitFor(1))[0]?.object.metadata?.name, 'gone-b', 'a watch from the current revision works');
  current.close();
  assert.equal((await call('GET', PODS)).status, 200);
  clean('gone-');
});

test('410 Expired by the bounded history window: the oldest events fall out', async () => {
  const small = await FakeKubeApiServer.start({ historyLimit: 3 });
  try {
    const start = small.store.revision;
    for (const n of ['h1', 'h2', 'h3', 'h4']) small.store.seed(pod(n));
    const tooOld = new WatchReader(small.url, `${PODS}?watch=true&resourceVersion=${start}`);
    await tooOld.end();
    assert.equal(tooOld.events[0]?.type, 'ERROR');
    const inWindow = new WatchReader(small.url, `${PODS}?watch=true&resourceVersion=${start + 1}`);
    assert.deepEqual((await inWindow.waitFor(3)).map((e) => e.object.metadata?.name), ['h2', 'h3', 'h4']);
    inWindow.close();
  } finally {
    await small.close();
  }
});

test('label selectors (=, ==, !=, in, notin, exists, !key) and field selectors (metadata.name, metadata.namespace, status.phase!=Failed)', async () => {
  kube.store.seed(pod('sel-a', { app: 'web', tier: 'front' }));
  kube.store.seed(pod('sel-b', { app: 'api' }, 'Failed'));
  kube.store.seed(pod('sel-c', { app: 'db', tier: 'back' }, 'Pending'));
  const q = async (params: string) => names((await call('GET', `${PODS}?${params}`)).body).filter((n) => n.startsWith('sel-'));
  const ls = (s: string) => `labelSelector=${encodeURIComponent(s)}`;
  const fs = (s: string) => `fieldSelector=${encodeURIComponent(s)}`;
  assert.deepEqual(await q(ls('app=web')), ['sel-a']);
  assert.deepEqual(await q(ls('app==web')), ['sel-a']);
  assert.deepEqual(await q(ls('app!=web')), ['sel-b', 'sel-c']);
  assert.deepEqual(await q(ls('app in (web,db)')), ['sel-a', 'sel-c']);
  assert.deepEqual(await q(ls('app notin (web, db)')), ['sel-b']);
  assert.deepEqual(await q(ls('tier')), ['sel-a', 'sel-c']);
  assert.deepEqual(await q(ls('!tier')), ['sel-b']);
  assert.deepEqual(await q(ls('tier,app in (db)')), ['sel-c']);
  assert.deepEqual(await q(fs('status.phase!=Failed')), ['sel-a', 'sel-c']);
  assert.deepEqual(await q(fs('metadata.name=sel-b')), ['sel-b']);
  const all = await call('GET', `/api/v1/pods?${fs('metadata.namespace=default,status.phase=Pending')}`);
  assert.deepEqual(names(all.body).filter((n) => n.startsWith('sel-')), ['sel-c']);
  const badField = await call('GET', `${PODS}?${fs('spec.foo=1')}`);
  assert.equal(badField.status, 400);
  assert.equal((badField.body as { reason: string }).reason, 'BadRequest');
  const badLabel = await call('GET', `${PODS}?${ls('app in web')}`);
  assert.equal(badLabel.status, 400);
  clean('sel-');
});

test('watch with a selector: leaving it is a DELETED (old content, new revision), entering it an ADDED', async () => {
  kube.store.seed(pod('tr-a', { app: 'web' }));
  const w = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=${kube.store.revision}&labelSelector=app%3Dweb`);
  await w.opened();
  const left = kube.store.seed(pod('tr-a', { app: 'other' }));
  kube.store.seed(pod('tr-a', { app: 'web' }));
  const events = await w.waitFor(2);
  assert.equal(events[0]?.type, 'DELETED');
  assert.deepEqual(events[0]?.object.metadata?.name, 'tr-a');
  assert.equal((events[0]?.object.metadata as Meta).labels?.app, 'web', 'the old content');
  assert.equal(events[0]?.object.metadata?.resourceVersion, (left.metadata as { resourceVersion: string }).resourceVersion);
  assert.equal(events[1]?.type, 'ADDED');
  w.close();
  clean('tr-');
});

test('bookmarks only with allowWatchBookmarks, carrying only the resourceVersion; timeoutSeconds ends the stream cleanly', async () => {
  const withBm = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=${kube.store.revision}&allowWatchBookmarks=true&timeoutSeconds=1`);
  const without = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=${kube.store.revision}&timeoutSeconds=1`);
  await Promise.all([withBm.opened(), without.opened()]);
  kube.sendBookmarks();
  const [bm] = await withBm.waitFor(1);
  assert.deepEqual(bm, { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(kube.store.revision) } } });
  const t0 = Date.now();
  await Promise.all([withBm.end(3000), without.end(3000)]);
  assert.ok(Date.now() - t0 < 1500, 'ended by timeoutSeconds');
  assert.deepEqual(without.events, []);
});

test('sendInitialEvents: ADDED for the current state then the initial-events-end bookmark; without resourceVersionMatch=NotOlderThan it is 422', async () => {
  kube.store.seed(pod('init-a'));
  const q = `${PODS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&labelSelector=`;
  const w = new WatchReader(kube.url, q);
  const events = await w.waitFor(1);
  const end = await w.waitFor(events.length + 1);
  assert.ok(end.some((e) => e.type === 'ADDED' && e.object.metadata?.name === 'init-a'));
  const last = end.at(-1);
  assert.equal(last?.type, 'BOOKMARK');
  w.close();
  const all = new WatchReader(kube.url, q);
  const podType = kube.store.registry.get('', 'v1', 'pods');
  const count = podType ? kube.store.list(podType, 'default').length : 0;
  const got = await all.waitFor(count + 1);
  assert.deepEqual(got.at(-1)?.object.metadata?.annotations, { 'k8s.io/initial-events-end': 'true' });
  all.close();
  const bad = await call('GET', `${PODS}?watch=true&sendInitialEvents=true`);
  assert.equal(bad.status, 422);
  clean('init-');
});

test('faults: N x 500 / 429 with Retry-After on list and watch, stalled requests and (half-open) watches, connections refused then back, the request log counts per second', async () => {
  kube.clearRequests();
  kube.failNext(2, 500);
  assert.equal((await call('GET', PODS)).status, 500);
  const second = await call('GET', `${PODS}?watch=true`);
  assert.equal(second.status, 500);
  assert.equal((second.body as { reason: string }).reason, 'InternalError');
  assert.equal((await call('GET', PODS)).status, 200);
  kube.failNext(1, 429, { retryAfterSeconds: 2 });
  const limited = await call('GET', PODS);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers['retry-after'], '2');
  assert.equal(kube.maxRequestsPerSecond((r) => r.verb === 'list' || r.verb === 'watch'), 4);
  assert.deepEqual(
    kube.requests().map((r) => `${r.method} ${r.verb} ${r.status}`),
    ['GET list 500', 'GET watch 500', 'GET list 200', 'GET list 429'],
  );

  kube.stallNext(1, ['list']);
  await assert.rejects(fetch(`${kube.url}${PODS}`, { signal: AbortSignal.timeout(300) }), 'a stalled request is never answered');
  assert.equal((await call('GET', PODS)).status, 200, 'only the next one stalls');

  const w = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=${kube.store.revision}`);
  await w.opened();
  kube.stallWatches();
  kube.store.seed(pod('fault-a'));
  await sleep(200);
  assert.deepEqual(w.events, [], 'a half-open watch sends nothing');
  assert.equal(w.ended, false, 'and does not end');
  w.close();

  const w2 = new WatchReader(kube.url, `${PODS}?watch=true&resourceVersion=${kube.store.revision}`);
  await w2.opened();
  const t0 = Date.now();
  await kube.refuseConnections(300);
  await w2.end();
  await assert.rejects(fetch(`${kube.url}/version`), 'connection refused while down');
  while ((await fetch(`${kube.url}/version`).then((r) => r.status, () => 0)) !== 200) await sleep(20);
  assert.ok(Date.now() - t0 >= 290, 'back after the pause');
  clean('fault-');
});

test('writes: AlreadyExists, NotFound, stale resourceVersion, unconditional PUT of a custom resource, status subresource split, generation, delete preconditions', async () => {
  const we = { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'we1' }, spec: { address: '127.0.40.1' }, status: { x: 1 } };
  const created = await call('POST', WES, we);
  assert.equal(created.status, 201);
  const c = created.body as Obj;
  assert.equal(c.status, undefined, 'POST ignores .status of a kind with a status subresource');
  const dup = await call('POST', WES, we);
  assert.equal(dup.status, 409);
  assert.deepEqual(dup.body, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'workloadentries.networking.istio.io "we1" already exists',
    reason: 'AlreadyExists',
    details: { name: 'we1', group: 'networking.istio.io', kind: 'workloadentries' },
    code: 409,
  });
  const missing = await call('GET', `${PODS}/nope`);
  assert.deepEqual(missing.body, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'pods "nope" not found',
    reason: 'NotFound',
    details: { name: 'nope', kind: 'pods' },
    code: 404,
  });
  const noRv = await call('PUT', `${WES}/we1`, we);
  assert.equal(noRv.status, 422);
  assert.equal(
    (noRv.body as { message: string }).message,
    'WorkloadEntry.networking.istio.io "we1" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
  );
  const rv = c.metadata.resourceVersion;
  const metaOnly = await call('PUT', `${WES}/we1`, { ...we, metadata: { name: 'we1', resourceVersion: rv, labels: { a: 'b' } }, status: { y: 2 } });
  assert.equal(metaOnly.status, 200);
  const m = metaOnly.body as Obj;
  assert.equal(m.metadata.generation, 1, 'no spec change: same generation');
  assert.equal(m.status, undefined, 'PUT on the object ignores .status');
  const stale = await call('PUT', `${WES}/we1`, { ...we, metadata: { name: 'we1', resourceVersion: rv } });
  assert.equal(stale.status, 409);
  assert.equal(
    (stale.body as { message: string }).message,
    'Operation cannot be fulfilled on workloadentries.networking.istio.io "we1": the object has been modified; please apply your changes to the latest version and try again',
  );
  const spec = await call('PUT', `${WES}/we1`, { ...we, metadata: { name: 'we1', resourceVersion: m.metadata.resourceVersion }, spec: { address: '127.0.40.2' } });
  const s = spec.body as Obj;
  assert.equal(s.metadata.generation, 2, 'a spec change bumps generation');
  const status = await call('PUT', `${WES}/we1/status`, {
    ...we,
    metadata: { name: 'we1', resourceVersion: s.metadata.resourceVersion },
    spec: { address: 'ignored' },
    status: { conditions: [{ type: 'Healthy', status: 'True' }] },
  });
  const st = status.body as Obj;
  assert.deepEqual(st.status, { conditions: [{ type: 'Healthy', status: 'True' }] });
  assert.equal(st.spec?.address, '127.0.40.2', '/status writes only .status');
  assert.equal(st.metadata.generation, 2);
  const wrongRv = await call('DELETE', `${WES}/we1`, { preconditions: { resourceVersion: rv } });
  assert.equal(wrongRv.status, 409);
  assert.match((wrongRv.body as { message: string }).message, /Precondition failed: ResourceVersion in precondition: \d+, ResourceVersion in object meta: \d+/);
  const wrongUid = await call('DELETE', `${WES}/we1`, { preconditions: { uid: 'x' } });
  assert.equal((wrongUid.body as { reason: string }).reason, 'Conflict');
  const ok = await call('DELETE', `${WES}/we1`, { preconditions: { uid: st.metadata.uid, resourceVersion: st.metadata.resourceVersion } });
  assert.equal(ok.status, 200);
  assert.equal((await call('GET', `${WES}/we1`)).status, 404);
  const noNs = await call('POST', '/api/v1/namespaces/nowhere/pods', { ...pod('x'), metadata: { name: 'x' } });
  assert.equal((noNs.body as { message: string }).message, 'namespaces "nowhere" not found');
});

test('PATCH: json patch (422 when an op cannot apply, 400 when not a patch), merge patch, strategic merge by key on built-ins and 415 on custom resources, unknown type 415', async () => {
  kube.store.seed({
    ...pod('pt-a'),
    spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const json = { 'Content-Type': 'application/json-patch+json' };
  const failed = await call('PATCH', `${PODS}/pt-a`, [{ op: 'test', path: '/spec/containers/0/name', value: 'zzz' }], json);
  assert.equal(failed.status, 422);
  assert.deepEqual(failed.body, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server rejected our request due to an error in our request',
    reason: 'Invalid',
    details: {},
    code: 422,
  });
  assert.equal((await call('PATCH', `${PODS}/pt-a`, [{ op: 'remove', path: '/spec/nothere' }], json)).status, 422);
  const notPatch = await call('PATCH', `${PODS}/pt-a`, { op: 'add' }, json);
  assert.equal(notPatch.status, 400);
  const applied = await call('PATCH', `${PODS}/pt-a`, [{ op: 'test', path: '/spec/containers/1/name', value: 'b' }, { op: 'replace', path: '/spec/containers/1/image', value: 'z' }], json);
  assert.equal(((applied.body as Obj).spec?.containers as { image: string }[])[1]?.image, 'z');

  const smp = { 'Content-Type': 'application/strategic-merge-patch+json' };
  const byName = await call('PATCH', `${PODS}/pt-a`, { spec: { containers: [{ name: 'b', image: 'b2' }, { name: 'c', image: 'c1' }, { name: 'a', $patch: 'delete' }] } }, smp);
  assert.deepEqual((byName.body as Obj).spec?.containers, [
    { name: 'b', image: 'b2' },
    { name: 'c', image: 'c1' },
  ]);
  const conds = await call('PATCH', `${PODS}/pt-a/status`, { status: { conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False' }] } }, smp);
  assert.deepEqual((conds.body as Obj).status?.conditions, [
    { type: 'Ready', status: 'False' },
    { type: 'PodScheduled', status: 'True' },
  ]);
  const merge = await call('PATCH', `${PODS}/pt-a`, { spec: { containers: [{ name: 'only' }] } }, { 'Content-Type': 'application/merge-patch+json' });
  assert.deepEqual((merge.body as Obj).spec?.containers, [{ name: 'only' }], 'a merge patch replaces lists');

  await call('POST', WES, { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'pt-we' }, spec: { address: '127.0.40.3' } });
  const cr = await call('PATCH', `${WES}/pt-we`, { spec: { weight: 2 } }, smp);
  assert.equal(cr.status, 415);
  assert.equal(
    (cr.body as { message: string }).message,
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
  );
  assert.equal((await call('PATCH', `${PODS}/pt-a`, { a: 1 }, { 'Content-Type': 'application/json' })).status, 415);
  await call('DELETE', `${WES}/pt-we`);
  clean('pt-');
});

test('server-side apply: fieldManager required (422), conflicts between managers (409 with causes), force takes only the conflicting fields, an omitted field is pruned', async () => {
  const apply = { 'Content-Type': 'application/apply-patch+yaml' };
  const path = `${WES}/ssa`;
  const cfg = (spec: Record<string, unknown>) => ({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'ssa' }, spec });
  const noManager = await call('PATCH', path, cfg({ address: '127.0.50.1' }), apply);
  assert.equal(noManager.status, 422);
  assert.match((noManager.body as { message: string }).message, /fieldManager: Required value/);
  const created = await call('PATCH', `${path}?fieldManager=a`, cfg({ address: '127.0.50.1', weight: 1 }), apply);
  assert.equal(created.status, 201);
  const clash = await call('PATCH', `${path}?fieldManager=b`, cfg({ address: '127.0.50.2', network: 'n1' }), apply);
  assert.equal(clash.status, 409);
  assert.deepEqual((clash.body as { details: unknown }).details, {
    name: 'ssa',
    group: 'networking.istio.io',
    kind: 'workloadentries',
    causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "a" using networking.istio.io/v1', field: '.spec.address' }],
  });
  const forced = await call('PATCH', `${path}?fieldManager=b&force=true`, cfg({ address: '127.0.50.2', network: 'n1' }), apply);
  const f = forced.body as Obj;
  assert.equal(f.spec?.address, '127.0.50.2');
  assert.deepEqual(
    f.metadata.managedFields?.map((e) => [e.manager, e.fieldsV1]),
    [
      ['a', { 'f:spec': { 'f:weight': {} } }],
      ['b', { 'f:spec': { 'f:address': {}, 'f:network': {} } }],
    ],
  );
  const pruned = await call('PATCH', `${path}?fieldManager=b`, cfg({ address: '127.0.50.2' }), apply);
  assert.deepEqual((pruned.body as Obj).spec, { address: '127.0.50.2', weight: 1 }, 'b no longer applies network: removed');
  const status = await call('PATCH', `${path}/status?fieldManager=c&force=true`, { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'ssa' }, status: { conditions: [{ type: 'Healthy', status: 'True' }] } }, apply);
  assert.deepEqual((status.body as Obj).status, { conditions: [{ type: 'Healthy', status: 'True' }] });
  const dry = await call('PATCH', `${path}?fieldManager=b&dryRun=All`, cfg({ address: '127.0.50.9' }), apply);
  assert.equal((dry.body as Obj).spec?.address, '127.0.50.9');
  assert.equal(((await call('GET', path)).body as Obj).spec?.address, '127.0.50.2', 'dryRun did not persist');
  await call('DELETE', path);
});

test('a CRD created mid-run makes its group servable and discoverable (with the status subresource); deleting it removes both and its objects', async () => {
  const before = await call('GET', '/apis/example.meshbridge.io/v1/widgets');
  assert.equal(before.status, 404);
  assert.deepEqual(before.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 });
  const made = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd({ group: 'example.meshbridge.io', kind: 'Widget', plural: 'widgets', shortNames: ['wd'] }));
  assert.equal(made.status, 201);
  assert.ok(((made.body as Obj).status?.conditions as { type: string; status: string }[]).some((c) => c.type === 'Established' && c.status === 'True'));
  const groups = (await call('GET', '/apis')).body as { groups: { name: string; preferredVersion: { version: string } }[] };
  assert.equal(groups.groups.find((g) => g.name === 'example.meshbridge.io')?.preferredVersion.version, 'v1');
  const resources = (await call('GET', '/apis/example.meshbridge.io/v1')).body as { resources: Record<string, unknown>[] };
  assert.deepEqual(resources.resources, [
    { name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['wd'] },
    { name: 'widgets/status', singularName: '', namespaced: true, kind: 'Widget', verbs: ['get', 'patch', 'update'] },
  ]);
  const obj = await call('POST', '/apis/example.meshbridge.io/v1/namespaces/default/widgets', { apiVersion: 'example.meshbridge.io/v1', kind: 'Widget', metadata: { name: 'w' } });
  assert.equal(obj.status, 201);
  const bad = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { ...crd({ group: 'g.io', kind: 'K', plural: 'ks' }), metadata: { name: 'wrong' } });
  assert.equal(bad.status, 422);
  await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.meshbridge.io');
  assert.equal((await call('GET', '/apis/example.meshbridge.io/v1/namespaces/default/widgets')).status, 404);
  assert.equal((await call('GET', '/apis/example.meshbridge.io')).status, 404);
});

test('discovery: /api, /api/v1 with subresources, /apis/<group>/<version>, /version; pagination with limit and continue', async () => {
  const api = (await call('GET', '/api')).body as { kind: string; versions: string[] };
  assert.deepEqual([api.kind, api.versions], ['APIVersions', ['v1']]);
  const v1 = (await call('GET', '/api/v1')).body as { groupVersion: string; resources: { name: string; namespaced: boolean; kind: string; verbs: string[]; shortNames?: string[] }[] };
  assert.equal(v1.groupVersion, 'v1');
  assert.deepEqual(v1.resources.find((r) => r.name === 'pods/status'), { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] });
  assert.deepEqual(v1.resources.find((r) => r.name === 'nodes')?.namespaced, false);
  assert.deepEqual(v1.resources.find((r) => r.name === 'services')?.shortNames, ['svc']);
  const es = (await call('GET', '/apis/discovery.k8s.io/v1')).body as { resources: { name: string }[] };
  assert.deepEqual(es.resources.map((r) => r.name), ['endpointslices']);
  assert.equal(((await call('GET', '/apis/coordination.k8s.io/v1')).body as { resources: { kind: string }[] }).resources[0]?.kind, 'Lease');
  assert.equal(((await call('GET', '/version')).body as { major: string }).major, '1');
  for (const n of ['pg-1', 'pg-2', 'pg-3']) kube.store.seed(pod(n));
  const sel = 'labelSelector=&fieldSelector=' + encodeURIComponent('metadata.name!=nothing');
  const page1 = (await call('GET', `${PODS}?limit=2&${sel}`)).body as List;
  assert.equal(page1.items.length, 2);
  assert.ok(page1.metadata.continue);
  const page2 = (await call('GET', `${PODS}?limit=100&continue=${page1.metadata.continue}&${sel}`)).body as List;
  const podType = kube.store.registry.get('', 'v1', 'pods');
  assert.equal(page1.items.length + page2.items.length, podType ? kube.store.list(podType, 'default').length : -1);
  kube.store.seed(pod('pg-4'));
  kube.compact();
  const expiredPage = await call('GET', `${PODS}?limit=100&continue=${page1.metadata.continue}`);
  assert.equal(expiredPage.status, 410);
  clean('pg-');
});

test('a bearer token is required when configured (401 Unauthorized Status otherwise)', async () => {
  const secured = await FakeKubeApiServer.start({ token: 's3cret' });
  try {
    const refused = await kubeRequest(secured.url, 'GET', '/api/v1/pods');
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const ok = await kubeRequest(secured.url, 'GET', '/api/v1/pods', undefined, { Authorization: 'Bearer s3cret' });
    assert.equal(ok.status, 200);
  } finally {
    await secured.close();
  }
});
