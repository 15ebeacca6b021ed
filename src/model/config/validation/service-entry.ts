/**
 * ServiceEntry: Istio's webhook (V-SE-1..16, `ValidateServiceEntry`) and the CRD schema (V-CRD-1,
 * V-CRD-2). Rules are checked in the webhook's order; V-SE-1 errors end the validation early, as in
 * Istio.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { capitalize, checkSelectorLabels, checkWildcardDomain } from './checks.js';
import { checkExportTo } from './export-to.js';
import type { JsonObject, Problems } from './json.js';
import {
  checkMaxItems,
  checkMaxLength,
  childPath,
  fieldOf,
  isJsonObject,
  isPresent,
  quote,
  readEnum,
  readList,
  readObject,
  readSpec,
  readStringList,
  readStringMap,
  warnUnknownFields,
} from './json.js';
import { fqdnProblem, isPartialWildcard } from './names.js';
import type { KindValidator, ResourceContext } from './resource-context.js';
import type { ServiceEntryPort } from './service-entry-ports.js';
import {
  checkDynamicDnsPorts,
  checkPortsForSeveralHosts,
  readServiceEntryPorts,
  warnTcpPortsWithoutAddresses,
  warnTcpPortWithSeveralHosts,
} from './service-entry-ports.js';
import { ipOrCidrProblem } from './sub-validators.js';
import type { EntryMode } from './workload-entry.js';
import { validateEntrySpec } from './workload-entry.js';

const SERVICE_ENTRY_FIELDS = [
  'hosts',
  'addresses',
  'ports',
  'location',
  'resolution',
  'endpoints',
  'workloadSelector',
  'exportTo',
  'subjectAltNames',
] as const;

export const RESOLUTIONS = ['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
const LOCATIONS = ['MESH_EXTERNAL', 'MESH_INTERNAL'] as const;

export const AUTOALLOCATE_LABEL = 'networking.istio.io/enable-autoallocate-ip';
const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';

/**
 * A-V2-1: v2 auto-allocation applies when the feature is on, resolution is not NONE, the object is
 * not labelled `networking.istio.io/enable-autoallocate-ip: "false"` (any case) and it has no
 * `spec.addresses`.
 */
export function autoAllocationApplies(
  featureOn: boolean,
  resolution: Resolution | undefined,
  labels: ReadonlyMap<string, string>,
  addressCount: number,
): boolean {
  return featureOn && resolution !== 'NONE' && labels.get(AUTOALLOCATE_LABEL)?.toLowerCase() !== 'false' && addressCount === 0;
}

interface SelectorState {
  readonly present: boolean;
  /** False when V-SE-1 failed: Istio then reports only those errors. */
  readonly valid: boolean;
}

export const validateServiceEntry: KindValidator = (resource, context, out) => {
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  warnUnknownFields(spec, SERVICE_ENTRY_FIELDS, ['spec'], out);
  const selector = checkWorkloadSelector(spec, out);
  if (!selector.valid) return;

  // API-2: an omitted resolution is NONE; anything but the exact enum names is V-SE-13.
  const resolution: Resolution | undefined = isPresent(spec, 'resolution') ? readEnum(spec, 'resolution', RESOLUTIONS, ['spec'], out, 'V-SE-13') : 'NONE';
  readEnum(spec, 'location', LOCATIONS, ['spec'], out, 'V-CRD-1');
  readStringList(spec, 'subjectAltNames', ['spec'], out);

  // Field presence, as the CRD's CEL rules see it: `endpoints: []` counts as set (V-SE-3, V-CRD-2).
  const endpointsPresent = isPresent(spec, 'endpoints');
  if (selector.present && endpointsPresent) {
    out.push(error(['spec', 'endpoints'], 'Only one of workloadSelector or endpoints is allowed in a ServiceEntry.', 'V-SE-3'));
  }
  const hosts = checkHosts(spec, resolution, out);
  const addresses = checkAddresses(spec, resolution, out);
  const ports = readServiceEntryPorts(spec, out);
  if (addresses.length === 0 && !autoAllocationApplies(context.ipAutoAllocation, resolution, context.labels, 0)) {
    warnTcpPortsWithoutAddresses(ports, out);
  }
  const endpoints = readList(spec, 'endpoints', ['spec'], out) ?? [];
  checkMaxItems(endpoints, 4096, ['spec', 'endpoints'], out, 'V-CRD-1');

  checkResolutionRules({ spec, resolution, hosts, addresses, ports, endpoints, endpointsPresent, selector, context }, out);
  if (resolution !== undefined && resolution !== 'NONE') checkPortsForSeveralHosts(ports, hosts.length, out);
  checkExportTo(spec, context.namespace, { allowNone: true }, out);
};

/** V-SE-1 (errors, reported alone), V-SE-2 (warning) and the CRD limits on selector labels. */
function checkWorkloadSelector(spec: JsonObject, out: Problems): SelectorState {
  const selector = readObject(spec, 'workloadSelector', ['spec'], out);
  if (selector === undefined) return { present: false, valid: true };
  const path: FieldPath = ['spec', 'workloadSelector'];
  warnUnknownFields(selector, ['labels'], path, out);
  const labels = readStringMap(selector, 'labels', path, out);
  const labelsPath = childPath(path, 'labels');
  if (!checkSelectorLabels(labels, labelsPath, out, 'V-SE-1')) return { present: true, valid: false };
  for (const [key, value] of labels ?? []) {
    checkMaxLength(value, 63, childPath(labelsPath, key), out, 'V-CRD-1');
  }
  if (labels !== undefined && labels.size > 256) out.push(error(labelsPath, 'A workload selector may have at most 256 labels.', 'V-CRD-1'));
  if (labels === undefined || labels.size === 0) {
    out.push(
      warning(path, 'The workload selector has no labels, so it selects every workload in the namespace.', 'V-SE-2'),
    );
  }
  return { present: true, valid: true };
}

/** V-SE-4, V-SE-5, V-CRD-1: returns the host list by index (undefined where an item is not a string). */
function checkHosts(spec: JsonObject, resolution: Resolution | undefined, out: Problems): ReadonlyArray<string | undefined> {
  const list = readStringList(spec, 'hosts', ['spec'], out);
  const path: FieldPath = ['spec', 'hosts'];
  if (list === undefined || list.length === 0) {
    out.push(error(path, 'A service entry must have at least one host.', 'V-SE-4'));
    return [];
  }
  checkMaxItems(list, 256, path, out, 'V-CRD-1');
  list.forEach((host, i) => {
    if (host === undefined) return;
    const at = childPath(path, i);
    if (host === '*') {
      out.push(error(at, 'Host "*" is not allowed in a ServiceEntry; name the hosts (a prefix wildcard such as "*.example.com" is fine).', 'V-SE-5'));
    } else if (checkWildcardDomain(host, at, out, 'V-SE-5') && isPartialWildcard(host) && resolution !== 'DYNAMIC_DNS') {
      out.push(warning(at, `Partial wildcard ${quote(host)} is not supported by Istio's routing; use "*." followed by a domain.`, 'V-SE-5'));
    }
  });
  return list;
}

/** V-SE-6, V-SUB-8, V-CRD-1/2: returns the addresses that are strings. */
function checkAddresses(spec: JsonObject, resolution: Resolution | undefined, out: Problems): string[] {
  const list = readStringList(spec, 'addresses', ['spec'], out);
  if (list === undefined) return [];
  const path: FieldPath = ['spec', 'addresses'];
  checkMaxItems(list, 256, path, out, 'V-CRD-1');
  const addresses: string[] = [];
  let firstCidr: number | undefined;
  list.forEach((address, i) => {
    if (address === undefined) return;
    addresses.push(address);
    const at = childPath(path, i);
    if (address.includes('/') && firstCidr === undefined) firstCidr = i;
    checkMaxLength(address, 64, at, out, 'V-CRD-1');
    const problem = ipOrCidrProblem(address);
    if (problem !== undefined) out.push(error(at, capitalize(problem), 'V-SE-6'));
  });
  if (firstCidr !== undefined && resolution !== undefined && resolution !== 'NONE' && resolution !== 'STATIC') {
    out.push(
      error(childPath(path, firstCidr), `CIDR addresses are allowed only for NONE or STATIC resolution, not ${resolution}.`, 'V-SE-6'),
    );
  }
  return addresses;
}

interface ResolutionInputs {
  readonly spec: JsonObject;
  readonly resolution: Resolution | undefined;
  readonly hosts: ReadonlyArray<string | undefined>;
  readonly addresses: readonly string[];
  readonly ports: readonly ServiceEntryPort[];
  readonly endpoints: readonly unknown[];
  readonly endpointsPresent: boolean;
  readonly selector: SelectorState;
  readonly context: ResourceContext;
}

/** V-SE-9 .. V-SE-13, then every inline endpoint in the mode its resolution implies. */
function checkResolutionRules(inputs: ResolutionInputs, out: Problems): void {
  const { resolution, endpoints } = inputs;
  let mode: EntryMode = 'schema-only-endpoint';
  switch (resolution) {
    case 'NONE':
      if (inputs.endpointsPresent) {
        out.push(error(['spec', 'endpoints'], 'No endpoints should be provided for resolution NONE; use STATIC or DNS resolution with endpoints.', 'V-SE-9'));
      }
      if (inputs.selector.present) {
        out.push(warning(['spec', 'workloadSelector'], 'A workloadSelector should not be set when resolution is NONE; its workloads are not used by sidecars.', 'V-SE-9'));
      }
      break;
    case 'STATIC':
      mode = 'static-endpoint';
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      mode = 'dns-endpoint';
      checkDnsRules(inputs, out);
      break;
    case 'DYNAMIC_DNS':
      checkDynamicDnsRules(inputs, out);
      break;
    case undefined:
      break; // V-SE-13 already reported by the enum check
  }
  const servicePortNames = new Set(inputs.ports.flatMap((p) => (p.name === undefined ? [] : [p.name])));
  endpoints.forEach((item, i) => {
    const at = childPath(['spec', 'endpoints'], i);
    if (!isJsonObject(item)) {
      const rule = mode === 'static-endpoint' ? 'V-SE-10' : mode === 'dns-endpoint' ? 'V-SE-11' : 'V-CRD-3';
      out.push(error(at, item === null || item === undefined ? 'An endpoint may not be null.' : 'An endpoint must be an object (a WorkloadEntry spec).', rule));
      return;
    }
    validateEntrySpec(item, at, { mode, servicePortNames, servicePortCount: servicePortNames.size }, out);
  });
}

/** V-SE-11 for DNS and DNS_ROUND_ROBIN. */
function checkDnsRules(inputs: ResolutionInputs, out: Problems): void {
  const { resolution, hosts, endpoints } = inputs;
  if (endpoints.length === 0) {
    hosts.forEach((host, i) => {
      if (host !== undefined && fqdnProblem(host) !== undefined) {
        out.push(
          error(['spec', 'hosts', i], `Host ${quote(host)} must be a plain FQDN (no wildcard) when resolution is ${resolution ?? ''} and no endpoints are given.`, 'V-SE-11'),
        );
      }
    });
  }
  if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
    out.push(error(['spec', 'endpoints'], `There must be only 0 or 1 endpoint for resolution DNS_ROUND_ROBIN, not ${endpoints.length}.`, 'V-SE-11'));
  }
  if (inputs.addresses.length > 0) warnTcpPortWithSeveralHosts(inputs.ports, hosts.length, out);
}

/** V-SE-12 for DYNAMIC_DNS. */
function checkDynamicDnsRules(inputs: ResolutionInputs, out: Problems): void {
  inputs.hosts.forEach((host, i) => {
    if (host !== undefined && !host.startsWith('*')) {
      out.push(error(['spec', 'hosts', i], `Host ${quote(host)} must be a wildcard such as "*.example.com" for DYNAMIC_DNS resolution.`, 'V-SE-12'));
    }
  });
  if (inputs.addresses.length > 0) out.push(error(['spec', 'addresses'], 'spec.addresses must be empty for DYNAMIC_DNS resolution.', 'V-SE-12'));
  if (inputs.endpoints.length > 0) out.push(error(['spec', 'endpoints'], 'spec.endpoints must be empty for DYNAMIC_DNS resolution.', 'V-SE-12'));
  checkDynamicDnsPorts(inputs.ports, out);
  const waypoint = inputs.context.labels.get(USE_WAYPOINT_LABEL);
  if (fieldOf(inputs.spec, 'location') === 'MESH_INTERNAL' && waypoint !== undefined && waypoint !== '' && waypoint !== 'none') {
    out.push(
      error(['spec', 'location'], `A DYNAMIC_DNS ServiceEntry that uses a waypoint (${USE_WAYPOINT_LABEL}: ${quote(waypoint)}) cannot be MESH_INTERNAL.`, 'V-SE-12'),
    );
  }
}
