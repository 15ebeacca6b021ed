/**
 * `npm run bench -- [--quick] [--only S1,S3] [--runs N] [--variant policies] [--profile] [--no-docs]
 *   [--wait-quiet] [--cp-bin PATH] [--cp-node-args "FLAGS"] [--label TEXT]`
 *
 * Runs the performance scenarios against a real `meshbridge serve` process fed from a generated
 * config folder, with simulated proxies in separate load-generator processes. Each run of a scenario
 * writes its JSON to bench/results/ (git-ignored); each scenario writes its row to docs/benchmarks.md.
 * `--quick` runs every scenario small (under 5 minutes in total on 2 cores); the default is full.
 * `--runs N` runs each of S2–S6 N times (full default 3, quick default 1) and reports the median and
 * the spread (min–max) of every headline number. The exit code is non-zero when any run failed: a
 * proxy did not sync, a change missed a subscribed proxy, a floor push did not arrive, or an error.
 * `--variant policies` runs S2 and S3 on a mesh with DestinationRules and VirtualServices in many
 * namespaces (rows of their own). `--profile` runs the control plane under `node --cpu-prof`
 * (profiles in bench/results/profiles/). `--wait-quiet` waits (up to 15 minutes) before each run
 * until other processes on the machine use less than a quarter of a core; every row records the
 * other processes' load anyway. `--cp-bin` measures another build of the control plane (e.g. a
 * baseline commit), `--cp-node-args` passes node flags to it; `--label` (default: those flags)
 * tells the docs rows apart.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { machine, machineShort, RESULTS, updateDocs, writeResult } from './lib/report.js';
import { background, mark, waitQuiet } from './lib/machine-load.js';
import { runScenarios } from './lib/runner.js';
import { VARIANTS, type Ctx, type Scenario, type Variant } from './scenarios/context.js';
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
  readonly runs: number | undefined;
  readonly variant: Variant | undefined;
  readonly profile: boolean;
  readonly docs: boolean;
  readonly waitQuiet: boolean;
  readonly label: string | undefined;
}

const USAGE = 'npm run bench -- [--quick] [--only S1,S2,...] [--runs N] [--variant policies] [--profile] [--no-docs] [--wait-quiet] [--cp-bin PATH] [--cp-node-args "FLAGS"] [--label TEXT]';

function parseRuns(text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`--runs takes a whole number from 1 to 20, got ${text ?? 'nothing'}; usage: ${USAGE}`);
  return n;
}

function parseVariant(text: string | undefined): Variant {
  const v = VARIANTS.find((x) => x === text);
  if (v === undefined) throw new Error(`--variant takes one of ${VARIANTS.join(', ')}, got ${text ?? 'nothing'}; usage: ${USAGE}`);
  return v;
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let quiet = false;
  let label: string | undefined;
  let only: Set<string> | undefined;
  let runs: number | undefined;
  let variant: Variant | undefined;
  let profile = false;
  let docs = true;
  const onlySet = (text: string): Set<string> => new Set(text.split(',').map((s) => s.trim().toUpperCase()));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--profile') profile = true;
    else if (a === '--no-docs') docs = false;
    else if (a === '--wait-quiet') quiet = true;
    else if (a === '--cp-bin') process.env['MESHBRIDGE_BENCH_BIN'] = argv[++i] ?? '';
    else if (a === '--cp-node-args') process.env['MESHBRIDGE_BENCH_NODE_ARGS'] = argv[++i] ?? '';
    else if (a === '--label') label = argv[++i];
    else if (a === '--runs') runs = parseRuns(argv[++i]);
    else if (a?.startsWith('--runs=')) runs = parseRuns(a.slice(7));
    else if (a === '--variant') variant = parseVariant(argv[++i]);
    else if (a?.startsWith('--variant=')) variant = parseVariant(a.slice(10));
    else if (a === '--only') only = onlySet(argv[++i] ?? '');
    else if (a?.startsWith('--only=')) only = onlySet(a.slice(7));
    else throw new Error(`unknown argument ${a}; usage: ${USAGE}`);
  }
  const nodeArgs = process.env['MESHBRIDGE_BENCH_NODE_ARGS'];
  return { quick, only, runs, variant, profile, docs, waitQuiet: quiet, label: label ?? (nodeArgs ? nodeArgs : undefined) };
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
    variant: args.variant,
    machine: m,
    date: stamp.slice(0, 10),
    log: (line) => process.stdout.write(`${line}\n`),
  };
  const runs = args.runs ?? (args.quick ? 1 : 3);
  ctx.log(`meshbridge bench (${ctx.mode}, ${runs} run${runs > 1 ? 's' : ''} of S2–S6${args.variant !== undefined ? `, variant ${args.variant}` : ''}) on ${machineShort(m)}`);
  const variant = { label: args.label ?? null, cpBin: process.env['MESHBRIDGE_BENCH_BIN'] ?? null, cpNodeArgs: process.env['MESHBRIDGE_BENCH_NODE_ARGS'] ?? null, config: args.variant ?? null };
  const result = await runScenarios(
    SCENARIOS,
    ctx,
    { runs, only: args.only, label: args.label },
    {
      ...(args.waitQuiet ? { beforeScenario: async () => void (await waitQuiet(0.25, 15 * 60_000, ctx.log)) } : {}),
      measureLoad: () => {
        const m0 = mark();
        return () => {
          const load = background(m0, mark());
          return { otherCores: load.otherCores, json: load };
        };
      },
      writeResult: (id, data) => writeResult(id, ctx.mode, { scenario: id, mode: ctx.mode, command, date: stamp, machine: m, variant, ...data }),
      updateDocs: (id, header, rows) => {
        if (args.docs) updateDocs(id, header, rows);
      },
    },
  );
  rmSync(join(tmpdir(), `meshbridge-bench-${process.pid}`), { recursive: true, force: true });
  if (ctx.profileDir) ctx.log(`  profiles: ${ctx.profileDir} (summarise: node dist/bench/profile-summary.js DIR)`);
  return result.exitCode;
}

// Bounded: the whole run stops by itself (three full runs of every scenario take well over an hour).
const guard = setTimeout(() => {
  process.stderr.write('bench: overall time limit reached, exiting\n');
  process.exit(2);
}, 240 * 60_000);
guard.unref();
process.exitCode = await main();
