/**
 * S4 incrementality: control-plane CPU per single change with 1k vs 100k WorkloadEntries (one
 * ServiceEntry per 10 entries), the same 50 proxies and the same kind of change (weight, health,
 * labels, remove, add on entries of 10 services every proxy dials). CPU from /proc over a sequence
 * of changes, each awaited until every subscribed proxy has it, minus the idle rate. 500 changes per
 * size (quick 60): each of the 10 churned entries walks the whole churn cycle (weight, health off/on,
 * labels off/on, remove, add) five times, and the window is long enough to hold major GCs, which are
 * counted (prom-client's `nodejs_gc_duration_seconds_count{kind="major"}` from serve's /metrics).
 */
import { join } from 'node:path';
import type { MeshShape } from '../lib/config-gen.js';
import { issueChange, outcomes, perChangeDetail, startMesh, stopMesh, type Issued } from '../lib/mesh-run.js';
import { fmt } from '../lib/report.js';
import { majorGcs, summarize, type Summary } from '../lib/stats.js';
import { deliveryFailures } from '../lib/verdict.js';
import { round, sleep } from '../lib/time.js';
import { metCell, provenance, repeatableOutput, rowKey, type Ctx, type Scenario, type ScenarioOutput } from './context.js';

const TARGET_RATIO = 1.5;
const PROXIES = 50;

interface SizeResult {
  readonly entries: number;
  readonly cpuPerChangeMs: number;
  readonly idleCores: number;
  readonly convergenceMs: Summary;
  readonly rssMiB: number;
  readonly startMs: number;
  /** Major GCs of the control plane inside the measured window. */
  readonly majorGcs: number;
  readonly failures: readonly string[];
  readonly perChange: unknown[];
}

async function measure(ctx: Ctx, entries: number, changes: number): Promise<SizeResult> {
  const hot = Array.from({ length: 10 }, (_, s) => s);
  const shape: MeshShape = { services: entries / 10, namespaces: 10, workloadEntries: entries, pods: 0, zones: 3, churnPool: 10 };
  const run = await startMesh({
    name: `s4-${entries}`,
    shape,
    plan: { count: PROXIES, targetsPerProxy: 10, hot },
    ...(ctx.profileDir !== undefined ? { profileDir: join(ctx.profileDir, `s4-${entries}`) } : {}),
    log: ctx.log,
  });
  try {
    // Settle (GC after the load, background work after start), then the idle rate.
    await sleep(2000);
    await run.cp.waitQuiet();
    const i0 = run.cp.sample();
    await sleep(3000);
    const i1 = run.cp.sample();
    const idleRate = (i1.cpu - i0.cpu) / (i1.at - i0.at);
    const gc0 = majorGcs(await run.cp.metrics());
    const s0 = run.cp.sample();
    const issued: Issued[] = [];
    for (let k = 0; k < changes; k++) {
      const i = await issueChange(run);
      issued.push(i);
      await run.load.waitDone(i.change.id, 10_000);
      await sleep(150);
    }
    const s1 = run.cp.sample();
    const gcs = majorGcs(await run.cp.metrics()) - gc0;
    const cpuPerChangeMs = (Math.max(0, s1.cpu - s0.cpu - idleRate * (s1.at - s0.at)) / changes) * 1000;
    const outs = outcomes(issued, await run.load.collect(issued.map((i) => i.change.id)));
    const conv = summarize(outs.map((o) => o.convergence ?? Infinity).filter(Number.isFinite));
    const failures = deliveryFailures({ proxies: PROXIES, synced: run.synced, changes: outs, everyChangeSubscribed: true }).map((f) => `${fmt(entries)} entries: ${f}`);
    ctx.log(`  ${fmt(entries)} entries: ${round(cpuPerChangeMs, 1)} ms CPU per change (idle ${round(idleRate * 1000, 3)} cores), convergence p50 ${conv.p50} ms, ${gcs} major GCs in the window`);
    return { entries, cpuPerChangeMs, idleCores: idleRate * 1000, convergenceMs: conv, rssMiB: s1.rssMiB, startMs: run.startMs, majorGcs: gcs, failures, perChange: perChangeDetail(outs) };
  } finally {
    await stopMesh(run);
  }
}

export const s4: Scenario = {
  ids: ['S4'],
  title: 'incrementality',
  repeatable: true,
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const small = 1_000;
    const large = ctx.quick ? 10_000 : 100_000;
    const changes = ctx.quick ? 60 : 500;
    const a = await measure(ctx, small, changes);
    const b = await measure(ctx, large, changes);
    const label = (n: number): string => `${n / 1000}k`;
    return [
      repeatableOutput({
        id: 'S4',
        json: { changes, small: a, large: b, ratio: b.cpuPerChangeMs / a.cpuPerChangeMs },
        header: ['run', 'sizes', 'CPU per change (small)', 'CPU per change (large)', 'ratio', 'convergence p50 small / large', 'major GCs in the window small / large', 'target', 'met?', 'command', 'date', 'machine'],
        headline: {
          smallMs: a.cpuPerChangeMs,
          largeMs: b.cpuPerChangeMs,
          ratio: b.cpuPerChangeMs / a.cpuPerChangeMs,
          smallP50Ms: a.convergenceMs.p50,
          largeP50Ms: b.convergenceMs.p50,
          smallMajorGcs: a.majorGcs,
          largeMajorGcs: b.majorGcs,
        },
        failures: [...a.failures, ...b.failures],
        render: (v) => ({
          rows: [
            {
              key: rowKey(ctx),
              cells: [
                `${label(small)} vs ${label(large)} entries, ${changes} changes each (whole churn cycle)`,
                `${v.show('smallMs', 1)} ms`,
                `${v.show('largeMs', 1)} ms`,
                `${v.show('ratio', 2)}×`,
                `${v.show('smallP50Ms')} / ${v.show('largeP50Ms')} ms`,
                `${v.show('smallMajorGcs')} / ${v.show('largeMajorGcs')}`,
                'ratio ≤ 1.5 (1k vs 100k)',
                metCell(ctx, v.num('ratio') <= TARGET_RATIO, 'quick: 1k vs 10k'),
                ...provenance(ctx),
              ],
            },
          ],
          summary: [`S4 ${rowKey(ctx)}: ${v.show('smallMs', 1)} ms (${label(small)}) vs ${v.show('largeMs', 1)} ms (${label(large)}) CPU per change: ratio ${v.show('ratio', 2)} (target ≤ 1.5); major GCs in the window ${v.show('smallMajorGcs')} / ${v.show('largeMajorGcs')}`],
        }),
      }),
    ];
  },
};
