/** Harness side of S5's floor server (floor/floor-server.ts): fork, listen, push, stop. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromFloor, ToFloor } from '../floor/floor-server.js';
import type { ProxySpec } from '../load/sim-proxy.js';
import { procSample } from './cp.js';
import { LoadGen } from './load-gen.js';
import { summarize, type Summary } from './stats.js';
import { round, sleep } from './time.js';

const FLOOR = fileURLToPath(new URL('../floor/floor-server.js', import.meta.url));

export class FloorServer {
  readonly child: ChildProcess;
  readonly #exited: Promise<void>;
  constructor() {
    this.child = fork(FLOOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  #next<T extends FromFloor['op']>(op: T, timeoutMs: number): Promise<Extract<FromFloor, { op: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', on);
        reject(new Error(`floor server: no ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (m: FromFloor): void => {
        if (m.op !== op) return;
        clearTimeout(timer);
        this.child.off('message', on);
        resolve(m as Extract<FromFloor, { op: T }>);
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

export interface FloorResult {
  readonly pushes: number;
  readonly streams: number;
  readonly cpuPerPushMs: number;
  readonly encodeMs: Summary;
  readonly writeMs: Summary;
  /** push start → last subscribed proxy received. */
  readonly wallMs: Summary;
  readonly claBytes: number;
}

/** S5's floor: `pushes` single-weight pushes of `cla` to `proxies` streams of the bare server, CPU per push. */
export async function floor(log: (line: string) => void, cla: string, proxies: number, cluster: string, endpoint: string, pushes: number, perWorker: number): Promise<FloorResult> {
  const server = new FloorServer();
  const load = new LoadGen();
  try {
    const address = await server.listen(cla);
    const specs: ProxySpec[] = Array.from({ length: proxies }, (_, i) => ({ id: `floor~127.251.0.1~p${i}.ns~ns.svc.cluster.local`, namespace: 'ns', labels: {}, region: 'r1', zone: 'z0', targets: [], edsNames: [cluster] }));
    await load.start(address, specs, { perWorker, batch: 100, batchGapMs: 20 });
    const sync = await load.waitSynced(60_000);
    if (sync.timedOut) throw new Error(`floor: ${sync.synced}/${proxies} proxies synced`);
    const i0 = procSample(server.pid);
    await sleep(2000);
    const i1 = procSample(server.pid);
    const s0 = procSample(server.pid);
    const encode: number[] = [];
    const write: number[] = [];
    const wall: number[] = [];
    let streams = 0;
    for (let k = 0; k < pushes; k++) {
      const id = 1_000_000 + k;
      const weight = 5_000_000 + k;
      await load.expect(id, { cluster, endpoint, present: true, weight });
      const pushed = await server.push(endpoint, weight);
      streams = pushed.streams;
      encode.push(pushed.encodeMs);
      write.push(pushed.writeMs);
      await load.waitDone(id, 10_000);
      const [r] = await load.collect([id]);
      if (r && r.samples.length > 0) wall.push(Math.max(...r.samples.map((s) => s.recv)) - pushed.startedAt);
      await sleep(200);
    }
    const s1 = procSample(server.pid);
    const cpuPerPushMs = perEvent([i0, i1], [s0, s1], pushes) * 1000;
    log(`  S5 floor: ${streams} streams, CPU ${round(cpuPerPushMs, 2)} ms per push (encode p50 ${round(summarize(encode, 3).p50, 3)} ms, writes p50 ${round(summarize(write).p50)} ms), push → last proxy p50 ${round(summarize(wall).p50)} ms`);
    return { pushes, streams, cpuPerPushMs, encodeMs: summarize(encode, 3), writeMs: summarize(write, 2), wallMs: summarize(wall), claBytes: Buffer.from(cla, 'base64').length };
  } finally {
    await load.stop();
    await server.stop();
  }
}
