/**
 * Kubernetes v1 Service, as far as meshbridge reads it: ports (number, targetPort, protocol, name),
 * selector, clusterIP(s), type, and LoadBalancer ingress addresses (network gateways, N-1).
 * Unnamed ports in a multi-port Service are only a warning here (the apiserver refuses them, but
 * meshbridge can still use the Service).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { checkLabelSyntax, checkPortNumber, readPortNumber } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { asObjectItem, childPath, fieldOf, quote, readEnum, readList, readObject, readString, readStringList, readStringMap } from './json.js';
import { isValidIP } from './ip.js';
import { isIanaServiceName, isKubeDNS1123Label, isValidFQDN } from './names.js';
import { KUBE_PROTOCOLS } from './kube-pod.js';
import type { KindValidator } from './resource-context.js';

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;

export const validateService: KindValidator = (resource, _context, out) => {
  const spec = readObject(resource, 'spec', [], out);
  if (spec !== undefined) checkServiceSpec(spec, ['spec'], out);
  const status = readObject(resource, 'status', [], out);
  const loadBalancer = status === undefined ? undefined : readObject(status, 'loadBalancer', ['status'], out);
  (loadBalancer === undefined ? [] : (readList(loadBalancer, 'ingress', ['status', 'loadBalancer'], out) ?? [])).forEach((item, i) => {
    const at = childPath(['status', 'loadBalancer', 'ingress'], i);
    const ingress = asObjectItem(item, at, out, 'An ingress point');
    const ip = ingress === undefined ? undefined : readString(ingress, 'ip', at, out);
    if (ingress !== undefined) readString(ingress, 'hostname', at, out);
    if (ip !== undefined && ip !== '' && !isValidIP(ip)) out.push(error(childPath(at, 'ip'), `${quote(ip)} is not a valid IP address.`, 'V-SUB-4'));
  });
};

function checkServiceSpec(spec: JsonObject, path: FieldPath, out: Problems): void {
  const type = readEnum(spec, 'type', SERVICE_TYPES, path, out);
  const selector = readStringMap(spec, 'selector', path, out);
  if (selector !== undefined) checkLabelSyntax(selector, childPath(path, 'selector'), out, 'V-SUB-9', { kubernetesMetadata: true });
  const clusterIP = readString(spec, 'clusterIP', path, out);
  if (clusterIP !== undefined) checkClusterIP(clusterIP, childPath(path, 'clusterIP'), out);
  (readStringList(spec, 'clusterIPs', path, out) ?? []).forEach((ip, i) => {
    if (ip !== undefined) checkClusterIP(ip, childPath(childPath(path, 'clusterIPs'), i), out);
  });
  const externalName = readString(spec, 'externalName', path, out);
  if (type === 'ExternalName' && (externalName === undefined || !isValidFQDN(externalName))) {
    out.push(error(childPath(path, 'externalName'), 'An ExternalName Service needs spec.externalName, a DNS name.'));
  }
  checkPorts(spec, path, out);
}

function checkClusterIP(value: string, path: FieldPath, out: Problems): void {
  if (value !== '' && value !== 'None' && !isValidIP(value)) {
    out.push(error(path, `clusterIP ${quote(value)} must be "None" or an IP address.`, 'V-SUB-4'));
  }
}

function checkPorts(spec: JsonObject, path: FieldPath, out: Problems): void {
  const list = readList(spec, 'ports', path, out) ?? [];
  const listPath = childPath(path, 'ports');
  const names = new Set<string>();
  list.forEach((item, i) => {
    const at = childPath(listPath, i);
    const port = asObjectItem(item, at, out, 'A service port');
    if (port === undefined) return;
    readPortNumber(port, 'port', at, out, { required: true });
    readPortNumber(port, 'nodePort', at, out);
    readEnum(port, 'protocol', KUBE_PROTOCOLS, at, out);
    readString(port, 'appProtocol', at, out);
    checkTargetPort(port, childPath(at, 'targetPort'), out);
    const name = readString(port, 'name', at, out) ?? '';
    if (name === '') {
      if (list.length > 1) out.push(warning(childPath(at, 'name'), 'Every port of a multi-port Service should have a name (Kubernetes requires it).'));
      return;
    }
    if (!isKubeDNS1123Label(name)) out.push(error(childPath(at, 'name'), `Service port name ${quote(name)} must be a lower-case RFC-1123 label.`, 'V-SUB-2'));
    if (names.has(name)) out.push(error(childPath(at, 'name'), `Service port name ${quote(name)} is used twice.`));
    names.add(name);
  });
}

/** A number 1..65535 or an IANA service name (a container port name). */
function checkTargetPort(port: JsonObject, path: FieldPath, out: Problems): void {
  const value = fieldOf(port, 'targetPort');
  if (value === undefined || value === null) return;
  if (typeof value === 'string') {
    if (!isIanaServiceName(value)) {
      out.push(error(path, `targetPort ${quote(value)} must be a port number or a container port name (at most 15 lower-case letters, digits and "-").`));
    }
    return;
  }
  checkPortNumber(value, path, out);
}
