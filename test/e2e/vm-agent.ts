/**
 * A real `meshbridge agent` for a VM of an end-to-end test: its bootstrap folder is written by a real
 * `workload entry configure` against a running serve's state directory, then the agent runs until
 * the test's cleanup stops it (SIGTERM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { BIN } from '../support/paths.js';
import type { Own } from './mesh.js';
import { runCli } from './serve-process.js';

export interface VmAgent {
  readonly process: ChildProcess;
  /** The bootstrap folder `workload entry configure` wrote. */
  readonly dir: string;
  /** The agent's stderr so far. */
  logs(): string;
}

/**
 * Configures and starts an agent for `ip` in the WorkloadGroup of `groupFile`, against `controlPlane` (a
 * serve's secure xDS address); the token is signed with the key in `stateDir`, or in the store that
 * `store` names (`--store URL` and its flags).
 */
export async function startVmAgent(
  own: Own,
  o: { readonly groupFile: string; readonly controlPlane: string; readonly ip: string; readonly args?: readonly string[] } & ({ readonly stateDir: string } | { readonly store: readonly string[] }),
): Promise<VmAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-vm-'));
  const signer = 'stateDir' in o ? ['--state-dir', o.stateDir] : o.store;
  // A ceiling, as the other `workload entry configure` runs have: the run took over 15 s on a machine at load 17.
  const conf = await runCli(['workload', 'entry', 'configure', '-f', o.groupFile, '-o', dir, '--control-plane', o.controlPlane, ...signer], 30_000);
  assert.equal(conf.code, 0, conf.stderr);
  return startAgentProcess(own, dir, o.ip, o.args);
}

/** Runs `meshbridge agent` on a bootstrap folder written by `workload entry configure`, until the test's cleanup stops it (SIGTERM). */
export function startAgentProcess(own: Own, dir: string, ip: string, args: readonly string[] = []): VmAgent {
  const agent = spawn(process.execPath, [BIN, 'agent', '--bootstrap', dir, '--ip', ip, '--heartbeat', '2', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  own(agent, (a) => new Promise((r) => (a.exitCode !== null || a.signalCode !== null ? r(null) : (a.once('exit', r), a.kill('SIGTERM')))));
  return { process: agent, dir, logs: () => log };
}

/** A VM's HTTP health endpoint: 200 while `healthy`, 503 after (flip it to fail the agent's probe). */
export interface Health {
  healthy: boolean;
  readonly server: Server;
}

/** Starts a health endpoint on `host:port` (0: any port). */
export async function healthServer(host: string, port: number): Promise<Health & { port: number }> {
  const h = { healthy: true } as { healthy: boolean };
  const server = createServer((_req, res) => {
    res.writeHead(h.healthy ? 200 : 503);
    res.end(h.healthy ? 'ok' : 'failing');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return Object.assign(h, { server, port: typeof addr === 'object' && addr ? addr.port : port });
}
