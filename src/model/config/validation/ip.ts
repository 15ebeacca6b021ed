/**
 * IP addresses and prefixes parsed exactly as Go's `net/netip` does (`ParseAddr`, `ParsePrefix`),
 * which is what Istio uses (V-SUB-4, V-SUB-8). Written here rather than taken from Node's `net`
 * module: the model stays free of Node APIs, and Node's rules differ (zones, IPv4-in-IPv6 forms).
 *
 * Go rules worth knowing: IPv4 is exactly four decimal fields 0..255 with no leading zeros
 * ("01.1.1.1" is refused); IPv6 has 1..4 hex digits per group, at most one "::" that must stand for
 * at least one zero group, an optional trailing dotted IPv4 in the last 32 bits and an optional
 * non-empty "%zone". The first '.', ':' or '%' decides which parser runs.
 */

export interface IpAddress {
  readonly family: 4 | 6;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address stays family 6, as in Go). */
  readonly bytes: readonly number[];
  /** IPv6 zone without the '%', or ''. */
  readonly zone: string;
}

export interface IpPrefix {
  readonly address: IpAddress;
  /** Prefix length: 0..32 for IPv4, 0..128 for IPv6. Host bits need not be zero ("172.1.2.16/16" is fine). */
  readonly bits: number;
}

/** Go `netip.ParseAddr`: the parsed address, or undefined when Go would return an error. */
export function parseIP(text: string): IpAddress | undefined {
  const first = /[.:%]/.exec(text)?.[0];
  if (first === '.') {
    const bytes = parseIPv4Fields(text);
    return bytes === undefined ? undefined : { family: 4, bytes, zone: '' };
  }
  if (first === ':') return parseIPv6(text);
  return undefined; // '%' first: "missing IPv6 address"; none: not an IP
}

/** V-SUB-4: true when Go's `netip.ParseAddr` accepts the string. */
export function isValidIP(text: string): boolean {
  return parseIP(text) !== undefined;
}

/** Go `netip.ParsePrefix` ("10.0.0.0/8", "2001:db8::/32"); zones are not allowed in prefixes. */
export function parseCidr(text: string): IpPrefix | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return undefined;
  const address = parseIP(text.slice(0, slash));
  if (address === undefined || address.zone !== '') return undefined;
  const bitsText = text.slice(slash + 1);
  // Go refuses a sign and leading zeros here, then parses a decimal int.
  if (!/^(?:0|[1-9][0-9]*)$/.test(bitsText) || bitsText.length > 4) return undefined;
  const bits = Number(bitsText);
  const maxBits = address.family === 4 ? 32 : 128;
  return bits <= maxBits ? { address, bits } : undefined;
}

/** True when the address lies inside the prefix (same family required; the zone is ignored). */
export function cidrContains(prefix: IpPrefix, address: IpAddress): boolean {
  if (prefix.address.family !== address.family) return false;
  let remaining = prefix.bits;
  for (let i = 0; remaining > 0; i++, remaining -= 8) {
    const a = prefix.address.bytes[i] ?? 0;
    const b = address.bytes[i] ?? 0;
    const mask = remaining >= 8 ? 0xff : (0xff << (8 - remaining)) & 0xff;
    if ((a & mask) !== (b & mask)) return false;
  }
  return true;
}

/** Dotted IPv4 as four bytes, with Go's strictness (no leading zeros, no empty fields). */
function parseIPv4Fields(text: string): number[] | undefined {
  const fields: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return undefined; // leading zero
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return undefined;
    } else if (c === 46 /* . */) {
      if (i === 0 || i === text.length - 1 || text.charCodeAt(i - 1) === 46) return undefined;
      if (fields.length === 3) return undefined; // too many fields
      fields.push(value);
      value = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  if (fields.length < 3) return undefined;
  fields.push(value);
  return fields;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIPv6(input: string): IpAddress | undefined {
  let s = input;
  let zone = '';
  const percent = s.indexOf('%');
  if (percent !== -1) {
    zone = s.slice(percent + 1);
    s = s.slice(0, percent);
    if (zone === '') return undefined; // zone must be non-empty
  }
  const ip = new Array<number>(16).fill(0);
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s === '') return { family: 6, bytes: ip, zone };
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    for (; off < s.length; off++) {
      const h = hexValue(s.charCodeAt(off));
      if (h < 0) break;
      acc = acc * 16 + h;
      if (off > 3) return undefined; // more than 4 hex digits
    }
    if (off === 0) return undefined; // a group needs at least one digit
    if (off < s.length && s[off] === '.') {
      // Trailing IPv4 in the last 32 bits.
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) return undefined;
      const v4 = parseIPv4Fields(s);
      if (v4 === undefined) return undefined;
      ip.splice(i, 4, ...v4);
      s = '';
      i += 4;
      break;
    }
    ip[i] = acc >> 8;
    ip[i + 1] = acc & 0xff;
    i += 2;
    s = s.slice(off);
    if (s === '') break;
    if (s[0] !== ':' || s.length === 1) return undefined;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return undefined; // a second "::"
      ellipsis = i;
      s = s.slice(1);
      if (s === '') break;
    }
  }
  if (s !== '') return undefined; // trailing garbage
  if (i < 16) {
    if (ellipsis < 0) return undefined; // too short
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j] ?? 0;
    ip.fill(0, ellipsis, ellipsis + n);
  } else if (ellipsis >= 0) {
    return undefined; // "::" must stand for at least one zero group
  }
  return { family: 6, bytes: ip, zone };
}
