/**
 * `node dist/bench/s6-probe.js [SIDECARS] [CHANGES] [--profile DIR] [--heap-snapshot DIR]`: S6's mesh
 * (1,000 services, 2,000 workloads) with fewer simulated Envoy sidecars (default 500), then single
 * endpoint changes (default 10) each awaited until every sidecar has it. Prints the control plane's
 * CPU and memory after the connect phase and its CPU per change and per sidecar (idle CPU
 * subtracted). A quick loop for the per-sidecar costs that S6 multiplies by 2,000: one run takes
 * about 30 s. With `--profile` the control plane runs under `--cpu-prof`; the changes are the last
 * thing before a 5 s pause and the stop, so `node dist/bench/profile-summary.js DIR --last MS
 * --skip-last 6000` (MS: the printed window) reads them alone. `--heap-snapshot` writes one
 * snapshot right after the connect phase.
 */
import { issueOneByOne, outcomes, referenceMesh, startMesh, stopMesh } from './lib/mesh-run.js';
import { sleep } from './lib/time.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const sidecars = Number(positional[0] ?? 500);
const changes = Number(positional[1] ?? 10);
const profileDir = option('--profile');
const snapshotDir = option('--heap-snapshot');
if (!(sidecars > 0) || !(changes > 0)) {
  process.stderr.write('usage: node dist/bench/s6-probe.js [SIDECARS] [CHANGES] [--profile DIR] [--heap-snapshot DIR]\n');
  process.exit(2);
}

const { shape } = referenceMesh(false);
const run = await startMesh({
  name: 's6-probe',
  shape,
  plan: { count: sidecars, targetsPerProxy: 0, envoy: true },
  perWorker: 500,
  log: (line) => console.log(line),
  ...(profileDir !== undefined ? { profileDir } : {}),
  ...(snapshotDir !== undefined ? { nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] } : {}),
});
try {
  const memory = async (): Promise<string> => {
    const text = await (await fetch(`http://${run.cp.http}/metrics`)).text();
    const mib = (name: string): string => {
      const value = new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1];
      return value === undefined ? '?' : `${Math.round(Number(value) / 1048576)} MiB`;
    };
    return `heap used ${mib('nodejs_heap_size_used_bytes')}, external ${mib('nodejs_external_memory_bytes')}`;
  };
  const connected = run.cp.sample();
  console.log(`after connect: CPU ${connected.cpu.toFixed(1)} s, RSS ${Math.round(connected.rssMiB)} MiB, peak ${Math.round(connected.hwmMiB)} MiB; ${await memory()}`);
  if (snapshotDir !== undefined) {
    run.cp.child.kill('SIGUSR2');
    await sleep(20_000);
  }
  const i0 = run.cp.sample();
  await sleep(2000);
  const i1 = run.cp.sample();
  const started = Date.now();
  const s0 = run.cp.sample();
  const loadCpu = async (): Promise<number> => (await run.load.status()).reduce((sum, w) => sum + w.cpuUserMs + w.cpuSystemMs, 0);
  const l0 = await loadCpu();
  const issued = await issueOneByOne(run, changes, 60_000);
  const s1 = run.cp.sample();
  const loadPerChange = ((await loadCpu()) - l0) / changes;
  const idlePerMs = (i1.cpu - i0.cpu) / (i1.at - i0.at);
  const perChange = (s1.cpu - s0.cpu - idlePerMs * (s1.at - s0.at)) / changes;
  const outs = outcomes(issued, await run.load.collect(issued.map((i) => i.change.id)));
  const missed = outs.filter((o) => o.convergence === undefined).length;
  console.log(`single changes: ${changes}, CPU per change ${(perChange * 1000).toFixed(1)} ms (${Math.round((perChange * 1e6) / sidecars)} µs per sidecar); convergence ${outs.map((o) => (o.convergence === undefined ? 'missed' : Math.round(o.convergence))).join(', ')} ms; window ${Date.now() - started} ms; load generator ${loadPerChange.toFixed(1)} CPU ms per change (idle not subtracted)`);
  console.log(`after the changes: RSS ${Math.round(s1.rssMiB)} MiB, peak ${Math.round(s1.hwmMiB)} MiB; ${await memory()}`);
  if (missed > 0) process.exitCode = 1;
  if (profileDir !== undefined) await sleep(5000);
} finally {
  await stopMesh(run);
}
