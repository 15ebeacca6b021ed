/**
 * Kubernetes v1 Pod, as far as meshbridge reads it: container ports (E-PORT-2), service account,
 * and the status fields that decide whether a pod is an endpoint (E-SEL-3): podIP(s), phase and
 * conditions. Other fields are Kubernetes' business and are neither checked nor warned about.
 * Deliberately lenient where the apiserver is strict but meshbridge does not care (a container
 * without a name is accepted).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { readPortNumber } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { asObjectItem, childPath, fieldOf, quote, readEnum, readList, readObject, readString } from './json.js';
import { isValidIP } from './ip.js';
import { isIanaServiceName, isKubeDNS1123Subdomain } from './names.js';
import type { KindValidator } from './resource-context.js';

export const KUBE_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

export const validatePod: KindValidator = (resource, _context, out) => {
  const spec = readObject(resource, 'spec', [], out);
  if (spec !== undefined) checkPodSpec(spec, ['spec'], out);
  const status = readObject(resource, 'status', [], out);
  if (status !== undefined) checkPodStatus(status, ['status'], out);
};

function checkPodSpec(spec: JsonObject, path: FieldPath, out: Problems): void {
  const account = readString(spec, 'serviceAccountName', path, out);
  if (account !== undefined && account !== '' && !isKubeDNS1123Subdomain(account)) {
    out.push(error(childPath(path, 'serviceAccountName'), `serviceAccountName ${quote(account)} is not a valid Kubernetes name.`));
  }
  readString(spec, 'nodeName', path, out);
  for (const key of ['containers', 'initContainers'] as const) {
    (readList(spec, key, path, out) ?? []).forEach((item, i) => {
      const at = childPath(childPath(path, key), i);
      const container = asObjectItem(item, at, out, 'A container');
      if (container !== undefined) checkContainer(container, at, out);
    });
  }
}

function checkContainer(container: JsonObject, path: FieldPath, out: Problems): void {
  readString(container, 'name', path, out);
  const names = new Set<string>();
  (readList(container, 'ports', path, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'ports'), i);
    const port = asObjectItem(item, at, out, 'A container port');
    if (port === undefined) return;
    readPortNumber(port, 'containerPort', at, out, { required: true, rule: 'V-SUB-1' });
    readPortNumber(port, 'hostPort', at, out);
    readEnum(port, 'protocol', KUBE_PROTOCOLS, at, out);
    const name = readString(port, 'name', at, out);
    if (name === undefined || name === '') return;
    if (!isIanaServiceName(name)) {
      out.push(error(childPath(at, 'name'), `Container port name ${quote(name)} is invalid: at most 15 lower-case letters, digits and "-", with at least one letter.`));
    }
    if (names.has(name)) out.push(error(childPath(at, 'name'), `Container port name ${quote(name)} is used twice in this container.`));
    names.add(name);
  });
}

function checkPodStatus(status: JsonObject, path: FieldPath, out: Problems): void {
  for (const key of ['podIP', 'hostIP'] as const) {
    const ip = readString(status, key, path, out);
    if (ip !== undefined && ip !== '' && !isValidIP(ip)) out.push(error(childPath(path, key), `${key} ${quote(ip)} is not a valid IP address.`, 'V-SUB-4'));
  }
  (readList(status, 'podIPs', path, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'podIPs'), i);
    const entry = asObjectItem(item, at, out, 'A pod IP');
    const ip = entry === undefined ? undefined : readString(entry, 'ip', at, out);
    if (ip !== undefined && !isValidIP(ip)) out.push(error(childPath(at, 'ip'), `${quote(ip)} is not a valid IP address.`, 'V-SUB-4'));
  });
  readEnum(status, 'phase', POD_PHASES, path, out);
  (readList(status, 'conditions', path, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'conditions'), i);
    const condition = asObjectItem(item, at, out, 'A condition');
    if (condition === undefined) return;
    if ((readString(condition, 'type', at, out) ?? '') === '') out.push(error(childPath(at, 'type'), 'A condition needs a type (e.g. "Ready").'));
    const status = fieldOf(condition, 'status');
    if (typeof status === 'boolean') {
      // YAML reads an unquoted True as a boolean; Kubernetes wants the string. Accepted, with a warning.
      out.push(warning(childPath(at, 'status'), `Condition status should be the string "${status ? 'True' : 'False'}"; quote it in YAML.`));
    } else {
      readEnum(condition, 'status', CONDITION_STATUSES, at, out);
    }
  });
}
