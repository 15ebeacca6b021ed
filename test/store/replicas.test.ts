/**
 * Issue 6, "done when": two `serve` replicas on one etcd, 50 agents. Killing the replica they are
 * connected to → they reconnect to the other, their entries never leave EDS (as a proxy on the
 * surviving replica receives it), and the dead replica's ownership is reclaimed after the grace
 * period (its agents that do not come back lose their entries). Before that, with both replicas
 * alive, a workload that moves to the other replica is never touched by the old one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyObjects } from '../../src/app/apply-objects.js';
import { newSigningKey, signToken } from '../../src/security/registration-token.js';
import type { WorkloadEntry } from '../../src/model/config/types.js';
import { createEtcdClient } from '../../src/sources/etcd/etcd-client.js';
import { sharedSigningKey } from '../../src/sources/etcd/etcd-coordination.js';
import { EtcdStore } from '../../src/sources/etcd/etcd-store.js';
import { StoreMirror, until } from '../conformance/store-mirror.js';
import { startEtcd } from '../support/etcd.js';
import { objectsFrom } from '../support/mesh.js';
import { startReplica, type Replica } from '../support/serve-replica.js';
import { Agent, EdsWatcher } from '../support/xds-watchers.js';

const AGENTS = 50;
const STRANDED = 5;
const GRACE_MS = 1000;
const TTL_S = 2;
const CLUSTER = 'outbound|80||fleet.example.com';

const CONFIG = objectsFrom(`
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: vm, namespace: fleet}
spec:
  metadata: {labels: {app: fleet}}
  template: {ports: {http: 8080}}
  probe: {httpGet: {port: 8080}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: fleet, namespace: fleet}
spec: {hosts: [fleet.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: fleet}}}
`);

const ip = (i: number): string => `127.0.20.${i + 1}`;
const key = (i: number): string => `WorkloadEntry/fleet/vm-${ip(i)}`;

test('two replicas, 50 agents: the replica they use is killed; they move to the other without leaving EDS; the dead replica\'s workloads are reclaimed', { timeout: 60_000 }, async (t) => {
  const etcd = await startEtcd(1);
  const store = new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }), { description: etcd.url });
  const replicas: Replica[] = [];
  const agents: Agent[] = [];
  const watchers: EdsWatcher[] = [];
  const mirrors: StoreMirror[] = [];
  t.after(async () => {
    for (const a of agents) a.close();
    for (const w of watchers) w.close();
    for (const m of mirrors) await m.close();
    await Promise.all(replicas.map((r) => r.kill('SIGKILL')));
    await store.close();
    await etcd.stop();
  });
  assert.ok((await applyObjects(store, CONFIG)).ok);
  const flags = ['--grace-period', String(GRACE_MS), '--session-ttl', String(TTL_S), '--debounce', '20'];
  replicas.push(...(await Promise.all([startReplica(etcd.url, 'r1', flags), startReplica(etcd.url, 'r2', flags)])));
  const [r1, r2] = replicas as [Replica, Replica];
  const signingKey = await sharedSigningKey(store.client, undefined, newSigningKey);
  const now = Math.floor(Date.now() / 1000);
  const token = signToken({ namespace: 'fleet', group: 'vm', serviceAccount: '', issuedAt: now, expiresAt: now + 600 }, signingKey);
  const mirror = new StoreMirror(store, await store.list());
  mirrors.push(mirror);
  const onR2 = new EdsWatcher(r2.xds, CLUSTER, 'fleet');
  watchers.push(onR2, new EdsWatcher(r1.xds, CLUSTER, 'fleet', '127.0.0.98'));

  for (let i = 0; i < AGENTS + STRANDED; i++) {
    const a = new Agent({ ip: ip(i), group: 'vm', namespace: 'fleet', token });
    a.connect(r1.xds);
    agents.push(a);
  }
  const all = agents.map((_a, i) => `${ip(i)}:8080`).sort();
  await until(() => watchers.every((w) => w.latest().length === all.length), 15_000, 'all 55 healthy endpoints in EDS on both replicas');
  const entry = (i: number) => mirror.get(key(i)) as WorkloadEntry | undefined;
  assert.ok(agents.every((_a, i) => entry(i)?.metadata.annotations['istio.io/workloadController'] === 'r1'), 'r1 owns what is connected to it');

  // Both alive: agent 0 moves to r2 (new stream first, then the old one closes). r1 must leave its entry alone.
  const moved = new Agent({ ip: ip(0), group: 'vm', namespace: 'fleet', token });
  moved.connect(r2.xds);
  agents.push(moved);
  await until(() => entry(0)?.metadata.annotations['istio.io/workloadController'] === 'r2', 5000, 'r2 took agent 0 over');
  (agents[0] as Agent).close();
  await sleep(GRACE_MS * 2);
  assert.ok(entry(0)?.metadata.annotations['istio.io/connectedAt'], 'the old replica did not mark it disconnected');
  assert.equal(entry(0)?.metadata.annotations['istio.io/workloadController'], 'r2');

  // Kill r1. The 50 (49 still on r1) reconnect to r2; the 5 stranded do not come back.
  const window = onR2.updates.length;
  const killedAt = performance.now();
  await r1.kill('SIGKILL');
  for (let i = 1; i < AGENTS; i++) {
    const a = agents[i] as Agent;
    void a.ended.then(async () => {
      await sleep(Math.floor(Math.random() * 200));
      a.connect(r2.xds);
    });
  }
  for (let i = AGENTS; i < AGENTS + STRANDED; i++) void (agents[i] as Agent).ended.then(() => (agents[i] as Agent).close());
  await until(() => Array.from({ length: AGENTS }, (_v, i) => entry(i)).every((e) => e?.metadata.annotations['istio.io/workloadController'] === 'r2' && e.metadata.annotations['istio.io/connectedAt'] !== undefined), 10_000, 'the 50 owned by r2');
  const movedMs = performance.now() - killedAt;
  await until(() => Array.from({ length: STRANDED }, (_v, i) => entry(AGENTS + i)).every((e) => e === undefined), 15_000, 'the stranded entries reclaimed');
  const reclaimedMs = performance.now() - killedAt;
  t.diagnostic(`kill → 50 agents owned by r2: ${Math.round(movedMs)} ms; kill → 5 stranded entries removed: ${Math.round(reclaimedMs)} ms (session TTL ${TTL_S} s + grace ${GRACE_MS} ms)`);
  // The dead replica's lease expires TTL after its last keepalive (sent every TTL/3), then the grace period runs.
  assert.ok(reclaimedMs >= (TTL_S * 1000 * 2) / 3 + GRACE_MS - 100, `not before the session expired and the grace period passed (${Math.round(reclaimedMs)} ms)`);

  // Their entries never left EDS: every update r2 sent since the kill has all 50 endpoints.
  const fifty = all.filter((e) => !Array.from({ length: STRANDED }, (_v, i) => `${ip(AGENTS + i)}:8080`).includes(e));
  for (const u of onR2.updates.slice(window)) assert.deepEqual(u.endpoints.filter((e) => fifty.includes(e)), fifty, `EDS update at ${Math.round(u.at - killedAt)} ms after the kill`);
  await until(() => onR2.latest().length === AGENTS, 5000, 'the stranded endpoints leave EDS');
  const deleted = mirror.events.flatMap((e) => (e.type === 'changes' ? e.changes : [])).filter((c) => c.type === 'delete').map((c) => (c.type === 'delete' ? c.key : ''));
  assert.deepEqual(deleted.sort(), Array.from({ length: STRANDED }, (_v, i) => key(AGENTS + i)).sort(), 'only the stranded entries were ever deleted');
  const storez = await r2.get<{ leader: boolean; replicas: string[]; connected: boolean }>('/debug/storez');
  assert.deepEqual([storez.leader, storez.replicas, storez.connected], [true, ['r2'], true]);
});
