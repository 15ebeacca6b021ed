/**
 * Kubernetes objects as the API server sends them (JSON read by the informers) → the registry's
 * input objects, the same model the YAML `kind: Pod`/`Service`/`Node` documents become. Pure.
 *
 * Only the fields the registry reads are kept (as Istio's StripPodUnusedFields does), so a write that
 * changes nothing meshbridge uses (a container restart count, a node heartbeat, a new
 * resourceVersion) translates to an equal object and the registry emits nothing.
 * Input is never trusted to be well formed: a field of the wrong type reads as absent.
 */
import type { Condition, ContainerPort, KubeNode, KubeService, KubeServicePort, Origin, Pod, StringMap } from '../../model/config/types.js';
import { LABEL } from '../../model/mesh/labels.js';
import type { KubeObject } from './informer.js';
import { withFields } from '../../lib/objects/with-fields.js';

type Doc = Readonly<Record<string, unknown>>;

function doc(v: unknown): Doc {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {};
}
function list(v: unknown): Doc[] {
  return Array.isArray(v) ? v.map(doc) : [];
}
function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined;
}
function stringMap(v: unknown, keep: (key: string) => boolean = () => true): StringMap {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(doc(v))) if (typeof val === 'string' && keep(k)) out[k] = val;
  return out;
}
/** Copies only the defined entries (strict optional properties). */
function defined<T extends object>(o: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The collection path of a kind's object, as an origin the registry's reports can name. */
function originOf(plural: string, namespace: string, name: string): Origin {
  const file = namespace === '' ? `kubernetes:/${plural}/${name}` : `kubernetes:/namespaces/${namespace}/${plural}/${name}`;
  return { file, line: 0, column: 0, order: 0 };
}

function meta(o: KubeObject, labels: StringMap, annotations: StringMap, namespaced = true): Pod['metadata'] {
  const m = doc(o.metadata);
  return defined<Pod['metadata']>({
    name: o.metadata.name,
    namespace: namespaced ? (text(m.namespace) ?? 'default') : '',
    labels,
    annotations,
    creationTimestamp: text(m.creationTimestamp),
    deletionTimestamp: text(m.deletionTimestamp),
    uid: text(m.uid),
  });
}

function containerPorts(v: unknown): ContainerPort[] {
  return list(v).flatMap((p) => {
    const containerPort = num(p.containerPort);
    return containerPort === undefined ? [] : [defined<ContainerPort>({ name: text(p.name), containerPort, protocol: text(p.protocol) })];
  });
}

/**
 * A pod. `defaultNetwork` (the system namespace's `topology.istio.io/network` label) becomes the
 * pod's network label when the pod has none, so the registry's order holds: the pod's label, else
 * the system namespace's, else MeshNetworks (E-ATTR-5).
 */
export function podFromKube(o: KubeObject, defaultNetwork: string): Pod {
  const labels = stringMap(doc(o.metadata).labels);
  const spec = doc(o.spec);
  const status = doc(o.status);
  const ready = list(status.conditions).find((c) => c.type === 'Ready');
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: meta(o, defaultNetwork !== '' && (labels[LABEL.network] ?? '') === '' ? withFields(labels, { [LABEL.network]: defaultNetwork }) : labels, {}),
    origin: originOf('pods', text(o.metadata.namespace) ?? 'default', o.metadata.name),
    spec: defined<Pod['spec']>({
      containers: list(spec.containers).map((c) => defined({ name: text(c.name), ports: containerPorts(c.ports) })),
      initContainers: list(spec.initContainers).map((c) => defined({ name: text(c.name), restartPolicy: text(c.restartPolicy), ports: containerPorts(c.ports) })),
      serviceAccountName: text(spec.serviceAccountName),
      nodeName: text(spec.nodeName),
      hostNetwork: spec.hostNetwork === true ? true : undefined,
    }),
    status: defined<NonNullable<Pod['status']>>({
      podIP: text(status.podIP),
      podIPs: list(status.podIPs).flatMap((p) => (typeof p.ip === 'string' ? [{ ip: p.ip }] : [])),
      phase: text(status.phase),
      // Only Ready is read (E-SEL-3), and only its status: probe times change on every report.
      conditions: ready !== undefined && typeof ready.status === 'string' ? [{ type: 'Ready', status: ready.status } satisfies Condition] : [],
    }),
  };
}

/** The node labels locality is derived from (§ pod locality); the others are dropped. */
const NODE_TOPOLOGY_LABELS: ReadonlySet<string> = new Set([
  LABEL.region,
  LABEL.zone,
  LABEL.subzone,
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
]);

/** A node: its topology labels only, so that only their changes re-derive its pods' locality. */
export function nodeFromKube(o: KubeObject): KubeNode {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: meta(o, stringMap(doc(o.metadata).labels, (k) => NODE_TOPOLOGY_LABELS.has(k)), {}, false),
    origin: originOf('nodes', '', o.metadata.name),
    spec: {},
  };
}

function servicePort(p: Doc): KubeServicePort[] {
  const port = num(p.port);
  if (port === undefined) return [];
  const target = p.targetPort;
  return [
    defined<KubeServicePort>({
      name: text(p.name),
      port,
      targetPort: typeof target === 'number' || typeof target === 'string' ? target : undefined,
      protocol: text(p.protocol),
      appProtocol: text(p.appProtocol),
    }),
  ];
}

/** A Service, with the pods its EndpointSlices list (`endpointPods`, sorted). */
export function serviceFromKube(o: KubeObject, endpointPods: readonly string[]): KubeService {
  const spec = doc(o.spec);
  const selector = spec.selector === undefined || spec.selector === null ? undefined : stringMap(spec.selector);
  const ingress = list(doc(doc(o.status).loadBalancer).ingress).map((i) => defined<{ ip?: string; hostname?: string }>({ ip: text(i.ip), hostname: text(i.hostname) }));
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: meta(o, stringMap(doc(o.metadata).labels), stringMap(doc(o.metadata).annotations)),
    origin: originOf('services', text(o.metadata.namespace) ?? 'default', o.metadata.name),
    spec: defined<KubeService['spec']>({
      type: text(spec.type),
      selector,
      ports: list(spec.ports).flatMap(servicePort),
      clusterIP: text(spec.clusterIP),
      clusterIPs: strings(spec.clusterIPs),
      externalName: text(spec.externalName),
      externalIPs: strings(spec.externalIPs),
    }),
    ...(ingress.length > 0 ? { status: { loadBalancer: { ingress } } } : {}),
    endpointPods: [...endpointPods],
  };
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Slices written by a multi-cluster services controller: Istio ignores them. */
export const MCS_SERVICE_NAME_LABEL = 'multicluster.kubernetes.io/service-name';

/** What one EndpointSlice contributes: the Service it belongs to (`namespace/name`) and the pods its endpoints name. */
export interface SliceTargets {
  readonly service: string;
  /** Pod names from `targetRef`s. */
  readonly pods: readonly string[];
  /** Addresses of endpoints without a Pod `targetRef`: the pod is looked up by IP in the namespace. */
  readonly ips: readonly string[];
}

/**
 * The pods an EndpointSlice lists: by `targetRef` (kind Pod, same namespace), else by the endpoint's
 * first address. Undefined for slices Istio ignores: without `kubernetes.io/service-name`, with the
 * multi-cluster label, or of `addressType: FQDN` (istio#34995).
 */
export function sliceTargets(o: KubeObject): SliceTargets | undefined {
  const labels = stringMap(doc(o.metadata).labels);
  const service = labels[SERVICE_NAME_LABEL];
  if (service === undefined || service === '' || labels[MCS_SERVICE_NAME_LABEL] !== undefined) return undefined;
  if (o.addressType === 'FQDN') return undefined;
  const namespace = text(o.metadata.namespace) ?? 'default';
  const pods = new Set<string>();
  const ips = new Set<string>();
  for (const e of list(o.endpoints)) {
    const ref = doc(e.targetRef);
    const name = text(ref.name);
    if (ref.kind === 'Pod' && name !== undefined) {
      if ((text(ref.namespace) ?? namespace) === namespace) pods.add(name);
      continue;
    }
    const address = strings(e.addresses)?.[0];
    if (address !== undefined && address !== '') ips.add(address);
  }
  return { service: `${namespace}/${service}`, pods: [...pods].sort(), ips: [...ips].sort() };
}

/** A pod's IP (`status.podIP`, else the first of `podIPs`), '' when it has none. */
export function podIPOf(o: KubeObject): string {
  const status = doc(o.status);
  return text(status.podIP) ?? list(status.podIPs).map((p) => text(p.ip)).find((ip) => ip !== undefined) ?? '';
}
