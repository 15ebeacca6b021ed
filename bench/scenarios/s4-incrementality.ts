/**
 * S4 incrementality: control-plane CPU per single change with 1k vs 100k WorkloadEntries (one
 * ServiceEntry per 10 entries), the same 50 proxies and the same kind of change (weight, health,
 * labels, remove, add on entries of 10 services every proxy dials). CPU from /proc over a sequence
 * of changes, each awaited until every subscribed proxy has it, minus the idle rate.
 */
import { join } from 'node:path';
import type { MeshShape } from '../lib/config-gen.js';
import { issueChange, outcomes, perChangeDetail, startMesh, stopMesh, type Issued } from '../lib/mesh-run.js';
import { fmt, met } from '../lib/report.js';
import { summarize, type Summary } from '../lib/stats.js';
import { round, sleep } from '../lib/time.js';
import type { Ctx, Scenario, ScenarioOutput } from './context.js';

const TARGET_RATIO = 1.5;

interface SizeResult {
  readonly entries: number;
  readonly cpuPerChangeMs: number;
  readonly idleCores: number;
  readonly convergenceMs: Summary;
  readonly rssMiB: number;
  readonly startMs: number;
  readonly perChange: unknown[];
}

async function measure(ctx: Ctx, entries: number, changes: number): Promise<SizeResult> {
  const hot = Array.from({ length: 10 }, (_, s) => s);
  const shape: MeshShape = { services: entries / 10, namespaces: 10, workloadEntries: entries, pods: 0, zones: 3, churnPool: 10 };
  const run = await startMesh({
    name: `s4-${entries}`,
    shape,
    plan: { count: 50, targetsPerProxy: 10, hot },
    ...(ctx.profileDir !== undefined ? { profileDir: join(ctx.profileDir, `s4-${entries}`) } : {}),
    log: ctx.log,
  });
  try {
    // Settle (GC after the load), then the idle rate.
    await sleep(2000);
    const i0 = run.cp.sample();
    await sleep(3000);
    const i1 = run.cp.sample();
    const idleRate = (i1.cpu - i0.cpu) / (i1.at - i0.at);
    const s0 = run.cp.sample();
    const issued: Issued[] = [];
    for (let k = 0; k < changes; k++) {
      const i = await issueChange(run);
      issued.push(i);
      await run.load.waitDone(i.change.id, 10_000);
      await sleep(150);
    }
    const s1 = run.cp.sample();
    const cpuPerChangeMs = (Math.max(0, s1.cpu - s0.cpu - idleRate * (s1.at - s0.at)) / changes) * 1000;
    const outs = outcomes(issued, await run.load.collect(issued.map((i) => i.change.id)));
    const conv = summarize(outs.map((o) => o.convergence ?? Infinity).filter(Number.isFinite));
    ctx.log(`  ${fmt(entries)} entries: ${round(cpuPerChangeMs, 1)} ms CPU per change (idle ${round(idleRate * 1000, 3)} cores), convergence p50 ${conv.p50} ms`);
    return { entries, cpuPerChangeMs, idleCores: idleRate * 1000, convergenceMs: conv, rssMiB: s1.rssMiB, startMs: run.startMs, perChange: perChangeDetail(outs) };
  } finally {
    await stopMesh(run);
  }
}

export const s4: Scenario = {
  ids: ['S4'],
  title: 'incrementality',
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const small = 1_000;
    const large = ctx.quick ? 10_000 : 100_000;
    const changes = ctx.quick ? 20 : 50;
    const a = await measure(ctx, small, changes);
    const b = await measure(ctx, large, changes);
    const ratio = b.cpuPerChangeMs / Math.max(1e-6, a.cpuPerChangeMs);
    const label = (n: number): string => `${n / 1000}k`;
    return [
      {
        id: 'S4',
        json: { changes, small: a, large: b, ratio },
        header: ['run', 'sizes', 'CPU per change (small)', 'CPU per change (large)', 'ratio', 'convergence p50 small / large', 'target', 'met?', 'command', 'date', 'machine'],
        rows: [
          {
            key: ctx.mode,
            cells: [
              `${label(small)} vs ${label(large)} entries, ${changes} changes each`,
              `${fmt(a.cpuPerChangeMs, 1)} ms`,
              `${fmt(b.cpuPerChangeMs, 1)} ms`,
              `${fmt(ratio, 2)}×`,
              `${fmt(a.convergenceMs.p50)} / ${fmt(b.convergenceMs.p50)} ms`,
              'ratio ≤ 1.5 (1k vs 100k)',
              ctx.quick ? `(quick: 1k vs 10k) ${met(ratio <= TARGET_RATIO)}` : met(ratio <= TARGET_RATIO),
              `\`${ctx.command}\``,
              ctx.date,
              `${ctx.machine.cores} vCPU`,
            ],
          },
        ],
        summary: [`S4 ${ctx.mode}: ${fmt(a.cpuPerChangeMs, 1)} ms (${label(small)}) vs ${fmt(b.cpuPerChangeMs, 1)} ms (${label(large)}) CPU per change: ratio ${fmt(ratio, 2)} (target ≤ 1.5)`],
      },
    ];
  },
};
