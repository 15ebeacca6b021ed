/**
 * One proxy's DNS name table (Istio's `BuildNameTable`, docs/dns.md): what the agent's DNS proxy
 * answers for. Pure.
 *
 * Contract, per service the proxy can see (exportTo, X-*):
 * - its IP addresses: spec addresses, else the automatically allocated VIPs (A-V2); CIDRs dropped;
 * - a `resolution: NONE` service (or a Kubernetes headless Service) without addresses and with at
 *   least one port answers its endpoints' IPs instead: IP endpoints only, not unhealthy, on the
 *   proxy's network, de-duplicated. Unlike Istio, this follows every endpoint change (istio#49769:
 *   Istio re-sends the table only on service changes, leaving stale IPs);
 * - no address at all: no entry (the agent forwards the name upstream);
 * - registry `Kubernetes` with shortname and namespace for Kubernetes Services, `External` else;
 * - one host in several namespaces: IP lists merged, except that a Kubernetes Service replaces
 *   ServiceEntries for the same host.
 * The table is sorted by host so that equal tables are equal by value.
 */
import { isIP } from 'node:net';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService } from '../../model/mesh/types.js';
import { isServiceVisible } from './visibility.js';
import { withFields } from '../../lib/objects/with-fields.js';

export interface NameTableEntry {
  readonly ips: readonly string[];
  readonly registry: 'Kubernetes' | 'External';
  readonly shortname?: string;
  readonly namespace?: string;
}

export interface NameTableProxy {
  readonly namespace: string;
  readonly network: string;
}

/** The service name of a Kubernetes host `name.ns.svc.<domain>`. */
function shortName(host: string): string {
  return host.split('.')[0] ?? host;
}

function addressesOf(service: MergedService, proxy: NameTableProxy): string[] {
  const ips = service.addresses.filter((a) => isIP(a) !== 0 && a !== '0.0.0.0');
  if (ips.length > 0) return ips;
  const passthrough = service.resolution === 'NONE' || (service.source === 'Service' && service.addresses.length === 0);
  if (!passthrough || service.ports.length === 0) return [];
  const out: string[] = [];
  for (const e of service.endpoints) {
    if (isIP(e.address) === 0 || e.health === 'UNHEALTHY') continue;
    if ((e.network || '') !== (proxy.network || '')) continue;
    if (!out.includes(e.address)) out.push(e.address);
  }
  return out;
}

/**
 * The entry of one host from the services that define it (any order): those the proxy cannot see
 * are skipped; undefined when no visible service gives it an address. The per-host step of
 * `buildNameTable`, so that a change to some hosts recomputes only their entries.
 */
export function nameTableEntry(services: Iterable<MergedService>, proxy: NameTableProxy, mesh: MeshSettings): NameTableEntry | undefined {
  let entry: NameTableEntry | undefined;
  // Namespace order, so that the merged IP list does not depend on the caller's order.
  const sorted = [...services].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  for (const service of sorted) {
    if (!isServiceVisible(service, proxy.namespace, mesh)) continue;
    const ips = addressesOf(service, proxy);
    if (ips.length === 0) continue;
    const next: NameTableEntry =
      service.source === 'Service' ? { ips, registry: 'Kubernetes', shortname: shortName(service.host), namespace: service.namespace } : { ips, registry: 'External' };
    if (entry === undefined || (next.registry === 'Kubernetes' && entry.registry === 'External')) entry = next;
    else if (next.registry === entry.registry) entry = withFields(entry, { ips: [...entry.ips, ...ips.filter((ip) => !entry?.ips.includes(ip))] });
    // else: a ServiceEntry decorating a Kubernetes Service's host adds nothing.
  }
  return entry;
}

export function buildNameTable(services: Iterable<MergedService>, proxy: NameTableProxy, mesh: MeshSettings): ReadonlyMap<string, NameTableEntry> {
  const byHost = new Map<string, MergedService[]>();
  for (const service of services) {
    const list = byHost.get(service.host);
    if (list === undefined) byHost.set(service.host, [service]);
    else list.push(service);
  }
  const table = new Map<string, NameTableEntry>();
  for (const [host, list] of byHost) {
    const entry = nameTableEntry(list, proxy, mesh);
    if (entry !== undefined) table.set(host, entry);
  }
  return sortNameTable(table);
}

/** The table sorted by host, so that equal tables are equal by value (and encode alike). */
export function sortNameTable(table: ReadonlyMap<string, NameTableEntry>): ReadonlyMap<string, NameTableEntry> {
  return new Map([...table].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Two entries say the same (IPs in order, registry, names). */
export function sameNameTableEntry(a: NameTableEntry | undefined, b: NameTableEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.registry === b.registry && a.shortname === b.shortname && a.namespace === b.namespace && a.ips.length === b.ips.length && a.ips.every((ip, i) => ip === b.ips[i]);
}
