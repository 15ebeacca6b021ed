/**
 * Address predicates used by the registry. Parsing follows Go's netip (V-SUB-4): dotted IPv4
 * without leading zeros, IPv6 with an optional zone.
 */

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return false;
  }
  return true;
}

export function isIPv6(s: string): boolean {
  const zone = s.indexOf('%');
  if (zone === 0 || zone === s.length - 1) return false;
  const addr = zone >= 0 ? s.slice(0, zone) : s;
  if (!/^[0-9a-fA-F:.]+$/.test(addr) || !addr.includes(':')) return false;
  const dbl = addr.split('::');
  if (dbl.length > 2) return false;
  const groups = (part: string): string[] | undefined => (part === '' ? [] : part.split(':'));
  const head = groups(dbl[0] ?? '');
  const tail = dbl.length === 2 ? groups(dbl[1] ?? '') : [];
  if (!head || !tail) return false;
  const all = [...head, ...tail];
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i] ?? '';
    if (i === all.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return false;
      count += 2;
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      count += 1;
    }
  }
  return dbl.length === 2 ? count < 8 : count === 8;
}

export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

/** A prefix `ip/len`, or undefined when `s` is not one. */
export function parseCidr(s: string): { ip: string; bits: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0 || s.indexOf('/', slash + 1) >= 0) return undefined;
  const ip = s.slice(0, slash);
  const lenStr = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenStr)) return undefined;
  const bits = Number(lenStr);
  if (isIPv4(ip)) return bits <= 32 ? { ip, bits } : undefined;
  if (isIPv6(ip) && !ip.includes('%')) return bits <= 128 ? { ip, bits } : undefined;
  return undefined;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Whether an IPv4 address lies in an IPv4 CIDR (IPv6 ranges are not matched). */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  if (!c || !isIPv4(c.ip) || !isIPv4(ip)) return false;
  if (c.bits === 0) return true;
  const mask = 2 ** 32 - 2 ** (32 - c.bits);
  const a = ipv4ToInt(c.ip);
  const b = ipv4ToInt(ip);
  return Math.floor(a / 2 ** (32 - c.bits)) === Math.floor(b / 2 ** (32 - c.bits)) && mask > 0;
}

export function isUnixAddress(s: string): boolean {
  return s.startsWith('unix://');
}
