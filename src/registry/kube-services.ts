/**
 * A Kubernetes Service as a registry service (Istio: kube/conversion.go ConvertService) with its
 * endpoints from pods and WorkloadEntries (E-SEL-10). Pure.
 */
import type { KubeService } from '../model/config/types.js';
import { selectorMatches, ANNOTATION } from '../model/mesh/labels.js';
import type { MeshSettings } from '../model/mesh/mesh-settings.js';
import type { Endpoint, ServiceBundle, ServicePort, Workload } from '../model/mesh/types.js';
import { compareWorkloads, endpointOf } from './endpoints.js';
import { kubePortProtocol } from './protocol.js';
import { creationOf } from './workloads.js';
import { withFields } from '../lib/objects/with-fields.js';

export function kubeServiceHost(svc: KubeService, mesh: MeshSettings): string {
  return `${svc.metadata.name}.${svc.metadata.namespace}.svc.${mesh.domainSuffix}`;
}

export function isHeadless(svc: KubeService): boolean {
  return svc.spec.clusterIP === 'None';
}

export function kubeServicePorts(svc: KubeService): ServicePort[] {
  return (svc.spec.ports ?? []).map((p) => {
    const name = p.name ?? '';
    const base = { number: p.port, name, protocol: kubePortProtocol(name, p.protocol, p.appProtocol) };
    if (typeof p.targetPort === 'string') return withFields(base, { targetPort: 0, targetPortName: p.targetPort });
    return withFields(base, { targetPort: typeof p.targetPort === 'number' ? p.targetPort : p.port });
  });
}

/**
 * Candidate filter for pods and WorkloadEntries of the Service's namespace. Pods: those its
 * EndpointSlices list when it was read from a cluster (`endpointPods`), else those its selector
 * matches; WorkloadEntries: those its selector matches (E-SEL-10; a cluster's slices never hold VMs).
 */
export function kubeSelectorFilter(svc: KubeService): ((w: Workload) => boolean) | undefined {
  if (svc.spec.type === 'ExternalName') return undefined;
  const sel = svc.spec.selector;
  const selector = sel && Object.keys(sel).length > 0 ? sel : undefined;
  const slicePods = svc.endpointPods !== undefined ? new Set(svc.endpointPods) : undefined;
  if (selector === undefined && slicePods === undefined) return undefined;
  const headless = isHeadless(svc);
  return (w) => {
    if (!w.listedByServices) return false;
    if (w.kind === 'Pod') return slicePods !== undefined ? slicePods.has(w.name) : selector !== undefined && selectorMatches(selector, w.labels);
    if (selector === undefined || !selectorMatches(selector, w.labels)) return false;
    // E-SEL-10: WorkloadEntries need labels and a non-headless Service; DNS-name and unix entries
    // are "DNS ServiceEntry only" (E-SEL-6). An entry without address (network only, E-SEL-7) is
    // selected: Istio's convertWorkloadEntryToWorkloadInstance marks only non-IP, non-empty
    // addresses, and TestEmptyAddressWorkloadEntry ("Service") reaches such entries via gateways.
    return !headless && (w.addressKind === 'ip' || w.addressKind === 'none') && Object.keys(w.labels).length > 0;
  };
}

/** E-SEL-10 port rules; undefined when a named targetPort is missing on the workload. */
export function kubeEndpointPort(w: Workload, p: ServicePort): number | undefined {
  if (p.targetPortName !== undefined) return w.ports[p.targetPortName];
  if (w.kind === 'WorkloadEntry') {
    const byName = w.ports[p.name];
    if (byName !== undefined && byName > 0) return byName;
  }
  return p.targetPort > 0 ? p.targetPort : p.number;
}

export function bundleFromKubeService(svc: KubeService, selected: readonly Workload[], mesh: MeshSettings): ServiceBundle {
  const ports = kubeServicePorts(svc);
  const endpoints: Endpoint[] = [];
  for (const w of [...selected].sort(compareWorkloads)) {
    for (const p of ports) {
      // E-SEL-10: Istio builds WorkloadEntry instances only for non-UDP ports
      // (serviceInstancesFromWorkloadInstances skips protocol.UDP).
      if (w.kind === 'WorkloadEntry' && p.protocol === 'UDP') continue;
      const port = kubeEndpointPort(w, p);
      if (port !== undefined) endpoints.push(endpointOf(w, p, port));
    }
  }
  const externalName = svc.spec.type === 'ExternalName' ? svc.spec.externalName ?? '' : undefined;
  const exportTo = (svc.metadata.annotations[ANNOTATION.exportTo] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const clusterIPs = (svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])).filter((ip) => ip !== 'None' && ip !== '');
  return {
    key: `Service/${svc.metadata.namespace}/${svc.metadata.name}`,
    source: 'Service',
    name: svc.metadata.name,
    namespace: svc.metadata.namespace,
    creation: creationOf(svc),
    hosts: [kubeServiceHost(svc, mesh)],
    specAddresses: clusterIPs,
    autoAddresses: {},
    resolution: externalName !== undefined ? 'DNS' : isHeadless(svc) ? 'NONE' : 'STATIC',
    location: 'MESH_INTERNAL',
    ports,
    exportTo,
    subjectAltNames: [],
    selector: svc.spec.selector ? { ...svc.spec.selector } : null,
    objectLabels: svc.metadata.labels,
    annotations: svc.metadata.annotations,
    endpoints: externalName !== undefined ? [] : endpoints,
    hostnameEndpoints: externalName !== undefined,
    ...(externalName !== undefined ? { externalName } : {}),
  };
}
