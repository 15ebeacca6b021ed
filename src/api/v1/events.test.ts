// /api/v1/events (issue 18) over a real HttpApi: SSE frames with ids and types, resuming with
// Last-Event-ID from the ring (or a reset when events were dropped), heartbeats, the cap on
// concurrent streams, the ?since= polling fallback, bad ids, and streams ended by stop().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSse } from '../../../test/support/sse-client.js';
import { EventLog } from '../../status/event-log.js';
import { HttpApi } from '../http-api.js';
import { EventStreams } from './events.js';
import type { EventsResponse, PushEvent } from './types.js';

const push = (views: number): Omit<PushEvent, 'id' | 'at'> => ({ type: 'push', views, changes: 1, pushSeconds: 0.01, debounceSeconds: 0.02 });

async function serveEvents(t: { after(fn: () => Promise<void>): void }, log: EventLog, o: { maxClients?: number; heartbeatMs?: number } = {}) {
  const streams = new EventStreams({ log, instance: 'cp-test', ...o });
  const api = new HttpApi(new Map([['/api/v1/events', streams.handler]]));
  const { port } = await api.start('127.0.0.1:0');
  t.after(() => api.stop());
  return { api, streams, url: `http://127.0.0.1:${port}/api/v1/events` };
}

test('SSE: events as they are appended, with id, type and JSON data; heartbeats; stop() ends the stream', async (t) => {
  const log = new EventLog(10);
  log.append(push(1)); // before the client: not replayed without Last-Event-ID
  const { api, streams, url } = await serveEvents(t, log, { heartbeatMs: 50 });
  const sse = await openSse(url);
  assert.equal(sse.status, 200);
  assert.equal(sse.contentType, 'text/event-stream; charset=utf-8');
  await sse.next((f) => f.comments.includes('meshbridge events of cp-test'), 2000, 'the greeting');
  log.append(push(2));
  const frame = await sse.next((f) => f.event === 'push', 2000, 'the push event');
  assert.equal(frame.id, '2');
  assert.deepEqual(JSON.parse(frame.data), { ...push(2), id: 2, at: log.since(1).events[0]?.at });
  await sse.next((f) => f.comments.includes('heartbeat'), 2000, 'a heartbeat');
  assert.equal(streams.connected, 1);
  await api.stop();
  assert.equal(await sse.ended, 'end');
  assert.equal(streams.connected, 0, 'the stream was released');
});

test('SSE resume: Last-Event-ID replays what the ring holds, or sends a reset when events were dropped', async (t) => {
  const log = new EventLog(3);
  for (let i = 1; i <= 5; i++) log.append(push(i)); // the ring holds 3..5
  const { url } = await serveEvents(t, log);
  const resumed = await openSse(url, { 'last-event-id': '3' });
  t.after(() => resumed.close());
  await resumed.next((f) => f.id === '5', 2000, 'event 5');
  assert.deepEqual(resumed.frames.filter((f) => f.event === 'push').map((f) => f.id), ['4', '5']);
  const late = await openSse(url, { 'last-event-id': '1' });
  t.after(() => late.close());
  const reset = await late.next((f) => f.event === 'reset', 2000, 'a reset');
  assert.deepEqual(JSON.parse(reset.data), { instance: 'cp-test', lastId: 5 });
  assert.equal(late.frames.filter((f) => f.event === 'push').length, 0, 'no partial replay after a gap');
});

test('at most maxClients streams (503 beyond); a closed stream frees its place', async (t) => {
  const { url, streams } = await serveEvents(t, new EventLog(3), { maxClients: 1 });
  const first = await openSse(url);
  const refused = await fetch(url);
  assert.equal(refused.status, 503);
  assert.deepEqual(await refused.json(), { error: 'too many event streams (at most 1): poll with ?since=ID' });
  first.close();
  await (async () => {
    for (let i = 0; i < 100 && streams.connected > 0; i++) await new Promise((r) => setTimeout(r, 10));
  })();
  assert.equal(streams.connected, 0);
  const again = await openSse(url);
  t.after(() => again.close());
  assert.equal(again.status, 200);
});

test('polling: ?since=ID returns the events after it as JSON; a bad id is a 400', async (t) => {
  const log = new EventLog(3);
  for (let i = 1; i <= 5; i++) log.append(push(i));
  const { url } = await serveEvents(t, log);
  const get = async (q: string): Promise<[number, unknown]> => {
    const r = await fetch(`${url}${q}`);
    return [r.status, await r.json()];
  };
  const [status, body] = await get('?since=3');
  assert.equal(status, 200);
  const polled = body as EventsResponse;
  assert.deepEqual([polled.instance, polled.lastId, polled.truncated, polled.events.map((e) => e.id)], ['cp-test', 5, false, [4, 5]]);
  assert.equal(((await get('?since=0'))[1] as EventsResponse).truncated, true, 'ids 1 and 2 were dropped');
  assert.equal(((await get('?since=99'))[1] as EventsResponse).truncated, true, 'an id from an earlier process');
  assert.deepEqual(await get('?since=abc'), [400, { error: 'since must be a non-negative integer event id, not "abc"' }]);
});
