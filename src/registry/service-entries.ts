/**
 * A ServiceEntry as registry services and endpoints (Istio: serviceentry/conversion.go
 * convertServices and convertServiceEntryToInstances). Pure.
 */
import type { Location, Resolution, ServiceEntry, WorkloadEntrySpec } from '../model/config/types.js';
import { isIP, parseCidr } from '../model/mesh/ip.js';
import { selectorMatches } from '../model/mesh/labels.js';
import type { MeshSettings } from '../model/mesh/mesh-settings.js';
import type { Endpoint, ServiceBundle, ServicePort, Workload } from '../model/mesh/types.js';
import { endpointsOfWorkload, compareWorkloads } from './endpoints.js';
import { addressKindOf, augmentLabels, creationOf, localityOf, spiffeIdentity, tlsModeOf } from './workloads.js';
import { canonicalProtocol } from './protocol.js';

export function resolutionOf(se: ServiceEntry): Resolution {
  return se.spec.resolution ?? 'NONE'; // API-2
}
export function locationOf(se: ServiceEntry): Location {
  return se.spec.location ?? 'MESH_EXTERNAL'; // API-2
}

export function isDnsResolution(r: Resolution): boolean {
  return r === 'DNS' || r === 'DNS_ROUND_ROBIN';
}

export function servicePortsOf(se: ServiceEntry): ServicePort[] {
  return (se.spec.ports ?? []).map((p) => ({
    number: p.number,
    name: p.name,
    protocol: canonicalProtocol(p.protocol ?? ''),
    targetPort: p.targetPort ?? 0,
  }));
}

/** S-2: IPs and CIDRs, /32 and /128 reduced to the bare IP; anything else skipped. */
export function specAddressesOf(se: ServiceEntry): string[] {
  const out: string[] = [];
  for (const a of se.spec.addresses ?? []) {
    const cidr = parseCidr(a);
    if (cidr) out.push((cidr.bits === 32 && !cidr.ip.includes(':')) || cidr.bits === 128 ? cidr.ip : a);
    else if (isIP(a)) out.push(a);
  }
  return out;
}

/**
 * The filter a ServiceEntry's selector applies to candidate workloads of its namespace
 * (E-SEL-1..E-SEL-6): selectable, labels match, and DNS-name / unix workloads only for DNS
 * resolutions.
 */
export function selectorFilter(se: ServiceEntry): ((w: Workload) => boolean) | undefined {
  const sel = se.spec.workloadSelector;
  if (!sel) return undefined;
  const labels = sel.labels ?? {};
  const dns = isDnsResolution(resolutionOf(se));
  return (w) => w.selectable && (dns || (w.addressKind !== 'dns' && w.addressKind !== 'unix')) && selectorMatches(labels, w.labels);
}

/** E-SRC-2: the workload an inline endpoint stands for. */
export function workloadFromInlineEndpoint(se: ServiceEntry, ep: WorkloadEntrySpec, index: number, mesh: MeshSettings): Workload {
  const ns = se.metadata.namespace;
  const labels = ep.labels ?? {}; // E-LBL-2
  const address = ep.address ?? '';
  const locality = localityOf(ep.locality, labels);
  const network = ep.network ?? '';
  return {
    key: `ServiceEntry/${ns}/${se.metadata.name}#${index}`,
    kind: 'WorkloadEntry',
    name: `${se.metadata.name}-${index}`,
    namespace: ns,
    address,
    addressKind: addressKindOf(address),
    ports: { ...(ep.ports ?? {}) },
    labels: augmentLabels(labels, locality, network, mesh.clusterId),
    network,
    locality,
    weight: ep.weight ?? 0,
    identity: spiffeIdentity(mesh.trustDomain, ns, ep.serviceAccount),
    tlsMode: tlsModeOf(labels, ep.serviceAccount),
    health: 'UNKNOWN',
    workloadName: labels['service.istio.io/workload-name'] ?? `${se.metadata.name}-${index}`,
    selectable: true,
    listedByServices: true,
    creation: creationOf(se),
  };
}

/**
 * Builds the bundle of a ServiceEntry. `selected` are the workloads its selector picked (already
 * filtered by `selectorFilter`); `autoAddresses` the allocator's addresses per host.
 */
export function bundleFromServiceEntry(
  se: ServiceEntry,
  selected: readonly Workload[],
  autoAddresses: Readonly<Record<string, readonly string[]>>,
  mesh: MeshSettings,
): ServiceBundle {
  const resolution = resolutionOf(se);
  const ports = servicePortsOf(se);
  const inline = se.spec.endpoints;
  let endpoints: Endpoint[] = [];
  let hostnameEndpoints = false;
  if (se.spec.workloadSelector) {
    // E-SRC-3, E-SRC-4: selected workloads (also for NONE).
    for (const w of [...selected].sort(compareWorkloads)) endpoints.push(...endpointsOfWorkload(w, ports));
  } else if (inline && resolution !== 'NONE') {
    endpoints = inline.flatMap((ep, i) => endpointsOfWorkload(workloadFromInlineEndpoint(se, ep, i, mesh), ports));
  } else if (isDnsResolution(resolution)) {
    hostnameEndpoints = true; // E-SRC-1
  }
  return {
    key: `ServiceEntry/${se.metadata.namespace}/${se.metadata.name}`,
    source: 'ServiceEntry',
    name: se.metadata.name,
    namespace: se.metadata.namespace,
    creation: creationOf(se),
    hosts: [...se.spec.hosts],
    specAddresses: specAddressesOf(se),
    autoAddresses,
    resolution,
    location: locationOf(se),
    ports,
    exportTo: [...(se.spec.exportTo ?? [])],
    subjectAltNames: [...(se.spec.subjectAltNames ?? [])],
    selector: se.spec.workloadSelector ? { ...(se.spec.workloadSelector.labels ?? {}) } : null,
    objectLabels: se.metadata.labels,
    annotations: se.metadata.annotations,
    endpoints,
    hostnameEndpoints,
  };
}

/**
 * The endpoints a bundle gives one of its hosts. E-SRC-1: a DNS entry without endpoints resolves
 * the host name itself, one endpoint per port (targetPort if set), tls mode disabled.
 */
export function endpointsOfHost(bundle: ServiceBundle, host: string): readonly Endpoint[] {
  if (!bundle.hostnameEndpoints) return bundle.endpoints;
  const address = bundle.externalName ?? host;
  return bundle.ports.map((p) => ({
    address,
    port: p.targetPort > 0 ? p.targetPort : p.number,
    servicePort: p.number,
    portName: p.name,
    labels: {},
    locality: '',
    network: '',
    weight: 1,
    tlsMode: 'disabled',
    serviceAccount: null,
    health: 'UNKNOWN' as const,
    source: `${bundle.source}/${bundle.namespace}/${bundle.name}`,
    namespace: bundle.namespace,
    workloadName: bundle.name,
  }));
}
