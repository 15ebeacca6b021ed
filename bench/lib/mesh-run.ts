/**
 * One measured mesh: generated config folder → `meshbridge serve` process → load-generator
 * processes with the simulated proxies, and helpers to make changes and read what reached whom.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Churner, CHURN_CYCLE, type Change, type ChurnOp } from './churn.js';
import { generateMesh, initialEntryState, type GeneratedMesh, type MeshShape } from './config-gen.js';
import { ControlPlaneProcess, Sampler, type ProcSample } from './cp.js';
import { LoadGen } from './load-gen.js';
import { proxySpecs, type ProxyPlan } from './proxies.js';
import { listenOverflows } from './tcp-counters.js';
import { now, round, sleep } from './time.js';
import type { ExpectationResult } from '../load/protocol.js';

export interface MeshRunOptions {
  readonly name: string;
  readonly shape: MeshShape;
  readonly plan: ProxyPlan;
  readonly debounceMs?: number;
  readonly profileDir?: string;
  /** Extra node flags for the control plane (e.g. --heapsnapshot-signal=SIGUSR2). */
  readonly nodeArgs?: readonly string[];
  readonly perWorker?: number;
  readonly connectBatch?: number;
  readonly connectGapMs?: number;
  readonly syncTimeoutMs?: number;
  /** The churn cycle each pool entry walks (default CHURN_CYCLE). */
  readonly ops?: readonly ChurnOp[];
  readonly log: (line: string) => void;
}

export interface MeshRun {
  readonly o: MeshRunOptions;
  readonly dir: string;
  readonly gen: GeneratedMesh;
  readonly cp: ControlPlaneProcess;
  readonly load: LoadGen;
  readonly sampler: Sampler;
  readonly churner: Churner;
  /** Process start → listening (config loaded), ms. */
  readonly startMs: number;
  /** First proxy started → every proxy synced, ms. */
  readonly syncMs: number;
  readonly synced: number;
  /**
   * CPU seconds of the connect phase (first proxy started → every proxy synced): the control
   * plane's, and the load generator's processes' (which share the machine's cores with it).
   */
  readonly connectCpu: { readonly serve: number; readonly loadGenerator: number };
}

export function workDir(name: string): string {
  return join(tmpdir(), `meshbridge-bench-${process.pid}`, name);
}

export async function startMesh(o: MeshRunOptions): Promise<MeshRun> {
  const dir = workDir(o.name);
  const t0 = now();
  const gen = generateMesh(join(dir, 'config'), o.shape);
  o.log(`  ${o.name}: generated ${gen.objects} objects in ${gen.files} files (${round(gen.bytes / 1048576)} MiB) in ${Math.round(now() - t0)} ms`);
  mkdirSync(join(dir, 'state'), { recursive: true });
  const cp = new ControlPlaneProcess({
    configDir: join(dir, 'config'),
    stateDir: join(dir, 'state'),
    ...(o.debounceMs !== undefined ? { debounceMs: o.debounceMs } : {}),
    ...(o.profileDir !== undefined ? { profileDir: o.profileDir } : {}),
    ...(o.nodeArgs !== undefined ? { nodeArgs: o.nodeArgs } : {}),
  });
  const sampler = new Sampler(cp.pid);
  const load = new LoadGen();
  try {
    await cp.waitListening(300_000);
    const startMs = cp.listeningAt - cp.startedAt;
    o.log(`  ${o.name}: serving after ${Math.round(startMs)} ms (rss ${Math.round(cp.sample().rssMiB)} MiB)`);
    const specs = proxySpecs(o.shape, o.plan);
    const s0 = now();
    const serveCpuBefore = cp.sample().cpu;
    const overflowsBefore = listenOverflows();
    await load.start(cp.xds, specs, { perWorker: o.perWorker ?? 500, batch: o.connectBatch ?? 50, batchGapMs: o.connectGapMs ?? 50 });
    const sync = await load.waitSynced(o.syncTimeoutMs ?? 300_000);
    const lastSynced = Math.max(...sync.statuses.map((s) => s.lastSyncedAt));
    const syncMs = (sync.timedOut ? now() : lastSynced) - s0;
    const errors = sync.statuses.reduce((s, x) => s + x.errors, 0);
    const overflows = (listenOverflows() ?? 0) - (overflowsBefore ?? 0);
    const connectCpu = { serve: cp.sample().cpu - serveCpuBefore, loadGenerator: await load.cpuSeconds() };
    o.log(`  ${o.name}: ${sync.synced}/${specs.length} proxies synced in ${Math.round(syncMs)} ms (CPU s: serve ${round(connectCpu.serve, 1)}, load generator ${round(connectCpu.loadGenerator, 1)})${errors ? ` (${errors} stream errors: ${sync.statuses.find((s) => s.lastError)?.lastError})` : ''}${overflows > 0 ? `; the kernel dropped ${overflows} connections on a full accept queue (TcpExt ListenOverflows, machine-wide)` : ''}`);
    const pool = Array.from({ length: Math.min(o.shape.churnPool, o.shape.workloadEntries) }, (_, i) => initialEntryState(i));
    const churner = new Churner(join(dir, 'config'), o.shape, pool, o.ops ?? CHURN_CYCLE);
    return { o, dir, gen, cp, load, sampler, churner, startMs, syncMs, synced: sync.synced, connectCpu };
  } catch (e) {
    sampler.stop();
    await load.stop();
    await cp.stop();
    throw e;
  }
}

export async function stopMesh(run: MeshRun): Promise<void> {
  run.sampler.stop();
  await run.load.stop();
  await run.cp.stop();
  rmSync(run.dir, { recursive: true, force: true });
}

export interface Issued {
  readonly change: Change;
  /** Absolute ms just before the file was written. */
  readonly writtenAt: number;
  readonly subscribers: number;
}

/** Registers the next change's expectation with every worker, then writes the file. */
export async function issueChange(run: MeshRun): Promise<Issued> {
  const { change, write } = run.churner.next();
  const subscribers = await run.load.expect(change.id, change.expect);
  const writtenAt = now();
  write();
  return { change, writtenAt, subscribers };
}

export interface ChangeOutcome {
  readonly id: number;
  readonly op: string;
  readonly subscribers: number;
  readonly reached: number;
  /** ms from the write to each subscribed proxy's receipt. */
  readonly latencies: number[];
  /** ms from the write to the last subscribed proxy (undefined when some never got it). */
  readonly convergence: number | undefined;
  /** Absolute ms of the last receipt. */
  readonly lastAt: number | undefined;
}

export function outcomes(issued: readonly Issued[], results: readonly ExpectationResult[]): ChangeOutcome[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return issued.map((i) => {
    const r = byId.get(i.change.id);
    const latencies = (r?.samples ?? []).map((s) => s.recv - i.writtenAt);
    const complete = r !== undefined && r.samples.length === r.subscribers;
    const lastAt = r && r.samples.length > 0 ? Math.max(...r.samples.map((s) => s.recv)) : undefined;
    return {
      id: i.change.id,
      op: i.change.op,
      subscribers: r?.subscribers ?? i.subscribers,
      reached: r?.samples.length ?? 0,
      latencies,
      convergence: complete && latencies.length > 0 ? Math.max(...latencies) : undefined,
      lastAt,
    };
  });
}

/** One line per change for the JSON results: when the first and the last subscribed proxy had it. */
export function perChangeDetail(outs: readonly ChangeOutcome[]): { id: number; op: string; subscribers: number; reached: number; firstMs: number; lastMs: number | undefined }[] {
  return outs.map((o) => ({
    id: o.id,
    op: o.op,
    subscribers: o.subscribers,
    reached: o.reached,
    firstMs: Math.round(Math.min(...o.latencies)),
    lastMs: o.convergence === undefined ? undefined : Math.round(o.convergence),
  }));
}

export interface ChurnWindow {
  readonly issued: Issued[];
  /** Control-plane samples at the window's start and end (one debounce + a margin after the last change). */
  readonly from: ProcSample;
  readonly to: ProcSample;
  /** Changes per second as issued. */
  readonly actualRate: number;
}

/** Issues `rate` changes per second for `seconds`, on schedule (S2, S6). */
export async function churnAtRate(run: MeshRun, rate: number, seconds: number): Promise<ChurnWindow> {
  const from = run.cp.sample();
  const issued: Issued[] = [];
  const total = rate * seconds;
  const t0 = now();
  for (let k = 0; k < total; k++) {
    const wait = t0 + (k * 1000) / rate - now();
    if (wait > 0) await sleep(wait);
    issued.push(await issueChange(run));
  }
  const actualRate = issued.length / ((now() - t0) / 1000);
  await sleep(500);
  return { issued, from, to: run.cp.sample(), actualRate };
}

/**
 * How long a churn waits for its last changes to reach every subscribed proxy before it counts the ones
 * that did not as missed (which fails the run): generous, so that "missed" means not delivered rather
 * than slow on a busy machine; it costs nothing when every change arrived.
 */
export const STRAGGLER_WAIT_MS = 60_000;

/** Waits (bounded in all) until every issued change reached every subscribed proxy. */
export async function waitAllDone(run: MeshRun, issued: readonly Issued[], timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  for (const i of issued) await run.load.waitDone(i.change.id, Math.max(1, deadline - now()));
}

/** Istio's reference mesh (S2, S6): 1,000 services, 2,000 workloads, 2,000 proxies, 10 changes/s for 120 s; quick: a tenth, 15 s. */
export function referenceMesh(quick: boolean): { shape: MeshShape; proxies: number; rate: number; churnSeconds: number; idleSeconds: number } {
  const scale = quick ? 10 : 1;
  return {
    shape: { services: 1000 / scale, namespaces: 50 / scale, workloadEntries: 1000 / scale, pods: 1000 / scale, zones: 3, churnPool: 200 / scale },
    proxies: 2000 / scale,
    rate: 10,
    churnSeconds: quick ? 15 : 120,
    idleSeconds: quick ? 3 : 10,
  };
}

/** Issues `changes` changes one at a time, each awaited (bounded) until every subscribed proxy has it, 200 ms apart (S3, S6). */
export async function issueOneByOne(run: MeshRun, changes: number, timeoutMs: number): Promise<Issued[]> {
  const issued: Issued[] = [];
  for (let k = 0; k < changes; k++) {
    const i = await issueChange(run);
    issued.push(i);
    await run.load.waitDone(i.change.id, timeoutMs);
    await sleep(200);
  }
  return issued;
}
