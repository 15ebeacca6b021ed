/**
 * meshbridge's `MeshNetworks` (Istio meshNetworks, `ValidateMeshNetworks`): a map from network name
 * to `{endpoints: [{fromRegistry} | {fromCidr}], gateways: [{address} | {registryServiceName}, port]}`.
 * `endpoints` is optional (cli-contract). Gateway addresses may be host names, as with Istio's
 * default RESOLVE_HOSTNAME_GATEWAYS=true.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import { capitalize, readPortNumber } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { asObjectItem, childPath, isPresent, quote, readList, readObject, readSpec, readString, warnUnknownFields } from './json.js';
import { isValidIP } from './ip.js';
import { fqdnProblem, isDNS1123Label } from './names.js';
import type { KindValidator } from './resource-context.js';
import { ipOrCidrProblem } from './sub-validators.js';

const NETWORKS: FieldPath = ['spec', 'networks'];

export const validateMeshNetworks: KindValidator = (resource, _context, out) => {
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  warnUnknownFields(spec, ['networks'], ['spec'], out);
  const networks = readObject(spec, 'networks', ['spec'], out);
  for (const [name, value] of Object.entries(networks ?? {})) {
    const at = childPath(NETWORKS, name);
    if (name === '') out.push(error(at, 'A network name must not be empty.'));
    const network = asObjectItem(value, at, out, 'A network');
    if (network !== undefined) checkNetwork(network, at, out);
  }
};

function checkNetwork(network: JsonObject, path: FieldPath, out: Problems): void {
  warnUnknownFields(network, ['endpoints', 'gateways'], path, out);
  (readList(network, 'endpoints', path, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'endpoints'), i);
    const endpoint = asObjectItem(item, at, out, 'A network endpoint');
    if (endpoint !== undefined) checkNetworkEndpoint(endpoint, at, out);
  });
  (readList(network, 'gateways', path, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'gateways'), i);
    const gateway = asObjectItem(item, at, out, 'A gateway');
    if (gateway !== undefined) checkGateway(gateway, at, out);
  });
}

function checkNetworkEndpoint(endpoint: JsonObject, path: FieldPath, out: Problems): void {
  warnUnknownFields(endpoint, ['fromRegistry', 'fromCidr'], path, out);
  const count = ['fromRegistry', 'fromCidr'].filter((k) => isPresent(endpoint, k)).length;
  if (count !== 1) out.push(error(path, 'A network endpoint needs exactly one of fromRegistry or fromCidr.'));
  const registry = readString(endpoint, 'fromRegistry', path, out);
  if (registry !== undefined && !isDNS1123Label(registry)) {
    out.push(error(childPath(path, 'fromRegistry'), `Registry name ${quote(registry)} is invalid: it must be an RFC-1123 label.`));
  }
  const cidr = readString(endpoint, 'fromCidr', path, out);
  const problem = cidr === undefined ? undefined : ipOrCidrProblem(cidr);
  if (problem !== undefined) out.push(error(childPath(path, 'fromCidr'), capitalize(problem), 'V-SUB-8'));
}

function checkGateway(gateway: JsonObject, path: FieldPath, out: Problems): void {
  warnUnknownFields(gateway, ['address', 'registryServiceName', 'port', 'locality'], path, out);
  const count = ['address', 'registryServiceName'].filter((k) => isPresent(gateway, k)).length;
  if (count !== 1) out.push(error(path, 'A gateway needs exactly one of address or registryServiceName.'));
  const address = readString(gateway, 'address', path, out);
  if (address !== undefined && !isValidIP(address) && fqdnProblem(address) !== undefined) {
    out.push(error(childPath(path, 'address'), `Gateway address ${quote(address)} is not a valid IP address or DNS name.`));
  }
  const serviceName = readString(gateway, 'registryServiceName', path, out);
  const problem = serviceName === undefined ? undefined : fqdnProblem(serviceName);
  if (problem !== undefined) out.push(error(childPath(path, 'registryServiceName'), capitalize(problem)));
  readPortNumber(gateway, 'port', path, out, { required: true });
  readString(gateway, 'locality', path, out);
}
