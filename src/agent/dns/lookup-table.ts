/**
 * The agent's DNS lookup table (docs/dns.md): built from the control plane's NameTable the way
 * Istio's agent builds it (`pkg/dns/client/dns.go`), and answered from without I/O.
 *
 * Contract:
 * - External (non-Kubernetes) entries are stored only as `host.`.
 * - Kubernetes entries whose host ends in the proxy's domain (`svc.cluster.local`) are also stored as
 *   `name.ns.`, `name.ns.svc.` (the domain's first label), and `name.` when `ns` is the proxy's own
 *   namespace; hosts of another domain (`cluster.remote`) only as `host.`.
 * - For every stored name `h` the name `h + <first search domain>.` is stored as a CNAME to `h` (the
 *   search-domain shortcut), unless that expanded name is itself one of the entry's names.
 * - A lookup of a stored name answers its A or AAAA records (TTL 30) and says "found" even when the
 *   family has none (NODATA, never NXDOMAIN: istio#31250). Wildcard keys (`*.example.test`) answer
 *   the most specific match, with the records' owner rewritten to the question. Other query types,
 *   and names not stored, are "not found": the caller forwards them upstream.
 * Names are compared lower-cased; every name in and out of this module ends with a dot.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Istio's `istio.networking.nds.v1.NameTable` entry (nds.proto). */
export interface NameInfo {
  readonly ips: readonly string[];
  /** `Kubernetes` for Kubernetes Services, `External` for ServiceEntries. */
  readonly registry: string;
  /** The Kubernetes service name (Kubernetes entries only). */
  readonly shortname?: string;
  /** The Kubernetes namespace (Kubernetes entries only). */
  readonly namespace?: string;
  /** Extra names of the entry (deprecated in Istio, still honoured). */
  readonly altHosts?: readonly string[];
}

/** Host name (normally without a trailing dot) → entry. */
export type NameTable = ReadonlyMap<string, NameInfo>;

export const DNS_TTL_SECONDS = 30;
export const KUBERNETES_REGISTRY = 'Kubernetes';

export interface LookupSettings {
  /** The VM's namespace: its services also answer to their short name. */
  readonly proxyNamespace: string;
  /** The proxy's domain, e.g. `vm-demo.svc.cluster.local` or `svc.cluster.local` (a leading namespace label is dropped). */
  readonly proxyDomain: string;
  /** resolv.conf's search domains; only the first gets the CNAME shortcut. */
  readonly searchDomains: readonly string[];
}

export type AddressRecord = { readonly type: 'A' | 'AAAA'; readonly name: string; readonly ttl: number; readonly data: string };
export type CnameRecord = { readonly type: 'CNAME'; readonly name: string; readonly ttl: number; readonly data: string };
export type AnswerRecord = AddressRecord | CnameRecord;

export interface LookupTable {
  /** Every name that the table answers for (address names and CNAME names). */
  readonly hosts: ReadonlySet<string>;
  readonly ipv4: ReadonlyMap<string, readonly string[]>;
  readonly ipv6: ReadonlyMap<string, readonly string[]>;
  /** Expanded name → the name it points to. */
  readonly cnames: ReadonlyMap<string, string>;
}

export type LookupResult = { readonly found: false } | { readonly found: true; readonly answers: readonly AnswerRecord[] };

export function fqdn(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** The proxy domain without a leading namespace label, split into labels. */
function domainParts(settings: LookupSettings): string[] {
  const parts = settings.proxyDomain.split('.').filter((p) => p !== '');
  return parts[0] === settings.proxyNamespace ? parts.slice(1) : parts;
}

/** The names one entry answers to (Istio's `generateAltHosts` for Kubernetes entries). */
export function namesOf(host: string, info: NameInfo, settings: LookupSettings): Set<string> {
  const out = new Set<string>([fqdn(host)]);
  if (info.registry !== KUBERNETES_REGISTRY) return out;
  const parts = domainParts(settings);
  const domain = parts.join('.');
  if (domain === '' || !host.toLowerCase().replace(/\.$/, '').endsWith(domain)) return out;
  const short = info.shortname ?? '';
  const ns = info.namespace ?? '';
  out.add(fqdn(`${short}.${ns}`));
  if (settings.proxyNamespace === ns) out.add(fqdn(short));
  out.add(fqdn(`${short}.${ns}.${parts[0] ?? ''}`));
  for (const alt of info.altHosts ?? []) out.add(fqdn(alt));
  return out;
}

export function buildLookupTable(table: NameTable, settings: LookupSettings): LookupTable {
  const hosts = new Set<string>();
  const ipv4 = new Map<string, string[]>();
  const ipv6 = new Map<string, string[]>();
  const cnames = new Map<string, string>();
  const search = settings.searchDomains[0];
  for (const [host, info] of table) {
    const v4 = info.ips.filter((ip) => isIPv4(ip));
    const v6 = info.ips.filter((ip) => isIPv6(ip));
    if (v4.length === 0 && v6.length === 0) continue; // no usable address: the name goes upstream
    const names = namesOf(host, info, settings);
    for (const name of names) {
      hosts.add(name);
      if (v4.length > 0) ipv4.set(name, v4);
      if (v6.length > 0) ipv6.set(name, v6);
      if (search === undefined) continue;
      const expanded = fqdn(`${name}${search}`);
      if (!names.has(expanded)) {
        cnames.set(expanded, name);
        hosts.add(expanded);
      }
    }
  }
  return { hosts, ipv4, ipv6, cnames };
}

/** The most specific wildcard key for `name` (`a.b.c.` tries `*.b.c.` then `*.c.`), if any. */
function wildcardFor(table: LookupTable, name: string): string | undefined {
  const labels = name.split('.').filter((l) => l !== '');
  for (let i = 1; i < labels.length; i++) {
    const key = `*.${labels.slice(i).join('.')}.`;
    if (table.hosts.has(key)) return key;
  }
  return undefined;
}

/** Answers an A or AAAA question from the table (Istio's `lookupHost`). `name` is any case, with or without the dot. */
export function lookupHost(table: LookupTable, qtype: string, name: string): LookupResult {
  const question = fqdn(name);
  let key = question;
  let wildcard = false;
  if (!table.hosts.has(key)) {
    const w = wildcardFor(table, key);
    if (w === undefined) return { found: false };
    key = w;
    wildcard = true;
  }
  const cnameAnswers: CnameRecord[] = [];
  const target = table.cnames.get(key);
  if (target !== undefined) {
    cnameAnswers.push({ type: 'CNAME', name: question, ttl: DNS_TTL_SECONDS, data: target });
    key = target;
  }
  let ips: readonly string[] | undefined;
  if (qtype === 'A') ips = table.ipv4.get(key);
  else if (qtype === 'AAAA') ips = table.ipv6.get(key);
  else return { found: false };
  if (ips === undefined || ips.length === 0) return { found: true, answers: [] };
  // A wildcard's records are owned by the question, or by the wildcard key after a CNAME (a chain).
  const owner = wildcard && cnameAnswers.length === 0 ? question : key;
  const type = qtype;
  const addresses = ips.map((data): AddressRecord => ({ type, name: owner, ttl: DNS_TTL_SECONDS, data }));
  return { found: true, answers: [...cnameAnswers, ...addresses] };
}

/**
 * Round robin as Istio does it (CoreDNS loadbalance): CNAMEs first, then the address records
 * shuffled with the given id source (deterministic when `nextId` is).
 */
export function roundRobin(answers: readonly AnswerRecord[], nextId: () => number): AnswerRecord[] {
  const cnames = answers.filter((a) => a.type === 'CNAME');
  const addresses: AnswerRecord[] = answers.filter((a) => a.type !== 'CNAME');
  const l = addresses.length;
  if (l === 2) {
    if (nextId() % 2 === 0) addresses.reverse();
  } else if (l > 2) {
    const rounds = l * ((nextId() % 4) + 1);
    for (let j = 0; j < rounds; j++) {
      const q = nextId() % l;
      let p = nextId() % l;
      if (q === p) p = (p + 1) % l;
      const t = addresses[q] as AnswerRecord;
      addresses[q] = addresses[p] as AnswerRecord;
      addresses[p] = t;
    }
  }
  return [...cnames, ...addresses];
}

/** A JSON form of the table for `/debug/ndsz`-style dumps: name → records. */
export function describeLookupTable(table: LookupTable): Record<string, { a?: readonly string[]; aaaa?: readonly string[]; cname?: string }> {
  const out: Record<string, { a?: readonly string[]; aaaa?: readonly string[]; cname?: string }> = {};
  for (const host of [...table.hosts].sort()) {
    const a = table.ipv4.get(host);
    const aaaa = table.ipv6.get(host);
    const cname = table.cnames.get(host);
    out[host] = { ...(a ? { a } : {}), ...(aaaa ? { aaaa } : {}), ...(cname !== undefined ? { cname } : {}) };
  }
  return out;
}
