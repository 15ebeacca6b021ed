/**
 * Address predicates used by the registry, on top of the Go-exact parser of the validation module
 * (V-SUB-4, V-SUB-8): one parser for the whole code base.
 */
import { cidrContains as prefixContains, isValidIP, parseCidr as parsePrefix, parseIP } from '../config/validation/ip.js';

export function isIP(s: string): boolean {
  return isValidIP(s);
}

export function isIPv4(s: string): boolean {
  return parseIP(s)?.family === 4;
}

export function isIPv6(s: string): boolean {
  return parseIP(s)?.family === 6;
}

/** A prefix `ip/len` as written, or undefined when `s` is not one. */
export function parseCidr(s: string): { ip: string; bits: number } | undefined {
  const p = parsePrefix(s);
  return p ? { ip: s.slice(0, s.lastIndexOf('/')), bits: p.bits } : undefined;
}

/** Whether an address lies in a CIDR (same family). */
export function cidrContains(cidr: string, ip: string): boolean {
  const p = parsePrefix(cidr);
  const a = parseIP(ip);
  return p !== undefined && a !== undefined && prefixContains(p, a);
}

export function isUnixAddress(s: string): boolean {
  return s.startsWith('unix://');
}
