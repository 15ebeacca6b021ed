/** `meshbridge endpoints --config PATH...` (cli-contract). */
import { Option, type Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { parseClientLocality, parseLabels } from './client-flags.js';
import { registryFromObjects } from '../registry/offline-mesh.js';
import { endpointsReport, type EndpointsReport } from '../status/endpoints-report.js';
import { loadConfig } from '../model/config/load.js';
import type { ClientProxyOptions } from '../registry/view/client.js';
import type { ViewFilter } from '../registry/view/clusters.js';
import { readConfigFiles } from '../sources/file/read-files.js';
import { collect, parseOutputFormat, printData, table, UsageError, type OutputFormat } from './output.js';
import { formatFinding } from '../model/config/format-finding.js';
import { getFromServe } from './serve-client.js';
import { parseLocality } from '../model/mesh/locality.js';
import { didYouMean } from '../lib/text/suggest.js';

export interface EndpointsOptions {
  readonly config: readonly string[];
  readonly client: ClientProxyOptions;
  readonly filter: ViewFilter;
  readonly explain: boolean;
  readonly format: OutputFormat;
  /** A running serve's HTTP address: the live registry instead of `config` files. */
  readonly server?: string;
}

async function fileReport(o: EndpointsOptions, err: NodeJS.WritableStream): Promise<EndpointsReport> {
  const files = await readConfigFiles(o.config);
  const loaded = loadConfig(files);
  // Invalid objects are left out, as `serve` would refuse them, and reported on stderr.
  for (const f of loaded.findings) if (f.severity === 'error') err.write(`${formatFinding(f, 'error')} (left out)\n`);
  const registry = registryFromObjects(loaded.objects);
  return endpointsReport(registry, o.client, o.filter, o.explain);
}

/** The same report from serve's registry (introspection-routes.ts `/debug/endpoints_report`). */
function liveReport(server: string, o: EndpointsOptions): Promise<EndpointsReport> {
  const q = new URLSearchParams();
  const c = o.client;
  if (c.namespace !== undefined) q.set('namespace', c.namespace);
  if (c.locality !== undefined) q.set('locality', c.locality);
  if (c.network !== undefined) q.set('network', c.network);
  if (c.labels !== undefined) q.set('labels', JSON.stringify(c.labels));
  if (c.ip !== undefined) q.set('ip', c.ip);
  if (o.filter.host !== undefined) q.set('host', o.filter.host);
  if (o.filter.port !== undefined) q.set('port', String(o.filter.port));
  if (o.explain) q.set('explain', 'true');
  return getFromServe<EndpointsReport>(server, `/debug/endpoints_report?${q.toString()}`);
}

export async function runEndpoints(o: EndpointsOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const report = o.server !== undefined ? await liveReport(o.server, o) : await fileReport(o, err);
  const unknown = o.client.locality !== undefined ? unknownRegionWarning(o.client.locality, report) : undefined;
  if (unknown !== undefined) err.write(`meshbridge: warning: ${unknown}\n`);
  if (o.format === 'text') out.write(formatEndpointsText(report));
  else printData(report, o.format, out);
  return 0;
}

function formatEndpointsText(r: EndpointsReport): string {
  const lines: string[] = [];
  lines.push(`SERVICES (${r.services.length})`);
  for (const s of r.services) {
    const ports = s.ports.map((p) => `${p.number}/${p.name}${p.protocol ? `/${p.protocol}` : ''}${p.targetPort !== undefined ? `->${p.targetPort}` : ''}`).join(' ');
    lines.push('', `${s.host}  namespace=${s.namespace}  ${s.resolution}  ${s.location}  addresses=[${s.addresses.join(', ')}]  ports=${ports}`);
    if (s.endpoints.length === 0) lines.push('  (no endpoints)');
    else {
      lines.push(
        table([
          ['  ADDRESS', 'PORT', 'SERVICE-PORT', 'LOCALITY', 'NETWORK', 'WEIGHT', 'TLS', 'HEALTH', 'SOURCE'],
          ...s.endpoints.map((e) => [`  ${e.address}`, String(e.port), `${e.servicePort}/${e.portName}`, e.locality || '-', e.network || '-', String(e.weight), e.tlsMode ?? '-', e.health, e.source]),
        ]),
      );
    }
    for (const x of s.excluded ?? []) lines.push(`  left out: ${x.source}: ${x.reason}${x.detail ? ` (${x.detail})` : ''}`);
  }
  lines.push('', `CLUSTERS (${r.clusters.length})`);
  for (const c of r.clusters) {
    lines.push('', `${c.name}  ${c.type}`);
    if (c.type === 'ORIGINAL_DST') lines.push('  (original destination: no endpoints are sent)');
    else if (c.localities.every((g) => g.endpoints.length === 0)) lines.push('  (no endpoints)');
    for (const g of c.localities) {
      lines.push(`  locality ${g.locality === '' ? '(none)' : g.locality}  priority=${g.priority}  weight=${g.weight}`);
      for (const e of g.endpoints) {
        lines.push(`    ${e.address}:${e.port}  weight=${e.weight}  ${e.health}  tls=${e.tlsMode ?? '-'}  ${e.source}`);
      }
    }
    for (const x of c.excluded ?? []) lines.push(`  left out: ${x.source}: ${x.reason}${x.detail ? ` (${x.detail})` : ''}`);
    if (c.localityLb) lines.push(`  locality setting: ${c.localityLb.setting}${c.localityLb.source ? ` from ${c.localityLb.source}` : ''}: ${c.localityLb.detail}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A client region that no workload of the configuration is in is legitimate (a client outside every
 * region), but usually a typo: said on stderr, with the closest region; undefined when it is known.
 */
function unknownRegionWarning(locality: string, report: EndpointsReport): string | undefined {
  const region = parseLocality(locality).region;
  const regions = new Set(report.services.flatMap((s) => s.endpoints.map((e) => parseLocality(e.locality).region)).filter((r) => r !== ''));
  if (regions.size === 0 || regions.has(region)) return undefined;
  const known = [...regions].sort();
  return `no workload is in region ${JSON.stringify(region)} of --client-locality ${locality} (regions: ${known.join(', ')}): the view is of a client outside all of them.${didYouMean(region, known)}`;
}

interface EndpointsFlags {
  config?: string[];
  host?: string;
  port?: number;
  clientNamespace: string;
  clientLocality?: string;
  clientNetwork?: string;
  clientLabels?: Record<string, string>;
  clientIp?: string;
  explain: boolean;
  output: string;
  server?: string;
}

export function registerEndpoints(program: Command, ctx: CommandContext): void {
  program
    .command('endpoints')
    .description("show services, clusters and endpoints from one client's point of view")
    .option('--config <path>', 'configuration file or folder (repeatable; required unless --server)', collect)
    .option('--host <host>', 'only this host')
    .option('--port <port>', 'only this service port', parsePort)
    .option('--client-namespace <ns>', 'namespace of the client proxy', 'default')
    .option('--client-locality <region/zone/subzone>', 'locality of the client', parseClientLocality)
    .option('--client-network <network>', 'network of the client')
    .option('--client-labels <k=v,...>', 'labels of the client workload', parseLabels)
    .option('--client-ip <ip>', "the client's address (takes its WorkloadEntry's locality, network and labels: L-10)")
    .option('--explain', 'say which candidate workloads were left out and why', false)
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .option('--server <url>', 'read a running serve instead of files (its --http-address, e.g. http://127.0.0.1:15014): registered workloads and their health included')
    .action(async (opts: EndpointsFlags) => {
      if (opts.server !== undefined && opts.config !== undefined) throw new UsageError('endpoints takes --config PATH or --server URL, not both');
      if (opts.server === undefined && (!opts.config || opts.config.length === 0)) throw new UsageError('endpoints needs at least one --config PATH (or --server URL)');
      ctx.setExitCode(
        await runEndpoints(
          {
            config: opts.config ?? [],
            ...(opts.server !== undefined ? { server: opts.server } : {}),
            client: {
              namespace: opts.clientNamespace,
              ...(opts.clientLocality !== undefined ? { locality: opts.clientLocality } : {}),
              ...(opts.clientNetwork !== undefined ? { network: opts.clientNetwork } : {}),
              ...(opts.clientLabels !== undefined ? { labels: opts.clientLabels } : {}),
              ...(opts.clientIp !== undefined ? { ip: opts.clientIp } : {}),
            },
            filter: { ...(opts.host !== undefined ? { host: opts.host } : {}), ...(opts.port !== undefined ? { port: opts.port } : {}) },
            explain: opts.explain,
            format: parseOutputFormat(opts.output),
          },
          ctx.out,
          ctx.err,
        ),
      );
    });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > 65535) throw new UsageError(`--port must be a number from 1 to 65535, not ${JSON.stringify(v)}`);
  return n;
}
