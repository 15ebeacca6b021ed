/**
 * The bench's failure rule (bench/lib/verdict.ts, bench/lib/runner.ts): a run in which a proxy did not
 * sync or a change missed a subscribed proxy makes the bench exit non-zero, in whichever run of a
 * repeated scenario it happens, and its row is still written with the medians of every run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenarios, selected, type RunnerEffects } from '../../bench/lib/runner.js';
import { deliveryFailures, type Delivery } from '../../bench/lib/verdict.js';
import { repeatableOutput, type Ctx, type Scenario, type ScenarioOutput } from '../../bench/scenarios/context.js';
import type { Row } from '../../bench/lib/report.js';

const ctx: Ctx = {
  quick: true,
  mode: 'quick',
  command: 'npm run bench -- --quick',
  profileDir: undefined,
  variant: undefined,
  machine: { cpu: 'test', cores: 2, memGiB: 1, node: process.version, kernel: 'test' },
  date: '2026-12-07',
  log: () => undefined,
};

function effects(): RunnerEffects & { docs: Map<string, readonly Row[]>; results: string[] } {
  const docs = new Map<string, readonly Row[]>();
  const results: string[] = [];
  return {
    docs,
    results,
    measureLoad: () => () => ({ otherCores: 0.5, json: {} }),
    writeResult: (id) => {
      results.push(id);
      return `memory:${id}`;
    },
    updateDocs: (id, _header, rows) => void docs.set(id, rows),
  };
}

/** A scenario whose k-th run synced `synced[k]` of 10 proxies and delivered `changes[k]`, judged by the real rule. */
function scenario(synced: readonly number[], changes: readonly (readonly Delivery[])[]): Scenario {
  let k = 0;
  return {
    ids: ['SX'],
    title: 'failure rule',
    repeatable: true,
    run: (): Promise<ScenarioOutput[]> => {
      const run = k++;
      const failures = deliveryFailures({ proxies: 10, synced: synced[run] ?? 10, changes: changes[run] ?? [], everyChangeSubscribed: true });
      return Promise.resolve([
        repeatableOutput({
          id: 'SX',
          json: {},
          header: ['run', 'p99', 'machine'],
          headline: { p99: 100 * (run + 1) },
          failures,
          render: (v) => ({ rows: [{ key: 'quick', cells: [`${v.show('p99')} ms`, '2 vCPU'] }], summary: [] }),
        }),
      ]);
    },
  };
}

const all: Delivery[] = [{ subscribers: 10, reached: 10 }];

test('the delivery rule names unsynced proxies, changes that missed a subscriber, and changes nobody subscribed to', () => {
  assert.deepEqual(deliveryFailures({ proxies: 10, synced: 10, changes: all, everyChangeSubscribed: true }), []);
  assert.deepEqual(deliveryFailures({ proxies: 10, synced: 9, changes: all, everyChangeSubscribed: true }), ['1 of 10 proxies did not sync']);
  assert.deepEqual(deliveryFailures({ proxies: 10, synced: 10, changes: [...all, { subscribers: 10, reached: 9 }], everyChangeSubscribed: true }), ['1 of 2 changes missed a subscribed proxy']);
  assert.deepEqual(deliveryFailures({ proxies: 10, synced: 10, changes: [{ subscribers: 0, reached: 0 }], everyChangeSubscribed: true }), ['1 of 1 changes had no subscribed proxy']);
  assert.deepEqual(deliveryFailures({ proxies: 10, synced: 10, changes: [{ subscribers: 0, reached: 0 }], everyChangeSubscribed: false }), []);
});

test('a valid run exits 0', async () => {
  const fx = effects();
  const r = await runScenarios([scenario([10], [all])], ctx, { runs: 1, only: undefined, label: undefined }, fx);
  assert.equal(r.exitCode, 0);
  assert.deepEqual(r.failures, []);
});

test('a run with an unsynced proxy exits non-zero and says why; its row is still written', async () => {
  const fx = effects();
  const r = await runScenarios([scenario([9], [all])], ctx, { runs: 1, only: undefined, label: undefined }, fx);
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.failures, ['SX: run 1/1: 1 of 10 proxies did not sync']);
  assert.deepEqual(fx.docs.get('SX'), [{ key: 'quick', cells: ['100 ms', '2 vCPU; others 0.5 cores'] }]);
});

test('a change that missed a subscribed proxy in the second of three runs fails the bench; the row shows the median and spread of all three', async () => {
  const fx = effects();
  const r = await runScenarios([scenario([10, 10, 10], [all, [{ subscribers: 10, reached: 7 }], all])], ctx, { runs: 3, only: undefined, label: undefined }, fx);
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.failures, ['SX: run 2/3: 1 of 1 changes missed a subscribed proxy']);
  assert.deepEqual(fx.results, ['SX', 'SX', 'SX'], 'every run stores its JSON');
  assert.deepEqual(fx.docs.get('SX'), [{ key: 'quick', cells: ['200 (100–300) ms', '2 vCPU; others ≤ 0.5 cores'] }]);
});

test('a scenario that throws fails the bench', async () => {
  const fx = effects();
  const throwing: Scenario = { ids: ['SY'], title: 'throws', run: () => Promise.reject(new Error('proxies never connected')) };
  const r = await runScenarios([throwing], ctx, { runs: 1, only: undefined, label: undefined }, fx);
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.failures, ['SY run 1/1: proxies never connected']);
});

test('--variant keeps only the scenarios that take it; --only selects by any of a scenario\'s ids', () => {
  const none = (ids: string[], variants?: 'policies'[]): Scenario => ({ ids, title: ids.join('+'), ...(variants !== undefined ? { variants } : {}), run: () => Promise.resolve([]) });
  const list = [none(['S1']), none(['S2'], ['policies']), none(['S3', 'S5'], ['policies'])];
  assert.deepEqual(selected(list, undefined, 'policies').map((s) => s.title), ['S2', 'S3+S5']);
  assert.deepEqual(selected(list, new Set(['S5']), undefined).map((s) => s.title), ['S3+S5']);
  assert.deepEqual(selected(list, new Set(['S1']), 'policies').map((s) => s.title), []);
});
