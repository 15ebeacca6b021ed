import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiEvent } from '../api/v1/types.js';
import { EventLog } from './event-log.js';

const push = (views: number) => ({ type: 'push' as const, views, changes: 1, pushSeconds: 0.01, debounceSeconds: 0.02 });

test('events get increasing ids and times, and reach subscribers synchronously', () => {
  let now = Date.parse('2026-12-07T01:00:00Z');
  const log = new EventLog(10, () => now);
  const seen: ApiEvent[] = [];
  const unsubscribe = log.subscribe((e) => seen.push(e));
  const first = log.append(push(1));
  now += 1000;
  log.append({ type: 'proxy', action: 'connect', proxy: 'n1', name: 'a.demo', stream: 's1', message: '' });
  assert.deepEqual(seen.map((e) => [e.id, e.type, e.at]), [
    [1, 'push', '2026-12-07T01:00:00.000Z'],
    [2, 'proxy', '2026-12-07T01:00:01.000Z'],
  ]);
  assert.deepEqual(first, { ...push(1), id: 1, at: '2026-12-07T01:00:00.000Z' });
  unsubscribe();
  log.append(push(3));
  assert.equal(seen.length, 2, 'an unsubscribed listener gets nothing more');
  assert.equal(log.lastId, 3);
});

test('since(ID) resumes from the ring and says when events were dropped', () => {
  const log = new EventLog(3);
  for (let i = 1; i <= 5; i++) log.append(push(i));
  // The ring holds ids 3..5.
  assert.deepEqual(log.since(3).events.map((e) => e.id), [4, 5]);
  assert.equal(log.since(3).truncated, false);
  assert.equal(log.since(2).truncated, false, 'id 3 is the next one wanted and it is held');
  assert.deepEqual(log.since(1).events.map((e) => e.id), [3, 4, 5]);
  assert.equal(log.since(1).truncated, true, 'id 2 was dropped');
  assert.deepEqual(log.since(5), { events: [], lastId: 5, truncated: false });
  assert.equal(log.since(0).truncated, true);
});

test('a throwing subscriber does not stop the others', () => {
  const log = new EventLog(3);
  let got = 0;
  log.subscribe(() => {
    throw new Error('broken connection');
  });
  log.subscribe(() => got++);
  log.append(push(1));
  assert.equal(got, 1);
  assert.throws(() => new EventLog(0), /positive integer/);
});
