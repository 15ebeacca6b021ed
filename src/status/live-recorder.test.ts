// The dashboard's live recorder (issue 18): health history and events from the registry (store
// copies of WorkloadEntries, pod readiness) and from ADS stream events (an agent's health reports,
// connects, disconnects, NACKs), a stale store copy not recorded again, config and push events,
// per-stream counters. A real registry (test/fixtures/api/mesh.yaml), real ADS event shapes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../test/support/paths.js';
import { testProxy } from '../../test/support/proxy-identity.js';
import type { ApiEvent, HealthEvent } from '../api/v1/types.js';
import { loadConfig } from '../model/config/load.js';
import type { WorkloadEntry } from '../model/config/types.js';
import { buildRegistry, createInputs, replaceInputs } from '../registry/registry.js';
import { ResourceCache } from '../xds/cache/resource-cache.js';
import type { StreamInfo } from '../xds/server/events.js';
import { CLUSTER } from '../xds/types/resource-types.js';
import { LiveRecorder, smallestSorted } from './live-recorder.js';

const FILE = join('test', 'fixtures', 'api', 'mesh.yaml');
const VM = 'WorkloadEntry/shop/reviews-vm-127.0.40.2';

function setup() {
  const clock = { now: Date.parse('2026-12-07T01:00:00Z') };
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  const recorder = new LiveRecorder({ registry, cache: new ResourceCache(), entryOf: (id) => (id === 'vm-stream' ? VM : undefined), revision: () => '7', now: () => clock.now });
  const events: ApiEvent[] = [];
  recorder.events.subscribe((e) => events.push(e));
  const { objects } = loadConfig([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }]);
  replaceInputs(inputs, objects);
  const healthEvents = (): string[] => events.filter((e): e is HealthEvent => e.type === 'health').map((e) => `${e.endpoint} ${e.from}->${e.to} ${e.source}`);
  return { clock, inputs, recorder, events, healthEvents };
}

const vmStream = (): StreamInfo => ({ streamId: 'vm-stream', protocol: 'sotw', proxy: testProxy({ type: 'sidecar', ip: '127.0.40.2', name: 'reviews-vm-127.0.40.2', namespace: 'shop' }), view: 'envoy|v', peer: '127.0.40.2:5000', connectedAt: 0 });

test('the registry\'s first listing: each endpoint appears with its health and connection, by source; one config event per burst', async () => {
  const { healthEvents, events } = setup();
  assert.deepEqual(healthEvents(), [
    `${VM} absent->connected connection`,
    `${VM} absent->healthy probe`,
    'WorkloadEntry/shop/reviews-vm-127.0.40.3 absent->disconnected connection',
    'WorkloadEntry/shop/reviews-vm-127.0.40.3 absent->unhealthy operator',
    'WorkloadEntry/shop/reviews-legacy absent->healthy operator',
    'WorkloadEntry/other/reviews-elsewhere absent->healthy operator',
    'Pod/shop/reviews-pod absent->healthy kubernetes',
  ]);
  await Promise.resolve();
  const config = events.filter((e) => e.type === 'config');
  assert.equal(config.length, 1, 'one event for the whole listing');
  assert.equal(config[0]?.type === 'config' ? config[0].revision : '', '7');
});

test('an agent\'s health report is recorded at once; the store\'s copy of it, or an older copy, is no new transition', () => {
  const { clock, inputs, recorder, healthEvents } = setup();
  const before = healthEvents().length;
  recorder.onXdsEvent({ event: 'connect', stream: vmStream() });
  assert.equal(healthEvents().length, before, 'connected already (the store said so)');
  clock.now += 1000;
  recorder.onXdsEvent({ event: 'health', streamId: 'vm-stream', proxyId: vmStream().proxy.id, healthy: false, message: 'GET /ready: 503' });
  assert.deepEqual(healthEvents().slice(before), [`${VM} healthy->unhealthy probe`]);
  const we = inputs.WorkloadEntry.get(VM);
  assert.ok(we);
  const withHealth = (status: string, probedAt: number): WorkloadEntry => ({ ...we, status: { conditions: [{ type: 'Healthy', status, lastProbeTime: new Date(probedAt).toISOString() }] } });
  inputs.WorkloadEntry.upsert(withHealth('False', clock.now));
  inputs.WorkloadEntry.upsert(withHealth('True', clock.now - 5000)); // an older write landing late
  assert.deepEqual(healthEvents().slice(before), [`${VM} healthy->unhealthy probe`]);
  clock.now += 1000;
  inputs.WorkloadEntry.upsert(withHealth('True', clock.now)); // a newer report via another replica
  recorder.onXdsEvent({ event: 'disconnect', streamId: 'vm-stream', proxyId: vmStream().proxy.id, stream: vmStream(), reason: 'agent stopped' });
  assert.deepEqual(healthEvents().slice(before), [`${VM} healthy->unhealthy probe`, `${VM} unhealthy->healthy probe`, `${VM} connected->disconnected connection`]);
  const [timeline] = recorder.health.timelines([VM]);
  assert.equal(timeline?.connection, 'disconnected');
  assert.equal(timeline?.transitions.at(-1)?.reason, 'agent disconnected: agent stopped');
});

test('proxy events and per-stream counters; pod deletion; push events', () => {
  const { inputs, recorder, events, healthEvents } = setup();
  const s = vmStream();
  recorder.onXdsEvent({ event: 'connect', stream: s });
  const base = { streamId: s.streamId, proxyId: s.proxy.id, typeUrl: CLUSTER.typeUrl };
  recorder.onXdsEvent({ ...base, event: 'response', version: '1', nonce: 'n1', resources: ['c'], removed: [], bytes: 10 });
  recorder.onXdsEvent({ ...base, event: 'ack', version: '1', nonce: 'n1' });
  recorder.onXdsEvent({ ...base, event: 'response', version: '2', nonce: 'n2', resources: ['c'], removed: [], bytes: 10 });
  recorder.onXdsEvent({ ...base, event: 'nack', version: '2', nonce: 'n2', error: { code: 3, message: 'bad cluster c' } });
  assert.deepEqual(recorder.activity.counters(s.streamId, CLUSTER.typeUrl), { pushes: 2, acks: 1, nacks: 1 });
  assert.equal(recorder.activity.lastNack(s.streamId, CLUSTER.typeUrl)?.message, 'bad cluster c');
  assert.equal(recorder.activity.lastPushAt(s.streamId), '2026-12-07T01:00:00.000Z');
  const proxyEvents = events.filter((e) => e.type === 'proxy').map((e) => (e.type === 'proxy' ? `${e.action} ${e.message}${e.xdsType !== undefined ? ` ${e.xdsType}` : ''}` : ''));
  assert.deepEqual(proxyEvents, ['connect sotw from 127.0.40.2:5000', 'nack bad cluster c CDS']);
  recorder.onXdsEvent({ event: 'disconnect', streamId: s.streamId, proxyId: s.proxy.id, stream: s, reason: 'gone' });
  assert.deepEqual(recorder.activity.counters(s.streamId, CLUSTER.typeUrl), { pushes: 0, acks: 0, nacks: 0 }, 'a stream\'s counters go with it');
  inputs.Pod.delete('Pod/shop/reviews-pod');
  assert.equal(healthEvents().at(-1), 'Pod/shop/reviews-pod healthy->absent kubernetes');
  recorder.onPush({ debounceSeconds: 0.1, pushSeconds: 0.02, views: 3, regeneratedServices: 1, changes: 2, firstChangeAt: 0 });
  assert.deepEqual(events.at(-1), { type: 'push', views: 3, changes: 2, pushSeconds: 0.02, debounceSeconds: 0.1, id: events.length, at: '2026-12-07T01:00:00.000Z' });
  recorder.stop();
  inputs.cluster.Pod.delete('Pod/shop/none');
});

test('smallestSorted is the first N of the sorted keys (random keys, repeats, fewer keys than N)', () => {
  let seed = 3;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  for (let round = 0; round < 300; round++) {
    const keys = new Set(Array.from({ length: rand(60) }, () => `WorkloadEntry/ns-${rand(5)}/we-${rand(100)}`));
    const n = 1 + rand(25);
    assert.deepEqual(smallestSorted(keys, n), [...keys].sort().slice(0, n));
  }
});
