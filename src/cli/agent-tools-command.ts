/**
 * `meshbridge agent install` and `meshbridge agent iptables` (docs/envoy-on-vms.md): what an operator
 * runs once per VM to install the agent as a service and to see the traffic capture rules.
 *
 * - `agent install --bootstrap DIR [--user meshbridge-agent] [--unit-dir /etc/systemd/system]
 *   [--dry-run] [-- AGENT FLAGS...]`: tightens the folder (0700, files 0600), hands it to the user when
 *   run as root and the user exists, writes the systemd unit, and prints each step; `--dry-run` prints
 *   the steps and the unit and changes nothing.
 * - `agent iptables [--proxy-uid UID]... [--proxy-gid GID]... [--resolv-conf PATH] [--no-dns]
 *   [--exclude-inbound-ports LIST] [--inbound-ports *|LIST] [--outbound-ranges *|LIST]`: prints the
 *   rules in iptables-restore format; never runs iptables.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { agentInstallPlan } from '../agent/systemd-unit.js';
import { captureRules } from '../agent/capture-rules.js';
import { parseResolvConf } from '../agent/dns/resolv-conf.js';
import { SETTINGS_FILE } from '../agent/bootstrap.js';
import { collect, UsageError } from './output.js';

type Exit = (code: number) => void;

/** The numeric id of a local user or group (`id -u NAME`), or undefined when there is none. */
function localId(kind: '-u' | '-g', name: string): number | undefined {
  try {
    return Number(execFileSync('id', [kind, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return undefined;
  }
}

function programPath(): string {
  return realpathSync(fileURLToPath(new URL('../../../bin/meshbridge', import.meta.url)));
}

function runInstall(o: { bootstrap?: string | undefined; user: string; unitDir: string; dryRun?: boolean }, agentArgs: readonly string[], out: NodeJS.WritableStream): number {
  if (o.bootstrap === undefined) throw new UsageError('agent install needs --bootstrap DIR (written by `workload entry configure`)');
  const dir = resolve(o.bootstrap);
  if (!existsSync(join(dir, SETTINGS_FILE))) throw new UsageError(`${dir} is not an agent bootstrap folder (no ${SETTINGS_FILE}): write it with \`workload entry configure\``);
  const plan = agentInstallPlan({ bootstrapDir: dir, node: process.execPath, program: programPath(), user: o.user, unitDir: o.unitDir, agentArgs });
  if (o.dryRun === true) {
    out.write(`# dry run: nothing is changed. The steps:\n${plan.steps.map((s) => `#   ${s}`).join('\n')}\n# ${plan.unitPath}:\n${plan.unit}`);
    return 0;
  }
  chmodSync(dir, 0o700);
  out.write(`chmod 0700 ${dir}\n`);
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isFile()) chmodSync(file, 0o600);
  }
  out.write(`chmod 0600 ${dir}/*\n`);
  const uid = localId('-u', o.user);
  const gid = localId('-g', o.user);
  if (uid !== undefined && gid !== undefined && process.getuid?.() === 0) {
    chownSync(dir, uid, gid);
    for (const name of readdirSync(dir)) chownSync(join(dir, name), uid, gid);
    out.write(`chown -R ${o.user}:${o.user} ${dir}\n`);
  } else {
    out.write(`# not handed to ${o.user}: ${uid === undefined ? `no such user (create it: useradd --system --no-create-home --shell /usr/sbin/nologin ${o.user})` : 'not running as root'}\n`);
  }
  mkdirSync(o.unitDir, { recursive: true });
  writeFileSync(plan.unitPath, plan.unit, { mode: 0o644 });
  out.write(`wrote ${plan.unitPath}\nnext: systemctl daemon-reload && systemctl enable --now meshbridge-agent.service\n`);
  return 0;
}

function portList(value: string, flag: string): number[] {
  return value.split(',').filter((p) => p !== '').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} takes ports 1-65535 separated by commas, not ${JSON.stringify(p)}`);
    return n;
  });
}

interface IptablesFlags {
  proxyUid?: string[];
  proxyGid?: string[];
  resolvConf: string;
  dns: boolean;
  excludeInboundPorts: string;
  inboundPorts: string;
  outboundRanges: string;
}

function runIptables(o: IptablesFlags, out: NodeJS.WritableStream): number {
  const ids = (list: string[] | undefined, flag: string): string[] => {
    const v = list ?? [];
    for (const id of v) if (!/^\d+$/.test(id)) throw new UsageError(`${flag} takes a numeric id, not ${JSON.stringify(id)}`);
    return v;
  };
  let servers: string[] = [];
  if (o.dns) {
    let text: string;
    try {
      text = readFileSync(o.resolvConf, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${o.resolvConf}: ${(e as Error).message} (name another with --resolv-conf, or pass --no-dns)`);
    }
    // IPv4 servers only, without a port; glibc always asks port 53.
    servers = parseResolvConf(text).nameservers.filter((s) => /^[\d.]+:53$/.test(s)).map((s) => s.slice(0, -3));
  }
  const rules = captureRules({
    proxyUids: ids(o.proxyUid, '--proxy-uid'),
    proxyGids: ids(o.proxyGid, '--proxy-gid'),
    inboundPorts: o.inboundPorts === '*' ? '*' : portList(o.inboundPorts, '--inbound-ports'),
    excludeInboundPorts: portList(o.excludeInboundPorts, '--exclude-inbound-ports'),
    outboundIpRanges: o.outboundRanges === '*' ? '*' : o.outboundRanges.split(',').filter((r) => r !== ''),
    dnsServers: servers,
  });
  out.write(`# meshbridge capture rules (iptables-restore format; apply with: iptables-restore --noflush < FILE)\n${rules}`);
  return 0;
}

/**
 * `meshbridge agent` (cli-contract, VM onboarding): its flags; the agent itself runs in
 * agent-command.ts, loaded on demand (gRPC and the generated protobuf code). Then `install` and
 * `iptables` under it.
 */
export function registerAgent(program: Command, ctx: CommandContext): void {
  const agent = program
    .command('agent')
    .description('run the VM agent: register with the control plane, probe the workload, report its health, keep its certificate, and serve local apps (xDS proxy)')
    .option('--bootstrap <dir>', 'the folder written by `workload entry configure` (required)')
    .option('--ip <ip>', "the VM's IP (default: its first non-internal IPv4)")
    .option('--locality <region/zone/subzone>', "the VM's locality (default: the group template's)")
    .option('--heartbeat <seconds>', 're-send the last health report this often', parsePositiveSeconds)
    .option('--no-register', 'identity only: do not register a WorkloadEntry nor report health (the workload exists already: a Pod or an operator-written entry); still keeps the certificate and serves local apps')
    .option('--name <name>', 'with --no-register: the workload name in node ids (default <group>-<ip>, the name registration would give)')
    .option('--xds-proxy-address <host:port>', 'loopback address of the xDS proxy that local gRPC apps use (their bootstrap points at it); default 127.0.0.1:15011, or a free port on 127.0.0.1 when that is taken')
    .option('--sds-address <path|host:port>', 'where the SDS server for a local Envoy listens: a unix socket path, or a loopback HOST:PORT; `off` for none (default DIR/sds.sock)')
    .option('--inbound <port:app-port>', 'inbound mTLS proxy: listen on <ip>:PORT, forward to <ip>:APP_PORT, mode (STRICT/PERMISSIVE/DISABLE) from the control plane (repeatable)', collect)
    .option('--inbound-default <refuse|STRICT|PERMISSIVE|DISABLE>', 'what an --inbound port does while it has no policy from the control plane (before the first answer, or when its Listener does not exist); default refuse: every connection is refused. The last policy received is kept while the control plane is unreachable')
    .option('--certificate-ttl <duration>', "requested lifetime of the workload certificate (Istio's SECRET_TTL; the CA caps it at 24h); renewed at half of it", '24h')
    .option('--dns-address <host:port|off>', "loopback address of the DNS proxy (UDP and TCP) that answers mesh names from the control plane's name table and forwards the rest; `off` for none; default 127.0.0.1:15053, or a free port on 127.0.0.1 when that is taken")
    .option('--dns-resolv-conf <path>', "the resolv.conf whose nameservers the DNS proxy forwards to and whose first search domain gets Istio's CNAME shortcut", '/etc/resolv.conf')
    .option('--metrics-address <host:port|off>', "loopback address of the agent's HTTP port: /metrics (dns_* counters) and /debug/ndsz; `off` for none; default 127.0.0.1:15020, or a free port on 127.0.0.1 when that is taken")
    .action(async (opts: { bootstrap?: string; ip?: string; locality?: string; heartbeat?: number; register: boolean; name?: string; xdsProxyAddress?: string; sdsAddress?: string; inbound?: string[]; inboundDefault?: string; certificateTtl?: string; dnsAddress?: string; dnsResolvConf?: string; metricsAddress?: string }) => {
      const { runAgent } = await import('./agent-command.js');
      ctx.setExitCode(await runAgent(opts, ctx.out, ctx.err));
    });
  registerAgentTools(agent, ctx.out, (code) => ctx.setExitCode(code));
}

function parsePositiveSeconds(v: string): number {
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`expected a positive number of seconds, not ${JSON.stringify(v)}`);
  return n;
}

/** Adds `install` and `iptables` under the `agent` command. */
function registerAgentTools(agent: Command, out: NodeJS.WritableStream, setExit: Exit): void {
  agent
    .command('install')
    .description('install the agent as a systemd service for a bootstrap folder (arguments after -- go to the agent)')
    .option('--bootstrap <dir>', 'the folder written by `workload entry configure` (required)')
    .option('--user <name>', 'the unprivileged user the agent runs as', 'meshbridge-agent')
    .option('--unit-dir <dir>', 'where the unit file goes', '/etc/systemd/system')
    .option('--dry-run', 'print what would be done and the unit, change nothing')
    .argument('[agent-flags...]', 'extra flags for the agent, after --')
    .action((agentFlags: string[], opts: { bootstrap?: string; user: string; unitDir: string; dryRun?: boolean }) => {
      // `--bootstrap` is also an option of `agent` itself, which commander gives it first.
      setExit(runInstall({ ...opts, bootstrap: opts.bootstrap ?? agent.opts<{ bootstrap?: string }>().bootstrap }, agentFlags, out));
    });
  agent
    .command('iptables')
    .description("print the VM's traffic capture rules (iptables-restore format) as istio-iptables writes them; never runs iptables")
    .option('--proxy-uid <uid>', "user id whose traffic is never captured: the agent's and Envoy's (repeatable)", collect)
    .option('--proxy-gid <gid>', 'group id whose traffic is never captured (repeatable)', collect)
    .option('--resolv-conf <path>', 'where the nameservers whose DNS traffic goes to the agent are listed', '/etc/resolv.conf')
    .option('--no-dns', 'do not capture DNS')
    .option('--exclude-inbound-ports <ports>', 'inbound ports left alone', '15020,15021,15090')
    .option('--inbound-ports <*|ports>', 'inbound ports to capture', '*')
    .option('--outbound-ranges <*|cidrs>', 'outbound destinations to capture', '*')
    .action((opts: IptablesFlags) => {
      setExit(runIptables(opts, out));
    });
}
