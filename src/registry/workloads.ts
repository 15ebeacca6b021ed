/**
 * Workloads from WorkloadEntries and pods (Istio: convertWorkloadEntryToWorkloadInstance and the
 * kube controller's pod handling). Pure transformations, one workload per object.
 */
import type { KubeNode, Pod, StringMap, WorkloadEntry } from '../model/config/types.js';
import { isIP, isUnixAddress, cidrContains } from '../model/mesh/ip.js';
import { ANNOTATION, LABEL, parsesAsTrue } from '../model/mesh/labels.js';
import { localityFromLabel, parseLocality } from '../model/mesh/locality.js';
import type { MeshSettings, NetworkDeclarations } from '../model/mesh/mesh-settings.js';
import type { AddressKind, CreationOrder, HealthStatus, Workload } from '../model/mesh/types.js';
import { copyOf, withFields } from '../lib/objects/with-fields.js';

/** A condition status of "True" (or the boolean true an unquoted YAML `True` becomes). */
function isTrue(status: unknown): boolean {
  return status === 'True' || status === true;
}

export function creationOf(o: { metadata: { creationTimestamp?: string }; origin: { order: number } }): CreationOrder {
  return { timestamp: o.metadata.creationTimestamp ?? '', order: o.origin.order };
}

/** Oldest first (creationTimestamp, then load order). */
export function compareCreation(a: CreationOrder, b: CreationOrder): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return a.order - b.order;
}

export function addressKindOf(address: string): AddressKind {
  if (address === '') return 'none';
  if (isUnixAddress(address)) return 'unix';
  return isIP(address) ? 'ip' : 'dns';
}

/**
 * E-LBL-3: topology labels added to a workload's (or a proxy's) labels, as Istio's
 * label.AugmentLabels: each non-empty locality part overwrites its label (an empty part sets
 * nothing, so locality "r" adds only the region), the cluster id is set, the node name becomes
 * `kubernetes.io/hostname`, and the network is set only when the label is absent or empty.
 */
export function augmentLabels(labels: StringMap, locality: string, network: string, clusterId: string, nodeName = ''): StringMap {
  const out: Record<string, string> = copyOf(labels);
  const l = parseLocality(locality);
  if (l.region !== '') out[LABEL.region] = l.region;
  if (l.zone !== '') out[LABEL.zone] = l.zone;
  if (l.subZone !== '') out[LABEL.subzone] = l.subZone;
  if (clusterId !== '') out[LABEL.cluster] = clusterId;
  if (nodeName !== '') out[LABEL.hostname] = nodeName;
  if (network !== '' && (out[LABEL.network] ?? '') === '') out[LABEL.network] = network;
  return out;
}

/** E-ATTR-3: the locality field wins, then `topology.istio.io/locality`, then `istio-locality`. */
export function localityOf(field: string | undefined, labels: StringMap): string {
  if (field !== undefined && field !== '') return field;
  const label = labels[LABEL.locality] ?? labels[LABEL.legacyLocality];
  return label !== undefined && label !== '' ? localityFromLabel(label) : '';
}

/** E-ATTR-1 for WorkloadEntries and inline endpoints. */
export function tlsModeOf(labels: StringMap, serviceAccount: string | undefined): string {
  const label = labels[LABEL.tlsMode];
  if (label !== undefined) return label;
  return serviceAccount !== undefined && serviceAccount !== '' ? 'istio' : 'disabled';
}

/** E-ATTR-2 */
export function spiffeIdentity(trustDomain: string, namespace: string, serviceAccount: string | undefined): string | null {
  return serviceAccount !== undefined && serviceAccount !== '' ? `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}` : null;
}

/**
 * H-GATE-2/3: an entry with `proxy.istio.io/health-checks-enabled` true is usable only while its
 * `Healthy` condition is "True".
 */
export function healthGate(we: WorkloadEntry): { selectable: boolean; detail: string } {
  if (!parsesAsTrue(we.metadata.annotations[ANNOTATION.healthChecksEnabled])) return { selectable: true, detail: '' };
  const cond = (we.status?.conditions ?? []).find((c) => c.type === 'Healthy');
  if (isTrue(cond?.status)) return { selectable: true, detail: '' };
  if (!cond) return { selectable: false, detail: 'health checks are enabled and no Healthy condition has been reported yet' };
  return { selectable: false, detail: `health checks are enabled and its Healthy condition is ${cond.status}${cond.message ? `: ${cond.message}` : ''}` };
}

export function workloadFromWorkloadEntry(we: WorkloadEntry, mesh: MeshSettings): Workload {
  const { name, namespace } = we.metadata;
  const spec = we.spec;
  // E-LBL-1: metadata.labels win over spec.labels.
  const merged: StringMap = withFields(spec.labels ?? {}, we.metadata.labels);
  const address = spec.address ?? '';
  const locality = localityOf(spec.locality, merged);
  const network = spec.network ?? '';
  const gate = healthGate(we);
  const workloadName =
    we.metadata.annotations[ANNOTATION.autoRegistrationGroup] ?? merged[LABEL.workloadName] ?? name;
  return {
    key: `WorkloadEntry/${namespace}/${name}`,
    kind: 'WorkloadEntry',
    name,
    namespace,
    address,
    addressKind: addressKindOf(address),
    ports: { ...(spec.ports ?? {}) },
    labels: augmentLabels(merged, locality, network, mesh.clusterId),
    network,
    locality,
    weight: spec.weight ?? 0,
    identity: spiffeIdentity(mesh.trustDomain, namespace, spec.serviceAccount),
    tlsMode: tlsModeOf(merged, spec.serviceAccount),
    health: 'UNKNOWN',
    workloadName,
    selectable: gate.selectable,
    listedByServices: gate.selectable, // H-GATE-4: an excluded entry leaves Kubernetes Services too
    ...(gate.selectable ? {} : { exclusion: { reason: 'unhealthy' as const, detail: gate.detail } }),
    creation: creationOf(we),
  };
}

/**
 * E-SEL-3: whether a pod may be an endpoint, and why not. `listed` says whether a Kubernetes
 * Service's EndpointSlice would still list it: a pod that has an IP, is not terminating and not
 * Succeeded/Failed is listed even when it is not Ready (as a not-ready address, which Istio turns
 * into an UNHEALTHY endpoint: EDS-4).
 */
export function podReadiness(pod: Pod): { ready: boolean; listed: boolean; detail: string } {
  const phase = pod.status?.phase ?? '';
  if (pod.metadata.deletionTimestamp) return { ready: false, listed: false, detail: 'the pod is terminating' };
  if (phase === 'Succeeded' || phase === 'Failed') return { ready: false, listed: false, detail: `the pod has phase ${phase}` };
  if (!podIP(pod)) return { ready: false, listed: false, detail: 'the pod has no IP yet' };
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready');
  // An unquoted YAML `True` arrives as a boolean; it means the same.
  if (!isTrue(ready?.status)) return { ready: false, listed: true, detail: 'the pod is not Ready' };
  return { ready: true, listed: true, detail: '' };
}

function podIP(pod: Pod): string {
  return pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip ?? '';
}

/**
 * E-PORT-2: named TCP container ports; the first container wins on duplicate names. Native sidecar
 * init containers (restartPolicy Always) are read *after* the regular containers, as Istio's
 * getPortMap does, so a regular container's port wins a name both declare.
 */
export function podPorts(pod: Pod): Record<string, number> {
  const out: Record<string, number> = {};
  const containers = [
    ...(pod.spec.containers ?? []),
    ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
  ];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      const proto = p.protocol ?? 'TCP';
      if (p.name && proto === 'TCP' && out[p.name] === undefined) out[p.name] = p.containerPort;
    }
  }
  return out;
}

/** Pod locality: label `istio-locality`/`topology.istio.io/locality`, else its node's topology labels. */
function podLocality(pod: Pod, node: KubeNode | undefined): string {
  const fromLabel = localityOf(undefined, pod.metadata.labels);
  if (fromLabel !== '') return fromLabel;
  if (!node) return '';
  const l = node.metadata.labels;
  const region = l[LABEL.region] || (l['failure-domain.beta.kubernetes.io/region'] ?? '');
  const zone = l[LABEL.zone] || (l['failure-domain.beta.kubernetes.io/zone'] ?? '');
  const subzone = l[LABEL.subzone] ?? '';
  if (region === '' && zone === '' && subzone === '') return '';
  // Istio getPodLocality: always "region/zone/subzone", empty parts included ("r/z/").
  return `${region}/${zone}/${subzone}`;
}

/** E-ATTR-5 for pods: label, else MeshNetworks `fromRegistry` / `fromCidr`. */
function podNetwork(pod: Pod, ip: string, mesh: MeshSettings, networks: NetworkDeclarations): string {
  const label = pod.metadata.labels[LABEL.network];
  if (label !== undefined && label !== '') return label;
  const byCidr = networks.cidrs.find((c) => cidrContains(c.cidr, ip));
  if (byCidr) return byCidr.network;
  const byRegistry = networks.registries.find((r) => r.registry === mesh.clusterId);
  return byRegistry?.network ?? '';
}

export function workloadFromPod(pod: Pod, node: KubeNode | undefined, mesh: MeshSettings, networks: NetworkDeclarations): Workload {
  const { name, namespace, labels } = pod.metadata;
  const ip = podIP(pod);
  const locality = podLocality(pod, node);
  const network = podNetwork(pod, ip, mesh, networks);
  const readiness = podReadiness(pod);
  // E-ATTR-7: pods carry HEALTHY; a listed but not Ready pod is UNHEALTHY (EndpointSlice not ready).
  const health: HealthStatus = readiness.ready ? 'HEALTHY' : 'UNHEALTHY';
  return {
    key: `Pod/${namespace}/${name}`,
    kind: 'Pod',
    name,
    namespace,
    address: ip,
    addressKind: ip === '' ? 'none' : 'ip',
    ports: podPorts(pod),
    labels: augmentLabels(labels, locality, network, mesh.clusterId, pod.spec.nodeName ?? ''),
    network,
    locality,
    weight: 0,
    identity: spiffeIdentity(mesh.trustDomain, namespace, pod.spec.serviceAccountName ?? 'default'),
    // E-ATTR-1: for pods only the label counts.
    tlsMode: labels[LABEL.tlsMode] ?? 'disabled',
    health,
    workloadName: labels[LABEL.workloadName] ?? name,
    selectable: readiness.ready,
    listedByServices: readiness.listed,
    ...(readiness.ready ? {} : { exclusion: { reason: 'unhealthy' as const, detail: readiness.detail } }),
    creation: creationOf(pod),
  };
}
