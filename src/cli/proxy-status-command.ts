/**
 * `meshbridge proxy-status [PROXY]`: asks a running `serve` for each proxy's sync state (like
 * `istioctl proxy-status`). With PROXY: that proxy's per-type versions (sent, ACKed, current) and,
 * per type, whether what it ACKed matches what it would get now, with a unified diff of the two
 * (decoded Envoy JSON) when not, as `istioctl proxy-status <pod>` compares Envoy's config dump.
 */
import { Option, type Command } from 'commander';
import type { ConfigDump, DumpedResources } from '../status/config-dump.js';
import type { ProxySync } from '../status/sync-status.js';
import { unifiedDiff } from '../lib/text/line-diff.js';
import { parseOutputFormat, printData, table, type OutputFormat } from './output.js';
import { getFromServe } from './serve-client.js';
import { fetchConfigDump } from './proxy-config-command.js';
import type { CommandContext } from './command-context.js';

export async function runProxyStatus(httpAddress: string, format: OutputFormat, out: NodeJS.WritableStream): Promise<number> {
  const proxies = await getFromServe<ProxySync[]>(httpAddress, '/debug/syncz');
  if (format !== 'text') {
    printData({ proxies }, format, out);
    return 0;
  }
  // istioctl proxy-status's columns (NAME CLUSTER CDS LDS EDS RDS ECDS ISTIOD VERSION), with the
  // proxy's KIND and NAMESPACE (cli-contract) after its name.
  const types = ['CDS', 'LDS', 'EDS', 'RDS', 'ECDS'];
  const rows = [['NAME', 'KIND', 'NAMESPACE', 'CLUSTER', ...types, 'ISTIOD', 'VERSION']];
  const sorted = [...proxies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of sorted) {
    const state = (t: string): string => p.types.find((x) => x.type === t)?.state ?? 'NOT SENT';
    rows.push([p.name, p.kind, p.namespace || '-', p.cluster || '-', ...types.map(state), p.instance, p.version || '-']);
  }
  out.write(`${table(rows)}\n`);
  const nacks = sorted.flatMap((p) => p.types.filter((t) => t.nack).map((t) => `${p.name} ${t.type} (version ${t.nack?.version ?? ''}): ${t.nack?.error ?? ''}`));
  if (nacks.length > 0) out.write(`\nNACKs:\n${nacks.map((n) => `  ${n}`).join('\n')}\n`);
  return 0;
}

const TYPE_TITLES: Readonly<Record<string, string>> = { CDS: 'Clusters', LDS: 'Listeners', RDS: 'Routes', EDS: 'Endpoints', SDS: 'Secrets' };

/** Per type of one proxy: does what it ACKed match what it would get now? */
export interface TypeComparison {
  readonly type: string;
  readonly match: boolean;
  readonly acked?: string;
  readonly current?: string;
  /** Unified diff of the ACKed resources (---) against the current ones (+++); '' when they match. */
  readonly diff: string;
}

export function compareAckedWithCurrent(dump: ConfigDump): TypeComparison[] {
  const text = (r: DumpedResources | undefined): string => (r === undefined ? '' : `${JSON.stringify(r.resources, null, 2)}\n`);
  return dump.types.map((t) => {
    const diff = unifiedDiff(text(t.acked), text(t.current), {
      before: `ACKed by ${dump.name} (version ${t.acked?.version ?? 'none'})`,
      after: `control plane now (version ${t.current?.version ?? 'none'})`,
    });
    return { type: t.type, match: diff === '', ...(t.acked ? { acked: t.acked.version } : {}), ...(t.current ? { current: t.current.version } : {}), diff };
  });
}

/** `proxy-status PROXY`. */
export async function runProxyStatusOf(httpAddress: string, proxy: string, format: OutputFormat, ctx: CommandContext): Promise<number> {
  const dump = await fetchConfigDump(httpAddress, proxy, ctx);
  if (dump === undefined) return 1;
  const sync = (await getFromServe<ProxySync[]>(httpAddress, '/debug/syncz')).find((p) => p.stream === dump.stream);
  const comparisons = compareAckedWithCurrent(dump);
  if (format !== 'text') {
    printData({ proxy: sync ?? { proxy: dump.proxy, name: dump.name }, comparisons }, format, ctx.out);
    return 0;
  }
  ctx.out.write(`${dump.name}  (${dump.proxy})\n\n`);
  const rows = [['TYPE', 'STATE', 'SENT', 'ACKED', 'CURRENT', 'RESOURCES']];
  for (const t of sync?.types ?? []) rows.push([t.type, t.state, t.sent ?? '-', t.acked ?? '-', t.current ?? '-', String(t.resources)]);
  ctx.out.write(`${table(rows)}\n\n`);
  for (const c of comparisons) {
    const title = TYPE_TITLES[c.type] ?? c.type;
    ctx.out.write(c.match ? `${title} Match\n` : `${title} Don't Match\n${c.diff}`);
  }
  return 0;
}

export function registerProxyStatus(program: Command, ctx: CommandContext): void {
  program
    .command('proxy-status')
    .description('show, per connected proxy and xDS type, whether it is SYNCED, STALE, NACKED or NOT SENT; with PROXY, its versions and a diff of what it ACKed against what it would get now')
    .argument('[proxy]', 'one proxy: its name as listed (<name>.<namespace>) or its node id')
    .option('--http-address <host:port>', 'the http address of a running serve', '127.0.0.1:15014')
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (proxy: string | undefined, opts: { httpAddress: string; output: string }) => {
      ctx.setExitCode(proxy === undefined ? await runProxyStatus(opts.httpAddress, parseOutputFormat(opts.output), ctx.out) : await runProxyStatusOf(opts.httpAddress, proxy, parseOutputFormat(opts.output), ctx));
    });
}
