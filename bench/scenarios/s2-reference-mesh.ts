/**
 * S2 Istio's reference mesh (istio.io performance page, ≤1.16): 1,000 services, 2,000 workloads,
 * 2,000 connected proxies, 10 endpoint changes per second. Measured over the churn window: control
 * plane CPU (cores) and RSS from /proc, and convergence (file write → every subscribed proxy has
 * the EDS response carrying the change, which it ACKs in the same tick).
 */
import { agreement, describeAgreement } from '../lib/agreement.js';
import { churnAtRate, outcomes, perChangeDetail, referenceMesh, startMesh, stopMesh, STRAGGLER_WAIT_MS, waitAllDone } from '../lib/mesh-run.js';
import { fmt } from '../lib/report.js';
import { policyNote } from '../lib/config-gen.js';
import { deliveryFailures } from '../lib/verdict.js';
import { summarize } from '../lib/stats.js';
import { round, sleep } from '../lib/time.js';
import { applyVariant, metCell, provenance, repeatableOutput, rowKey, type Ctx, type Scenario, type ScenarioOutput } from './context.js';

const TARGET_CORES = 0.25;
const TARGET_RSS_MIB = 512;

export const s2: Scenario = {
  ids: ['S2'],
  title: "Istio's reference mesh",
  repeatable: true,
  variants: ['policies'],
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const reference = referenceMesh(ctx.quick);
    const { proxies, rate, churnSeconds, idleSeconds } = reference;
    const shape = applyVariant(reference.shape, ctx.variant);
    const run = await startMesh({
      name: 's2',
      shape,
      plan: { count: proxies, targetsPerProxy: 20 },
      ...(ctx.profileDir !== undefined ? { profileDir: `${ctx.profileDir}/s2` } : {}),
      log: ctx.log,
    });
    try {
      // Idle baseline with every proxy connected.
      const idleFrom = run.cp.sample();
      await sleep(idleSeconds * 1000);
      const idleTo = run.cp.sample();
      const idleCores = (idleTo.cpu - idleFrom.cpu) / ((idleTo.at - idleFrom.at) / 1000);

      const metricsBefore = await run.cp.metrics();
      const loadBefore = await run.load.status();
      const { issued, from, to, actualRate } = await churnAtRate(run, rate, churnSeconds);
      const loadAfter = await run.load.status();
      const workerCpu = (st: typeof loadAfter): number => st.reduce((sum, w) => sum + w.cpuUserMs + w.cpuSystemMs, 0);
      const loadGenCores = (workerCpu(loadAfter) - workerCpu(loadBefore)) / (to.at - from.at);
      const cores = (to.cpu - from.cpu) / ((to.at - from.at) / 1000);
      const window = run.sampler.between(from.at, to.at);
      const rssMax = Math.max(...window.map((s) => s.rssMiB), to.rssMiB);
      const rssMean = window.reduce((s, x) => s + x.rssMiB, 0) / Math.max(1, window.length);
      // Stragglers: bounded wait for every change.
      await waitAllDone(run, issued, STRAGGLER_WAIT_MS);
      const metricsAfter = await run.cp.metrics();
      const memory = await run.cp.memory();
      const results = await run.load.collect(issued.map((i) => i.change.id));
      const outs = outcomes(issued, results);
      const affected = outs.filter((o) => o.subscribers > 0);
      const perChange = affected.map((o) => o.convergence ?? Infinity);
      const perProxy = affected.flatMap((o) => o.latencies);
      const incomplete = affected.filter((o) => o.convergence === undefined).length;
      const change = summarize(perChange.filter(Number.isFinite));
      const proxy = summarize(perProxy);
      const agree = agreement(metricsBefore, metricsAfter, perProxy);
      ctx.log(`  churn: ${issued.length} changes at ${round(actualRate)}/s, ${affected.length} with subscribers (${incomplete} incomplete)`);
      ctx.log(`  cpu ${round(cores, 3)} cores (idle ${round(idleCores, 3)}), rss max ${Math.round(rssMax)} MiB mean ${Math.round(rssMean)} MiB; after: ${JSON.stringify(memory)}`);
      ctx.log(`  convergence per change p50 ${change.p50} ms p99 ${change.p99} ms; per proxy p50 ${proxy.p50} p99 ${proxy.p99}`);
      ctx.log(`  metric agreement: ${describeAgreement(agree)}`);
      const json = {
        shape,
        proxies,
        targetsPerProxy: 20,
        ratePerSecond: rate,
        actualRate,
        churnSeconds,
        startMs: run.startMs,
        syncMs: run.syncMs,
        synced: run.synced,
        idleCores,
        cores,
        rssMaxMiB: rssMax,
        rssMeanMiB: rssMean,
        memoryMiB: memory,
        loadGeneratorCores: loadGenCores,
        changes: issued.length,
        affected: affected.length,
        incomplete,
        convergencePerChangeMs: change,
        convergencePerProxyMs: proxy,
        ops: Object.fromEntries(['weight', 'health-off', 'health-on', 'labels-off', 'labels-on', 'remove', 'add'].map((op) => [op, summarize(affected.filter((o) => o.op === op).map((o) => o.convergence ?? Infinity).filter(Number.isFinite))])),
        agreement: agree,
        perChange: perChangeDetail(outs),
      };
      const failures = deliveryFailures({ proxies, synced: run.synced, changes: affected, everyChangeSubscribed: false });
      const headline = {
        syncS: run.syncMs / 1000,
        cores,
        idleCores,
        rssMaxMiB: rssMax,
        changeP50Ms: change.p50,
        changeP99Ms: change.p99,
        proxyP50Ms: proxy.p50,
        proxyP99Ms: proxy.p99,
        incomplete,
      };
      const mesh = `${fmt(shape.services)} svc, ${fmt(shape.workloadEntries + shape.pods)} workloads${policyNote(shape)}, ${fmt(proxies)} proxies, ${rate}/s × ${churnSeconds} s`;
      return [
        repeatableOutput({
          id: 'S2',
          json,
          header: ['run', 'mesh', 'proxies synced in', 'CPU (cores) during churn', 'idle CPU', 'RSS max', 'convergence p50 / p99 (per change)', 'per proxy p50 / p99', 'incomplete', 'target', 'met?', 'command', 'date', 'machine'],
          headline,
          failures,
          render: (v) => {
            const ok = v.num('cores') <= TARGET_CORES && v.num('rssMaxMiB') <= TARGET_RSS_MIB;
            return {
              rows: [
                {
                  key: rowKey(ctx),
                  cells: [
                    mesh,
                    `${v.show('syncS', 1)} s`,
                    v.show('cores', 3),
                    v.show('idleCores', 3),
                    `${v.show('rssMaxMiB')} MiB`,
                    `${v.show('changeP50Ms')} / ${v.show('changeP99Ms')} ms`,
                    `${v.show('proxyP50Ms')} / ${v.show('proxyP99Ms')} ms`,
                    `${v.show('incomplete')} / ${affected.length}`,
                    '≤ 0.25 core, ≤ 512 MiB',
                    metCell(ctx, ok),
                    ...provenance(ctx),
                  ],
                },
              ],
              summary: [
                `S2 ${rowKey(ctx)} (${v.runs} run${v.runs > 1 ? 's, median (min–max)' : ''}): ${v.show('cores', 3)} cores (target ≤ 0.25), RSS max ${v.show('rssMaxMiB')} MiB (≤ 512), convergence p50 ${v.show('changeP50Ms')} / p99 ${v.show('changeP99Ms')} ms`,
                `S2 metric agreement (last run): ${describeAgreement(agree)}`,
              ],
            };
          },
        }),
      ];
    } finally {
      await stopMesh(run);
    }
  },
};
