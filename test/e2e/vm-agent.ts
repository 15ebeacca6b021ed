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
  /** The agent's stderr so far. */
  logs(): string;
}

/** Configures and starts an agent for `ip` in the WorkloadGroup of `groupFile`, against `controlPlane` (a serve's secure xDS address). */
export async function startVmAgent(own: Own, o: { readonly groupFile: string; readonly controlPlane: string; readonly stateDir: string; readonly ip: string }): Promise<VmAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-vm-'));
  const conf = await runCli(['workload', 'entry', 'configure', '-f', o.groupFile, '-o', dir, '--control-plane', o.controlPlane, '--state-dir', o.stateDir], 15_000);
  assert.equal(conf.code, 0, conf.stderr);
  const agent = spawn(process.execPath, [BIN, 'agent', '--bootstrap', dir, '--ip', o.ip, '--heartbeat', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  own(agent, (a) => new Promise((r) => (a.exitCode !== null || a.signalCode !== null ? r(null) : (a.once('exit', r), a.kill('SIGTERM')))));
  return { process: agent, logs: () => log };
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
