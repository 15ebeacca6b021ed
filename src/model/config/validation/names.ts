/**
 * Name syntaxes: DNS labels and host names as Istio checks them (V-SUB-2, V-SUB-5..7, V-SUB-9), and
 * Kubernetes object names. Each `...Problem` function returns a one-sentence reason, or undefined
 * when the value is valid; each `is...` predicate is the boolean form.
 *
 * Istio's label syntax is case-insensitive (`[a-zA-Z0-9]`), Kubernetes object names are lower case.
 * Lengths are checked before any regular expression runs, so huge strings cost linear time.
 */
import { quote } from './json.js';

const ISTIO_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const KUBE_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SERVICE_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Istio `labels.IsDNS1123Label`: 1..63 of `[a-zA-Z0-9-]`, alphanumeric at both ends (V-SUB-2). */
export function isDNS1123Label(value: string): boolean {
  return value.length <= 63 && ISTIO_LABEL.test(value);
}

/** V-SUB-2: a port name is an RFC-1123 label ("7777" is fine, "http_1" is not). */
export function isValidPortName(value: string): boolean {
  return isDNS1123Label(value);
}

/** Kubernetes DNS-1123 label (lower case, at most 63): namespace names, Service port names. */
export function isKubeDNS1123Label(value: string): boolean {
  return value.length <= 63 && KUBE_LABEL.test(value);
}

/** Kubernetes DNS-1123 subdomain (lower case, dot-separated labels, at most 253): object names. */
export function isKubeDNS1123Subdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every((part) => KUBE_LABEL.test(part));
}

/** Kubernetes IANA_SVC_NAME: container port names and named targetPorts ("http", "grpc-web"). */
export function isIanaServiceName(value: string): boolean {
  return value.length <= 15 && IANA_SERVICE_NAME.test(value) && !value.includes('--') && /[a-z]/.test(value);
}

/** Go `strconv.Atoi` succeeds: optional sign, decimal digits, within int64. */
function isGoInteger(text: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(text)) return false;
  const n = BigInt(text);
  return n >= -(2n ** 63n) && n <= 2n ** 63n - 1n;
}

function dnsPreconditionsProblem(name: string): string | undefined {
  if (name.length > 255) return `domain name ${quote(name)} is too long (at most 255 characters).`;
  if (name.length === 0) return 'an empty domain name is not allowed.';
  return undefined;
}

/**
 * Dot-separated RFC-1123 labels; a single trailing dot is allowed; the last label is not numeric.
 * `labels` is the part of `domain` to check (all of it, or what follows a wildcard label).
 */
function dnsLabelsProblem(domain: string, labels: string = domain): string | undefined {
  const parts = labels.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (isGoInteger(tld)) return `domain name ${quote(domain)} is invalid: its top-level domain ${quote(tld)} is all numeric.`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i] ?? '';
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDNS1123Label(label)) return `domain name ${quote(domain)} is invalid: label ${quote(label)} is not an RFC-1123 label.`;
  }
  return undefined;
}

/** V-SUB-5 (Istio `ValidateFQDN`): the reason the name is not a valid FQDN, or undefined. */
export function fqdnProblem(name: string): string | undefined {
  return dnsPreconditionsProblem(name) ?? dnsLabelsProblem(name);
}

/** V-SUB-5: "foo", "istio.io." and "vm1.corp.example" are FQDNs; "*.a.com", "1.2.3.4", "a..b" are not. */
export function isValidFQDN(name: string): boolean {
  return fqdnProblem(name) === undefined;
}

/** V-SUB-6 (Istio `ValidateWildcardDomain`): like an FQDN, but the first label may be `*`, `*foo` or `*-foo`. */
export function wildcardDomainProblem(domain: string): string | undefined {
  const pre = dnsPreconditionsProblem(domain);
  if (pre !== undefined) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (first.length > 63 || !WILDCARD_LABEL.test(first)) {
    return `domain name ${quote(domain)} is invalid: label ${quote(first)} is not an RFC-1123 label or a wildcard prefix.`;
  }
  return dot < 0 ? undefined : dnsLabelsProblem(domain, domain.slice(dot + 1));
}

export function isWildcardDomain(domain: string): boolean {
  return wildcardDomainProblem(domain) === undefined;
}

/** V-SUB-7: contains `*` but is neither `*` nor `*.`-prefixed (e.g. `*foo.com`). */
export function isPartialWildcard(host: string): boolean {
  return host.includes('*') && host.length !== 1 && !host.startsWith('*.');
}

/** Istio `ValidateTrustDomain`: RFC-1123 labels separated by dots, a trailing dot allowed. */
export function trustDomainProblem(domain: string): string | undefined {
  if (domain === '') return 'an empty trust domain is not allowed.';
  const parts = domain.split('.');
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i] ?? '';
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDNS1123Label(label)) return `trust domain ${quote(domain)} is invalid: label ${quote(label)} is not an RFC-1123 label.`;
  }
  return undefined;
}

export interface LabelSyntaxOptions {
  /** Kubernetes `metadata.labels`: values at most 63 characters, key prefixes lower case. */
  readonly kubernetesMetadata?: boolean;
}

/**
 * V-SUB-9 (Istio `labels.Instance.Validate`): the key is `[prefix/]name`, where the optional prefix
 * is dot-joined RFC-1123 labels (at most 253 characters) and the name is 1..63 characters,
 * alphanumeric at both ends with `-`, `_`, `.` inside.
 */
export function labelKeyProblem(key: string, options: LabelSyntaxOptions = {}): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    const labelPattern = options.kubernetesMetadata === true ? KUBE_LABEL : ISTIO_LABEL;
    if (prefix.length > 253) return `invalid label key ${quote(key)}: its prefix is longer than 253 characters.`;
    if (!prefix.split('.').every((part) => labelPattern.test(part))) {
      return `invalid label key ${quote(key)}: the prefix before "/" must be a DNS subdomain.`;
    }
  }
  if (name.length > 63) return `invalid label key ${quote(key)}: the name part is longer than 63 characters.`;
  if (!QUALIFIED_NAME.test(name)) {
    return `invalid label key ${quote(key)}: use letters, digits, "-", "_" or ".", starting and ending with a letter or digit.`;
  }
  return undefined;
}

/** V-SUB-9: a value is empty or a qualified name; only Kubernetes metadata limits its length to 63. */
export function labelValueProblem(value: string, options: LabelSyntaxOptions = {}): string | undefined {
  if (options.kubernetesMetadata === true && value.length > 63) {
    return `invalid label value ${quote(value)}: it is longer than 63 characters.`;
  }
  if (value === '' || QUALIFIED_NAME.test(value)) return undefined;
  return `invalid label value ${quote(value)}: use letters, digits, "-", "_" or ".", starting and ending with a letter or digit.`;
}

/** V-SUB-9 as a predicate over any value: a plain object whose keys and values are valid labels. */
export function isValidLabelMap(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.entries(value as Record<string, unknown>).every(
    ([k, v]) => typeof v === 'string' && labelKeyProblem(k) === undefined && labelValueProblem(v) === undefined,
  );
}
