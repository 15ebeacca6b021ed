/**
 * Issue 14, informers that survive a real API server, end to end: a real `meshbridge serve --config
 * DIR --kubeconfig PATH` process reads pods from the fake Kubernetes API server — THE ONE TEST DOUBLE of
 * the project (test/support/fake-kube; no real kube-apiserver can be installed here; its fidelity is
 * checked with kubectl in test/kube) — and a real xDS client (an EDS subscription as a proxyless gRPC
 * client makes it) watches the endpoints of a ServiceEntry selecting those pods. Each failure of the
 * API server is its own test:
 * - restarted (connections refused for 5 s): serve keeps serving its last state (also to a client that
 *   connects meanwhile), resyncs, and a change made while it was down shows afterwards;
 * - a compacted history (410, as an ERROR event and as the HTTP status): one relist, with exactly the
 *   right adds and deletes (counted by serve's informer metrics);
 * - a half-open watch (the fake stops sending but keeps the connection): the watchdog reconnects;
 * - a 500 burst: retried on the backoff schedule (0.8 s doubling), no request storm (requests per second
 *   counted in the fake's log);
 * - a node label change: the locality of its pods' endpoints changes (istiod keeps the old one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InformerState } from '../../src/sources/kube/informer.js';
import { FakeKubeApiServer, type FakeKubeOptions, type RequestRecord } from '../support/fake-kube-apiserver.js';
import { kubeNode, kubePod, seedable } from '../support/kube-objects.js';
import { EdsWatcher } from '../support/xds-watchers.js';
import { NS, serviceEntry, type Own } from './mesh.js';
import { cleanups, metricValue, startServe, waitFor, type ServeProcess } from './serve-process.js';

const HOST = 'res.kube.test';
const CLUSTER = `outbound|80||${HOST}`;
const PORT = 8080;

interface PodSpec {
  readonly name: string;
  readonly ip: string;
  readonly node?: string;
}

interface Cluster {
  readonly kube: FakeKubeApiServer;
  readonly serve: ServeProcess;
  readonly eds: EdsWatcher;
}

function seedPod(kube: FakeKubeApiServer, p: PodSpec): void {
  kube.store.seed(seedable(kubePod(p.name, { ns: NS, ip: p.ip, port: PORT, portName: 'grpc', labels: { app: 'res' }, ...(p.node !== undefined ? { node: p.node } : {}) })));
}

function deletePod(kube: FakeKubeApiServer, name: string): void {
  kube.store.unseed('v1', 'Pod', NS, name);
}

const endpointsOf = (...ips: string[]): string[] => ips.map((ip) => `${ip}:${PORT}`).sort();

/** The fake API server holding `demo` and `pods`, a serve reading it, and an EDS watcher on the ServiceEntry selecting the pods. */
async function clusterWith(own: Own, pods: readonly PodSpec[], o: { fake?: FakeKubeOptions; env?: Record<string, string>; seed?: (kube: FakeKubeApiServer) => void } = {}): Promise<Cluster> {
  const kube = own(await FakeKubeApiServer.start(o.fake), (k) => k.close());
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  o.seed?.(kube);
  for (const p of pods) seedPod(kube, p);
  const kubeconfig = kube.writeKubeconfig(join(mkdtempSync(join(tmpdir(), 'mb-kres-')), 'kubeconfig'));
  const serve = own(await startServe({ files: { 'mesh.yaml': serviceEntry('res', HOST, { app: 'res' }) }, args: ['--kubeconfig', kubeconfig], ...(o.env !== undefined ? { env: o.env } : {}) }), (s) => s.stop());
  const eds = watchEds(own, serve, '127.0.80.99');
  await sawEndpoints(eds, endpointsOf(...pods.map((p) => p.ip)), 'the first endpoints');
  return { kube, serve, eds };
}

function watchEds(own: Own, serve: ServeProcess, ip: string): EdsWatcher {
  return own(new EdsWatcher(serve.xds, CLUSTER, NS, ip), (w) => Promise.resolve(w.close()));
}

function sawEndpoints(eds: EdsWatcher, want: readonly string[], what: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(() => (JSON.stringify(eds.latest()) === JSON.stringify(want) ? true : undefined), timeoutMs, `${what}: ${want.join(', ')} (last seen: ${eds.latest().join(', ')})`);
}

async function informer(serve: ServeProcess, name: string): Promise<InformerState> {
  const z = await serve.get<{ kubernetes: { informers: InformerState[] } }>('/debug/sourcez');
  const state = z.kubernetes.informers.find((i) => i.name === name);
  assert.ok(state, `informer ${name} in /debug/sourcez`);
  return state;
}

test('the API server restarted (connections refused for 5 s): serve keeps serving its last state, resyncs, and the change made meanwhile shows', { timeout: 90_000 }, async (t) => {
  const own = cleanups(t);
  const { kube, serve, eds } = await clusterWith(own, [
    { name: 'a', ip: '127.0.81.1' },
    { name: 'b', ip: '127.0.81.2' },
  ]);
  await waitFor(() => (kube.openWatches() >= 5 ? true : undefined), 10_000, 'the five watches open');

  await kube.refuseConnections();
  const downAt = Date.now();
  seedPod(kube, { name: 'c', ip: '127.0.81.3' });
  deletePod(kube, 'a');
  const late = watchEds(own, serve, '127.0.80.98');
  await sawEndpoints(late, endpointsOf('127.0.81.1', '127.0.81.2'), 'a client connecting while the API server is down gets the last state', 10_000);
  await sleep(Math.max(0, 5000 - (Date.now() - downAt)));
  assert.deepEqual(eds.latest(), endpointsOf('127.0.81.1', '127.0.81.2'), 'while down: the last state, unchanged');
  const down = await informer(serve, 'pods');
  assert.ok(down.restarts >= 1, `the pod informer retried while refused (restarts ${down.restarts})`);
  assert.match(down.lastError, /ECONNREFUSED|closed|socket hang up|ECONNRESET/);

  await kube.acceptConnections();
  await sawEndpoints(eds, endpointsOf('127.0.81.2', '127.0.81.3'), 'after the restart: the pod added and the pod deleted while down');
  await sawEndpoints(late, endpointsOf('127.0.81.2', '127.0.81.3'), 'the late client too');
  const after = await informer(serve, 'pods');
  assert.equal(after.relists, 0, 'the watch resumed from its resourceVersion: no event lost, no relist needed');
  assert.equal(after.synced, true);
});

for (const mode of ['event', 'http'] as const) {
  test(`a compacted history (410 ${mode === 'event' ? 'as an ERROR event' : 'as the HTTP status'}): one relist with exactly the right adds and deletes`, { timeout: 90_000 }, async (t) => {
    const own = cleanups(t);
    const { kube, serve, eds } = await clusterWith(
      own,
      [
        { name: 'a', ip: '127.0.82.1' },
        { name: 'b', ip: '127.0.82.2' },
        { name: 'c', ip: '127.0.82.3' },
      ],
      { fake: { expiredWatch: mode } },
    );
    await waitFor(() => (kube.openWatches() >= 5 ? true : undefined), 10_000, 'the five watches open');
    // The watches are cut while the history moves on and is compacted: the next watch is from an expired resourceVersion.
    await kube.refuseConnections();
    deletePod(kube, 'a');
    seedPod(kube, { name: 'd', ip: '127.0.82.4' });
    kube.compact();
    const count = async (): Promise<Record<string, number>> => {
      const text = await serve.text('/metrics');
      return Object.fromEntries(['add', 'update', 'delete'].map((event) => [event, metricValue(text, 'meshbridge_kube_informer_events_total', { informer: 'pods', event })]));
    };
    const before = await count();
    await kube.acceptConnections();
    await sawEndpoints(eds, endpointsOf('127.0.82.2', '127.0.82.3', '127.0.82.4'), 'after the relist');
    const pods = await waitFor(async () => {
      const s = await informer(serve, 'pods');
      return s.relists >= 1 ? s : undefined;
    }, 10_000, 'the pod informer relisted');
    assert.equal(pods.relists, 1, 'exactly one relist');
    const expiredSeen = kube.requests((r) => r.path === '/api/v1/pods' && r.verb === 'watch' && (mode === 'http' ? r.status === 410 : r.status === 200));
    assert.ok(expiredSeen.length >= 1, `the fake refused the pod watch with 410 (${mode})`);
    const afterCount = await count();
    assert.deepEqual(
      { add: (afterCount['add'] ?? 0) - (before['add'] ?? 0), update: (afterCount['update'] ?? 0) - (before['update'] ?? 0), delete: (afterCount['delete'] ?? 0) - (before['delete'] ?? 0) },
      { add: 1, update: 0, delete: 1 },
      'the relist diff: d added, a deleted, b and c untouched',
    );
    assert.match(await serve.text('/metrics'), /meshbridge_kube_informer_relists_total\{informer="pods"\} 1\b/);
  });
}

test('a half-open watch (the fake stops sending but keeps the connection): the watchdog reconnects and the missed change arrives', { timeout: 90_000 }, async (t) => {
  const own = cleanups(t);
  // Bookmarks every 300 ms keep healthy watches talking, so the 2 s watchdog fires only on the stalled ones.
  const { kube, serve, eds } = await clusterWith(own, [{ name: 'a', ip: '127.0.83.1' }], { fake: { bookmarkIntervalMs: 300 }, env: { MESHBRIDGE_KUBE_WATCHDOG: '2s' } });
  await waitFor(() => (kube.openWatches() >= 5 ? true : undefined), 10_000, 'the five watches open');
  await sleep(2500);
  assert.equal((await informer(serve, 'pods')).watchdogFires, 0, 'a watch that receives bookmarks is healthy');

  kube.stallWatches();
  const stalledAt = Date.now();
  seedPod(kube, { name: 'b', ip: '127.0.83.2' });
  await sawEndpoints(eds, endpointsOf('127.0.83.1', '127.0.83.2'), 'the pod added while the watch was half-open', 20_000);
  const waited = Date.now() - stalledAt;
  assert.ok(waited >= 1500, `the change came through a new watch after the watchdog's 2 s, not the stalled one (${waited} ms)`);
  const pods = await informer(serve, 'pods');
  assert.ok(pods.watchdogFires >= 1, 'the watchdog fired');
  assert.equal(pods.relists, 0, 're-watched from the last resourceVersion, no relist');
  assert.ok(metricValue(await serve.text('/metrics'), 'meshbridge_kube_informer_watchdog_reconnects_total', { informer: 'pods' }) >= 1);
});

test('a 500 burst: every informer retries on the backoff schedule (0.8 s doubling, jittered up), no request storm, and recovers', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const { kube, serve, eds } = await clusterWith(own, [{ name: 'a', ip: '127.0.84.1' }]);
  await waitFor(() => (kube.openWatches() >= 5 ? true : undefined), 10_000, 'the five watches open');
  const FAULTS = 10;
  kube.clearRequests();
  kube.failNext(FAULTS, 500);
  const cutAt = Date.now();
  kube.destroyWatches();
  const isRead = (r: RequestRecord): boolean => r.verb === 'list' || r.verb === 'watch';
  await waitFor(() => (kube.requests((r) => isRead(r) && r.status === 500).length === FAULTS ? true : undefined), 60_000, `the ${FAULTS} injected 500s consumed`);
  seedPod(kube, { name: 'b', ip: '127.0.84.2' });
  await sawEndpoints(eds, endpointsOf('127.0.84.1', '127.0.84.2'), 'recovered: a new pod arrives');

  // Per informer (collection path): the n-th attempt after the cut waits at least 0.8 s · 2^(n-1) after the previous one,
  // as long as every attempt before it failed (the cut is the first failure).
  const byPath = new Map<string, RequestRecord[]>();
  for (const r of kube.requests(isRead)) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
  assert.equal(byPath.size, 5, [...byPath.keys()].join(', '));
  for (const [path, requests] of byPath) {
    let previous = cutAt;
    for (const [n, r] of requests.entries()) {
      const minimum = 800 * 2 ** n;
      assert.ok(r.time - previous >= minimum - 50, `${path}: attempt ${n + 1} came ${r.time - previous} ms after the previous failure, before the backoff's ${minimum} ms`);
      if (r.status !== 500) break;
      previous = r.time;
    }
  }
  // Every delay is at least 0.8 s: at most 2 attempts per informer in any second, 10 for the five.
  const peak = kube.maxRequestsPerSecond(isRead);
  assert.ok(peak <= 10, `at most 10 list/watch requests in any second (5 informers × 2), saw ${peak}`);
  const restarts = metricValue(await serve.text('/metrics'), 'meshbridge_kube_informer_restarts_total', { informer: 'pods', reason: 'InternalError' });
  const podFaults = (byPath.get('/api/v1/pods') ?? []).filter((r) => r.status === 500).length;
  assert.equal(restarts, podFaults, 'the pod informer counts each 500 as a restart with reason InternalError');
});

test('a node label change: the locality of its pods\' endpoints changes in EDS (istiod keeps the old one: istio#51144)', { timeout: 90_000 }, async (t) => {
  const own = cleanups(t);
  const zone = (n: string, z: string) => seedable(kubeNode(n, { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': z }));
  const { kube, eds } = await clusterWith(
    own,
    [
      { name: 'a', ip: '127.0.85.1', node: 'n1' },
      { name: 'b', ip: '127.0.85.2', node: 'n1' },
      { name: 'c', ip: '127.0.85.3', node: 'n2' },
    ],
    {
      seed: (k) => {
        k.store.seed(zone('n1', 'z1'));
        k.store.seed(zone('n2', 'z2'));
      },
    },
  );
  const localities = (l1: string, l2: string): string[] => [`127.0.85.1:${PORT} ${l1}`, `127.0.85.2:${PORT} ${l1}`, `127.0.85.3:${PORT} ${l2}`];
  const sawLocalities = (want: readonly string[], what: string): Promise<true> =>
    waitFor(() => {
      const last = eds.updates[eds.updates.length - 1]?.localities ?? [];
      return JSON.stringify(last) === JSON.stringify(want) ? true : undefined;
    }, 20_000, `${what}: ${want.join(', ')}`);
  await sawLocalities(localities('r1/z1/', 'r1/z2/'), 'the first localities, from the nodes');
  kube.store.seed(zone('n1', 'z3'));
  await sawLocalities(localities('r1/z3/', 'r1/z2/'), 'n1 moved to zone z3: its pods follow, n2\'s pod stays');
});
