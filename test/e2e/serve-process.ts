/**
 * A real `meshbridge serve` in a child process on loopback, with its config folder in a temp dir.
 * Tests write YAML into `dir` and read the debug endpoints over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../support/paths.js';

export interface ServeProcess {
  readonly dir: string;
  readonly xds: string;
  readonly http: string;
  /** stderr so far (logs). */
  logs(): string;
  write(file: string, yaml: string): void;
  get<T>(path: string): Promise<T>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export interface ServeOptions {
  readonly dir?: string;
  readonly xdsAddress?: string;
  readonly httpAddress?: string;
  readonly files?: Readonly<Record<string, string>>;
  readonly debounceMs?: number;
}

export async function startServe(o: ServeOptions = {}): Promise<ServeProcess> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'mb-e2e-'));
  for (const [f, text] of Object.entries(o.files ?? {})) writeFileSync(join(dir, f), text);
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'serve', '--config', dir, '--xds-address', o.xdsAddress ?? '127.0.0.1:0', '--http-address', o.httpAddress ?? '127.0.0.1:0', '--debounce', String(o.debounceMs ?? 20)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const addresses = await new Promise<{ xds: string; http: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const xds = /xds listening on (\S+)/.exec(stdout)?.[1];
      const http = /http listening on (\S+)/.exec(stdout)?.[1];
      if (xds && http) {
        clearTimeout(timer);
        resolve({ xds, http });
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return {
    dir,
    ...addresses,
    logs: () => stderr,
    write: (file, yaml) => writeFileSync(join(dir, file), yaml),
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`http://${addresses.http}${path}`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as T;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          if (o.dir === undefined) {
            rmSync(dir, { recursive: true, force: true });
            rmSync(`${dir}.state`, { recursive: true, force: true });
          }
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
}
