/**
 * The reusable sub-validators (istio-semantics.md §2.2, V-SUB-*) as plain predicates and parsers,
 * for the registry and the rest of the code base. Pure functions of strings and numbers.
 */
import { parseCidr, parseIP } from './ip.js';
import { quote } from './json.js';

export type { IpAddress, IpPrefix } from './ip.js';
export { cidrContains, isValidIP, parseCidr, parseIP } from './ip.js';
export {
  fqdnProblem,
  isDNS1123Label,
  isIanaServiceName,
  isKubeDNS1123Label,
  isKubeDNS1123Subdomain,
  isPartialWildcard,
  isValidFQDN,
  isValidLabelMap,
  isValidPortName,
  isWildcardDomain,
  labelKeyProblem,
  labelValueProblem,
  trustDomainProblem,
  wildcardDomainProblem,
} from './names.js';
export type { Protocol } from './protocol.js';
export { isHTTPProtocol, isTCPProtocol, isTLSProtocol, parseProtocol, PROTOCOLS } from './protocol.js';
export { durationRangeProblem, parseGoDuration } from './duration.js';

export const UNIX_ADDRESS_PREFIX = 'unix://';

/** V-SUB-1: an integer in 1..65535. */
export function isValidPortNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** An endpoint address that names a Unix domain socket (`unix:///path` or `unix://@abstract`). */
export function isUnixAddress(address: string): boolean {
  return address.startsWith(UNIX_ADDRESS_PREFIX);
}

/**
 * V-SUB-10 on a full `unix://...` address: the reason it is refused, or undefined. After the prefix
 * the rest must be non-empty; an abstract socket (`@name`) is accepted; otherwise it must be an
 * absolute path that does not end with "/". The CRD (V-CRD-3) also refuses a trailing "/" after "@".
 */
export function unixAddressProblem(address: string): string | undefined {
  const rest = address.startsWith(UNIX_ADDRESS_PREFIX) ? address.slice(UNIX_ADDRESS_PREFIX.length) : address;
  if (rest === '') return 'unix address must not be empty.';
  if (rest.startsWith('@')) return rest.endsWith('/') ? `unix address ${quote(address)} must not end with "/".` : undefined;
  if (!rest.startsWith('/') || rest.endsWith('/')) return `unix address ${quote(address)} is not an absolute path to a file.`;
  return undefined;
}

/**
 * V-SUB-8 (addresses of a ServiceEntry): with exactly one "/" the value must be a CIDR prefix,
 * otherwise an IP address. Returns the reason it is refused, or undefined.
 */
export function ipOrCidrProblem(value: string): string | undefined {
  if (value.split('/').length === 2) {
    return parseCidr(value) === undefined ? `${quote(value)} is not a valid CIDR block.` : undefined;
  }
  return parseIP(value) === undefined ? `${quote(value)} is not a valid IP address.` : undefined;
}

export function isIPOrCidr(value: string): boolean {
  return ipOrCidrProblem(value) === undefined;
}
