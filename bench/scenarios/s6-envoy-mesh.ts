/**
 * S6 "Envoy full mesh" (issue 15): Istio's reference mesh (1,000 services, 2,000 workloads) with
 * 2,000 simulated Envoy sidecars (load/envoy-proxy.ts: half delta ADS, half state of the world; CDS
 * and LDS wildcard, EDS for every cluster, ACK after decoding), so every endpoint change reaches
 * every proxy. 10 endpoint changes per second through the config folder for 2 minutes.
 *
 * Reported: control-plane CPU (cores) during the churn, peak RSS over the whole run (VmHWM, the
 * connect phase included), the time to connect and sync every proxy, convergence per change
 * (file write → the last proxy received it, which it ACKs in the same tick), and S5's floor ratio at
 * this many streams: CPU per single change (awaited one at a time after the churn) against the bare
 * server's CPU per push of the same ClusterLoadAssignment to as many streams. The scenario FAILS
 * when a proxy did not sync or a change did not reach every proxy.
 */
import { clusterName, serviceOfWorkload } from '../lib/config-gen.js';
import { deliveryFailures } from '../lib/verdict.js';
import { floor, perEvent } from '../lib/floor.js';
import { churnAtRate, issueOneByOne, outcomes, perChangeDetail, referenceMesh, startMesh, stopMesh, STRAGGLER_WAIT_MS, waitAllDone, type Issued, type MeshRun } from '../lib/mesh-run.js';
import { workersCpuSeconds } from '../lib/load-gen.js';
import { fmt } from '../lib/report.js';
import { FLOOR_KINDS } from '../floor/floor-cla.js';
import { summarize } from '../lib/stats.js';
import { round, sleep } from '../lib/time.js';
import { metCell, provenance, repeatableOutput, rowKey, type Ctx, type Scenario, type ScenarioOutput } from './context.js';
import { join } from 'node:path';

const TARGET = { rssMiB: 512, cores: 1, p99Ms: 500, connectMs: 10_000, floorRatio: 2 } as const;

/** CPU per single change, each awaited until every proxy has it (S5's method), in ms. */
async function cpuPerSingleChange(run: MeshRun, changes: number): Promise<{ cpuPerChangeMs: number; issued: Issued[] }> {
  const i0 = run.cp.sample();
  await sleep(2000);
  const i1 = run.cp.sample();
  const s0 = run.cp.sample();
  const issued = await issueOneByOne(run, changes, 20_000);
  const s1 = run.cp.sample();
  return { cpuPerChangeMs: perEvent([i0, i1], [s0, s1], changes) * 1000, issued };
}

export const s6: Scenario = {
  ids: ['S6'],
  title: 'Envoy full mesh',
  repeatable: true,
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const { shape, proxies, rate, churnSeconds, idleSeconds } = referenceMesh(ctx.quick);
    const singleChanges = ctx.quick ? 5 : 20;
    const sampleCluster = clusterName(shape, serviceOfWorkload(shape, 0));
    let run: MeshRun | undefined = await startMesh({
      name: 's6',
      shape,
      plan: { count: proxies, targetsPerProxy: 0, envoy: true },
      ...(ctx.profileDir !== undefined ? { profileDir: join(ctx.profileDir, 's6') } : {}),
      perWorker: 500,
      log: ctx.log,
    });
    try {
      const r = run;
      const failures: string[] = [];
      const afterConnect = r.cp.sample();
      await r.load.capture(sampleCluster);

      const idleFrom = r.cp.sample();
      await sleep(idleSeconds * 1000);
      const idleTo = r.cp.sample();
      const idleCores = (idleTo.cpu - idleFrom.cpu) / ((idleTo.at - idleFrom.at) / 1000);

      const loadBefore = await r.load.cpuSeconds();
      const { issued, from, to, actualRate } = await churnAtRate(r, rate, churnSeconds);
      const cores = (to.cpu - from.cpu) / ((to.at - from.at) / 1000);
      // The simulated sidecars' share of the two cores during the churn (read right after it).
      const loadGeneratorChurnCores = ((await r.load.cpuSeconds()) - loadBefore) / ((to.at - from.at) / 1000);
      await waitAllDone(r, issued, STRAGGLER_WAIT_MS);
      const results = await r.load.collect(issued.map((i) => i.change.id));
      const outs = outcomes(issued, results);
      const affected = outs.filter((o) => o.subscribers > 0);
      const incomplete = affected.filter((o) => o.convergence === undefined).length;
      const change = summarize(affected.map((o) => o.convergence).filter((x): x is number => x !== undefined));
      const proxy = summarize(affected.flatMap((o) => o.latencies));
      ctx.log(`  churn: ${issued.length} changes at ${round(actualRate)}/s, ${affected.length} with subscribers (${incomplete} incomplete); subscribers per change ${affected[0]?.subscribers ?? 0}`);
      ctx.log(`  cpu ${round(cores, 3)} cores (idle ${round(idleCores, 3)}; load generator ${round(loadGeneratorChurnCores, 3)} cores); convergence per change p50 ${change.p50} p99 ${change.p99} ms; per proxy p50 ${proxy.p50} p99 ${proxy.p99}`);

      const single = await cpuPerSingleChange(r, singleChanges);
      const singleOuts = outcomes(single.issued, await r.load.collect(single.issued.map((i) => i.change.id)));
      // The churn's and the single changes alike must each reach every Envoy.
      failures.push(...deliveryFailures({ proxies, synced: r.synced, changes: [...outs, ...singleOuts], everyChangeSubscribed: true }));
      const cla = await r.load.capture(sampleCluster);
      const end = r.cp.sample();
      const memory = await r.cp.memory();
      const statuses = await r.load.status();
      const rssMaxMiB = Math.max(...r.sampler.samples.map((s) => s.rssMiB), end.rssMiB);
      ctx.log(`  peak RSS (VmHWM) ${round(end.hwmMiB)} MiB (after connect ${round(afterConnect.hwmMiB)}); cpu per single change ${round(single.cpuPerChangeMs, 1)} ms`);
      const streams = { delta: proxies / 2, sotw: proxies / 2 };
      const responses = statuses.reduce((s, w) => s + w.responses, 0);
      const loadGeneratorCpuSeconds = workersCpuSeconds(statuses);
      const decodedBodies = statuses.reduce((s, w) => s + w.decodedBodies, 0);
      ctx.log(`  load generator: ${statuses.length} processes, ${round(loadGeneratorCpuSeconds, 1)} CPU s, ${responses} responses (${decodedBodies} distinct bodies decoded); serve ${round(end.cpu, 1)} CPU s`);
      await stopMesh(r);
      run = undefined;
      if (cla === undefined) throw new Error('S6: no ClusterLoadAssignment captured for the floor');
      // Both floors at this scenario's stream count, pushing the assignment the Envoys received (an endpoint it holds).
      const floors = [];
      for (const kind of FLOOR_KINDS) floors.push(await floor(ctx.log, { kind, cla, cluster: sampleCluster, streams: proxies, pushes: singleChanges, perWorker: 500, paced: { ratePerSecond: rate, pushes: ctx.quick ? 50 : 200 } }));
      failures.push(...floors.flatMap((f) => f.failures));
      const fl = floors.find((f) => f.kind === 'grpc-js');
      const h2 = floors.find((f) => f.kind === 'http2');
      const ratio = single.cpuPerChangeMs / (fl?.cpuPerPushMs ?? NaN);
      const h2Ratio = single.cpuPerChangeMs / (h2?.cpuPerPushMs ?? NaN);
      ctx.log(`  floor ratio at ${proxies} streams: ${round(single.cpuPerChangeMs, 1)} ms / grpc-js ${round(fl?.cpuPerPushMs ?? NaN, 1)} ms = ${round(ratio, 2)}; / http2 ${round(h2?.cpuPerPushMs ?? NaN, 1)} ms = ${round(h2Ratio, 2)}`);

      const json = {
        shape,
        proxies,
        streams,
        ratePerSecond: rate,
        actualRate,
        churnSeconds,
        startMs: r.startMs,
        connectMs: r.syncMs,
        connectCpuSeconds: r.connectCpu,
        loadGeneratorChurnCores,
        synced: r.synced,
        idleCores,
        cores,
        peakRssMiB: end.hwmMiB,
        peakRssAfterConnectMiB: afterConnect.hwmMiB,
        rssMaxSampledMiB: rssMaxMiB,
        cpuSecondsTotal: end.cpu,
        memoryMiB: memory,
        changes: issued.length,
        affected: affected.length,
        incomplete,
        convergencePerChangeMs: change,
        convergencePerProxyMs: proxy,
        singleChange: { changes: singleChanges, cpuPerChangeMs: single.cpuPerChangeMs, convergencePerChangeMs: summarize(singleOuts.map((o) => o.convergence).filter((x): x is number => x !== undefined)) },
        floors,
        floorRatio: ratio,
        http2FloorRatio: h2Ratio,
        loadGeneratorResponses: responses,
        loadGeneratorCpuSeconds,
        loadGeneratorDecodedBodies: decodedBodies,
        failures,
        perChange: perChangeDetail(outs),
      };
      const headline = {
        connectS: r.syncMs / 1000,
        cores,
        cpuSeconds: end.cpu,
        peakRssMiB: end.hwmMiB,
        changeP50Ms: change.p50,
        changeP99Ms: change.p99,
        singleChangeMs: single.cpuPerChangeMs,
        floorMs: fl?.cpuPerPushMs ?? NaN,
        floorRatio: ratio,
        http2FloorMs: h2?.cpuPerPushMs ?? NaN,
        http2FloorRatio: h2Ratio,
        incomplete,
        unsynced: proxies - r.synced,
        connectServeCpuS: r.connectCpu.serve,
        connectLoadCpuS: r.connectCpu.loadGenerator,
        loadChurnCores: loadGeneratorChurnCores,
        floorPacedP50Ms: fl?.paced?.wallMs.p50 ?? NaN,
        floorPacedP99Ms: fl?.paced?.wallMs.p99 ?? NaN,
        http2FloorPacedP50Ms: h2?.paced?.wallMs.p50 ?? NaN,
        http2FloorPacedP99Ms: h2?.paced?.wallMs.p99 ?? NaN,
      };
      return [
        repeatableOutput({
          id: 'S6',
          json,
          header: ['run', 'mesh', 'connect (all synced)', 'connect CPU s: serve / simulated sidecars', 'CPU (cores) during churn', 'simulated sidecars (cores) during churn', 'CPU s total', 'peak RSS (VmHWM)', 'convergence p50 / p99 (per change)', 'CPU per single change / grpc-js floor = ratio', 'node:http2 floor = ratio', `floors pushing every change at ${rate}/s: p50 / p99 grpc-js; node:http2`, 'incomplete', 'target', 'met?', 'command', 'date', 'machine'],
          headline,
          failures,
          render: (v) => {
            const ok =
              v.num('incomplete') === 0 &&
              v.num('unsynced') === 0 &&
              v.num('peakRssMiB') <= TARGET.rssMiB &&
              v.num('cores') <= TARGET.cores &&
              v.num('changeP99Ms') <= TARGET.p99Ms &&
              v.num('connectS') * 1000 <= TARGET.connectMs &&
              v.num('floorRatio') <= TARGET.floorRatio;
            return {
              rows: [
                {
                  key: rowKey(ctx),
                  cells: [
                    `${fmt(shape.services)} svc, ${fmt(shape.workloadEntries + shape.pods)} workloads, ${fmt(proxies)} Envoys (½ delta), ${rate}/s × ${churnSeconds} s`,
                    `${v.show('connectS', 1)} s`,
                    `${v.show('connectServeCpuS', 1)} / ${v.show('connectLoadCpuS', 1)}`,
                    v.show('cores', 3),
                    v.show('loadChurnCores', 3),
                    v.show('cpuSeconds', 1),
                    `${v.show('peakRssMiB')} MiB`,
                    `${v.show('changeP50Ms')} / ${v.show('changeP99Ms')} ms`,
                    `${v.show('singleChangeMs', 1)} / ${v.show('floorMs', 1)} ms = ${v.show('floorRatio', 2)}`,
                    `${v.show('http2FloorMs', 1)} ms = ${v.show('http2FloorRatio', 2)}`,
                    `${v.show('floorPacedP50Ms')} / ${v.show('floorPacedP99Ms')} ms; ${v.show('http2FloorPacedP50Ms')} / ${v.show('http2FloorPacedP99Ms')} ms`,
                    `${v.show('incomplete')} / ${affected.length}; unsynced ${v.show('unsynced')}`,
                    '≤ 512 MiB, ≤ 1 core, p99 ≤ 500 ms, connect ≤ 10 s, floor ratio ≤ 2 (grpc-js floor)',
                    metCell(ctx, ok),
                    ...provenance(ctx),
                  ],
                },
              ],
              summary: [
                `S6 ${rowKey(ctx)}: ${v.show('cores', 3)} cores, peak RSS ${v.show('peakRssMiB')} MiB, connect ${v.show('connectS', 1)} s, convergence p50 ${v.show('changeP50Ms')} / p99 ${v.show('changeP99Ms')} ms, floor ratio ${v.show('floorRatio', 2)} (grpc-js) / ${v.show('http2FloorRatio', 2)} (node:http2)`,
              ],
            };
          },
        }),
      ];
    } finally {
      if (run !== undefined) await stopMesh(run);
    }
  },
};
