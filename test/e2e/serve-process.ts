/**
 * A real `meshbridge serve` in a child process on loopback, with its config folder in a temp dir.
 * Tests write YAML into `dir` and read the debug endpoints over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxySync } from '../../src/status/sync-status.js';
import { BIN } from '../support/paths.js';
import { withTimeout } from '../xds/fixtures/client-process.js';

export interface ServeProcess {
  readonly dir: string;
  readonly pid: number;
  readonly xds: string;
  /** The secure (TLS) xDS port. */
  readonly xdsTls: string;
  readonly http: string;
  /** stdout so far. */
  stdout(): string;
  /** stderr so far (logs). */
  logs(): string;
  /** Writes a file of the config folder; returns the wall clock (epoch ms) just before the write. */
  write(file: string, yaml: string): number;
  get<T>(path: string): Promise<T>;
  /** A debug or metrics endpoint as text. */
  text(path: string): Promise<string>;
  syncz(): Promise<ProxySync[]>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: nothing is cleaned up) and wait for the process to end. */
  kill(): Promise<void>;
}

export interface ServeOptions {
  readonly dir?: string;
  readonly xdsAddress?: string;
  readonly secureXdsAddress?: string;
  readonly httpAddress?: string;
  readonly files?: Readonly<Record<string, string>>;
  /** `--debounce`; default 20 ms to keep tests quick; `null` leaves serve's own default (100 ms). */
  readonly debounceMs?: number | null;
  /** More `serve` flags (e.g. `--grace-period`). */
  readonly args?: readonly string[];
  /** More environment variables for the process. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startServe(o: ServeOptions = {}): Promise<ServeProcess> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'mb-e2e-'));
  for (const [f, text] of Object.entries(o.files ?? {})) writeFileSync(join(dir, f), text);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BIN, 'serve', '--config', dir, '--xds-address', o.xdsAddress ?? '127.0.0.1:0', '--http-address', o.httpAddress ?? '127.0.0.1:0',
      '--secure-xds-address', o.secureXdsAddress ?? '127.0.0.1:0',
      ...(o.debounceMs === null ? [] : ['--debounce', String(o.debounceMs ?? 20)]),
      ...(o.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env !== undefined ? { env: { ...process.env, ...o.env } } : {}) },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const addresses = await new Promise<{ xds: string; xdsTls: string; http: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left behind: an orphaned serve holds this test file's process open (its pipes) and hangs the run.
      child.kill('SIGKILL');
      reject(new Error(`serve did not start within 30 s: ${stderr}`));
    }, 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const xds = /xds listening on (\S+)/.exec(stdout)?.[1];
      const http = /http listening on (\S+)/.exec(stdout)?.[1];
      const xdsTls = /xds-tls listening on (\S+)/.exec(stdout)?.[1];
      if (xds && http && xdsTls) {
        clearTimeout(timer);
        resolve({ xds, xdsTls, http });
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const removeOwnDirs = (): void => {
    if (o.dir !== undefined) return;
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.state`, { recursive: true, force: true });
  };
  return {
    dir,
    pid: child.pid ?? 0,
    ...addresses,
    logs: () => stderr,
    stdout: () => stdout,
    write: (file, yaml) => {
      const at = Date.now();
      writeFileSync(join(dir, file), yaml);
      return at;
    },
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`http://${addresses.http}${path}`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as T;
    },
    async text(path: string): Promise<string> {
      const res = await fetch(`http://${addresses.http}${path}`, { signal: AbortSignal.timeout(5000) });
      return res.text();
    },
    async syncz(): Promise<ProxySync[]> {
      const res = await fetch(`http://${addresses.http}/debug/syncz`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as ProxySync[];
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          removeOwnDirs();
          return resolve(child.exitCode);
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          removeOwnDirs();
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `probe` every 20 ms until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of one Prometheus sample (`name{labels}`) in a /metrics text; 0 when absent. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (want.every(([k, v]) => have.get(k) === v) && have.size === want.length) return Number(m[3]);
  }
  return 0;
}

/** Runs the real CLI; resolves with its exit code and output. */
export function runCli(args: readonly string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return withTimeout(done, timeoutMs, `meshbridge ${args.join(' ')}`).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
}


/**
 * Cleanup for one test: `own(x, stop)` registers a process or server as soon as it exists; at the end
 * of the test (pass, fail or timeout) they are stopped in reverse order, so a failure half-way through
 * the setup leaves nothing running.
 */
export function cleanups(t: { after(fn: () => Promise<void>): void }): <T>(value: T, stop: (value: T) => Promise<unknown>) => T {
  const stack: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const stop of stack.reverse()) await stop().catch(() => undefined);
  });
  return (value, stop) => {
    stack.push(() => stop(value));
    return value;
  };
}
