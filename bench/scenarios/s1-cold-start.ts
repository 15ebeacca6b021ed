/**
 * S1 cold start: process start → serving, and memory, for 1k / 10k / 100k WorkloadEntries plus one
 * ServiceEntry per 10 entries. "Serving" = a proxy connected the moment the xDS port is bound has
 * its listener, route, cluster and endpoints (the port is bound only after the config is applied).
 */
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { generateMesh, listenerName, type MeshShape } from '../lib/config-gen.js';
import { ControlPlaneProcess } from '../lib/cp.js';
import { workDir } from '../lib/mesh-run.js';
import { fmt, met } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { now, round, sleep } from '../lib/time.js';
import { SimProxy } from '../load/sim-proxy.js';
import type { Ctx, Scenario, ScenarioOutput } from './context.js';

/** Issue 15: 100k entries serving in ≤ 5 s (was 10 s, issue 5). */
const TARGET_100K_MS = 5_000;

interface Run {
  readonly listeningMs: number;
  readonly servingMs: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly peakMiB: number;
}

async function probe(xds: string, target: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.close();
      reject(new Error(`probe proxy not synced within ${timeoutMs} ms`));
    }, timeoutMs);
    const p: SimProxy = new SimProxy(0, { id: 'proxyless~127.250.0.1~probe.ns-0~ns-0.svc.cluster.local', namespace: 'ns-0', labels: { app: 'probe' }, region: 'r1', zone: 'z0', targets: [target] }, xds, {
      onLoadAssignment: () => undefined,
      onSynced: () => {
        clearTimeout(timer);
        p.close();
        resolve(now());
      },
      onError: (_p, m) => {
        clearTimeout(timer);
        p.close();
        reject(new Error(`probe proxy: ${m}`));
      },
    });
    p.start();
  });
}

async function once(ctx: Ctx, entries: number, rep: number): Promise<Run> {
  const shape: MeshShape = { services: entries / 10, namespaces: 10, workloadEntries: entries, pods: 0, zones: 3, churnPool: 0 };
  const dir = workDir(`s1-${entries}-${rep}`);
  generateMesh(join(dir, 'config'), shape);
  mkdirSync(join(dir, 'state'), { recursive: true });
  await sleep(500); // let the file writes settle
  const profile = ctx.profileDir !== undefined && rep === 0 ? join(ctx.profileDir, `s1-${entries}`) : undefined;
  const cp = new ControlPlaneProcess({ configDir: join(dir, 'config'), stateDir: join(dir, 'state'), ...(profile ? { profileDir: profile } : {}) });
  try {
    await cp.waitListening(300_000);
    const servedAt = await probe(cp.xds, listenerName(shape, 0), 60_000);
    const s = cp.sample();
    return { listeningMs: cp.listeningAt - cp.startedAt, servingMs: servedAt - cp.startedAt, cpuSeconds: s.cpu, rssMiB: s.rssMiB, peakMiB: s.hwmMiB };
  } finally {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `MESHBRIDGE_BENCH_S1_SIZES=100000` (comma-separated entry counts) measures only those sizes, e.g.
 * one profiled 100k start with `--quick --profile --no-docs` while iterating.
 */
function sizesFromEnv(): number[] | undefined {
  const raw = process.env['MESHBRIDGE_BENCH_S1_SIZES'];
  if (raw === undefined || raw.trim() === '') return undefined;
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 10 || n % 10 !== 0)) throw new Error(`MESHBRIDGE_BENCH_S1_SIZES: expected comma-separated multiples of 10, got "${raw}"`);
  return sizes;
}

export const s1: Scenario = {
  ids: ['S1'],
  title: 'cold start',
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const sizes = sizesFromEnv() ?? (ctx.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]);
    const reps = ctx.quick ? 1 : 3;
    const results: Record<string, { runs: Run[]; median: Run }> = {};
    for (const n of sizes) {
      const runs: Run[] = [];
      for (let r = 0; r < reps; r++) {
        const run = await once(ctx, n, r);
        ctx.log(`  ${fmt(n)} entries: listening ${Math.round(run.listeningMs)} ms, serving ${Math.round(run.servingMs)} ms, rss ${Math.round(run.rssMiB)} MiB (peak ${Math.round(run.peakMiB)}), cpu ${round(run.cpuSeconds, 2)} s`);
        runs.push(run);
      }
      const m = (f: (r: Run) => number): number => median(runs.map(f));
      results[n] = { runs, median: { listeningMs: m((r) => r.listeningMs), servingMs: m((r) => r.servingMs), cpuSeconds: m((r) => r.cpuSeconds), rssMiB: m((r) => r.rssMiB), peakMiB: m((r) => r.peakMiB) } };
    }
    const header = ['run', 'entries (+SEs)', 'start → serving (median)', 'start → xDS port bound', 'CPU s', 'RSS at serving', 'peak RSS', 'target', 'met?', 'command', 'date', 'machine'];
    const rows = sizes.map((n) => {
      const r = (results[n] as { median: Run }).median;
      const is100k = n === 100_000;
      return {
        key: `${ctx.mode} ${n >= 1000 ? `${n / 1000}k` : n}`,
        cells: [
          `${fmt(n)} (+${fmt(n / 10)})`,
          `${fmt(r.servingMs / 1000, 2)} s`,
          `${fmt(r.listeningMs / 1000, 2)} s`,
          fmt(r.cpuSeconds, 2),
          `${fmt(r.rssMiB)} MiB`,
          `${fmt(r.peakMiB)} MiB`,
          is100k ? `≤ ${TARGET_100K_MS / 1000} s` : '—',
          is100k ? met(r.servingMs <= TARGET_100K_MS) : '—',
          `\`${ctx.command}\``,
          ctx.date,
          `${ctx.machine.cores} vCPU`,
        ],
      };
    });
    const summary = sizes.map((n) => {
      const r = (results[n] as { median: Run }).median;
      return `S1 ${fmt(n)} entries: serving in ${fmt(r.servingMs / 1000, 2)} s, RSS ${fmt(r.rssMiB)} MiB${n === 100_000 ? ` (target ≤ ${TARGET_100K_MS / 1000} s: ${r.servingMs <= TARGET_100K_MS ? 'met' : 'NOT met'})` : ''}`;
    });
    return [{ id: 'S1', json: { sizes, reps, results }, header, rows, summary }];
  },
};
