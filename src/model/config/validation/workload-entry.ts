/**
 * WorkloadEntry specs, wherever they appear: a WorkloadEntry resource (V-WE-*), an inline endpoint of
 * a ServiceEntry (V-SE-10 for STATIC, V-SE-11 for DNS/DNS_ROUND_ROBIN, schema only otherwise) and a
 * WorkloadGroup template (schema only, V-WG-1). The CRD schema rules (V-CRD-3) apply to all of them.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { checkLabelSyntax, checkPortName, checkPortNumber, capitalize } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import {
  UINT32_MAX,
  checkMaxLength,
  childPath,
  fieldName,
  quote,
  readInteger,
  readObject,
  readSpec,
  readString,
  readStringMap,
  warnUnknownFields,
} from './json.js';
import { isValidIP } from './ip.js';
import { fqdnProblem, isKubeDNS1123Subdomain } from './names.js';
import type { KindValidator } from './resource-context.js';
import { isUnixAddress, unixAddressProblem } from './sub-validators.js';

export const WORKLOAD_ENTRY_FIELDS = ['address', 'ports', 'labels', 'network', 'locality', 'weight', 'serviceAccount'] as const;

/**
 * How much of the webhook applies:
 * - `workload-entry`: a WorkloadEntry resource (V-WE-1..5; FQDN addresses allowed).
 * - `static-endpoint`: STATIC ServiceEntry endpoint (V-SE-10: IP or unix only, port names checked).
 * - `dns-endpoint`: DNS / DNS_ROUND_ROBIN endpoint (V-SE-11: IP or FQDN, empty fails, port names checked).
 * - `schema-only-endpoint`: other resolutions; only the CRD schema (V-CRD-3).
 * - `template`: WorkloadGroup template; the CRD schema without its "address is required" rule (V-CRD-4).
 */
export type EntryMode = 'workload-entry' | 'static-endpoint' | 'dns-endpoint' | 'schema-only-endpoint' | 'template';

export interface EntryContext {
  readonly mode: EntryMode;
  /** Port names of the owning ServiceEntry (endpoint modes). */
  readonly servicePortNames?: ReadonlySet<string>;
  /** Number of ports of the owning ServiceEntry (unix endpoints need exactly one, V-SE-10). */
  readonly servicePortCount?: number;
}

/** Rule id for checks the webhook makes in this mode, or the CRD rule otherwise. */
function ruleFor(mode: EntryMode, webhookRule: string): string {
  switch (mode) {
    case 'workload-entry':
    case 'static-endpoint':
    case 'dns-endpoint':
      return webhookRule;
    case 'template':
      return 'V-CRD-4';
    case 'schema-only-endpoint':
      return 'V-CRD-3';
  }
}

function webhookChecksLabels(mode: EntryMode): boolean {
  return mode === 'workload-entry' || mode === 'static-endpoint' || mode === 'dns-endpoint';
}

/** Validates one WorkloadEntry spec at `path`. */
export function validateEntrySpec(entry: JsonObject, path: FieldPath, context: EntryContext, out: Problems): void {
  warnUnknownFields(entry, WORKLOAD_ENTRY_FIELDS, path, out);
  const address = readString(entry, 'address', path, out) ?? '';
  const network = readString(entry, 'network', path, out) ?? '';
  const ports = readObject(entry, 'ports', path, out);
  checkMaxLength(address, 256, childPath(path, 'address'), out, 'V-CRD-3');
  checkMaxLength(network, 2048, childPath(path, 'network'), out, 'V-CRD-3');
  checkMaxLength(readString(entry, 'locality', path, out), 2048, childPath(path, 'locality'), out, 'V-CRD-3');
  const serviceAccount = readString(entry, 'serviceAccount', path, out);
  checkMaxLength(serviceAccount, 253, childPath(path, 'serviceAccount'), out, 'V-CRD-3');
  // Issue 11: the service account becomes the last segment of a SPIFFE id; Kubernetes' naming rule
  // keeps `/` (and so forged `/ns/<other>/` segments) out of it.
  if (serviceAccount !== undefined && serviceAccount !== '' && serviceAccount.length <= 253 && !isKubeDNS1123Subdomain(serviceAccount)) {
    out.push(error(childPath(path, 'serviceAccount'), `serviceAccount ${quote(serviceAccount)} is not a valid Kubernetes service account name: it must be a DNS-1123 subdomain (lower-case letters, digits, "-" and "."; no "/").`));
  }
  readInteger(entry, 'weight', path, out, { min: 0, max: UINT32_MAX });
  checkAddress(address, network, ports, path, context, out);
  if (ports !== undefined) checkPortsMap(ports, childPath(path, 'ports'), context, out);
  const labels = readStringMap(entry, 'labels', path, out);
  if (labels !== undefined) {
    if (labels.size > 256) out.push(error(childPath(path, 'labels'), `${fieldName(childPath(path, 'labels'))} has more than 256 entries.`, 'V-CRD-3'));
    if (webhookChecksLabels(context.mode)) checkLabelSyntax(labels, childPath(path, 'labels'), out, context.mode === 'workload-entry' ? 'V-WE-5' : 'V-SUB-9');
  }
}

function checkAddress(
  address: string,
  network: string,
  ports: JsonObject | undefined,
  path: FieldPath,
  context: EntryContext,
  out: Problems,
): void {
  const at = childPath(path, 'address');
  const { mode } = context;
  if (address === '') {
    checkMissingAddress(network, at, mode, out);
    return;
  }
  if (isUnixAddress(address)) {
    checkUnixAddress(address, ports, path, context, out);
    return;
  }
  if (isValidIP(address)) return;
  switch (mode) {
    case 'workload-entry':
    case 'dns-endpoint':
      if (fqdnProblem(address) !== undefined) {
        out.push(error(at, `Endpoint address ${quote(address)} is not a valid FQDN or an IP address.`, mode === 'workload-entry' ? 'V-WE-3' : 'V-SE-11'));
      }
      return;
    case 'static-endpoint':
      out.push(error(at, `Endpoint address ${quote(address)} is not a valid IP address (a STATIC ServiceEntry needs IP or unix:// endpoints).`, 'V-SE-10'));
      return;
    case 'schema-only-endpoint':
    case 'template':
      return;
  }
}

/** V-WE-1 (and V-CRD-3 "Address is required"); DNS endpoints need an address as V-SE-11 says. */
function checkMissingAddress(network: string, at: FieldPath, mode: EntryMode, out: Problems): void {
  switch (mode) {
    case 'workload-entry':
    case 'static-endpoint':
      if (network === '') out.push(error(at, 'The address is required (or a network, for an entry reached through a gateway).', 'V-WE-1'));
      else out.push(warning(at, `The address is unset with network ${quote(network)}; the entry is only reachable through that network's gateway.`, 'V-WE-1'));
      return;
    case 'dns-endpoint':
      out.push(error(at, 'Endpoint address "" is not a valid FQDN or an IP address; DNS endpoints need an address.', 'V-SE-11'));
      return;
    case 'schema-only-endpoint':
      if (network === '') out.push(error(at, 'The address is required (or a network).', 'V-CRD-3'));
      return;
    case 'template':
      return;
  }
}

/** V-WE-2 / V-SUB-10, and for STATIC endpoints the one-port rule of V-SE-10. */
function checkUnixAddress(
  address: string,
  ports: JsonObject | undefined,
  path: FieldPath,
  context: EntryContext,
  out: Problems,
): void {
  const { mode } = context;
  const at = childPath(path, 'address');
  if (mode === 'dns-endpoint') {
    out.push(error(at, `Endpoint address ${quote(address)} is not a valid FQDN or an IP address (unix sockets need STATIC resolution).`, 'V-SE-11'));
    return;
  }
  const problem = unixAddressProblem(address);
  if (problem !== undefined) out.push(error(at, capitalize(problem), ruleFor(mode, 'V-SUB-10')));
  if (ports !== undefined && Object.keys(ports).length > 0) {
    out.push(error(childPath(path, 'ports'), `Unix endpoint ${quote(address)} must not include ports.`, ruleFor(mode, 'V-WE-2')));
  }
  if (mode === 'static-endpoint' && context.servicePortCount !== undefined && context.servicePortCount !== 1) {
    out.push(
      error(at, `Exactly 1 service port is required for unix endpoints; this ServiceEntry has ${context.servicePortCount}.`, 'V-SE-10'),
    );
  }
}

/** V-WE-4 / V-SUB-1 / V-SUB-2 on the `ports` map, plus ServiceEntry port-name membership (V-SE-10/11). */
function checkPortsMap(ports: JsonObject, path: FieldPath, context: EntryContext, out: Problems): void {
  const { mode } = context;
  const entries = Object.entries(ports);
  if (entries.length > 128) out.push(error(path, `${fieldName(path)} has ${entries.length} entries; at most 128 are allowed.`, 'V-CRD-3'));
  for (const [name, value] of entries) {
    const at = childPath(path, name);
    const number = checkPortNumber(value, at, out, ruleFor(mode, 'V-SUB-1'));
    checkPortName(name, at, out, ruleFor(mode, 'V-SUB-2'));
    const names = context.servicePortNames;
    if ((mode === 'static-endpoint' || mode === 'dns-endpoint') && names !== undefined && !names.has(name)) {
      const shown = number === undefined ? '' : ` (${number})`;
      out.push(
        error(at, `Endpoint port ${quote(name)}${shown} is not defined by the service entry; use one of its port names.`, mode === 'static-endpoint' ? 'V-SE-10' : 'V-SE-11'),
      );
    }
  }
}

/** A WorkloadEntry resource: V-WE-1..6 and V-CRD-3 on `spec`. */
export const validateWorkloadEntry: KindValidator = (resource, _context, out) => {
  const spec = readSpec(resource, out);
  if (spec !== undefined) validateEntrySpec(spec, ['spec'], { mode: 'workload-entry' }, out);
};
