/**
 * resolv.conf as the DNS proxy reads it: `nameserver` lines become the upstreams (port 53, or the
 * port a test writes as `nameserver 127.0.0.1:5300`, which glibc ignores but we accept), `search`
 * (or the older `domain`) gives the search domains. Comments (`#`, `;`) and other options are ignored.
 */
import { isIP } from 'node:net';
import { splitHostPort } from '../../lib/net/host-port.js';

export interface ResolvConf {
  /** `host:port` (IPv6 as `[addr]:port`). */
  readonly nameservers: readonly string[];
  readonly search: readonly string[];
}

function upstreamAddress(value: string): string | undefined {
  if (isIP(value) !== 0) return isIP(value) === 6 ? `[${value}]:53` : `${value}:53`;
  const hp = splitHostPort(value);
  return hp !== undefined && isIP(hp.host) !== 0 ? value : undefined;
}

export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...values] = line.split(/\s+/);
    if (keyword === 'nameserver' && values[0] !== undefined) {
      const address = upstreamAddress(values[0]);
      if (address !== undefined) nameservers.push(address);
    } else if (keyword === 'search' || keyword === 'domain') {
      // The last search/domain line wins, as in glibc.
      search = values.filter((v) => v !== '').map((v) => v.replace(/\.$/, '').toLowerCase());
    }
  }
  return { nameservers, search };
}

/** `host:port` → `{ host, port }` for an upstream address written by `parseResolvConf` or a test. */
export function splitUpstream(address: string): { host: string; port: number } {
  const hp = splitHostPort(address);
  if (hp === undefined) throw new Error(`upstream ${address} is not host:port`);
  return hp;
}
