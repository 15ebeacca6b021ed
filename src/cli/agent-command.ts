/**
 * `meshbridge agent --bootstrap DIR [--ip IP] [--locality R/Z/S] [--heartbeat SECONDS]`
 * (cli-contract.md, VM onboarding): runs the VM agent until SIGTERM/SIGINT, then exits 0 after
 * closing its stream (the control plane records the disconnection). State changes are logged on
 * stderr, one line each; stdout gets one line, `GRPC_XDS_BOOTSTRAP=<path>`, for local gRPC apps.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { Agent } from '../agent/agent.js';
import { BootstrapError, firstMachineIPv4, readSettings, readToken } from '../agent/bootstrap.js';
import { ConfigReadError } from '../sources/file/read-files.js';
import { UsageError } from './output.js';

export interface AgentCommandOptions {
  readonly bootstrap?: string;
  readonly ip?: string;
  readonly locality?: string;
  /** Seconds; default 30. */
  readonly heartbeat?: number;
}

export async function runAgent(o: AgentCommandOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (o.bootstrap === undefined) throw new UsageError('agent needs --bootstrap DIR (written by `workload entry configure`)');
  if (o.ip !== undefined && isIP(o.ip) === 0) throw new UsageError(`--ip must be an IP address, not ${JSON.stringify(o.ip)}`);
  if (o.locality !== undefined && o.locality.split('/').length > 3) throw new UsageError(`--locality must be region/zone/subzone, not ${JSON.stringify(o.locality)}`);
  let settings, token;
  try {
    settings = readSettings(o.bootstrap);
    token = readToken(o.bootstrap);
  } catch (e) {
    if (e instanceof BootstrapError) throw new ConfigReadError(e.message);
    throw e;
  }
  const ip = o.ip ?? firstMachineIPv4();
  if (ip === undefined) throw new UsageError('cannot find an IPv4 address of this machine: give one with --ip');

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    const agent = new Agent({
      bootstrapDir: resolve(o.bootstrap),
      settings,
      token,
      ip,
      ...(o.locality !== undefined ? { locality: o.locality } : {}),
      ...(o.heartbeat !== undefined ? { heartbeatMs: o.heartbeat * 1000 } : {}),
      log: (line) => err.write(`${line}\n`),
    });
    const running = agent.start(controller.signal);
    out.write(`GRPC_XDS_BOOTSTRAP=${agent.grpcBootstrapPath}\n`);
    await running;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
  return 0;
}
