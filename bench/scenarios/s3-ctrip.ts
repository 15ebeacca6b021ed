/**
 * S3 the Ctrip scale: 30,000 ServiceEntries + 30,000 WorkloadEntries, 500 proxies; one change at a
 * time (a WorkloadEntry weight), each reaching all 500 proxies (they all dial the 10 churned
 * services besides 20 others). Convergence p50/p99 over every (change, proxy).
 *
 * S5 the floor, in the same run: the control plane's CPU per change against a bare ADS server
 * (floor/floor-server.ts) that encodes the very ClusterLoadAssignment meshbridge pushed (captured by
 * the proxies) and writes it to the same number of subscribed streams, driven by the same load
 * generator. Both are CPU seconds per change from /proc, with the idle rate subtracted.
 */
import { agreement, describeAgreement } from '../lib/agreement.js';
import { clusterName, entryAddress, SERVICE_PORT, type MeshShape } from '../lib/config-gen.js';
import { floor, perEvent } from '../lib/floor.js';
import { issueOneByOne, outcomes, perChangeDetail, startMesh, stopMesh, type MeshRun } from '../lib/mesh-run.js';
import { fmt, met } from '../lib/report.js';
import { summarize } from '../lib/stats.js';
import { round, sleep } from '../lib/time.js';
import type { Ctx, Scenario, ScenarioOutput } from './context.js';
import { join } from 'node:path';

const TARGET_P99_MS = 500;
const TARGET_FLOOR_RATIO = 3;
const HOT = 10;

export const s3: Scenario = {
  ids: ['S3', 'S5'],
  title: 'Ctrip scale (and S5, the floor)',
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const scale = ctx.quick ? 10 : 1;
    const shape: MeshShape = { services: 30_000 / scale, namespaces: 100 / scale, workloadEntries: 30_000 / scale, pods: 0, zones: 3, churnPool: HOT };
    const proxies = ctx.quick ? 100 : 500;
    const changes = ctx.quick ? 10 : 40;
    const hot = Array.from({ length: HOT }, (_, s) => s);
    let run: MeshRun | undefined;
    try {
      run = await startMesh({
        name: 's3',
        shape,
        plan: { count: proxies, targetsPerProxy: 20, hot },
        ...(ctx.profileDir !== undefined ? { profileDir: join(ctx.profileDir, 's3') } : {}),
        perWorker: 250,
        // Weight changes only, so that S5's floor pushes the same kind of change.
        ops: ['weight'],
        log: ctx.log,
      });
      const r = run;
      await r.load.capture(clusterName(shape, 0));

      const i0 = r.cp.sample();
      await sleep(3000);
      const i1 = r.cp.sample();
      const metricsBefore = await r.cp.metrics();
      const s0 = r.cp.sample();
      const issued = await issueOneByOne(r, changes, 10_000);
      const s1 = r.cp.sample();
      const metricsAfter = await r.cp.metrics();
      const cpuPerChangeMs = perEvent([i0, i1], [s0, s1], changes) * 1000;
      const results = await r.load.collect(issued.map((i) => i.change.id));
      const outs = outcomes(issued, results);
      const perProxy = outs.flatMap((o) => o.latencies);
      const perChange = outs.map((o) => o.convergence).filter((x): x is number => x !== undefined);
      const incomplete = outs.filter((o) => o.convergence === undefined).length;
      const proxy = summarize(perProxy);
      const change = summarize(perChange);
      const agree = agreement(metricsBefore, metricsAfter, perProxy);
      ctx.log(`  S3: ${changes} changes × ${outs[0]?.subscribers ?? 0} proxies: per proxy p50 ${proxy.p50} p99 ${proxy.p99} ms; per change (last proxy) p50 ${change.p50} p99 ${change.p99}; incomplete ${incomplete}; cpu ${round(cpuPerChangeMs, 1)} ms per change`);
      ctx.log(`  metric agreement: ${describeAgreement(agree)}`);

      const cla = await r.load.capture(clusterName(shape, 0));
      const rss = r.cp.sample().rssMiB;
      const memory = await r.cp.memory();
      const startMs = r.startMs;
      const syncMs = r.syncMs;
      await stopMesh(r);
      run = undefined;
      if (cla === undefined) throw new Error('S5: no ClusterLoadAssignment captured');
      const fl = await floor(ctx.log, cla, proxies, clusterName(shape, 0), `${entryAddress(0)}:${SERVICE_PORT}`, changes, 250);
      const ratio = cpuPerChangeMs / Math.max(1e-6, fl.cpuPerPushMs);

      const s3json = { shape, proxies, changes, startMs, syncMs, rssMiB: rss, memoryMiB: memory, convergencePerProxyMs: proxy, convergencePerChangeMs: change, incomplete, cpuPerChangeMs, agreement: agree, perChange: perChangeDetail(outs) };
      const s5json = { proxies, changes, meshbridgeCpuPerChangeMs: cpuPerChangeMs, meshbridgeConvergencePerChangeMs: change, floor: fl, ratio };
      const mesh = `${fmt(shape.services)} SE + ${fmt(shape.workloadEntries)} WE, ${fmt(proxies)} proxies, ${changes} changes`;
      const common = (ok: boolean): string[] => [ctx.quick ? `(quick: 1/10 scale) ${met(ok)}` : met(ok), `\`${ctx.command}\``, ctx.date, `${ctx.machine.cores} vCPU`];
      const s3ok = proxy.p99 <= TARGET_P99_MS && incomplete === 0;
      return [
        {
          id: 'S3',
          json: s3json,
          header: ['run', 'mesh', 'start → serving', 'proxies synced in', 'RSS', 'convergence p50 / p99 (per proxy)', 'last proxy p50 / p99 (per change)', 'CPU per change', 'target', 'met?', 'command', 'date', 'machine'],
          rows: [
            {
              key: ctx.mode,
              cells: [mesh, `${fmt(startMs / 1000, 1)} s`, `${fmt(syncMs / 1000, 1)} s`, `${fmt(rss)} MiB`, `${fmt(proxy.p50)} / ${fmt(proxy.p99)} ms`, `${fmt(change.p50)} / ${fmt(change.p99)} ms`, `${fmt(cpuPerChangeMs, 1)} ms`, 'p99 ≤ 500 ms', ...common(s3ok)],
            },
          ],
          summary: [`S3 ${ctx.mode}: convergence p50 ${fmt(proxy.p50)} / p99 ${fmt(proxy.p99)} ms (target p99 ≤ 500)`, `S3 metric agreement: ${describeAgreement(agree)}`],
        },
        {
          id: 'S5',
          json: s5json,
          header: ['run', 'push', 'meshbridge CPU per change', 'floor CPU per push (encode + writes)', 'ratio', 'floor encode / writes (wall)', 'floor push → last proxy p50', 'meshbridge write → last proxy p50', 'target', 'met?', 'command', 'date', 'machine'],
          rows: [
            {
              key: ctx.mode,
              cells: [
                `1 CLA (${fmt(fl.claBytes)} B) → ${fmt(fl.streams)} streams`,
                `${fmt(cpuPerChangeMs, 1)} ms`,
                `${fmt(fl.cpuPerPushMs, 1)} ms`,
                `${fmt(ratio, 1)}×`,
                `${fmt(fl.encodeMs.p50, 3)} / ${fmt(fl.writeMs.p50, 1)} ms`,
                `${fmt(fl.wallMs.p50)} ms`,
                `${fmt(change.p50)} ms`,
                'ratio ≤ 3',
                ...common(ratio <= TARGET_FLOOR_RATIO),
              ],
            },
          ],
          summary: [`S5 ${ctx.mode}: meshbridge ${fmt(cpuPerChangeMs, 1)} ms CPU per change vs floor ${fmt(fl.cpuPerPushMs, 1)} ms: ratio ${fmt(ratio, 1)} (target ≤ 3)`],
        },
      ];
    } finally {
      if (run) await stopMesh(run);
    }
  },
};
