/**
 * The probe state machine (src/agent/probe.ts) under a manual clock, one test per rule of
 * istio-semantics.md §11 (H-3, H-4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthTracker, ProbeRunner, probeTiming, type ProbeResult } from '../../src/agent/probe.js';
import type { ReadinessProbe } from '../../src/model/config/types.js';
import { ManualTimers } from './manual-timers.js';

const OK: ProbeResult = { healthy: true, message: '' };
const KO = (message = 'boom'): ProbeResult => ({ healthy: false, message });

/** A runner whose probe answers from `script` (the last answer repeats), recording calls and reports with their times. */
function harness(probe: ReadinessProbe, script: (ProbeResult | 'hang')[]) {
  const timers = new ManualTimers();
  const calls: number[] = [];
  const reports: { at: number; result: ProbeResult }[] = [];
  let i = 0;
  const runner = new ProbeRunner({
    timing: probeTiming(probe),
    timers,
    check: () => {
      calls.push(timers.now());
      const next = script[Math.min(i++, script.length - 1)] ?? OK;
      return next === 'hang' ? new Promise<ProbeResult>(() => undefined) : Promise.resolve(next);
    },
    onChange: (result) => reports.push({ at: timers.now(), result }),
  });
  return { timers, calls, reports, runner };
}

test('H-3: defaults are periodSeconds 10, timeoutSeconds 1, successThreshold 1, failureThreshold 1, initialDelaySeconds 0', () => {
  assert.deepEqual(probeTiming({}), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 1 });
  // Zero values are protobuf defaults: they mean "use the default".
  assert.deepEqual(probeTiming({ periodSeconds: 0, timeoutSeconds: 0, successThreshold: 0, failureThreshold: 0 }), probeTiming({}));
  assert.deepEqual(probeTiming({ initialDelaySeconds: 5, periodSeconds: 4, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 6 }), {
    initialDelayMs: 5_000, periodMs: 4_000, timeoutMs: 3_000, successThreshold: 2, failureThreshold: 6,
  });
});

test('H-3: failureThreshold defaults to 1 (the agent), not 3 (the API comment): one failure after healthy reports unhealthy', async () => {
  const h = harness({ httpGet: { port: 80 } }, [OK, KO('down')]);
  h.runner.start();
  await h.timers.advance(10_000);
  assert.deepEqual(h.reports.map((r) => r.result), [OK, KO('down')]);
  h.runner.stop();
});

test('H-4: the first probe runs right after the initial delay, then every period', async () => {
  const h = harness({ initialDelaySeconds: 5, periodSeconds: 10 }, [OK]);
  h.runner.start();
  await h.timers.advance(4_999);
  assert.equal(h.calls.length, 0);
  await h.timers.advance(1);
  assert.deepEqual(h.calls, [5_000]);
  await h.timers.advance(20_000);
  assert.deepEqual(h.calls, [5_000, 15_000, 25_000]);
  h.runner.stop();
});

test('H-4: with no initial delay the first probe runs at once', async () => {
  const h = harness({}, [OK]);
  h.runner.start();
  await h.timers.advance(0);
  assert.deepEqual(h.calls, [0]);
  assert.deepEqual(h.reports, [{ at: 0, result: OK }]);
  h.runner.stop();
});

test('H-4: only state changes are reported (five successes, one report)', async () => {
  const h = harness({ periodSeconds: 1 }, [OK]);
  h.runner.start();
  await h.timers.advance(4_000);
  assert.equal(h.calls.length, 5);
  assert.deepEqual(h.reports, [{ at: 0, result: OK }]);
  h.runner.stop();
});

test('H-4: healthy after successThreshold consecutive successes; a failure restarts the count', async () => {
  const h = harness({ periodSeconds: 1, successThreshold: 3, failureThreshold: 3 }, [OK, OK, KO(), OK, OK, OK]);
  h.runner.start();
  await h.timers.advance(4_000);
  assert.equal(h.reports.length, 0, 'S S F S S: never three in a row');
  await h.timers.advance(1_000);
  assert.deepEqual(h.reports, [{ at: 5_000, result: OK }]);
  h.runner.stop();
});

test('H-4: unhealthy after failureThreshold consecutive failures, with the last probe error', async () => {
  const h = harness({ periodSeconds: 1, failureThreshold: 3 }, [OK, KO('a'), KO('b'), OK, KO('c'), KO('d'), KO('e')]);
  h.runner.start();
  await h.timers.advance(5_000);
  assert.deepEqual(h.reports.map((r) => r.result), [OK], 'F F S F F: never three failures in a row');
  await h.timers.advance(1_000);
  assert.deepEqual(h.reports.map((r) => r.result), [OK, KO('e')]);
  assert.equal(h.reports[1]?.at, 6_000);
  h.runner.stop();
});

test('H-4: the first report is whichever threshold is reached first (here unhealthy)', async () => {
  const h = harness({ periodSeconds: 1, successThreshold: 2, failureThreshold: 2 }, [KO('x'), OK, KO('y'), KO('z'), OK, OK]);
  h.runner.start();
  await h.timers.advance(2_000);
  assert.equal(h.reports.length, 0, 'nothing is reported before a threshold is reached');
  await h.timers.advance(1_000);
  assert.deepEqual(h.reports, [{ at: 3_000, result: KO('z') }]);
  await h.timers.advance(2_000);
  assert.deepEqual(h.reports.map((r) => r.result), [KO('z'), OK]);
  h.runner.stop();
});

test('H-4: every change is reported when the workload flaps', () => {
  const t = new HealthTracker({ successThreshold: 1, failureThreshold: 1 });
  const seen = [OK, OK, KO('1'), KO('2'), OK, KO('3')].map((r) => t.record(r));
  assert.deepEqual(seen, [OK, undefined, KO('1'), undefined, OK, KO('3')]);
  assert.equal(t.state, 'unhealthy');
});

test('H-2/H-3: a probe that does not answer within timeoutSeconds is a failure, and probing goes on', async () => {
  const h = harness({ periodSeconds: 10, timeoutSeconds: 2 }, ['hang', OK]);
  h.runner.start();
  await h.timers.advance(1_999);
  assert.equal(h.reports.length, 0);
  await h.timers.advance(1);
  assert.deepEqual(h.reports, [{ at: 2_000, result: KO('probe timed out after 2s') }]);
  await h.timers.advance(8_000);
  assert.deepEqual(h.calls, [0, 10_000], 'the next probe keeps the period from the start of the previous one');
  assert.deepEqual(h.reports.at(-1), { at: 10_000, result: OK });
  h.runner.stop();
});

test('probes never overlap: a probe slower than the period delays the next one', async () => {
  const h = harness({ periodSeconds: 1, timeoutSeconds: 3 }, ['hang', OK]);
  h.runner.start();
  await h.timers.advance(5_000);
  assert.deepEqual(h.calls.slice(0, 2), [0, 3_000]);
  h.runner.stop();
});

test('a check that throws counts as a failure with its message', async () => {
  const timers = new ManualTimers();
  const reports: ProbeResult[] = [];
  const runner = new ProbeRunner({
    timing: probeTiming({}),
    timers,
    check: () => {
      throw new Error('cannot spawn');
    },
    onChange: (r) => reports.push(r),
  });
  runner.start();
  await timers.advance(0);
  assert.deepEqual(reports, [KO('cannot spawn')]);
  runner.stop();
});

test('stop clears every timer and no probe runs afterwards', async () => {
  const h = harness({ periodSeconds: 1 }, [OK]);
  h.runner.start();
  await h.timers.advance(2_500);
  h.runner.stop();
  assert.equal(h.timers.pending, 0);
  const before = h.calls.length;
  await h.timers.advance(10_000);
  assert.equal(h.calls.length, before);
});
