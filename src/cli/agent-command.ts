/**
 * `meshbridge agent --bootstrap DIR [--ip IP] [--locality R/Z/S] [--heartbeat SECONDS]
 *  [--no-register [--name NAME]] [--xds-proxy-address HOST:PORT] [--sds-address PATH|HOST:PORT|off]
 *  [--inbound PORT:APP_PORT]... [--dns-address HOST:PORT|off] [--dns-resolv-conf PATH]
 *  [--metrics-address HOST:PORT|off]`
 * (cli-contract.md, VM onboarding; agent-protocol.md §9-§12): runs the VM agent until
 * SIGTERM/SIGINT, then exits 0 after closing its stream (the control plane records the
 * disconnection). State changes are logged on stderr, one line each; stdout gets one line,
 * `GRPC_XDS_BOOTSTRAP=<path>`, for local gRPC apps, once the local services listen.
 */
import { consoleLogger, type Logger } from '../lib/log/logger.js';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { Agent } from '../agent/agent.js';
import { BootstrapError, firstMachineIPv4, readSettings, readToken } from '../agent/bootstrap.js';
import { ConfigReadError } from '../sources/file/read-files.js';
import { UsageError } from './output.js';
import { parseDurationSeconds } from './durations.js';
import { DEFAULT_XDS_PROXY_ADDRESS, ListenError, loopbackAddressProblem } from '../agent/xds-proxy.js';
import { parseInboundDefault, parseInboundSpec, type InboundDefault } from '../agent/inbound-proxy.js';
import { SDS_SOCKET_FILE, sdsBindTarget } from '../agent/sds-server.js';
import { errorMessage } from '../lib/errors.js';
import { DEFAULT_DNS_ADDRESS, DEFAULT_RESOLV_CONF } from '../agent/dns/agent-dns.js';
import { DEFAULT_AGENT_HTTP_ADDRESS } from '../agent/agent-http.js';

export interface AgentCommandOptions {
  readonly bootstrap?: string;
  readonly ip?: string;
  readonly locality?: string;
  /** Seconds; default 30. */
  readonly heartbeat?: number;
  /** False: identity-only mode (`--no-register`). */
  readonly register?: boolean;
  readonly name?: string;
  /** Default 127.0.0.1:15011, falling back to a free port when taken (only for the default). */
  readonly xdsProxyAddress?: string;
  /** Unix socket path, loopback `HOST:PORT`, or `off`; default `DIR/sds.sock`. */
  readonly sdsAddress?: string;
  /** A Go duration (`--certificate-ttl`); default 24h. */
  readonly certificateTtl?: string;
  /** `PORT:APP_PORT` each. */
  readonly inbound?: readonly string[];
  /** `--inbound-default`: refuse (default) | STRICT | PERMISSIVE | DISABLE. */
  readonly inboundDefault?: string;
  /** Loopback `HOST:PORT` or `off`; default 127.0.0.1:15053, falling back to a free port when taken. */
  readonly dnsAddress?: string;
  /** Default /etc/resolv.conf. */
  readonly dnsResolvConf?: string;
  /** Loopback `HOST:PORT` or `off`; default 127.0.0.1:15020, falling back to a free port when taken. */
  readonly metricsAddress?: string;
}

/** A loopback listener flag: its address (the default when absent), or undefined for `off`. */
function loopbackFlag(flag: string, value: string | undefined, fallbackDefault: string): string | undefined {
  if (value === 'off') return undefined;
  const address = value ?? fallbackDefault;
  const problem = loopbackAddressProblem(address);
  if (problem !== undefined) throw new UsageError(`${flag} ${problem}`);
  return address;
}

/** RFC 1123 label-ish: what a Pod or WorkloadEntry name may be. */
const WORKLOAD_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export async function runAgent(o: AgentCommandOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (o.bootstrap === undefined) throw new UsageError('agent needs --bootstrap DIR (written by `workload entry configure`)');
  if (o.ip !== undefined && isIP(o.ip) === 0) throw new UsageError(`--ip must be an IP address, not ${JSON.stringify(o.ip)}`);
  if (o.locality !== undefined && o.locality.split('/').length > 3) throw new UsageError(`--locality must be region/zone/subzone, not ${JSON.stringify(o.locality)}`);
  const register = o.register !== false;
  if (o.name !== undefined && register) throw new UsageError('--name applies only with --no-register (a registered VM is named <group>-<ip>, AR-2)');
  if (o.name !== undefined && !WORKLOAD_NAME.test(o.name)) throw new UsageError(`--name must be a workload name (lower-case letters, digits, '-' and '.'), not ${JSON.stringify(o.name)}`);
  const xdsProxyAddress = o.xdsProxyAddress ?? DEFAULT_XDS_PROXY_ADDRESS;
  const proxyProblem = loopbackAddressProblem(xdsProxyAddress);
  if (proxyProblem !== undefined) throw new UsageError(`--xds-proxy-address ${proxyProblem}`);
  const inbound = (o.inbound ?? []).map((spec) => {
    try {
      return parseInboundSpec(spec);
    } catch (e) {
      throw new UsageError(errorMessage(e));
    }
  });
  let inboundDefault: InboundDefault | undefined;
  try {
    inboundDefault = o.inboundDefault !== undefined ? parseInboundDefault(o.inboundDefault) : undefined;
  } catch (e) {
    throw new UsageError(errorMessage(e));
  }
  let sdsAddress: string | undefined = o.sdsAddress ?? join(resolve(o.bootstrap), SDS_SOCKET_FILE);
  if (sdsAddress === 'off') sdsAddress = undefined;
  else {
    try {
      sdsBindTarget(sdsAddress);
    } catch (e) {
      throw new UsageError(`--sds-address: ${errorMessage(e)}`);
    }
  }
  const dnsAddress = loopbackFlag('--dns-address', o.dnsAddress, DEFAULT_DNS_ADDRESS);
  const metricsAddress = loopbackFlag('--metrics-address', o.metricsAddress, DEFAULT_AGENT_HTTP_ADDRESS);
  const certificateTtlSeconds = o.certificateTtl !== undefined ? parseDurationSeconds('--certificate-ttl', o.certificateTtl) : undefined;
  const inboundPorts = inbound.map((p) => p.port);
  if (new Set(inboundPorts).size !== inboundPorts.length) throw new UsageError('--inbound names the same PORT twice');
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
      ...(certificateTtlSeconds !== undefined ? { certificateTtlSeconds } : {}),
      register,
      ...(o.name !== undefined ? { name: o.name } : {}),
      xdsProxyAddress,
      xdsProxyFallback: o.xdsProxyAddress === undefined,
      inbound,
      ...(inboundDefault !== undefined ? { inboundDefault } : {}),
      ...(sdsAddress !== undefined ? { sdsAddress } : {}),
      ...(dnsAddress !== undefined ? { dnsAddress, dnsFallback: o.dnsAddress === undefined, resolvConf: o.dnsResolvConf ?? DEFAULT_RESOLV_CONF } : {}),
      ...(metricsAddress !== undefined ? { httpAddress: metricsAddress, httpFallback: o.metricsAddress === undefined } : {}),
      log: agentLog(consoleLogger(err)),
    });
    const running = agent.start(controller.signal);
    // A local service that cannot listen rejects `running` before `ready`: the error is the command's.
    try {
      await Promise.race([agent.ready, running]);
      out.write(`GRPC_XDS_BOOTSTRAP=${agent.grpcBootstrapPath}\n`);
      await running;
    } catch (e) {
      if (e instanceof ListenError) throw new ConfigReadError(e.message); // I/O: exit 2, one sentence
      throw e;
    }
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
  return 0;
}

/**
 * The agent's state-change lines through the one logger of serve (src/lib/log): a timestamp and a
 * level per line. `warning: ...` lines and failures are warnings; the rest is information.
 */
export function agentLog(logger: Logger): (line: string) => void {
  return (line) => {
    if (line.startsWith('warning: ')) logger.warn(line.slice('warning: '.length));
    else if (/\b(failed|cannot)\b/.test(line) || line.startsWith('unhealthy')) logger.warn(line);
    else logger.info(line);
  };
}
