/**
 * S3 the Ctrip scale: 30,000 ServiceEntries + 30,000 WorkloadEntries, 500 proxies; 200 changes one
 * at a time (a WorkloadEntry weight), each reaching all 500 proxies (they all dial the 10 churned
 * services besides 20 others). Headline: per change, the time until the last affected proxy has it
 * (p50 / p99 over the changes); per (change, proxy) as well.
 *
 * S5 the floors, in the same run: the control plane's CPU per change against bare ADS servers
 * (floor/) that push the very ClusterLoadAssignment meshbridge pushed (captured by the proxies) to
 * 100, 500 and 2,000 subscribed streams, driven by the same load generator: one on grpc-js (meshbridge's
 * stack), one on node:http2 writing pre-framed messages. All are CPU seconds from /proc with the idle
 * rate subtracted; the ratio is taken at S3's proxy count.
 */
import { agreement, describeAgreement } from '../lib/agreement.js';
import { clusterName, policyNote, type MeshShape } from '../lib/config-gen.js';
import { floor, perEvent, type FloorResult } from '../lib/floor.js';
import { issueOneByOne, outcomes, perChangeDetail, startMesh, stopMesh, type MeshRun } from '../lib/mesh-run.js';
import { fmt } from '../lib/report.js';
import type { Values } from '../lib/runs.js';
import { summarize } from '../lib/stats.js';
import { round, sleep } from '../lib/time.js';
import { deliveryFailures } from '../lib/verdict.js';
import { FLOOR_KINDS } from '../floor/floor-cla.js';
import { applyVariant, metCell, provenance, repeatableOutput, rowKey, type Ctx, type Scenario, type ScenarioOutput } from './context.js';
import { join } from 'node:path';

const TARGET_P99_MS = 500;
const TARGET_FLOOR_RATIO = 3;
const HOT = 10;

/** S5's stream counts (quick stops at 500 to stay within the quick run's 5 minutes). */
export function floorStreamCounts(quick: boolean): number[] {
  return quick ? [100, 500] : [100, 500, 2000];
}

const floorKey = (kind: string, streams: number, what: string): string => `${kind}@${streams}.${what}`;

export const s3: Scenario = {
  ids: ['S3', 'S5'],
  title: 'Ctrip scale (and S5, the floors)',
  repeatable: true,
  variants: ['policies'],
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const scale = ctx.quick ? 10 : 1;
    const shape: MeshShape = applyVariant({ services: 30_000 / scale, namespaces: 100 / scale, workloadEntries: 30_000 / scale, pods: 0, zones: 3, churnPool: HOT }, ctx.variant);
    const proxies = ctx.quick ? 100 : 500;
    const changes = ctx.quick ? 40 : 200;
    const pushes = ctx.quick ? 10 : 20;
    const hot = Array.from({ length: HOT }, (_, s) => s);
    let run: MeshRun | undefined;
    try {
      run = await startMesh({
        name: 's3',
        shape,
        plan: { count: proxies, targetsPerProxy: 20, hot },
        ...(ctx.profileDir !== undefined ? { profileDir: join(ctx.profileDir, 's3') } : {}),
        perWorker: 250,
        // Weight changes only, so that S5's floors push the same kind of change.
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
      const failures = deliveryFailures({ proxies, synced: r.synced, changes: outs, everyChangeSubscribed: true });
      ctx.log(`  S3: ${changes} changes × ${outs[0]?.subscribers ?? 0} proxies: per change (last affected proxy) p50 ${change.p50} p99 ${change.p99} ms; per proxy p50 ${proxy.p50} p99 ${proxy.p99}; incomplete ${incomplete}; cpu ${round(cpuPerChangeMs, 1)} ms per change`);
      ctx.log(`  metric agreement: ${describeAgreement(agree)}`);

      const cla = await r.load.capture(clusterName(shape, 0));
      const rss = r.cp.sample().rssMiB;
      const memory = await r.cp.memory();
      const startMs = r.startMs;
      const syncMs = r.syncMs;
      await stopMesh(r);
      run = undefined;
      if (cla === undefined) throw new Error('S5: no ClusterLoadAssignment captured');
      const floors: FloorResult[] = [];
      for (const streams of floorStreamCounts(ctx.quick)) {
        for (const kind of FLOOR_KINDS) floors.push(await floor(ctx.log, { kind, cla, cluster: clusterName(shape, 0), streams, pushes, perWorker: 500 }));
      }
      const floorFailures = floors.flatMap((f) => f.failures);

      const s3json = { shape, proxies, changes, startMs, syncMs, rssMiB: rss, memoryMiB: memory, convergencePerProxyMs: proxy, convergencePerChangeMs: change, incomplete, cpuPerChangeMs, agreement: agree, perChange: perChangeDetail(outs) };
      const s5json = { proxies, changes, meshbridgeCpuPerChangeMs: cpuPerChangeMs, meshbridgeConvergencePerChangeMs: change, floors };
      const mesh = `${fmt(shape.services)} SE + ${fmt(shape.workloadEntries)} WE${policyNote(shape)}, ${fmt(proxies)} proxies, ${changes} changes`;
      const floorHeadline: Record<string, number> = { meshbridgeCpuPerChangeMs: cpuPerChangeMs, claBytes: floors[0]?.claBytes ?? NaN };
      for (const f of floors) {
        floorHeadline[floorKey(f.kind, f.streams, 'cpuPerPushMs')] = f.cpuPerPushMs;
        floorHeadline[floorKey(f.kind, f.streams, 'cpuPerStreamUs')] = f.cpuPerStreamUs;
        floorHeadline[floorKey(f.kind, f.streams, 'encodeMs')] = f.encodeMs.p50;
        floorHeadline[floorKey(f.kind, f.streams, 'writeMs')] = f.writeMs.p50;
        floorHeadline[floorKey(f.kind, f.streams, 'wallP50Ms')] = f.wallMs.p50;
        if (f.streams === proxies) floorHeadline[floorKey(f.kind, f.streams, 'ratio')] = cpuPerChangeMs / f.cpuPerPushMs;
      }
      const floorRows = (v: Values): { key: string; cells: string[] }[] =>
        floorStreamCounts(ctx.quick).flatMap((streams) =>
          FLOOR_KINDS.map((kind) => {
            const at = (what: string): string => floorKey(kind, streams, what);
            const same = streams === proxies;
            return {
              key: rowKey(ctx, ` ${kind} ${String(streams).padStart(4, '0')}`),
              cells: [
                kind === 'grpc-js' ? 'grpc-js server (meshbridge’s stack)' : 'node:http2, pre-framed',
                `1 CLA (${v.show('claBytes')} B) → ${fmt(streams)} streams`,
                `${v.show(at('cpuPerPushMs'), 1)} ms`,
                `${v.show(at('cpuPerStreamUs'), 1)} µs`,
                `${v.show(at('encodeMs'), 3)} / ${v.show(at('writeMs'), 1)} ms`,
                `${v.show(at('wallP50Ms'))} ms`,
                same ? `${v.show('meshbridgeCpuPerChangeMs', 1)} ms` : '—',
                same ? `${v.show(at('ratio'), 1)}×` : '—',
                same ? 'ratio ≤ 3' : '—',
                same ? metCell(ctx, v.num(at('ratio')) <= TARGET_FLOOR_RATIO) : '—',
                ...provenance(ctx),
              ],
            };
          }),
        );
      return [
        repeatableOutput({
          id: 'S3',
          json: s3json,
          header: ['run', 'mesh', 'start → serving', 'proxies synced in', 'RSS', 'every affected proxy, per change p50 / p99', 'per (change, proxy) p50 / p99', 'CPU per change', 'target', 'met?', 'command', 'date', 'machine'],
          headline: { startS: startMs / 1000, syncS: syncMs / 1000, rssMiB: rss, changeP50Ms: change.p50, changeP99Ms: change.p99, proxyP50Ms: proxy.p50, proxyP99Ms: proxy.p99, cpuPerChangeMs },
          failures,
          render: (v) => ({
            rows: [
              {
                key: rowKey(ctx),
                cells: [
                  mesh,
                  `${v.show('startS', 1)} s`,
                  `${v.show('syncS', 1)} s`,
                  `${v.show('rssMiB')} MiB`,
                  `**${v.show('changeP50Ms')} / ${v.show('changeP99Ms')} ms**`,
                  `${v.show('proxyP50Ms')} / ${v.show('proxyP99Ms')} ms`,
                  `${v.show('cpuPerChangeMs', 1)} ms`,
                  'per-change p99 ≤ 500 ms',
                  metCell(ctx, v.num('changeP99Ms') <= TARGET_P99_MS),
                  ...provenance(ctx),
                ],
              },
            ],
            summary: [`S3 ${rowKey(ctx)}: every affected proxy per change p50 ${v.show('changeP50Ms')} / p99 ${v.show('changeP99Ms')} ms (target p99 ≤ 500)`, `S3 metric agreement (last run): ${describeAgreement(agree)}`],
          }),
        }),
        repeatableOutput({
          id: 'S5',
          json: s5json,
          header: ['run', 'floor', 'push', 'floor CPU per push (encode + writes)', 'per stream', 'floor encode / writes (wall)', 'floor push → last proxy p50', 'meshbridge CPU per change (same streams)', 'ratio', 'target', 'met?', 'command', 'date', 'machine'],
          headline: floorHeadline,
          failures: floorFailures,
          render: (v) => ({
            rows: floorRows(v),
            summary: [
              `S5 ${rowKey(ctx)}: meshbridge ${v.show('meshbridgeCpuPerChangeMs', 1)} ms CPU per change at ${proxies} streams vs floors ${FLOOR_KINDS.map((k) => `${k} ${v.show(floorKey(k, proxies, 'cpuPerPushMs'), 1)} ms (ratio ${v.show(floorKey(k, proxies, 'ratio'), 1)})`).join(', ')}; per stream at ${floorStreamCounts(ctx.quick).at(-1) ?? 0}: ${FLOOR_KINDS.map((k) => `${k} ${v.show(floorKey(k, floorStreamCounts(ctx.quick).at(-1) ?? 0, 'cpuPerStreamUs'), 1)} µs`).join(', ')}`,
            ],
          }),
        }),
      ];
    } finally {
      if (run) await stopMesh(run);
    }
  },
};
