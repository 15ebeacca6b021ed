/**
 * `meshbridge proxy-config clusters|listeners|routes|endpoints|secrets PROXY [--server URL] [-o text|json|yaml]`
 * (issue 13): one connected proxy's configuration as a running serve sent it, with
 * `istioctl proxy-config`'s columns. PROXY is the name `proxy-status` prints (`<name>.<namespace>`)
 * or the node id. `-o json|yaml` prints the resources exactly as sent (the bytes of the last
 * response of that type, decoded to Envoy JSON with their `@type`), as an array.
 */
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { Option } from 'commander';
import { formatLocality } from '../model/mesh/locality.js';
import type { ConfigDump, TypeDump } from '../status/config-dump.js';
import type { CommandContext } from './command-context.js';
import { parseOutputFormat, printData, table } from './output.js';
import { getFromServe, ServeAnswered } from './serve-client.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:15014';

type Json = unknown;

/** Reads `a.b.c` of a decoded JSON value; undefined when any step is missing. */
function at(value: Json, path: string): Json {
  let v = value;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, Json>)[key];
  }
  return v;
}

function str(value: Json, path: string): string | undefined {
  const v = at(value, path);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function list(value: Json, path: string): Json[] {
  const v = at(value, path);
  return Array.isArray(v) ? (v as Json[]) : [];
}

/** `/apis/networking.istio.io/v1/namespaces/NS/destination-rule/NAME` (Istio's config metadata) → `NAME.NS`. */
function istioConfigName(value: Json): string {
  const ref = str(value, 'metadata.filterMetadata.istio.config');
  const m = ref === undefined ? null : /\/namespaces\/([^/]+)\/[^/]+\/([^/]+)$/.exec(ref);
  return m ? `${m[2] ?? ''}.${m[1] ?? ''}` : '-';
}

export interface ClusterFilter {
  readonly fqdn?: string;
  readonly port?: string;
  readonly subset?: string;
  readonly direction?: string;
}

/** istioctl: SERVICE FQDN, PORT, SUBSET, DIRECTION, TYPE, DESTINATION RULE. */
export function clusterRows(clusters: readonly Json[], f: ClusterFilter = {}): string[][] {
  const rows = [['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE']];
  for (const c of clusters) {
    const name = str(c, 'name') ?? '';
    const parts = name.split('|');
    const [direction, port, subset, fqdn] = parts.length === 4 ? parts : ['-', '-', '-', name];
    const row = [fqdn ?? name, port || '-', subset || '-', direction || '-', str(c, 'type') ?? (str(c, 'clusterType.name') ?? 'STATIC'), istioConfigName(c)];
    if (f.fqdn !== undefined && row[0] !== f.fqdn) continue;
    if (f.port !== undefined && row[1] !== f.port) continue;
    if (f.subset !== undefined && row[2] !== f.subset) continue;
    if (f.direction !== undefined && row[3] !== f.direction) continue;
    rows.push(row);
  }
  return rows;
}

function filterChainMatch(chain: Json): string {
  const m = at(chain, 'filterChainMatch');
  const parts: string[] = [];
  const prefixes = list(m, 'prefixRanges').map((p) => `${str(p, 'addressPrefix') ?? ''}/${str(p, 'prefixLen') ?? '0'}`);
  if (prefixes.length > 0) parts.push(`Addr: ${prefixes.join(',')}`);
  const port = str(m, 'destinationPort');
  if (port !== undefined) parts.push(`Port: ${port}`);
  const sni = list(m, 'serverNames').map(String);
  if (sni.length > 0) parts.push(`SNI: ${sni.join(',')}`);
  const transport = str(m, 'transportProtocol');
  if (transport !== undefined) parts.push(`Trans: ${transport}`);
  const apps = list(m, 'applicationProtocols').map(String);
  if (apps.length > 0) parts.push(`App: ${apps.join(',')}`);
  return parts.length > 0 ? parts.join('; ') : 'ALL';
}

function destination(filters: readonly Json[]): string {
  for (const f of filters) {
    const type = str(f, 'typedConfig.@type') ?? '';
    if (type.endsWith('.HttpConnectionManager')) {
      const rds = str(f, 'typedConfig.rds.routeConfigName');
      return rds !== undefined ? `Route: ${rds}` : `Inline Route: ${str(f, 'typedConfig.routeConfig.name') ?? ''}`.trimEnd();
    }
    if (type.endsWith('.TcpProxy')) return `Cluster: ${str(f, 'typedConfig.cluster') ?? '-'}`;
  }
  return filters.length === 0 ? 'Non-HTTP/Non-TCP' : filters.map((f) => str(f, 'name') ?? '?').join(',');
}

/** istioctl: ADDRESSES, PORT, MATCH, DESTINATION (one row per filter chain; gRPC API listeners one row). */
export function listenerRows(listeners: readonly Json[], port?: string): string[][] {
  const rows = [['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION']];
  for (const l of listeners) {
    const name = str(l, 'name') ?? '';
    const api = at(l, 'apiListener.apiListener');
    if (api !== undefined) {
      const lPort = name.slice(name.lastIndexOf(':') + 1) || '-';
      if (port === undefined || port === lPort) rows.push([name.slice(0, Math.max(0, name.lastIndexOf(':'))) || '-', lPort, 'ALL', destination([{ typedConfig: api }])]);
      continue;
    }
    const addresses = [str(l, 'address.socketAddress.address'), ...list(l, 'additionalAddresses').map((a) => str(a, 'address.socketAddress.address'))].filter((a): a is string => a !== undefined);
    const lPort = str(l, 'address.socketAddress.portValue') ?? '0';
    if (port !== undefined && port !== lPort) continue;
    const chains = [...list(l, 'filterChains'), ...(at(l, 'defaultFilterChain') !== undefined ? [at(l, 'defaultFilterChain')] : [])];
    if (chains.length === 0) rows.push([addresses.join(',') || '-', lPort, 'ALL', 'Non-HTTP/Non-TCP']);
    for (const c of chains) rows.push([addresses.join(',') || '-', lPort, filterChainMatch(c), destination(list(c, 'filters'))]);
  }
  return rows;
}

function routeMatch(r: Json): string {
  const prefix = str(r, 'match.prefix');
  // An empty prefix (gRPC's default route) matches every path, as `/` does.
  if (prefix !== undefined) return prefix === '' ? '/*' : `${prefix}*`;
  const path = str(r, 'match.path') ?? str(r, 'match.pathSeparatedPrefix');
  if (path !== undefined) return path;
  const regex = str(r, 'match.safeRegex.regex');
  return regex !== undefined ? regex : '/*';
}

/** istioctl: NAME, VHOST NAME, DOMAINS, MATCH, VIRTUAL SERVICE (one row per route). */
export function routeRows(routes: readonly Json[], name?: string): string[][] {
  const rows = [['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE']];
  for (const rc of routes) {
    const rcName = str(rc, 'name') ?? '';
    if (name !== undefined && rcName !== name) continue;
    for (const vh of list(rc, 'virtualHosts')) {
      const domains = list(vh, 'domains').map(String);
      const shown = domains.length > 1 ? `${domains[0] ?? ''} +${domains.length - 1} more` : (domains[0] ?? '-');
      const vhRoutes = list(vh, 'routes');
      if (vhRoutes.length === 0) rows.push([rcName, str(vh, 'name') ?? '-', shown, '-', '-']);
      for (const r of vhRoutes) rows.push([rcName, str(vh, 'name') ?? '-', shown, routeMatch(r), istioConfigName(r)]);
    }
  }
  return rows;
}

/** istioctl: ENDPOINT, STATUS, OUTLIER CHECK, CLUSTER; meshbridge adds LOCALITY, PRIORITY and WEIGHT. */
export function endpointRows(assignments: readonly Json[], cluster?: string, status?: string): string[][] {
  const rows = [['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER', 'LOCALITY', 'PRIORITY', 'WEIGHT']];
  for (const cla of assignments) {
    const clusterName = str(cla, 'clusterName') ?? '';
    if (cluster !== undefined && clusterName !== cluster) continue;
    for (const group of list(cla, 'endpoints')) {
      const locality = formatLocality({ region: str(group, 'locality.region') ?? '', zone: str(group, 'locality.zone') ?? '', subZone: str(group, 'locality.subZone') ?? '' });
      for (const lb of list(group, 'lbEndpoints')) {
        const socket = at(lb, 'endpoint.address.socketAddress');
        const pipe = str(lb, 'endpoint.address.pipe.path');
        const address = socket !== undefined ? `${str(socket, 'address') ?? ''}:${str(socket, 'portValue') ?? '0'}` : pipe !== undefined ? `unix://${pipe}` : '-';
        const health = str(lb, 'healthStatus') ?? 'UNKNOWN';
        if (status !== undefined && health !== status.toUpperCase()) continue;
        // Outlier detection runs in the proxy: the control plane cannot know its verdict.
        rows.push([address, health, '-', clusterName, locality || '-', str(group, 'priority') ?? '0', str(lb, 'loadBalancingWeight') ?? '1']);
      }
    }
  }
  return rows;
}

function certificate(source: Json): X509Certificate | undefined {
  const inlineString = str(source, 'inlineString');
  const inlineBytes = str(source, 'inlineBytes');
  const pem = inlineString ?? (inlineBytes !== undefined ? Buffer.from(inlineBytes, 'base64').toString('utf8') : undefined);
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** istioctl: RESOURCE NAME, TYPE, STATUS, VALID CERT, SERIAL NUMBER, NOT AFTER, NOT BEFORE. */
export function secretRows(secrets: readonly Json[], acked: boolean, now = Date.now()): string[][] {
  const rows = [['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE']];
  for (const s of secrets) {
    const chain = at(s, 'tlsCertificate.certificateChain');
    const ca = at(s, 'validationContext.trustedCa');
    const cert = certificate(chain ?? ca);
    const valid = cert !== undefined && Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
    rows.push([
      str(s, 'name') ?? '-',
      chain !== undefined ? 'Cert Chain' : ca !== undefined ? 'CA' : '-',
      acked ? 'ACTIVE' : 'WARMING',
      cert === undefined ? '-' : String(valid),
      cert?.serialNumber.toLowerCase() ?? '-',
      cert === undefined ? '-' : new Date(cert.validTo).toISOString(),
      cert === undefined ? '-' : new Date(cert.validFrom).toISOString(),
    ]);
  }
  return rows;
}

const SECTIONS = {
  clusters: 'CDS',
  listeners: 'LDS',
  routes: 'RDS',
  endpoints: 'EDS',
  secrets: 'SDS',
} as const;
type Section = keyof typeof SECTIONS;

interface ProxyConfigFlags {
  readonly server: string;
  readonly output: string;
  readonly fqdn?: string;
  readonly port?: string;
  readonly subset?: string;
  readonly direction?: string;
  readonly name?: string;
  readonly cluster?: string;
  readonly status?: string;
}

/** Fetches one proxy's config dump; a proxy that is not connected is exit 1 naming the connected ones. */
export async function fetchConfigDump(server: string, proxy: string, ctx: CommandContext): Promise<ConfigDump | undefined> {
  try {
    return await getFromServe<ConfigDump>(server, `/debug/config_dump?proxy=${encodeURIComponent(proxy)}`);
  } catch (e) {
    if (!(e instanceof ServeAnswered) || e.status !== 404) throw e;
    const proxies = (e.body as { proxies?: unknown }).proxies;
    const names = Array.isArray(proxies) ? proxies.map(String) : [];
    ctx.err.write(`meshbridge: ${e.message} at ${server}; connected: ${names.length > 0 ? names.join(', ') : 'none'}\n`);
    return undefined;
  }
}

async function runProxyConfig(section: Section, proxy: string, o: ProxyConfigFlags, ctx: CommandContext): Promise<number> {
  const format = parseOutputFormat(o.output);
  const dump = await fetchConfigDump(o.server, proxy, ctx);
  if (dump === undefined) return 1;
  const typeDump: TypeDump | undefined = dump.types.find((t) => t.type === SECTIONS[section]);
  const sent = typeDump?.sent?.resources ?? [];
  const rows = sectionRows(section, sent, o, typeDump);
  if (format !== 'text') {
    // The resources as sent, narrowed by the same filters as the table.
    printData(sent.filter((r) => sectionRows(section, [r], o, typeDump).length > 1), format, ctx.out);
    return 0;
  }
  ctx.out.write(`${table(rows)}\n`);
  return 0;
}

function sectionRows(section: Section, resources: readonly Json[], o: ProxyConfigFlags, t: TypeDump | undefined): string[][] {
  switch (section) {
    case 'clusters':
      return clusterRows(resources, {
        ...(o.fqdn !== undefined ? { fqdn: o.fqdn } : {}),
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.subset !== undefined ? { subset: o.subset } : {}),
        ...(o.direction !== undefined ? { direction: o.direction } : {}),
      });
    case 'listeners':
      return listenerRows(resources, o.port);
    case 'routes':
      return routeRows(resources, o.name);
    case 'endpoints':
      return endpointRows(resources, o.cluster, o.status);
    case 'secrets':
      return secretRows(resources, t?.sent !== undefined && t.sent.version === t.acked?.version);
  }
}

/** Registers `proxy-config` and its five subcommands. */
export function registerProxyConfig(program: Command, ctx: CommandContext): void {
  const pc = program
    .command('proxy-config')
    .alias('pc')
    .description("show one connected proxy's configuration as a running serve sent it (istioctl proxy-config)");
  const descriptions: Record<Section, string> = {
    clusters: 'the clusters (CDS) sent to PROXY',
    listeners: 'the listeners (LDS) sent to PROXY',
    routes: 'the route configurations (RDS) sent to PROXY',
    endpoints: 'the endpoints (EDS) sent to PROXY',
    secrets: 'the secrets (SDS) sent to PROXY',
  };
  for (const section of Object.keys(SECTIONS) as Section[]) {
    const c = pc
      .command(section)
      .description(descriptions[section])
      .argument('<proxy>', 'the proxy: its name as proxy-status prints it (<name>.<namespace>) or its node id')
      .option('--server <url>', "the running serve's HTTP address (serve --http-address)", DEFAULT_SERVER)
      .addOption(new Option('-o, --output <format>', 'text, json or yaml (json/yaml: the resources exactly as sent, decoded to Envoy JSON)').default('text'));
    if (section === 'clusters') {
      c.option('--fqdn <host>', 'only clusters of this service FQDN')
        .option('--port <port>', 'only clusters of this port')
        .option('--subset <subset>', 'only clusters of this subset')
        .option('--direction <direction>', 'only inbound or outbound clusters');
    }
    if (section === 'listeners') c.option('--port <port>', 'only listeners on this port');
    if (section === 'routes') c.option('--name <name>', 'only this route configuration');
    if (section === 'endpoints') c.option('--cluster <cluster>', 'only endpoints of this cluster').option('--status <status>', 'only endpoints with this health status (healthy, unhealthy, ...)');
    c.action(async (proxy: string, opts: ProxyConfigFlags) => ctx.setExitCode(await runProxyConfig(section, proxy, opts, ctx)));
  }
}
