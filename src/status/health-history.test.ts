import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthHistory, type Observation } from './health-history.js';

const WE = 'WorkloadEntry/demo/vm-1';
const health = (state: Observation['state'], reason = '', source: Observation['source'] = 'probe'): Observation => ({ endpoint: WE, kind: 'WorkloadEntry', address: '127.0.9.1', dimension: 'health', state, reason, source });

function clocked(limits = { transitionsPerEndpoint: 4, endpoints: 2, flapWindowMs: 60_000, flapThreshold: 3 }) {
  const clock = { now: Date.parse('2026-12-07T01:00:00Z') };
  return { clock, history: new HealthHistory(limits, () => clock.now) };
}

test('transitions are recorded with from, to, reason and source; repeats are not', () => {
  const { clock, history } = clocked();
  assert.equal(history.record(health('unknown', 'registered', 'operator'))?.from, 'absent');
  clock.now += 1000;
  const t = history.record(health('healthy', 'probe passed'));
  assert.deepEqual(t, { at: '2026-12-07T01:00:01.000Z', from: 'unknown', to: 'healthy', reason: 'probe passed', source: 'probe', endpoint: WE, kind: 'WorkloadEntry', address: '127.0.9.1', flapping: false });
  assert.equal(history.record(health('healthy', 'heartbeat')), undefined, 'the same state again is no transition');
  assert.equal(history.record({ ...health('connected', 'agent connected', 'connection'), dimension: 'connection' })?.from, 'absent');
  const [timeline] = history.timelines([WE]);
  assert.equal(timeline?.health, 'healthy');
  assert.equal(timeline?.connection, 'connected');
  assert.deepEqual(timeline?.transitions.map((x) => `${x.from}->${x.to} ${x.source}`), ['absent->unknown operator', 'unknown->healthy probe', 'absent->connected connection']);
});

test('flapping: 3 health transitions within 60 s; appearing does not count; the window slides', () => {
  const { clock, history } = clocked({ transitionsPerEndpoint: 100, endpoints: 10, flapWindowMs: 60_000, flapThreshold: 3 });
  history.record(health('unknown'));
  history.record(health('healthy'));
  clock.now += 10_000;
  assert.equal(history.record(health('unhealthy'))?.flapping, false);
  clock.now += 10_000;
  const third = history.record(health('healthy'));
  assert.equal(third?.flapping, true, 'unknown→healthy, healthy→unhealthy, unhealthy→healthy within 20 s');
  assert.equal(history.timelines([WE])[0]?.flapCount, 3);
  clock.now += 55_000; // the first change is now 75 s old, the last two 65 and 55 s
  const later = history.timelines([WE])[0];
  assert.equal(later?.flapCount, 1);
  assert.equal(later?.flapping, false);
});

test('bounded: a ring per endpoint and a cap on endpoints (least recently changed forgotten)', () => {
  const { clock, history } = clocked();
  for (let i = 0; i < 6; i++) {
    clock.now += 100_000;
    history.record(health(i % 2 === 0 ? 'healthy' : 'unhealthy'));
  }
  const [t] = history.timelines([WE]);
  assert.equal(t?.transitions.length, 4);
  assert.equal(t?.dropped, 2);
  assert.equal(t?.transitions[0]?.from, 'unhealthy', 'the oldest two (absent→healthy, healthy→unhealthy) were dropped');
  const other = (n: number): Observation => ({ ...health('healthy'), endpoint: `Pod/demo/p${n}`, kind: 'Pod', source: 'kubernetes' });
  history.record(other(1));
  history.record(other(2));
  assert.equal(history.size, 2);
  assert.equal(history.evictedEndpoints, 1);
  assert.deepEqual(history.timelines().map((x) => x.endpoint), ['Pod/demo/p1', 'Pod/demo/p2']);
  assert.deepEqual(history.apiLimits(), { transitionsPerEndpoint: 4, endpoints: 2, flapWindowSeconds: 60, flapThreshold: 3 });
});
