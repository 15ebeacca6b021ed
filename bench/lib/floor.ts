/** Harness side of S5's floor servers (floor/floor-server.ts): fork, listen, push, stop; CPU per push. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromFloor, ToFloor } from '../floor/floor-server.js';
import type { FloorKind } from '../floor/floor-cla.js';
import type { ProxySpec } from '../load/sim-proxy.js';
import { procSample } from './cp.js';
import { LoadGen } from './load-gen.js';
import { summarize, type Summary } from './stats.js';
import { round, sleep } from './time.js';
import { scanLoadAssignment } from './wire.js';

const FLOOR = fileURLToPath(new URL('../floor/floor-server.js', import.meta.url));

export class FloorServer {
  readonly child: ChildProcess;
  readonly #exited: Promise<void>;
  constructor(readonly kind: FloorKind) {
    this.child = fork(FLOOR, [kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  #next<T extends FromFloor['op']>(op: T, timeoutMs: number): Promise<Extract<FromFloor, { op: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', on);
        reject(new Error(`${this.kind} floor server: no ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (m: FromFloor): void => {
        if (m.op !== op && m.op !== 'failed') return;
        clearTimeout(timer);
        this.child.off('message', on);
        if (m.op === 'failed') reject(new Error(`${this.kind} floor server: ${m.message}`));
        else resolve(m as Extract<FromFloor, { op: T }>);
      };
      this.child.on('message', on);
    });
  }

  async listen(claBase64: string): Promise<string> {
    const reply = this.#next('listening', 10_000);
    this.child.send({ op: 'listen', cla: claBase64 } satisfies ToFloor);
    return (await reply).address;
  }

  async push(endpoint: string, weight: number): Promise<Extract<FromFloor, { op: 'pushed' }>> {
    const reply = this.#next('pushed', 20_000);
    this.child.send({ op: 'push', endpoint, weight } satisfies ToFloor);
    return reply;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.send({ op: 'stop' } satisfies ToFloor);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** CPU seconds per event over a window, minus the idle rate measured just before. */
export function perEvent(idle: { cpu: number; at: number }[], span: { cpu: number; at: number }[], events: number): number {
  const [i0, i1] = idle as [{ cpu: number; at: number }, { cpu: number; at: number }];
  const [s0, s1] = span as [{ cpu: number; at: number }, { cpu: number; at: number }];
  const idleRate = (i1.cpu - i0.cpu) / Math.max(1, i1.at - i0.at);
  return Math.max(0, s1.cpu - s0.cpu - idleRate * (s1.at - s0.at)) / events;
}

/**
 * The endpoint a floor push changes: the first one of the captured assignment, so that the push edits
 * an endpoint the proxies have (a fixed one may be gone: S6's churn removes and unselects entries).
 */
export function floorEndpoint(claBase64: string): string {
  const first = scanLoadAssignment(Buffer.from(claBase64, 'base64')).endpoints.keys().next();
  if (first.done === true) throw new Error('floor: the captured ClusterLoadAssignment has no endpoint to change');
  return first.value;
}

export interface FloorResult {
  readonly kind: FloorKind;
  readonly pushes: number;
  /** Streams subscribed when pushing (= the proxies asked for). */
  readonly streams: number;
  /** Pushes that reached every subscribed stream. */
  readonly arrived: number;
  readonly cpuPerPushMs: number;
  /** cpuPerPushMs / streams, in µs. */
  readonly cpuPerStreamUs: number;
  readonly encodeMs: Summary;
  readonly writeMs: Summary;
  /** push start → last subscribed proxy received. */
  readonly wallMs: Summary;
  /**
   * With `paced`: pushes at a steady rate, not awaited one by one (the churn's pace): push start →
   * last proxy received, and the cores the floor server and the load generator used meanwhile.
   */
  readonly paced?: { readonly ratePerSecond: number; readonly pushes: number; readonly arrived: number; readonly wallMs: Summary; readonly floorCores: number; readonly loadGeneratorCores: number };
  readonly claBytes: number;
  readonly endpoint: string;
  /** Why the measurement is invalid (empty when valid). */
  readonly failures: readonly string[];
}

export interface FloorOptions {
  readonly kind: FloorKind;
  /** The captured ClusterLoadAssignment (base64) and its EDS name. */
  readonly cla: string;
  readonly cluster: string;
  readonly streams: number;
  readonly pushes: number;
  readonly perWorker: number;
  /** Then `pushes` more at `ratePerSecond`, each pushed on time, not awaited (FloorResult.paced). */
  readonly paced?: { readonly ratePerSecond: number; readonly pushes: number };
}

/** One floor measurement: `pushes` single-weight pushes of the CLA to `streams` subscribed streams, each awaited until every stream has it. */
export async function floor(log: (line: string) => void, o: FloorOptions): Promise<FloorResult> {
  const server = new FloorServer(o.kind);
  const load = new LoadGen();
  const endpoint = floorEndpoint(o.cla);
  const failures: string[] = [];
  try {
    const address = await server.listen(o.cla);
    const specs: ProxySpec[] = Array.from({ length: o.streams }, (_, i) => ({ id: `floor~127.251.0.1~p${i}.ns~ns.svc.cluster.local`, namespace: 'ns', labels: {}, region: 'r1', zone: 'z0', targets: [], edsNames: [o.cluster] }));
    await load.start(address, specs, { perWorker: o.perWorker, batch: 100, batchGapMs: 20 });
    const sync = await load.waitSynced(60_000);
    if (sync.timedOut) throw new Error(`${o.kind} floor: ${sync.synced}/${o.streams} proxies synced`);
    const i0 = procSample(server.pid);
    await sleep(2000);
    const i1 = procSample(server.pid);
    const s0 = procSample(server.pid);
    const encode: number[] = [];
    const write: number[] = [];
    const wall: number[] = [];
    let streams = 0;
    let arrived = 0;
    for (let k = 0; k < o.pushes; k++) {
      const id = 1_000_000 + k;
      const weight = 5_000_000 + k;
      await load.expect(id, { cluster: o.cluster, endpoint, present: true, weight });
      const pushed = await server.push(endpoint, weight);
      if (pushed.matched === 0) throw new Error(`${o.kind} floor: endpoint ${endpoint} is not in the captured ClusterLoadAssignment of ${o.cluster}`);
      streams = pushed.streams;
      encode.push(pushed.encodeMs);
      write.push(pushed.writeMs);
      if (await load.waitDone(id, 10_000)) arrived++;
      const [r] = await load.collect([id]);
      if (r && r.samples.length > 0) wall.push(Math.max(...r.samples.map((s) => s.recv)) - pushed.startedAt);
      await sleep(200);
    }
    const s1 = procSample(server.pid);
    if (streams < o.streams) failures.push(`${o.kind} floor: ${streams} of ${o.streams} streams subscribed`);
    if (arrived < o.pushes) failures.push(`${o.kind} floor: ${o.pushes - arrived} of ${o.pushes} pushes did not reach every stream`);
    const cpuPerPushMs = perEvent([i0, i1], [s0, s1], o.pushes) * 1000;
    const paced = o.paced === undefined ? undefined : await pacedPushes(server, load, o.cluster, endpoint, o.paced);
    if (paced !== undefined) {
      if (paced.arrived < paced.pushes) failures.push(`${o.kind} floor: ${paced.pushes - paced.arrived} of ${paced.pushes} paced pushes did not reach every stream`);
      log(`  floor ${o.kind} at ${paced.ratePerSecond} pushes/s: push → last proxy p50 ${round(paced.wallMs.p50)} / p99 ${round(paced.wallMs.p99)} ms; floor ${round(paced.floorCores, 3)} cores, load generator ${round(paced.loadGeneratorCores, 3)} cores; ${paced.arrived}/${paced.pushes} arrived`);
    }
    if (!(cpuPerPushMs > 0)) failures.push(`${o.kind} floor: no CPU above the idle rate measured (${round(cpuPerPushMs, 3)} ms per push)`);
    log(`  floor ${o.kind}: ${streams} streams, CPU ${round(cpuPerPushMs, 2)} ms per push (${round((cpuPerPushMs * 1000) / Math.max(1, streams), 1)} µs per stream; encode p50 ${round(summarize(encode, 3).p50, 3)} ms, writes p50 ${round(summarize(write).p50)} ms), push → last proxy p50 ${round(summarize(wall).p50)} ms, ${arrived}/${o.pushes} arrived`);
    return {
      kind: o.kind,
      pushes: o.pushes,
      streams,
      arrived,
      cpuPerPushMs,
      cpuPerStreamUs: (cpuPerPushMs * 1000) / Math.max(1, streams),
      encodeMs: summarize(encode, 3),
      writeMs: summarize(write, 2),
      wallMs: summarize(wall),
      ...(paced !== undefined ? { paced } : {}),
      claBytes: Buffer.from(o.cla, 'base64').length,
      endpoint,
      failures,
    };
  } finally {
    await load.stop();
    await server.stop();
  }
}

/** `paced.pushes` pushes at `paced.ratePerSecond`, each on its tick (a push that ends late delays the next). */
async function pacedPushes(server: FloorServer, load: LoadGen, cluster: string, endpoint: string, paced: { ratePerSecond: number; pushes: number }): Promise<NonNullable<FloorResult['paced']>> {
  const gapMs = 1000 / paced.ratePerSecond;
  const ids: number[] = [];
  const startedAt = new Map<number, number>();
  for (let k = 0; k < paced.pushes; k++) {
    const id = 2_000_000 + k;
    ids.push(id);
    await load.expect(id, { cluster, endpoint, present: true, weight: 6_000_000 + k });
  }
  const f0 = procSample(server.pid);
  const l0 = await load.cpuSeconds();
  const t0 = performance.now();
  for (let k = 0; k < paced.pushes; k++) {
    const due = t0 + k * gapMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const pushed = await server.push(endpoint, 6_000_000 + k);
    startedAt.set(ids[k]!, pushed.startedAt);
  }
  const f1 = procSample(server.pid);
  const l1 = await load.cpuSeconds();
  const seconds = (performance.now() - t0) / 1000;
  let arrived = 0;
  for (const id of ids) if (await load.waitDone(id, 10_000)) arrived++;
  const wall: number[] = [];
  for (const r of await load.collect(ids)) {
    const at = startedAt.get(r.id);
    if (at !== undefined && r.samples.length > 0) wall.push(Math.max(...r.samples.map((x) => x.recv)) - at);
  }
  return { ratePerSecond: paced.ratePerSecond, pushes: paced.pushes, arrived, wallMs: summarize(wall), floorCores: (f1.cpu - f0.cpu) / seconds, loadGeneratorCores: (l1 - l0) / seconds };
}
