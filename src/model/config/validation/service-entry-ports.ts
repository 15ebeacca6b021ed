/**
 * ServiceEntry `ports` (V-SE-7, V-SE-8, V-CRD-1) and the port-protocol rules that depend on hosts
 * and resolution (V-SE-11 warning, V-SE-12, V-SE-14).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { checkPortName, checkPortNumber, checkProtocol } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { checkMaxItems, childPath, describeValue, fieldName, fieldOf, quote, readList, readRequiredString, readString, warnUnknownFields } from './json.js';
import type { Protocol } from './protocol.js';
import { isHTTPProtocol, isTCPProtocol, isTLSProtocol } from './protocol.js';

/** One port object of a ServiceEntry, as far as it could be read. */
export interface ServiceEntryPort {
  readonly path: FieldPath;
  readonly name: string | undefined;
  readonly number: number | undefined;
  /** The protocol exactly as written ('' when absent). */
  readonly protocolText: string;
  /** The parsed protocol; undefined when empty or unsupported. */
  readonly protocol: Protocol | undefined;
}

const PORT_FIELDS = ['number', 'protocol', 'name', 'targetPort'] as const;

/** Reads and checks `spec.ports` (V-SE-7, V-CRD-1); returns the ports that are objects. */
export function readServiceEntryPorts(spec: JsonObject, out: Problems): ServiceEntryPort[] {
  const list = readList(spec, 'ports', ['spec'], out);
  if (list === undefined) return [];
  const listPath: FieldPath = ['spec', 'ports'];
  checkMaxItems(list, 256, listPath, out, 'V-CRD-1');
  const names = new Set<string>();
  const numbers = new Set<number>();
  const ports: ServiceEntryPort[] = [];
  list.forEach((item, i) => {
    const at = childPath(listPath, i);
    if (item === null || item === undefined) {
      out.push(error(at, 'A service entry port may not be null.', 'V-SE-7'));
      return;
    }
    if (typeof item !== 'object' || Array.isArray(item)) {
      out.push(error(at, `${fieldName(at)} must be a port object with number, name and protocol, not ${describeValue(item)}.`, 'V-SE-7'));
      return;
    }
    ports.push(readPort(item as JsonObject, at, names, numbers, out));
  });
  return ports;
}

function readPort(port: JsonObject, at: FieldPath, names: Set<string>, numbers: Set<number>, out: Problems): ServiceEntryPort {
  warnUnknownFields(port, PORT_FIELDS, at, out);
  const name = readRequiredString(port, 'name', at, out, 'Port name is required.', 'V-CRD-1');
  if (name !== undefined) {
    checkPortName(name, childPath(at, 'name'), out);
    if (names.has(name)) out.push(error(childPath(at, 'name'), `Port name ${quote(name)} is already defined.`, 'V-SE-7'));
    names.add(name);
  }
  const rawNumber = fieldOf(port, 'number');
  let number: number | undefined;
  if (rawNumber === undefined || rawNumber === null) {
    out.push(error(childPath(at, 'number'), 'Port number is required.', 'V-CRD-1'));
  } else {
    number = checkPortNumber(rawNumber, childPath(at, 'number'), out);
    if (number !== undefined && numbers.has(number)) {
      out.push(error(childPath(at, 'number'), `Port ${number} is already defined.`, 'V-SE-7'));
    }
    if (number !== undefined) numbers.add(number);
  }
  const targetPort = fieldOf(port, 'targetPort');
  if (targetPort !== undefined && targetPort !== null) {
    checkPortNumber(targetPort, childPath(at, 'targetPort'), out, targetPort === 0 ? 'V-CRD-1' : 'V-SUB-1');
  }
  const protocolText = readString(port, 'protocol', at, out) ?? '';
  const protocol = checkProtocol(protocolText, childPath(at, 'protocol'), out);
  return { path: at, name, number, protocolText, protocol };
}

/** Where a protocol problem of this port points: its `protocol`, or the port when none is written. */
function protocolPath(port: ServiceEntryPort): FieldPath {
  return port.protocolText === '' ? port.path : childPath(port.path, 'protocol');
}

/**
 * V-SE-8: without addresses and without v2 auto-allocation, each port whose protocol is empty or
 * exactly "TCP" gets a warning.
 */
export function warnTcpPortsWithoutAddresses(ports: readonly ServiceEntryPort[], out: Problems): void {
  for (const port of ports) {
    if (port.protocolText === '' || port.protocolText === 'TCP') {
      out.push(
        warning(
          protocolPath(port),
          `Addresses are required for ports serving TCP (or unset) protocol when IP auto-allocation is not enabled; add spec.addresses or set a protocol.`,
          'V-SE-8',
        ),
      );
    }
  }
}

/** V-SE-11: DNS resolution with addresses, a TCP-like port and several hosts (warning). */
export function warnTcpPortWithSeveralHosts(ports: readonly ServiceEntryPort[], hostCount: number, out: Problems): void {
  if (hostCount > 1 && ports.some((p) => isTCPProtocol(p.protocol))) {
    out.push(
      warning(['spec', 'hosts'], 'A service entry should not have more than one host together with addresses and a TCP port; the hosts cannot be told apart.', 'V-SE-11'),
    );
  }
}

/** V-SE-14: resolution other than NONE with several hosts needs HTTP- or TLS-family ports (one error). */
export function checkPortsForSeveralHosts(ports: readonly ServiceEntryPort[], hostCount: number, out: Problems): void {
  if (hostCount <= 1) return;
  const offending = ports.find((p) => !isHTTPProtocol(p.protocol) && !isTLSProtocol(p.protocol));
  if (offending === undefined) return;
  const shown = offending.protocolText === '' ? 'no protocol' : `protocol ${quote(offending.protocolText)}`;
  out.push(
    error(
      protocolPath(offending),
      `Multiple hosts are provided with a non-HTTP, non-TLS port (${shown}); use one host per ServiceEntry or HTTP/TLS protocols.`,
      'V-SE-14',
    ),
  );
}

const DYNAMIC_DNS_PROTOCOLS: ReadonlySet<Protocol | undefined> = new Set<Protocol>(['HTTP', 'TLS', 'GRPC', 'HTTP2']);

/** V-SE-12: DYNAMIC_DNS supports only HTTP, TLS, GRPC and HTTP2 ports. */
export function checkDynamicDnsPorts(ports: readonly ServiceEntryPort[], out: Problems): void {
  for (const port of ports) {
    if (!DYNAMIC_DNS_PROTOCOLS.has(port.protocol)) {
      const shown = port.protocolText === '' ? 'no protocol' : `protocol ${quote(port.protocolText)}`;
      out.push(error(protocolPath(port), `DYNAMIC_DNS resolution supports only HTTP, TLS, GRPC and HTTP2 ports, not ${shown}.`, 'V-SE-12'));
    }
  }
}
