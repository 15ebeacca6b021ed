/**
 * A `meshbridge serve --store etcd://...` replica in a child process on loopback, for tests that
 * kill replicas. Reads its debug endpoints over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './paths.js';

export interface Replica {
  readonly instance: string;
  readonly pid: number;
  readonly xds: string;
  readonly http: string;
  /** The secure xDS address, once serve printed it. */
  xdsTls(): string | undefined;
  logs(): string;
  get<T>(path: string): Promise<T>;
  /** Sends `signal` (SIGTERM: graceful; SIGKILL: a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `secureXdsAddress`: a fixed secure xDS address (a replica restarted on it is found by the agents that know it); default a free port. */
export async function startReplica(store: string, instance: string, extra: readonly string[] = [], o: { readonly secureXdsAddress?: string } = {}): Promise<Replica> {
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'serve', '--store', store, '--instance', instance, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--secure-xds-address', o.secureXdsAddress ?? '127.0.0.1:0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const addresses = await new Promise<{ xds: string; http: string }>((resolve, reject) => {
    // A replica that does not start in time is killed: left running, it would hold the test file's process open.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve ${instance} did not start within 30 s: ${stderr}`));
    }, 30_000); // a ceiling on a loaded machine, as startServe's
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const xds = /xds listening on (\S+)/.exec(stdout)?.[1];
      const http = /http listening on (\S+)/.exec(stdout)?.[1];
      if (xds && http) {
        clearTimeout(timer);
        resolve({ xds, http });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve ${instance} exited with ${code}: ${stderr}`));
    });
  });
  return {
    instance,
    pid: child.pid ?? 0,
    ...addresses,
    xdsTls: () => /xds-tls listening on (\S+)/.exec(stdout)?.[1],
    logs: () => stderr,
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`http://${addresses.http}${path}`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as T;
    },
    kill: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(signal);
      }),
  };
}
