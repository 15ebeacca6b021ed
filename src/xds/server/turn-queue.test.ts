import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { TurnQueue } from './turn-queue.js';

test('the requests of two streams are handled alternately, one per event-loop turn, each stream in order', async () => {
  const handled: string[] = [];
  const flow = { pause: () => undefined, resume: () => undefined };
  const a = new TurnQueue<string>((x) => handled.push(x), flow);
  const b = new TurnQueue<string>((x) => handled.push(x), flow);
  for (let i = 1; i <= 4; i++) a.push(`a${i}`);
  b.push('b1');
  b.push('b2');
  assert.deepEqual(handled, [], 'nothing is handled in the turn that received the requests');
  let timerRan = -1;
  setTimeout(() => (timerRan = handled.length), 0);
  while (a.pending + b.pending > 0) await turn();
  assert.deepEqual(handled, ['a1', 'b1', 'a2', 'b2', 'a3', 'a4']);
  assert.ok(timerRan >= 0 && timerRan < handled.length, `a timer (a push) ran between requests (after ${timerRan})`);
});

test('the transport is paused when highWater requests wait, and resumed once they are handled', async () => {
  const calls: string[] = [];
  const q = new TurnQueue<number>(() => calls.push('handle'), { pause: () => calls.push('pause'), resume: () => calls.push('resume') }, 3);
  q.push(1);
  q.push(2);
  q.push(3);
  q.push(4);
  assert.deepEqual(calls, ['pause']);
  while (q.pending > 0) await turn();
  await turn();
  assert.deepEqual(calls, ['pause', 'handle', 'handle', 'handle', 'handle', 'resume']);
});

test('whenIdle: called once every request received so far is handled (at once when none waits)', async () => {
  const calls: string[] = [];
  const q = new TurnQueue<string>((x) => calls.push(x), { pause: () => undefined, resume: () => undefined });
  q.whenIdle(() => calls.push('idle-now'));
  q.push('r1');
  q.push('r2');
  q.whenIdle(() => calls.push('idle'));
  while (q.pending > 0) await turn();
  assert.deepEqual(calls, ['idle-now', 'r1', 'r2', 'idle']);
});
