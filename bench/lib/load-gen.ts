/**
 * Harness side of the load generator: forks worker processes (load/worker.ts), spreads the simulated
 * proxies over them (hundreds per process, like pilot-load), and turns their IPC messages into
 * promises. Every wait is bounded.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Expectation } from './churn.js';
import type { ExpectationResult, FromWorker, ToWorker, WorkerStatus } from '../load/protocol.js';
import type { ProxySpec } from '../load/sim-proxy.js';
import { sleep } from './time.js';

const WORKER = fileURLToPath(new URL('../load/worker.js', import.meta.url));

class Worker {
  readonly child: ChildProcess;
  readonly #listeners = new Set<(m: FromWorker) => void>();
  readonly hello: Promise<void>;
  exited = false;

  constructor(readonly n: number) {
    // MESHBRIDGE_BENCH_LOAD_PROFILE=DIR: every worker under --cpu-prof (the load generator's own cost).
    const profileDir = process.env['MESHBRIDGE_BENCH_LOAD_PROFILE'];
    const profile = profileDir !== undefined && profileDir !== '' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    this.child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=2048', ...profile] });
    this.child.on('message', (m: FromWorker) => {
      for (const l of [...this.#listeners]) l(m);
    });
    this.child.once('exit', () => (this.exited = true));
    this.hello = this.next((m) => m.op === 'hello', 60_000).then(() => undefined);
  }

  send(m: ToWorker): void {
    if (!this.exited) this.child.send(m);
  }

  on(l: (m: FromWorker) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** The next message satisfying `pred`, or a rejection after `timeoutMs`. */
  next<T extends FromWorker>(pred: (m: FromWorker) => m is T, timeoutMs: number): Promise<T>;
  next(pred: (m: FromWorker) => boolean, timeoutMs: number): Promise<FromWorker>;
  next(pred: (m: FromWorker) => boolean, timeoutMs: number): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`load worker ${this.n}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on((m) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        off();
        resolve(m);
      });
    });
  }
}

export interface LoadOptions {
  /** Simulated proxies per worker process. */
  readonly perWorker: number;
  /** Proxies started together in each worker, and the pause between batches. */
  readonly batch?: number;
  readonly batchGapMs?: number;
}

export class LoadGen {
  readonly #workers: Worker[] = [];
  readonly #done = new Map<number, number>();
  readonly #doneWaiters = new Map<number, () => void>();
  total = 0;

  /** Forks the workers and starts the proxies (they connect in batches). */
  async start(xds: string, specs: readonly ProxySpec[], o: LoadOptions): Promise<void> {
    const count = Math.max(1, Math.ceil(specs.length / o.perWorker));
    for (let n = 0; n < count; n++) this.#workers.push(new Worker(n));
    await Promise.all(this.#workers.map((w) => w.hello));
    for (const w of this.#workers) {
      w.on((m) => {
        if (m.op !== 'done') return;
        const c = (this.#done.get(m.id) ?? 0) + 1;
        this.#done.set(m.id, c);
        if (c >= this.#workers.length) this.#doneWaiters.get(m.id)?.();
      });
    }
    this.total = specs.length;
    this.#workers.forEach((w, n) => {
      const slice = specs.slice(n * o.perWorker, (n + 1) * o.perWorker);
      w.send({ op: 'start', xds, proxies: slice, firstIndex: n * o.perWorker, batch: o.batch ?? 50, batchGapMs: o.batchGapMs ?? 50 });
    });
  }

  /** CPU seconds (user + system) the load generator's processes have used since they started. */
  async cpuSeconds(): Promise<number> {
    return workersCpuSeconds(await this.status());
  }

  async status(): Promise<WorkerStatus[]> {
    return Promise.all(
      this.#workers.map(async (w) => {
        const reply = w.next((m): m is Extract<FromWorker, { op: 'status' }> => m.op === 'status', 120_000);
        w.send({ op: 'status' });
        return (await reply).status;
      }),
    );
  }

  /** Waits until every proxy has received all its EDS names once; returns the statuses. */
  async waitSynced(timeoutMs: number, pollMs = 250): Promise<{ synced: number; statuses: WorkerStatus[]; timedOut: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await this.status();
      const synced = statuses.reduce((s, x) => s + x.synced, 0);
      if (synced >= this.total) return { synced, statuses, timedOut: false };
      if (Date.now() > deadline) return { synced, statuses, timedOut: true };
      await sleep(pollMs);
    }
  }

  /** Registers an expectation in every worker; resolves with the number of subscribed proxies. */
  async expect(id: number, expect: Expectation): Promise<number> {
    const replies = this.#workers.map((w) =>
      w.next((m): m is Extract<FromWorker, { op: 'expecting' }> => m.op === 'expecting' && m.id === id, 20_000),
    );
    for (const w of this.#workers) w.send({ op: 'expect', id, expect });
    return (await Promise.all(replies)).reduce((s, r) => s + r.subscribers, 0);
  }

  /** Resolves true when every subscribed proxy has the change, false after `timeoutMs`. */
  waitDone(id: number, timeoutMs: number): Promise<boolean> {
    if ((this.#done.get(id) ?? 0) >= this.#workers.length) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#doneWaiters.delete(id);
        resolve(false);
      }, timeoutMs);
      this.#doneWaiters.set(id, () => {
        clearTimeout(timer);
        this.#doneWaiters.delete(id);
        resolve(true);
      });
    });
  }

  /** Samples of these expectations (which are then forgotten by the workers). */
  async collect(ids: number[]): Promise<ExpectationResult[]> {
    const all = await Promise.all(
      this.#workers.map(async (w) => {
        const reply = w.next((m): m is Extract<FromWorker, { op: 'results' }> => m.op === 'results', 30_000);
        w.send({ op: 'collect', ids });
        return (await reply).results;
      }),
    );
    const merged = new Map<number, ExpectationResult>();
    for (const list of all) {
      for (const r of list) {
        const m = merged.get(r.id);
        merged.set(r.id, m ? { id: r.id, subscribers: m.subscribers + r.subscribers, samples: [...m.samples, ...r.samples] } : r);
      }
    }
    for (const id of ids) this.#done.delete(id);
    return [...merged.values()];
  }

  /** Asks every worker to keep the last CLA of `cluster`; a second call returns the bytes (base64). */
  async capture(cluster: string): Promise<string | undefined> {
    const all = await Promise.all(
      this.#workers.map(async (w) => {
        const reply = w.next((m): m is Extract<FromWorker, { op: 'captured' }> => m.op === 'captured', 20_000);
        w.send({ op: 'capture', cluster });
        return (await reply).base64;
      }),
    );
    return all.find((b) => b !== undefined);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#workers.map(async (w) => {
        if (w.exited) return;
        const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
        w.send({ op: 'stop' });
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.#workers.length = 0;
  }
}

/** CPU seconds (user + system) of the load-generator processes whose statuses these are. */
export function workersCpuSeconds(statuses: readonly WorkerStatus[]): number {
  return statuses.reduce((sum, w) => sum + w.cpuUserMs + w.cpuSystemMs, 0) / 1000;
}
