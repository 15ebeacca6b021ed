/**
 * The supervised informer (src/sources/kube/informer.ts) against the fake Kubernetes API server (the
 * project's one TEST DOUBLE): cold start, re-watch from bookmarks, relist with the exact diff on 410 in
 * both forms, backoff without a request storm on a 500 burst, the watchdog on a half-open watch, an API
 * server that refuses connections and comes back with no event lost, and the sync gate.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, Informer, REFLECTOR_BACKOFF, waitForSync, watchTimeoutSeconds, type KubeObject } from '../../src/sources/kube/informer.js';
import { KubeTransport } from '../../src/sources/kube/kube-transport.js';
import { FakeKubeApiServer, type JsonObject } from '../support/fake-kube-apiserver.js';

let kube: FakeKubeApiServer;
let transport: KubeTransport;
const FAST = { initialMs: 100, maxMs: 400 };

before(async () => {
  kube = await FakeKubeApiServer.start();
  transport = new KubeTransport({ server: kube.url });
});
after(async () => {
  await kube.close();
});

function pod(name: string, namespace = 'default', labels: Record<string, string> = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [] } };
}

/** An informer whose handler calls are recorded as `add:ns/name`. */
function recorded(name: string, path: string, extra: Partial<ConstructorParameters<typeof Informer>[1]> = {}) {
  const log: string[] = [];
  const id = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const informer = new Informer(transport, { name, path, backoff: FAST, ...extra }, {
    add: (o) => log.push(`add:${id(o)}`),
    update: (o) => log.push(`update:${id(o)}`),
    delete: (o) => log.push(`delete:${id(o)}`),
  });
  return { informer, log };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/** Watches on `path` that the fake registered (answered 200). */
function watchesOn(path: string): number {
  return kube.requests((r) => r.verb === 'watch' && r.path === path && r.status === 200).length;
}

function cleanNamespace(ns: string): void {
  kube.store.unseed('v1', 'Namespace', '', ns);
}

test('the reflector\'s schedule: backoff 0.8 s doubling to 30 s with jitter up to 2x, watch timeouts in [300, 600)', () => {
  assert.equal(backoffDelay(1, REFLECTOR_BACKOFF, () => 0), 800);
  assert.equal(backoffDelay(2, REFLECTOR_BACKOFF, () => 0), 1600);
  assert.equal(backoffDelay(1, REFLECTOR_BACKOFF, () => 0.5), 1200);
  assert.equal(backoffDelay(6, REFLECTOR_BACKOFF, () => 0), 25_600);
  assert.equal(backoffDelay(7, REFLECTOR_BACKOFF, () => 0), 30_000);
  assert.equal(backoffDelay(50, REFLECTOR_BACKOFF, () => 0.99), 30_000);
  assert.equal(watchTimeoutSeconds(() => 0), 300);
  assert.equal(watchTimeoutSeconds(() => 0.9999), 599);
});

test('cold start: list, then a watch from the list resourceVersion with bookmarks and a timeout; events reach the cache and handlers', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cold' } });
  kube.store.seed(pod('a', 'cold'));
  kube.clearRequests();
  const { informer, log } = recorded('pods', '/api/v1/namespaces/cold/pods');
  informer.start();
  try {
    assert.deepEqual(await waitForSync([informer], 3000), { synced: true, pending: [] });
    await until(() => watchesOn('/api/v1/namespaces/cold/pods') > 0);
    const [list, watch] = kube.requests((r) => r.path === '/api/v1/namespaces/cold/pods');
    assert.equal(list?.verb, 'list');
    assert.equal(watch?.verb, 'watch');
    assert.equal(watch?.query.resourceVersion, String(kube.store.revision));
    assert.equal(watch?.query.allowWatchBookmarks, 'true');
    const t = Number(watch?.query.timeoutSeconds);
    assert.ok(t >= 300 && t < 600, `timeoutSeconds ${t}`);
    kube.store.seed(pod('b', 'cold'));
    kube.store.seed(pod('a', 'cold', { v: '2' }));
    kube.store.unseed('v1', 'Pod', 'cold', 'b');
    await until(() => log.length === 4);
    assert.deepEqual(log, ['add:cold/a', 'add:cold/b', 'update:cold/a', 'delete:cold/b']);
    assert.deepEqual(informer.list().map((o) => o.metadata.name), ['a']);
    assert.equal(informer.status().resourceVersion, String(kube.store.revision));
  } finally {
    await informer.stop();
    cleanNamespace('cold');
  }
});

test('a clean end re-watches from the last bookmark without a relist', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bm' } });
  const { informer } = recorded('pods', '/api/v1/namespaces/bm/pods');
  informer.start();
  try {
    await until(() => watchesOn('/api/v1/namespaces/bm/pods') > 0);
    kube.store.seed(pod('elsewhere', 'default'));
    kube.sendBookmarks();
    const bookmarkRv = String(kube.store.revision);
    await until(() => informer.status().resourceVersion === bookmarkRv);
    kube.clearRequests();
    kube.endWatches();
    await until(() => kube.requests((r) => r.verb === 'watch').length === 1);
    assert.deepEqual(kube.requests().map((r) => `${r.verb} ${r.query.resourceVersion ?? ''}`), [`watch ${bookmarkRv}`]);
    assert.equal(informer.status().relists, 0);
  } finally {
    await informer.stop();
    cleanNamespace('bm');
  }
});

for (const mode of ['event', 'http'] as const) {
  test(`410 Gone as ${mode === 'event' ? 'an ERROR event' : 'the HTTP status'}: relist with exactly the right deletes and adds`, async () => {
    const ns = `gone-${mode}`;
    kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    kube.store.seed(pod('a', ns));
    kube.store.seed(pod('b', ns));
    const { informer, log } = recorded('pods', `/api/v1/namespaces/${ns}/pods`);
    informer.start();
    kube.expiredWatch = mode;
    try {
      await until(() => watchesOn(`/api/v1/namespaces/${ns}/pods`) > 0 && log.length === 2);
      kube.stallWatches();
      kube.store.unseed('v1', 'Pod', ns, 'a');
      kube.store.seed(pod('c', ns));
      kube.compact();
      kube.destroyWatches();
      await until(() => informer.status().relists === 1 && log.length === 4);
      assert.deepEqual(log, [`add:${ns}/a`, `add:${ns}/b`, `add:${ns}/c`, `delete:${ns}/a`]);
      assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['b', 'c']);
    } finally {
      kube.expiredWatch = 'event';
      await informer.stop();
      cleanNamespace(ns);
    }
  });
}

test('a 500 burst: retried with exponential backoff, no request storm, and it recovers', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'burst' } });
  kube.clearRequests();
  kube.failNext(4, 500, { path: '/api/v1/namespaces/burst/' });
  const { informer } = recorded('pods', '/api/v1/namespaces/burst/pods');
  const t0 = Date.now();
  informer.start();
  try {
    await waitForSync([informer], 5000);
    const elapsed = Date.now() - t0;
    // Delays 100, 200, 400, 400 ms at least (jitter adds up to as much again, capped at 400).
    assert.ok(elapsed >= 1100, `waited ${elapsed} ms`);
    const calls = kube.requests((r) => r.path === '/api/v1/namespaces/burst/pods');
    assert.deepEqual(calls.slice(0, 5).map((r) => r.status), [500, 500, 500, 500, 200]);
    assert.ok(kube.maxRequestsPerSecond((r) => r.path === '/api/v1/namespaces/burst/pods') <= 4);
    assert.equal(informer.status().restarts, 4);
    assert.match(informer.status().lastError, /Internal error occurred: injected fault/);
  } finally {
    await informer.stop();
    cleanNamespace('burst');
  }
});

test('every watch failing with 500: retried from the last resourceVersion at growing intervals, without relisting', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flap' } });
  const path = '/api/v1/namespaces/flap/pods';
  kube.failNext(4, 500, { verbs: ['watch'], path });
  const { informer } = recorded('pods', path, { random: () => 0 });
  informer.start();
  try {
    await until(() => watchesOn(path) > 0, 5000);
    const watches = kube.requests((r) => r.verb === 'watch' && r.path === path).map((r) => r.time);
    const gaps = watches.slice(1).map((t, i) => t - (watches[i] ?? t));
    // Without jitter the delays are 100, 200, 400, 400 ms: each gap at least its step (a relist comes first only after 410).
    assert.equal(gaps.length, 4);
    [100, 200, 400, 400].forEach((min, i) => assert.ok((gaps[i] ?? 0) >= min - 5, `gap ${i + 1}: ${gaps[i]} ms, expected at least ${min}`));
    assert.equal(informer.status().restarts, 4);
    assert.equal(informer.status().lastErrorReason, 'InternalError');
  } finally {
    await informer.stop();
    cleanNamespace('flap');
  }
});

test('a server that expires every watch right after a list (410 again and again): relists back off instead of looping', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'loop' } });
  const path = '/api/v1/namespaces/loop/pods';
  kube.failNext(3, 410, { verbs: ['watch'], path });
  const { informer } = recorded('pods', path, { random: () => 0 });
  informer.start();
  try {
    await until(() => watchesOn(path) > 0, 5000);
    const lists = kube.requests((r) => r.verb === 'list' && r.path === path).map((r) => r.time);
    assert.equal(lists.length, 4, 'the first list and one relist per 410');
    const gaps = lists.slice(1).map((t, i) => t - (lists[i] ?? t));
    [100, 200, 400].forEach((min, i) => assert.ok((gaps[i] ?? 0) >= min - 5, `relist ${i + 1} came ${gaps[i]} ms after the previous list, expected at least ${min}`));
    assert.equal(informer.status().relists, 3);
    assert.equal(informer.status().lastErrorReason, 'Expired');
  } finally {
    await informer.stop();
    cleanNamespace('loop');
  }
});

test('a watch request whose answer never starts (stalled before the head) is abandoned by the watchdog and reopened', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'nohead' } });
  const path = '/api/v1/namespaces/nohead/pods';
  kube.stallNext(1, ['watch'], path);
  const { informer, log } = recorded('pods', path, { watchdogMs: 300 });
  informer.start();
  try {
    await waitForSync([informer], 3000);
    kube.store.seed(pod('late', 'nohead'));
    await until(() => log.length === 1, 3000);
    assert.deepEqual(log, ['add:nohead/late']);
    assert.equal(informer.status().watchdogFires, 1);
    assert.equal(watchesOn(path), 1, 'the second watch (the first never answered) delivered the event');
  } finally {
    await informer.stop();
    cleanNamespace('nohead');
  }
});

test('a half-open watch: the watchdog aborts it and re-watches; the missed events arrive', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'half' } });
  const { informer, log } = recorded('pods', '/api/v1/namespaces/half/pods', { watchdogMs: 300 });
  informer.start();
  try {
    await until(() => watchesOn('/api/v1/namespaces/half/pods') > 0);
    kube.stallWatches();
    kube.store.seed(pod('during', 'half'));
    await sleep(100);
    assert.deepEqual(log, [], 'nothing arrives on a half-open watch');
    await until(() => log.length === 1, 3000);
    assert.deepEqual(log, ['add:half/during']);
    assert.equal(informer.status().watchdogFires >= 1, true);
    assert.equal(informer.status().relists, 0);
  } finally {
    await informer.stop();
    cleanNamespace('half');
  }
});

test('the API server refuses connections for a while: the informer keeps its cache, retries with backoff, and no event is lost', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'down' } });
  kube.store.seed(pod('a', 'down'));
  const { informer, log } = recorded('pods', '/api/v1/namespaces/down/pods');
  informer.start();
  try {
    await until(() => watchesOn('/api/v1/namespaces/down/pods') > 0 && log.length === 1);
    await kube.refuseConnections();
    kube.store.seed(pod('b', 'down'));
    kube.store.unseed('v1', 'Pod', 'down', 'a');
    await sleep(600);
    assert.deepEqual(informer.list().map((o) => o.metadata.name), ['a'], 'the last state is kept while down');
    assert.ok(informer.status().restarts >= 1);
    await kube.acceptConnections();
    await until(() => log.length === 3);
    assert.deepEqual(log, ['add:down/a', 'add:down/b', 'delete:down/a']);
  } finally {
    await informer.stop();
    cleanNamespace('down');
  }
});

test('the sync gate: waits for every informer; after its timeout it names the ones that never listed', async () => {
  const ok = recorded('namespaces', '/api/v1/namespaces').informer;
  const missing = recorded('widgets', '/apis/example.meshbridge.io/v1/widgets').informer;
  ok.start();
  missing.start();
  try {
    const gate = await waitForSync([ok, missing], 500);
    assert.deepEqual(gate, { synced: false, pending: ['widgets'] });
    assert.match(missing.status().lastError, /the server could not find the requested resource/);
  } finally {
    await ok.stop();
    await missing.stop();
  }
});
