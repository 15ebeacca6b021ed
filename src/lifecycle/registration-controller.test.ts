import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkloadEntry, WorkloadGroup } from '../model/config/types.js';
import type { ProxyIdentity } from '../model/mesh/proxy-identity.js';
import { testProxy } from '../../test/support/proxy-identity.js';
import { silentLogger } from '../lib/log/logger.js';
import { RegistrationController } from './registration-controller.js';
import { newSigningKey, signToken } from '../security/registration-token.js';
import { MemoryStore } from '../sources/memory/memory-store.js';
import { LocalCoordination } from './coordination.js';
import { autoRegisteredName } from './workload-entry-from-group.js';

const GRACE = 40;

function group(name = 'vm', extra: Partial<WorkloadGroup['spec']> = {}, ns = 'ns1'): WorkloadGroup {
  return {
    kind: 'WorkloadGroup',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name, namespace: ns, labels: { 'not-copied': 'x' }, annotations: {} },
    spec: {
      metadata: { labels: { app: 'from-metadata', tier: 'meta' }, annotations: { 'team': 'a' } },
      template: { labels: { app: 'template', version: 'v1', 'istio-locality': 'x' }, ports: { http: 8080 }, serviceAccount: 'sa1', network: 'tmpl-net', locality: 'r0/z0', weight: 3 },
      ...extra,
    },
    origin: { file: 't', line: 1, column: 1, order: 0 },
  };
}

function proxy(ip: string, o: { group?: string; ns?: string; network?: string; labels?: Record<string, string>; locality?: [string, string, string]; workloadEntry?: string } = {}): ProxyIdentity {
  const metadata: Record<string, string> = { MESHBRIDGE_AGENT: 'true' };
  if (o.group !== undefined) metadata['AUTO_REGISTER_GROUP'] = o.group;
  if (o.workloadEntry !== undefined) metadata['WORKLOAD_ENTRY'] = o.workloadEntry;
  const [region, zone, subZone] = o.locality ?? ['', '', ''];
  const namespace = o.ns ?? 'ns1';
  return testProxy({ type: 'sidecar', ip, name: 'vm', namespace, labels: o.labels ?? {}, network: o.network, locality: { region, zone, subZone }, metadata });
}

function setup(groups: WorkloadGroup[] = [group()], configEntries: WorkloadEntry[] = [], autoRegistration = true) {
  const mem = new MemoryStore();
  if (configEntries.length > 0) void mem.write(configEntries.map((object) => ({ op: 'create' as const, object })));
  const key = newSigningKey();
  const groupMap = new Map(groups.map((g) => [`${g.metadata.namespace}/${g.metadata.name}`, g]));
  const c = new RegistrationController({
    store: mem,
    coordination: new LocalCoordination('cp-1'),
    group: (ns, n) => groupMap.get(`${ns}/${n}`),
    signingKey: key,
    gracePeriodMs: GRACE,
    autoRegistration,
    log: silentLogger,
  });
  const token = (g = 'vm', ns = 'ns1', ttl = 3600) => {
    const now = Math.floor(Date.now() / 1000);
    return { authorization: `Bearer ${signToken({ namespace: ns, group: g, serviceAccount: 'sa1', issuedAt: now, expiresAt: now + ttl }, key)}` };
  };
  // The store as the tests read it: synchronous views of the memory store.
  const store = {
    entry: (k: string) => mem.current(k) as WorkloadEntry | undefined,
    entries: () => [...mem.objectsOf('WorkloadEntry')] as WorkloadEntry[],
    status: (k: string) => (mem.current(k) as WorkloadEntry | undefined)?.status,
  };
  return { store, mem, c, token, groupMap };
}

test('AR-1 + token admission: missing group, missing/foreign/expired token, token for another group are refused with a reason', () => {
  const { c, token } = setup();
  const p = proxy('10.0.0.1', { group: 'vm' });
  assert.deepEqual(c.admit(p, token()), { ok: true });
  const noToken = c.admit(p, {});
  assert.ok(!noToken.ok && noToken.code === 16 && /token is required/.test(noToken.message));
  const foreign = c.admit(p, { authorization: `Bearer ${signToken({ namespace: 'ns1', group: 'vm', serviceAccount: '', issuedAt: 0, expiresAt: 2e9 }, newSigningKey())}` });
  assert.ok(!foreign.ok && /not signed by this control plane/.test(foreign.message));
  const expired = c.admit(p, token('vm', 'ns1', -10));
  assert.ok(!expired.ok && /expired/.test(expired.message));
  const otherGroup = c.admit(p, token('other'));
  assert.ok(!otherGroup.ok && otherGroup.code === 7 && /allows WorkloadGroup ns1\/other, not ns1\/vm/.test(otherGroup.message));
  const missing = c.admit(proxy('10.0.0.1', { group: 'nope' }), token('nope'));
  assert.ok(!missing.ok && missing.code === 9 && /does not exist/.test(missing.message));
  const notAnAgent: ProxyIdentity = { ...p, metadata: {} };
  assert.deepEqual(c.admit(notAnAgent, {}), { ok: true }, 'sidecars and gRPC clients need no token');
});

test('AR-2: entry name is <group>-<ip with ":" as "-">[-<network>], cut from the front to 253 characters', () => {
  assert.equal(autoRegisteredName('vm', '10.0.0.1', ''), 'vm-10.0.0.1');
  assert.equal(autoRegisteredName('vm', 'fd00::1', 'net-a'), 'vm-fd00--1-net-a');
  const long = autoRegisteredName('g'.repeat(300), '10.0.0.1', '');
  assert.equal(long.length, 253);
  assert.ok(long.endsWith('-10.0.0.1'));
});

test('AR-3, AR-6: the entry copies the template; labels: template < spec.metadata < proxy, minus istio-locality; connect annotations', async () => {
  const { c, store } = setup();
  c.onConnect('s1', proxy('10.0.0.1', { group: 'vm', network: 'net-a', labels: { tier: 'proxy' }, locality: ['r1', 'z1', 's1'] }));
  await c.idle();
  const e = store.entry('WorkloadEntry/ns1/vm-10.0.0.1-net-a');
  assert.ok(e);
  assert.deepEqual(e.spec.labels, { app: 'from-metadata', version: 'v1', tier: 'proxy' });
  assert.deepEqual(e.metadata.labels, e.spec.labels);
  assert.equal(e.spec.address, '10.0.0.1');
  assert.equal(e.spec.network, 'net-a', 'proxy network wins');
  assert.equal(e.spec.locality, 'r1/z1/s1', 'node locality wins');
  assert.deepEqual(e.spec.ports, { http: 8080 });
  assert.equal(e.spec.serviceAccount, 'sa1');
  assert.equal(e.spec.weight, 3);
  assert.equal(e.metadata.annotations['istio.io/autoRegistrationGroup'], 'vm');
  assert.equal(e.metadata.annotations['team'], 'a');
  assert.equal(e.metadata.annotations['proxy.istio.io/health-checks-enabled'], undefined, 'no probe: not health checked');
  assert.equal(e.metadata.annotations['istio.io/workloadController'], 'cp-1');
  assert.ok(e.metadata.annotations['istio.io/connectedAt']);
  assert.equal((e.metadata.labels as Record<string, string>)['not-copied'], undefined, "the group's own metadata.labels are not copied");
  assert.equal(e.status?.conditions?.find((x) => x.type === 'Connected')?.status, 'True');
});

test('AR-3: without proxy network and locality the template values are used; a probe turns health checks on', async () => {
  const { c, store } = setup([group('vm', { probe: { httpGet: { port: 8080 } } })]);
  c.onConnect('s1', proxy('10.0.0.2', { group: 'vm' }));
  await c.idle();
  const e = store.entry('WorkloadEntry/ns1/vm-10.0.0.2');
  assert.equal(e?.spec.network, 'tmpl-net');
  assert.equal(e?.spec.locality, 'r0/z0');
  assert.equal(e?.metadata.annotations['proxy.istio.io/health-checks-enabled'], 'true');
});

test('AR-4: an existing entry keeps its labels and ports; only connect annotations change', async () => {
  const { c, store, groupMap } = setup();
  c.onConnect('s1', proxy('10.0.0.1', { group: 'vm' }));
  await c.idle();
  c.onDisconnect('s1');
  await c.idle();
  groupMap.set('ns1/vm', group('vm', { template: { labels: { app: 'changed' }, ports: { http: 9999 } } }));
  c.onConnect('s2', proxy('10.0.0.1', { group: 'vm' }));
  await c.idle();
  const e = store.entry('WorkloadEntry/ns1/vm-10.0.0.1');
  assert.equal(e?.spec.labels?.['app'], 'from-metadata');
  assert.deepEqual(e?.spec.ports, { http: 8080 });
  assert.equal(e?.metadata.annotations['istio.io/disconnectedAt'], undefined);
  assert.ok(e?.metadata.annotations['istio.io/connectedAt']);
});

test('AR-7, AR-8: the entry lives while any connection holds it, and is deleted a grace period after the last one', async () => {
  const { c, store } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onConnect('b', proxy('10.0.0.1', { group: 'vm' })); // a second agent with the same address shares the entry
  c.onDisconnect('a');
  await sleep(GRACE * 2);
  const e = store.entry('WorkloadEntry/ns1/vm-10.0.0.1');
  assert.ok(e?.metadata.annotations['istio.io/connectedAt'], 'the live connection is not evicted');
  c.onDisconnect('b');
  await c.idle();
  const d = store.entry('WorkloadEntry/ns1/vm-10.0.0.1');
  assert.ok(d?.metadata.annotations['istio.io/disconnectedAt']);
  assert.equal(d?.metadata.annotations['istio.io/connectedAt'], undefined);
  assert.equal(d?.status?.conditions?.find((x) => x.type === 'Connected')?.status, 'False');
  await sleep(GRACE * 2);
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.1'), undefined);
  await c.stop();
});

test('AR-8 "fast reconnect": reconnecting within the grace period keeps the entry (no flap)', async () => {
  const { c, store, mem } = setup();
  const changes: string[] = [];
  const w = mem.watch('0', (e) => {
    if (e.type === 'changes') changes.push(...e.changes.map((x) => x.type));
  });
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onDisconnect('a');
  await sleep(GRACE / 4);
  c.onConnect('b', proxy('10.0.0.1', { group: 'vm' }));
  await sleep(GRACE * 2);
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.1'));
  assert.ok(!changes.includes('delete'));
  await w.close();
  await c.stop();
});

test('AR-9: the sweep removes entries disconnected for longer than the grace period', async () => {
  const { c, store } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onConnect('b', proxy('10.0.0.2', { group: 'vm' }));
  c.onDisconnect('a');
  await c.stop(); // no timers: only the sweep cleans up
  await sleep(GRACE + 5);
  await c.reclaim();
  await c.idle();
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.1'), undefined);
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.2'), 'connected entries stay');
});

test('AR-10: a WorkloadGroup created later registers the live connections that name it', async () => {
  const { c, store, groupMap } = setup([]);
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  await c.idle();
  assert.equal(store.entries().length, 0);
  const g = group();
  groupMap.set('ns1/vm', g);
  c.onGroupAdded(g);
  await c.idle();
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.1'));
});

test('H-6: health reports become the Healthy condition; the message only when False', async () => {
  const { c, store } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onHealth('a', false, 'connection refused');
  await c.idle();
  let h = store.entry('WorkloadEntry/ns1/vm-10.0.0.1')?.status?.conditions?.find((x) => x.type === 'Healthy');
  assert.equal(h?.status, 'False');
  assert.equal(h?.message, 'connection refused');
  assert.ok(h?.lastProbeTime && h.lastTransitionTime);
  await sleep(2); // a later probe time
  c.onHealth('a', true, '');
  await c.idle();
  h = store.entry('WorkloadEntry/ns1/vm-10.0.0.1')?.status?.conditions?.find((x) => x.type === 'Healthy');
  assert.equal(h?.status, 'True');
  assert.equal(h?.message, undefined);
  const connected = store.entry('WorkloadEntry/ns1/vm-10.0.0.1')?.status?.conditions?.find((x) => x.type === 'Connected');
  assert.equal(connected?.status, 'True', 'other conditions are kept');
});

test('H-8, H-9: an operator-written entry named by WORKLOAD_ENTRY gets status only with the health-checks annotation, and loses Healthy after the grace period', async () => {
  const manual = (annotated: boolean, name: string): WorkloadEntry => ({
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name, namespace: 'ns1', labels: {}, annotations: annotated ? { 'proxy.istio.io/health-checks-enabled': 'true' } : {} },
    spec: { address: '10.0.0.9' },
    origin: { file: 't', line: 1, column: 1, order: 0 },
  });
  const { c, store } = setup([group()], [manual(true, 'checked'), manual(false, 'plain')]);
  c.onConnect('a', proxy('10.0.0.9', { workloadEntry: 'checked' }));
  c.onConnect('b', proxy('10.0.0.8', { workloadEntry: 'plain' }));
  c.onHealth('a', true, '');
  c.onHealth('b', true, '');
  await c.idle();
  assert.equal(store.status('WorkloadEntry/ns1/checked')?.conditions?.[0]?.status, 'True');
  assert.equal(store.status('WorkloadEntry/ns1/plain'), undefined);
  c.onDisconnect('a');
  await sleep(GRACE * 2);
  await c.idle();
  assert.equal(store.status('WorkloadEntry/ns1/checked')?.conditions?.find((x) => x.type === 'Healthy'), undefined);
  await c.stop();
});

test('restart: entries connected before a restart are kept if their agent reconnects within the grace period, else removed', async () => {
  const { c, store, mem } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onConnect('b', proxy('10.0.0.2', { group: 'vm' }));
  await c.stop();
  // A new controller over the same store stands for the restarted control plane.
  const groups = new Map([['ns1/vm', group()]]);
  const c2 = new RegistrationController({ store: mem, coordination: new LocalCoordination('cp-2'), group: (ns, n) => groups.get(`${ns}/${n}`), signingKey: newSigningKey(), gracePeriodMs: GRACE, log: silentLogger });
  c2.start();
  c2.onConnect('a2', proxy('10.0.0.1', { group: 'vm' }));
  await sleep(GRACE * 3);
  await c2.idle();
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.1'), 'reconnected: kept');
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.1')?.metadata.annotations['istio.io/workloadController'], 'cp-2');
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.2'), undefined, 'did not come back: removed');
  await c2.stop();
});

test('issue 13: after a stop longer than the grace period, a restarted controller gives disconnected entries the grace period from its own start', async () => {
  const { c, store, mem } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onConnect('b', proxy('10.0.0.2', { group: 'vm' }));
  await c.idle();
  c.onDisconnect('a'); // the old control plane stops: its streams end, the entries say disconnected
  c.onDisconnect('b');
  await c.stop();
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.1')?.metadata.annotations['istio.io/disconnectedAt'] !== undefined);
  await sleep(GRACE * 2); // down for longer than the grace period
  const groups = new Map([['ns1/vm', group()]]);
  const c2 = new RegistrationController({ store: mem, coordination: new LocalCoordination('cp-2'), group: (ns, n) => groups.get(`${ns}/${n}`), signingKey: newSigningKey(), gracePeriodMs: GRACE, log: silentLogger });
  c2.start();
  await sleep(GRACE / 4);
  await c2.idle();
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.1'), 'kept at the start: its agent may be reconnecting');
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.2'));
  c2.onConnect('a2', proxy('10.0.0.1', { group: 'vm' }));
  await sleep(GRACE * 3);
  await c2.idle();
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.1')?.metadata.annotations['istio.io/workloadController'], 'cp-2', 'reconnected: taken over');
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.2'), undefined, 'did not come back within the grace period from the start: removed');
  await c2.stop();
});

test('race: 200 agents connecting, disconnecting and reconnecting in random order end in exactly the right entries', async () => {
  const { c, store } = setup();
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const agents = Array.from({ length: 200 }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${i % 250}`, stream: 0, connected: false, fate: rand() }));
  // Fates: < 0.4 stays connected; < 0.7 leaves for good; else leaves and comes back within the grace period.
  const events: (() => void)[] = [];
  for (const a of agents) {
    events.push(() => {
      a.stream++;
      c.onConnect(`${a.ip}#${a.stream}`, proxy(a.ip, { group: 'vm' }));
    });
  }
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [events[i], events[j]] = [events[j] as () => void, events[i] as () => void];
  }
  await Promise.all(events.map(async (e, i) => {
    await sleep(i % 7);
    e();
  }));
  await Promise.all(
    agents.map(async (a) => {
      if (a.fate < 0.4) return;
      await sleep(Math.floor(rand() * 5));
      c.onDisconnect(`${a.ip}#${a.stream}`);
      if (a.fate >= 0.7) {
        await sleep(Math.floor(rand() * (GRACE / 3)));
        a.stream++;
        c.onConnect(`${a.ip}#${a.stream}`, proxy(a.ip, { group: 'vm' }));
      }
    }),
  );
  await sleep(GRACE * 3);
  await c.idle();
  const expected = agents.filter((a) => a.fate < 0.4 || a.fate >= 0.7).map((a) => `vm-${a.ip}`).sort();
  assert.deepEqual(store.entries().map((e) => e.metadata.name).sort(), expected);
  assert.ok(store.entries().every((e) => e.metadata.annotations['istio.io/connectedAt'] !== undefined));
  await c.stop();
});

test('AR-5: a token whose service account differs from the group template is refused', () => {
  const { c, token, groupMap } = setup();
  groupMap.set('ns1/vm', group('vm', { template: { serviceAccount: 'other-sa' } }));
  const r = c.admit(proxy('10.0.0.1', { group: 'vm' }), token());
  assert.ok(!r.ok && r.code === 7 && /AR-5/.test(r.message));
});

test('deleting a WorkloadGroup stops new registrations and keeps the live ones', async () => {
  const { c, store, token, groupMap } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  await c.idle();
  groupMap.delete('ns1/vm');
  const refused = c.admit(proxy('10.0.0.2', { group: 'vm' }), token());
  assert.ok(!refused.ok && refused.code === 9);
  await sleep(GRACE * 2);
  const live = store.entry('WorkloadEntry/ns1/vm-10.0.0.1');
  assert.ok(live?.metadata.annotations['istio.io/connectedAt'], 'the live entry stays');
  await c.stop();
});

function operatorEntry(name: string): WorkloadEntry {
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name, namespace: 'ns1', labels: {}, annotations: { 'proxy.istio.io/health-checks-enabled': 'true' } },
    spec: { address: '10.0.0.9' },
    origin: { file: 't', line: 1, column: 1, order: 0 },
  };
}

test('AR-11: with auto-registration off, connecting proxies create nothing; health reports for existing entries still work', async () => {
  const { c, store } = setup([group()], [operatorEntry('checked')], false);
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onConnect('b', proxy('10.0.0.9', { workloadEntry: 'checked' }));
  c.onHealth('b', false, 'probe failed');
  await c.idle();
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.1'), undefined);
  assert.equal(store.status('WorkloadEntry/ns1/checked')?.conditions?.find((x) => x.type === 'Healthy')?.status, 'False');
  await c.stop();
});

test('H-7: a health report is written only by the entry\'s controller, and never over a newer report', async () => {
  const { c, mem, store } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  await c.idle();
  const key = 'WorkloadEntry/ns1/vm-10.0.0.1';
  const taken = store.entry(key);
  assert.ok(taken);
  // Another replica took the entry over (its agent reconnected there).
  await mem.write([{ op: 'update', object: { ...taken, metadata: { ...taken.metadata, annotations: { ...taken.metadata.annotations, 'istio.io/workloadController': 'cp-2' } } } }]);
  c.onHealth('a', false, 'stale report');
  await c.idle();
  assert.equal(store.entry(key)?.status?.conditions?.find((x) => x.type === 'Healthy'), undefined, 'not the controller: nothing written');
  await c.stop();
});

test('restart under the same instance name: its own entries without a live stream are marked disconnected, then removed unless the agent returns', async () => {
  const { c, store, mem } = setup();
  c.onConnect('a', proxy('10.0.0.1', { group: 'vm' }));
  c.onConnect('b', proxy('10.0.0.2', { group: 'vm' }));
  await c.stop();
  const groups = new Map([['ns1/vm', group()]]);
  const again = new RegistrationController({ store: mem, coordination: new LocalCoordination('cp-1'), group: (ns, n) => groups.get(`${ns}/${n}`), signingKey: newSigningKey(), gracePeriodMs: GRACE, log: silentLogger });
  again.start();
  await sleep(5);
  await again.idle();
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.2')?.metadata.annotations['istio.io/disconnectedAt'], 'no stream here for it: disconnected');
  again.onConnect('a2', proxy('10.0.0.1', { group: 'vm' }));
  await sleep(GRACE * 3);
  await again.idle();
  assert.ok(store.entry('WorkloadEntry/ns1/vm-10.0.0.1')?.metadata.annotations['istio.io/connectedAt'], 'came back: kept, connected');
  assert.equal(store.entry('WorkloadEntry/ns1/vm-10.0.0.2'), undefined, 'did not come back: removed');
  await again.stop();
});
