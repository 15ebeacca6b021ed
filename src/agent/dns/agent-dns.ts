/**
 * The agent's DNS service (`agent --dns-address`, docs/dns.md): the DNS proxy (dns-proxy.ts) with
 * its upstreams and search domains from the VM's resolv.conf (`--resolv-conf`), fed by the NameTable
 * the control plane sends on the agent's ADS stream (NDS, Istio's `istio.networking.nds.v1.NameTable`).
 *
 * Contract:
 * - Before the first table every question is forwarded (the VM's own names keep resolving; mesh
 *   names resolve once the table arrives). The last table stays while the control plane is away.
 * - A response that does not carry exactly one readable NameTable is refused (the caller NACKs it)
 *   and the table in use stays; a response with no resource is ignored, as Istio's agent does.
 * - The proxy's domain is `<namespace>.svc.cluster.local` (Istio's default `--domain`).
 */
import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import type { Registry } from 'prom-client';
import type { DiscoveryResponse } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { NameTableSchema } from '../../gen/istio/networking/nds/v1/nds_pb.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log/logger.js';
import { DnsProxy } from './dns-proxy.js';
import { describeLookupTable, type NameInfo, type NameTable } from './lookup-table.js';
import { parseResolvConf, type ResolvConf } from './resolv-conf.js';

export const NAME_TABLE_TYPE_URL = 'type.googleapis.com/istio.networking.nds.v1.NameTable';
export const DEFAULT_DNS_ADDRESS = '127.0.0.1:15053';
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

/**
 * The table of an NDS response; undefined for a response without resources (ignored). Throws, with
 * the reason, for anything else than one NameTable that decodes.
 */
export function nameTableOfResponse(res: DiscoveryResponse): NameTable | undefined {
  if (res.resources.length === 0) return undefined;
  if (res.resources.length !== 1) throw new Error(`a NameTable response must carry one resource, not ${res.resources.length}`);
  const any = res.resources[0];
  if (any?.typeUrl !== NAME_TABLE_TYPE_URL) throw new Error(`the NameTable response carries a resource of type ${JSON.stringify(any?.typeUrl ?? '')}`);
  let decoded;
  try {
    decoded = fromBinary(NameTableSchema, any.value);
  } catch (e) {
    throw new Error(`cannot decode the NameTable: ${errorMessage(e)}`);
  }
  const table = new Map<string, NameInfo>();
  for (const [host, e] of Object.entries(decoded.table)) {
    table.set(host, { ips: e.ips, registry: e.registry, ...(e.shortname !== '' ? { shortname: e.shortname } : {}), ...(e.namespace !== '' ? { namespace: e.namespace } : {}), ...(e.altHosts.length > 0 ? { altHosts: e.altHosts } : {}) });
  }
  return table;
}

/** resolv.conf at `path`; a file that cannot be read gives no upstream (logged by the caller). */
export function readResolvConf(path: string): ResolvConf | Error {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch (e) {
    return new Error(`cannot read ${path}: ${errorMessage(e)}`);
  }
}

export interface AgentDnsOptions {
  readonly resolvConfPath: string;
  /** The VM's namespace (short names, the proxy domain). */
  readonly namespace: string;
  readonly metrics: Registry;
  readonly log: (line: string) => void;
}

export class AgentDns {
  readonly #proxy: DnsProxy;
  readonly #log: (line: string) => void;
  #tables = 0;

  constructor(o: AgentDnsOptions) {
    this.#log = o.log;
    const conf = readResolvConf(o.resolvConfPath);
    if (conf instanceof Error) o.log(`warning: dns: ${conf.message}; questions outside the mesh get SERVFAIL`);
    else if (conf.nameservers.length === 0) o.log(`warning: dns: ${o.resolvConfPath} names no nameserver; questions outside the mesh get SERVFAIL`);
    const logger: Logger = { info: (m) => o.log(m), warn: (m, f) => o.log(`warning: ${m}${f ? ` ${JSON.stringify(f)}` : ''}`), error: (m, f) => o.log(`warning: ${m}${f ? ` ${JSON.stringify(f)}` : ''}`) };
    this.#proxy = new DnsProxy({
      address: DEFAULT_DNS_ADDRESS, // start() names the address
      upstreams: conf instanceof Error ? [] : conf.nameservers,
      lookup: { proxyNamespace: o.namespace, proxyDomain: `${o.namespace}.svc.cluster.local`, searchDomains: conf instanceof Error ? [] : conf.search },
      log: logger,
      metrics: o.metrics,
    });
  }

  /** Listens on a loopback `host:port` (UDP and TCP); resolves with the bound `host:port`. May be called again after a failure. */
  async start(address: string): Promise<string> {
    const { host, port } = await this.#proxy.start(address);
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  stop(): Promise<void> {
    return this.#proxy.close();
  }

  /** The handler of NDS responses on the agent's ADS stream (throws to NACK). */
  readonly onResponse = (res: DiscoveryResponse): void => {
    const table = nameTableOfResponse(res);
    if (table === undefined) return;
    this.#proxy.updateTable(table);
    if (this.#tables++ === 0) this.#log(`dns: name table received (${table.size} hosts)`);
  };

  /** The agent's `/debug/ndsz`: the table as received and the names the proxy answers. */
  describe(): { received: boolean; table: Record<string, NameInfo>; names: ReturnType<typeof describeLookupTable> } {
    const nameTable = this.#proxy.nameTable;
    const lookup = this.#proxy.lookupTable;
    return { received: nameTable !== undefined, table: Object.fromEntries(nameTable ?? []), names: lookup !== undefined ? describeLookupTable(lookup) : {} };
  }
}
