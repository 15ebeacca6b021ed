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

export function buildNameTable(services: Iterable<MergedService>, proxy: NameTableProxy, mesh: MeshSettings): ReadonlyMap<string, NameTableEntry> {
  const table = new Map<string, NameTableEntry>();
  for (const service of services) {
    if (!isServiceVisible(service, proxy.namespace, mesh)) continue;
    const ips = addressesOf(service, proxy);
    if (ips.length === 0) continue;
    const entry: NameTableEntry =
      service.source === 'Service' ? { ips, registry: 'Kubernetes', shortname: shortName(service.host), namespace: service.namespace } : { ips, registry: 'External' };
    const existing = table.get(service.host);
    if (existing === undefined || (entry.registry === 'Kubernetes' && existing.registry === 'External')) table.set(service.host, entry);
    else if (entry.registry === existing.registry) table.set(service.host, { ...existing, ips: [...existing.ips, ...ips.filter((ip) => !existing.ips.includes(ip))] });
    // else: a ServiceEntry decorating a Kubernetes Service's host adds nothing.
  }
  return new Map([...table].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
