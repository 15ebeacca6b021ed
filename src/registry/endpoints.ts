/** Endpoints of a service port for one workload (E-PORT-*, E-ATTR-*). */
import type { ServicePort, Endpoint, Workload } from '../model/mesh/types.js';

/**
 * E-PORT-1: unix address -> port 0; the workload's port map entry under the service port *name*
 * (> 0); the targetPort (> 0); the service port number. E-PORT-4: every port yields an endpoint.
 */
export function endpointPort(workload: Pick<Workload, 'addressKind' | 'ports'>, port: ServicePort): number {
  if (workload.addressKind === 'unix') return 0;
  const mapped = workload.ports[port.name];
  if (mapped !== undefined && mapped > 0) return mapped;
  if (port.targetPort > 0) return port.targetPort;
  return port.number;
}

/** One endpoint per service port for a workload, in service port order (E-SEL-5). */
export function endpointsOfWorkload(workload: Workload, ports: readonly ServicePort[]): Endpoint[] {
  return ports.map((p) => endpointOf(workload, p, endpointPort(workload, p)));
}

export function endpointOf(workload: Workload, port: ServicePort, endpointPortNumber: number): Endpoint {
  return {
    address: workload.address,
    port: endpointPortNumber,
    servicePort: port.number,
    portName: port.name,
    labels: workload.labels,
    locality: workload.locality,
    network: workload.network,
    weight: workload.weight > 0 ? workload.weight : 1,
    tlsMode: workload.tlsMode,
    serviceAccount: workload.identity,
    health: workload.health,
    source: workload.key,
    namespace: workload.namespace,
    workloadName: workload.workloadName,
  };
}

/** E-SEL-5: pods first, then WorkloadEntries, each by namespace then name. */
export function compareWorkloads(a: Workload, b: Workload): number {
  if (a.kind !== b.kind) return a.kind === 'Pod' ? -1 : 1;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
