/**
 * `npm run bench -- [--quick] [--only S1,S3] [--profile] [--no-docs] [--wait-quiet] [--cp-bin PATH]
 *   [--cp-node-args "FLAGS"] [--label TEXT]`
 *
 * Runs the performance scenarios of issue 5 against a real `meshbridge serve` process fed from a
 * generated config folder, with simulated proxies in separate load-generator processes. Each
 * scenario writes its JSON to bench/results/ (git-ignored) and its row to docs/benchmarks.md.
 * `--quick` runs every scenario small (under 5 minutes in total on 2 cores); the default is full.
 * `--profile` runs the control plane under `node --cpu-prof` (profiles in bench/results/profiles/).
 * `--wait-quiet` waits (up to 15 minutes) before each scenario until other processes on the machine
 * use less than a quarter of a core; every result records the other processes' load anyway.
 * `--cp-bin` measures another build of the control plane (e.g. a baseline commit), `--cp-node-args`
 * passes node flags to it; `--label` (default: those flags) tells the docs rows apart.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { machine, machineShort, RESULTS, updateDocs, writeResult } from './lib/report.js';
import { now } from './lib/time.js';
import { background, mark, waitQuiet } from './lib/machine-load.js';
import type { Ctx, Scenario } from './scenarios/context.js';
import { s1 } from './scenarios/s1-cold-start.js';
import { s2 } from './scenarios/s2-reference-mesh.js';
import { s3 } from './scenarios/s3-ctrip.js';
import { s4 } from './scenarios/s4-incrementality.js';
import { k1 } from './scenarios/k1-kube.js';
import { s6 } from './scenarios/s6-envoy-mesh.js';

const SCENARIOS: readonly Scenario[] = [s1, s2, s3, s4, s6, k1];

interface Args {
  readonly quick: boolean;
  readonly only: Set<string> | undefined;
  readonly profile: boolean;
  readonly docs: boolean;
  readonly waitQuiet: boolean;
  readonly label: string | undefined;
}

const USAGE = 'npm run bench -- [--quick] [--only S1,S2,...] [--profile] [--no-docs] [--wait-quiet] [--cp-bin PATH] [--cp-node-args "FLAGS"] [--label TEXT]';

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let quiet = false;
  let label: string | undefined;
  let only: Set<string> | undefined;
  let profile = false;
  let docs = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--profile') profile = true;
    else if (a === '--no-docs') docs = false;
    else if (a === '--wait-quiet') quiet = true;
    else if (a === '--cp-bin') process.env['MESHBRIDGE_BENCH_BIN'] = argv[++i] ?? '';
    else if (a === '--cp-node-args') process.env['MESHBRIDGE_BENCH_NODE_ARGS'] = argv[++i] ?? '';
    else if (a === '--label') label = argv[++i];
    else if (a === '--only') only = new Set((argv[++i] ?? '').split(',').map((s) => s.trim().toUpperCase()));
    else if (a?.startsWith('--only=')) only = new Set(a.slice(7).split(',').map((s) => s.trim().toUpperCase()));
    else throw new Error(`unknown argument ${a}; usage: ${USAGE}`);
  }
  const nodeArgs = process.env['MESHBRIDGE_BENCH_NODE_ARGS'];
  return { quick, only, profile, docs, waitQuiet: quiet, label: label ?? (nodeArgs ? nodeArgs : undefined) };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const m = machine();
  const stamp = new Date().toISOString();
  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const ctx: Ctx = {
    quick: args.quick,
    mode: args.quick ? 'quick' : 'full',
    command,
    profileDir: args.profile ? join(RESULTS, 'profiles', stamp.replace(/[:.]/g, '-')) : undefined,
    machine: m,
    date: stamp.slice(0, 10),
    log: (line) => process.stdout.write(`${line}\n`),
  };
  ctx.log(`meshbridge bench (${ctx.mode}) on ${machineShort(m)}`);
  const summary: string[] = [];
  let failed = 0;
  const t0 = now();
  for (const sc of SCENARIOS) {
    if (args.only && !sc.ids.some((id) => args.only?.has(id))) continue;
    ctx.log(`\n== ${sc.ids.join(' + ')} ${sc.title}`);
    if (args.waitQuiet) await waitQuiet(0.25, 15 * 60_000, ctx.log);
    const ts = now();
    try {
      const m0 = mark();
      const outputs = await sc.run(ctx);
      const load = background(m0, mark());
      ctx.log(`  machine: the bench used ${load.benchCores} cores, other processes ${load.otherCores} cores`);
      for (const out of outputs) {
        const variant = { label: args.label ?? null, cpBin: process.env['MESHBRIDGE_BENCH_BIN'] ?? null, cpNodeArgs: process.env['MESHBRIDGE_BENCH_NODE_ARGS'] ?? null };
        const file = writeResult(out.id, ctx.mode, { scenario: out.id, mode: ctx.mode, command, date: stamp, machine: m, background: load, variant, ...out.json });
        // The last cell says how busy the machine was with other work during the run.
        const rows = out.rows.map((r) => ({ key: args.label !== undefined ? `${r.key} · ${args.label}` : r.key, cells: [...r.cells.slice(0, -1), `${r.cells[r.cells.length - 1] ?? ''}; others ${load.otherCores} cores`] }));
        if (args.docs) updateDocs(out.id, out.header, rows);
        ctx.log(`  ${out.id} → ${file}`);
        summary.push(...out.summary);
        if (out.failed !== undefined) {
          failed++;
          ctx.log(`  ${out.id} FAILED: ${out.failed}`);
        }
      }
    } catch (e) {
      failed++;
      summary.push(`${sc.ids.join('+')} FAILED: ${e instanceof Error ? e.message : String(e)}`);
      ctx.log(`  FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    ctx.log(`  (${Math.round((now() - ts) / 1000)} s)`);
  }
  rmSync(join(tmpdir(), `meshbridge-bench-${process.pid}`), { recursive: true, force: true });
  ctx.log(`\n== summary (${Math.round((now() - t0) / 1000)} s)`);
  for (const line of summary) ctx.log(`  ${line}`);
  if (ctx.profileDir) ctx.log(`  profiles: ${ctx.profileDir} (summarise: node dist/bench/profile-summary.js DIR)`);
  return failed > 0 ? 1 : 0;
}

// Bounded: the whole run stops by itself (the full S2 alone is about 4 minutes).
const guard = setTimeout(() => {
  process.stderr.write('bench: overall time limit reached, exiting\n');
  process.exit(2);
}, 90 * 60_000);
guard.unref();
process.exitCode = await main();
