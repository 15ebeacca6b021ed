/**
 * The control plane under test: `meshbridge serve` in its own process, on loopback ports, with its
 * CPU time and memory read from /proc and its metrics from `/metrics`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { now } from './time.js';

/** The control plane under test: this build, or another one (`--cp-bin`, e.g. a baseline commit). */
function controlPlaneBin(): string {
  return process.env['MESHBRIDGE_BENCH_BIN'] || fileURLToPath(new URL('../../../bin/meshbridge', import.meta.url));
}
/** Extra node flags for the control plane (`--cp-node-args`, e.g. --max-old-space-size=256). */
function extraNodeArgs(): string[] {
  return (process.env['MESHBRIDGE_BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
}
/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on Linux). */
const CLK_TCK = 100;

export interface CpOptions {
  readonly configDir: string;
  readonly stateDir: string;
  readonly debounceMs?: number;
  /** `--cpu-prof` into this folder. */
  readonly profileDir?: string;
  readonly nodeArgs?: readonly string[];
  /** More `serve` flags (e.g. `--kubeconfig PATH`). */
  readonly serveArgs?: readonly string[];
}

export interface ProcSample {
  readonly at: number;
  /** user + system CPU seconds so far. */
  readonly cpu: number;
  readonly rssMiB: number;
  readonly hwmMiB: number;
}

export class ControlPlaneProcess {
  readonly child: ChildProcess;
  readonly startedAt: number;
  xds = '';
  http = '';
  /** Absolute ms when serve printed its listening addresses (start() completed: config loaded and applied). */
  listeningAt = 0;
  #stderr = '';
  #stdout = '';
  readonly listening: Promise<void>;
  readonly exited: Promise<number | null>;

  constructor(readonly o: CpOptions) {
    const args = [
      ...extraNodeArgs(),
      ...(o.nodeArgs ?? []),
      ...(o.profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : []),
      controlPlaneBin(),
      'serve',
      '--config',
      o.configDir,
      '--state-dir',
      o.stateDir,
      '--xds-address',
      '127.0.0.1:0',
      // Not the default 15012: other control planes on the machine may hold it.
      '--secure-xds-address',
      '127.0.0.1:0',
      '--http-address',
      '127.0.0.1:0',
      '--debounce',
      String(o.debounceMs ?? 100),
      ...(o.serveArgs ?? []),
    ];
    this.startedAt = now();
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    // MESHBRIDGE_BENCH_SERVE_LOG=FILE: serve's whole log is appended to FILE (the run keeps only its tail).
    const logFile = process.env['MESHBRIDGE_BENCH_SERVE_LOG'];
    this.child.stderr?.on('data', (d: Buffer) => {
      // Keep the tail only: serve logs every proxy connection.
      this.#stderr = (this.#stderr + d.toString()).slice(-20_000);
      if (logFile !== undefined && logFile !== '') appendFileSync(logFile, d);
    });
    this.listening = new Promise((resolve, reject) => {
      this.child.stdout?.on('data', (d: Buffer) => {
        this.#stdout += d.toString();
        const xds = /xds listening on (\S+)/.exec(this.#stdout)?.[1];
        const http = /http listening on (\S+)/.exec(this.#stdout)?.[1];
        if (xds !== undefined && http !== undefined && this.listeningAt === 0) {
          this.listeningAt = now();
          this.xds = xds;
          this.http = http;
          resolve();
        }
      });
      void this.exited.then((code) => reject(new Error(`serve exited with ${code}: ${this.#stderr.slice(-2000)}`)));
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  logs(): string {
    return this.#stderr;
  }

  /** What serve printed on stdout (its addresses; V8 traces such as --trace-gc). */
  output(): string {
    return this.#stdout;
  }

  /** Waits for the listening line, bounded. */
  async waitListening(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.listening,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`serve not listening within ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  sample(): ProcSample {
    return procSample(this.pid);
  }

  /**
   * Waits until the control plane uses less than `cores` over a `windowMs` window (at most `maxMs`):
   * background work after start (e.g. the VIP status writer, 10,000 writes at 100k entries) must
   * not be measured as the idle rate that a scenario subtracts from its CPU per change.
   */
  async waitQuiet(o: { readonly cores?: number; readonly windowMs?: number; readonly maxMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (o.maxMs ?? 30_000);
    const windowMs = o.windowMs ?? 500;
    for (;;) {
      const a = this.sample();
      await new Promise((resolve) => setTimeout(resolve, windowMs));
      const b = this.sample();
      if ((b.cpu - a.cpu) / ((b.at - a.at) / 1000) < (o.cores ?? 0.05) || Date.now() >= deadline) return;
    }
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://${this.http}/metrics`, { signal: AbortSignal.timeout(20_000) });
    return res.text();
  }

  /** Node's memory as prom-client reports it (MiB): V8 heap used / total, external, array buffers. */
  async memory(): Promise<Record<string, number>> {
    const text = await this.metrics();
    const out: Record<string, number> = {};
    for (const name of ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes', 'process_resident_memory_bytes']) {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      if (line) out[name.replace(/^nodejs_|^process_|_bytes$/g, '').replace(/_bytes$/, '')] = Math.round(Number(line.split(' ')[1]) / 1048576);
    }
    return out;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`http://${this.http}${path}`, { signal: AbortSignal.timeout(20_000) });
    return (await res.json()) as T;
  }

  /** SIGTERM (serve drains and exits, writing its CPU profile); SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.child.kill('SIGTERM');
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** CPU seconds (user + system) and memory of a process, from /proc. */
export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { at: now(), cpu: (utime + stime) / CLK_TCK, rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

/** Samples a process every `everyMs` until stopped; keeps every sample. */
export class Sampler {
  readonly samples: ProcSample[] = [];
  #timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly pid: number,
    everyMs = 250,
  ) {
    this.#take();
    this.#timer = setInterval(() => this.#take(), everyMs);
  }
  #take(): void {
    try {
      this.samples.push(procSample(this.pid));
    } catch {
      this.stop();
    }
  }
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
  /** Samples within [from, to]. */
  between(from: number, to: number): ProcSample[] {
    return this.samples.filter((s) => s.at >= from && s.at <= to);
  }
}
