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
import { clusterName, entryAddress, SERVICE_PORT, serviceOfWorkload } from '../lib/config-gen.js';
import { floor, perEvent } from '../lib/floor.js';
import { churnAtRate, issueOneByOne, outcomes, perChangeDetail, referenceMesh, startMesh, stopMesh, waitAllDone, type Issued, type MeshRun } from '../lib/mesh-run.js';
import { fmt, met } from '../lib/report.js';
import { summarize } from '../lib/stats.js';
import { round, sleep } from '../lib/time.js';
import type { Ctx, Scenario, ScenarioOutput } from './context.js';
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
      if (r.synced < proxies) failures.push(`${proxies - r.synced} of ${proxies} proxies did not sync`);
      const afterConnect = r.cp.sample();
      await r.load.capture(sampleCluster);

      const idleFrom = r.cp.sample();
      await sleep(idleSeconds * 1000);
      const idleTo = r.cp.sample();
      const idleCores = (idleTo.cpu - idleFrom.cpu) / ((idleTo.at - idleFrom.at) / 1000);

      const { issued, from, to, actualRate } = await churnAtRate(r, rate, churnSeconds);
      const cores = (to.cpu - from.cpu) / ((to.at - from.at) / 1000);
      await waitAllDone(r, issued, 30_000);
      const results = await r.load.collect(issued.map((i) => i.change.id));
      const outs = outcomes(issued, results);
      const affected = outs.filter((o) => o.subscribers > 0);
      const incomplete = affected.filter((o) => o.convergence === undefined).length;
      if (incomplete > 0) failures.push(`${incomplete} of ${affected.length} changes did not reach every proxy`);
      const change = summarize(affected.map((o) => o.convergence).filter((x): x is number => x !== undefined));
      const proxy = summarize(affected.flatMap((o) => o.latencies));
      ctx.log(`  churn: ${issued.length} changes at ${round(actualRate)}/s, ${affected.length} with subscribers (${incomplete} incomplete); subscribers per change ${affected[0]?.subscribers ?? 0}`);
      ctx.log(`  cpu ${round(cores, 3)} cores (idle ${round(idleCores, 3)}); convergence per change p50 ${change.p50} p99 ${change.p99} ms; per proxy p50 ${proxy.p50} p99 ${proxy.p99}`);

      const single = await cpuPerSingleChange(r, singleChanges);
      const singleOuts = outcomes(single.issued, await r.load.collect(single.issued.map((i) => i.change.id)));
      const cla = await r.load.capture(sampleCluster);
      const end = r.cp.sample();
      const memory = await r.cp.memory();
      const statuses = await r.load.status();
      const rssMaxMiB = Math.max(...r.sampler.samples.map((s) => s.rssMiB), end.rssMiB);
      ctx.log(`  peak RSS (VmHWM) ${round(end.hwmMiB)} MiB (after connect ${round(afterConnect.hwmMiB)}); cpu per single change ${round(single.cpuPerChangeMs, 1)} ms`);
      const streams = { delta: proxies / 2, sotw: proxies / 2 };
      const responses = statuses.reduce((s, w) => s + w.responses, 0);
      const loadGeneratorCpuSeconds = statuses.reduce((s, w) => s + w.cpuUserMs + w.cpuSystemMs, 0) / 1000;
      const decodedBodies = statuses.reduce((s, w) => s + w.decodedBodies, 0);
      ctx.log(`  load generator: ${statuses.length} processes, ${round(loadGeneratorCpuSeconds, 1)} CPU s, ${responses} responses (${decodedBodies} distinct bodies decoded); serve ${round(end.cpu, 1)} CPU s`);
      await stopMesh(r);
      run = undefined;
      if (cla === undefined) throw new Error('S6: no ClusterLoadAssignment captured for the floor');
      const fl = await floor(ctx.log, cla, proxies, sampleCluster, `${entryAddress(0)}:${SERVICE_PORT}`, singleChanges, 500);
      // A floor whose pushes did not all arrive, or whose CPU drowned in the idle rate, measures nothing.
      const floorValid = fl.wallMs.n === fl.pushes && fl.cpuPerPushMs > 0;
      const ratio = floorValid ? single.cpuPerChangeMs / fl.cpuPerPushMs : Number.NaN;
      if (!floorValid) ctx.log(`  the floor's measurement is invalid (${fl.wallMs.n} of ${fl.pushes} pushes arrived, ${round(fl.cpuPerPushMs, 2)} ms CPU per push): no ratio`);
      ctx.log(`  floor ratio at ${fl.streams} streams: ${round(single.cpuPerChangeMs, 1)} / ${round(fl.cpuPerPushMs, 1)} ms = ${round(ratio, 2)}`);

      const ok =
        failures.length === 0 &&
        end.hwmMiB <= TARGET.rssMiB &&
        cores <= TARGET.cores &&
        change.p99 <= TARGET.p99Ms &&
        r.syncMs <= TARGET.connectMs &&
        floorValid &&
        ratio <= TARGET.floorRatio;
      const json = {
        shape,
        proxies,
        streams,
        ratePerSecond: rate,
        actualRate,
        churnSeconds,
        startMs: r.startMs,
        connectMs: r.syncMs,
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
        floor: fl,
        floorRatio: ratio,
        loadGeneratorResponses: responses,
        loadGeneratorCpuSeconds,
        loadGeneratorDecodedBodies: decodedBodies,
        failures,
        perChange: perChangeDetail(outs),
      };
      const header = ['run', 'mesh', 'connect (all synced)', 'CPU (cores) during churn', 'CPU s total', 'peak RSS (VmHWM)', 'convergence p50 / p99 (per change)', 'CPU per single change / floor', 'incomplete', 'target', 'met?', 'command', 'date', 'machine'];
      const rows = [
        {
          key: ctx.mode,
          cells: [
            `${fmt(shape.services)} svc, ${fmt(shape.workloadEntries + shape.pods)} workloads, ${fmt(proxies)} Envoys (½ delta), ${rate}/s × ${churnSeconds} s`,
            `${fmt(r.syncMs / 1000, 1)} s`,
            fmt(cores, 3),
            fmt(end.cpu, 1),
            `${fmt(end.hwmMiB)} MiB`,
            `${fmt(change.p50)} / ${fmt(change.p99)} ms`,
            floorValid ? `${fmt(single.cpuPerChangeMs, 1)} / ${fmt(fl.cpuPerPushMs, 1)} ms = ${fmt(ratio, 2)}` : `${fmt(single.cpuPerChangeMs, 1)} ms / floor invalid (its pushes did not reach the proxies)`,
            `${incomplete} / ${affected.length}; unsynced ${proxies - r.synced}`,
            '≤ 512 MiB, ≤ 1 core, p99 ≤ 500 ms, connect ≤ 10 s, floor ratio ≤ 2',
            ctx.quick ? `(quick: 1/10 scale) ${met(ok)}` : met(ok),
            `\`${ctx.command}\``,
            ctx.date,
            `${ctx.machine.cores} vCPU`,
          ],
        },
      ];
      const summary = [
        `S6 ${ctx.mode}: ${fmt(cores, 3)} cores, peak RSS ${fmt(end.hwmMiB)} MiB, connect ${fmt(r.syncMs / 1000, 1)} s, convergence p50 ${fmt(change.p50)} / p99 ${fmt(change.p99)} ms, floor ratio ${floorValid ? fmt(ratio, 2) : 'n/a'}${failures.length > 0 ? `; FAILED: ${failures.join('; ')}` : ''}`,
      ];
      return [{ id: 'S6', json, header, rows, summary, ...(failures.length > 0 ? { failed: failures.join('; ') } : {}) }];
    } finally {
      if (run !== undefined) await stopMesh(run);
    }
  },
};
