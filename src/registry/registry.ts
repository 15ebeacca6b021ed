/**
 * The registry: one wiring function from input collections to derived collections.
 *
 *   WorkloadEntries ─┐
 *   Pods + Nodes ────┴─> Workloads ──(namespace index, selector filter)──┐
 *   ServiceEntries ──> Allocations ────────────────────────────────────┼─> Bundles ──> Services (per host+namespace)
 *   Kubernetes Services ───────────────────────────────────────────────┘
 *
 * Every transformation is pure and fetches only what it needs, so a change recomputes only what
 * depends on it (see derived-collection.ts). Policies (DestinationRules, PeerAuthentications, ...)
 * are inputs read by the per-client view.
 */
import {
  JoinCollection,
  LayeredCollection,
  StaticCollection,
  derive,
  deriveMany,
  singleton,
  type Collection,
  type Index,
  type Singleton,
  type CollectionStats,
  type Context,
} from '../lib/krt/index.js';
import {
  KINDS,
  objectKey,
  type AuthorizationPolicy,
  type ConfigObject,
  type DestinationRule,
  type KubeNode,
  type KubeService,
  type MeshConfig,
  type MeshNetworks,
  type StringMap,
  type PeerAuthentication,
  type Pod,
  type ServiceEntry,
  type VirtualService,
  type WorkloadEntry,
  type WorkloadGroup,
} from '../model/config/types.js';
import { LABEL } from '../model/mesh/labels.js';
import {
  meshSettingsFrom,
  networkDeclarationsFrom,
  type MeshSettings,
  type NetworkDeclarations,
  type NetworkGateway,
} from '../model/mesh/mesh-settings.js';
import type { MergedService, ServiceBundle, Workload } from '../model/mesh/types.js';
import { allocateAddresses, type Allocation } from './allocation.js';
import { bundleFromKubeService, kubeSelectorFilter, kubeServiceHost } from './kube-services.js';
import { mergeServices } from './merge.js';
import { bundleFromServiceEntry, selectorFilter } from './service-entries.js';
import { workloadFromPod, workloadFromWorkloadEntry } from './workloads.js';
import { isIP } from '../model/mesh/ip.js';

/** The input collections sources write into, one per kind. */
export interface RegistryInputs {
  readonly serviceEntries: StaticCollection<ServiceEntry>;
  readonly workloadEntries: StaticCollection<WorkloadEntry>;
  readonly workloadGroups: StaticCollection<WorkloadGroup>;
  readonly destinationRules: StaticCollection<DestinationRule>;
  readonly virtualServices: StaticCollection<VirtualService>;
  readonly peerAuthentications: StaticCollection<PeerAuthentication>;
  readonly authorizationPolicies: StaticCollection<AuthorizationPolicy>;
  readonly pods: StaticCollection<Pod>;
  readonly services: StaticCollection<KubeService>;
  readonly nodes: StaticCollection<KubeNode>;
  readonly meshConfigs: StaticCollection<MeshConfig>;
  readonly meshNetworks: StaticCollection<MeshNetworks>;
  /**
   * Pods, Services and Nodes read from a Kubernetes cluster (src/sources/kube), beside the store's:
   * an object of the store with the same kind, namespace and name shadows the cluster's.
   */
  readonly clusterPods: StaticCollection<Pod>;
  readonly clusterServices: StaticCollection<KubeService>;
  readonly clusterNodes: StaticCollection<KubeNode>;
}

export function createInputs(): RegistryInputs {
  const c = <T extends ConfigObject>(name: string) => new StaticCollection<T>(`inputs/${name}`, objectKey);
  return {
    serviceEntries: c('ServiceEntries'),
    workloadEntries: c('WorkloadEntries'),
    workloadGroups: c('WorkloadGroups'),
    destinationRules: c('DestinationRules'),
    virtualServices: c('VirtualServices'),
    peerAuthentications: c('PeerAuthentications'),
    authorizationPolicies: c('AuthorizationPolicies'),
    pods: c('Pods'),
    services: c('Services'),
    nodes: c('Nodes'),
    meshConfigs: c('MeshConfigs'),
    meshNetworks: c('MeshNetworks'),
    clusterPods: c('ClusterPods'),
    clusterServices: c('ClusterServices'),
    clusterNodes: c('ClusterNodes'),
  };
}

/** Replaces the whole input set with `objects` (a complete snapshot); emits only what changed. */
export function replaceInputs(inputs: RegistryInputs, objects: readonly ConfigObject[]): void {
  const by = byKind(inputs, objects);
  const list = <K extends ConfigObject['kind']>(kind: K) => (by[KINDS.indexOf(kind)] ?? []) as Extract<ConfigObject, { kind: K }>[];
  inputs.meshConfigs.replaceAll(list('MeshConfig'));
  inputs.meshNetworks.replaceAll(list('MeshNetworks'));
  inputs.nodes.replaceAll(list('Node'));
  inputs.destinationRules.replaceAll(list('DestinationRule'));
  inputs.virtualServices.replaceAll(list('VirtualService'));
  inputs.peerAuthentications.replaceAll(list('PeerAuthentication'));
  inputs.authorizationPolicies.replaceAll(list('AuthorizationPolicy'));
  inputs.workloadGroups.replaceAll(list('WorkloadGroup'));
  inputs.workloadEntries.replaceAll(list('WorkloadEntry'));
  inputs.pods.replaceAll(list('Pod'));
  inputs.serviceEntries.replaceAll(list('ServiceEntry'));
  inputs.services.replaceAll(list('Service'));
}

/** The last snapshot split by kind: per position its kind (index in KINDS) and rank in that kind's list. */
interface Buckets {
  readonly objects: readonly ConfigObject[];
  readonly kinds: Uint8Array;
  readonly ranks: Int32Array;
  readonly lists: readonly ConfigObject[][];
}

const lastBuckets = new WeakMap<RegistryInputs, Buckets>();

/**
 * `objects` split by kind, in order. A snapshot that shares all but one contiguous run of objects
 * (by identity) with the previous one, as a folder whose one file changed, is split by patching the
 * previous lists. Measured cause (bench S4, 110k objects): splitting every snapshot afresh cost
 * ~27 ms per one-entry change; patching costs the run plus a pass over two typed arrays.
 */
function byKind(inputs: RegistryInputs, objects: readonly ConfigObject[]): readonly ConfigObject[][] {
  const last = lastBuckets.get(inputs);
  const next = (last !== undefined ? patchBuckets(last, objects) : undefined) ?? splitBuckets(objects);
  lastBuckets.set(inputs, next);
  return next.lists;
}

function splitBuckets(objects: readonly ConfigObject[]): Buckets {
  const kinds = new Uint8Array(objects.length);
  const ranks = new Int32Array(objects.length);
  const lists: ConfigObject[][] = KINDS.map(() => []);
  objects.forEach((o, i) => {
    const k = KINDS.indexOf(o.kind);
    const list = lists[k] as ConfigObject[];
    kinds[i] = k;
    ranks[i] = list.length;
    list.push(o);
  });
  return { objects: [...objects], kinds, ranks, lists };
}

function patchBuckets(last: Buckets, objects: readonly ConfigObject[]): Buckets | undefined {
  const prev = last.objects;
  const min = Math.min(prev.length, objects.length);
  let p = 0;
  while (p < min && objects[p] === prev[p]) p++;
  let s = 0;
  while (s < min - p && objects[objects.length - 1 - s] === prev[prev.length - 1 - s]) s++;
  const removedEnd = prev.length - s;
  const addedEnd = objects.length - s;
  if (removedEnd - p + (addedEnd - p) > Math.max(64, objects.length / 8)) return undefined;
  const removedCount = KINDS.map(() => 0);
  for (let i = p; i < removedEnd; i++) removedCount[last.kinds[i] as number]!++;
  const addedOf: ConfigObject[][] = KINDS.map(() => []);
  for (let i = p; i < addedEnd; i++) {
    const o = objects[i] as ConfigObject;
    addedOf[KINDS.indexOf(o.kind)]!.push(o);
  }
  const lists = [...last.lists];
  const shift = KINDS.map(() => 0);
  const startOf = KINDS.map(() => 0);
  KINDS.forEach((_, k) => {
    const removed = removedCount[k] as number;
    const added = addedOf[k] as ConfigObject[];
    if (removed === 0 && added.length === 0) return;
    // Where the run starts in this kind's list: after the last object of the kind before it.
    let start = 0;
    for (let i = p - 1; i >= 0; i--) {
      if (last.kinds[i] === k) {
        start = (last.ranks[i] as number) + 1;
        break;
      }
    }
    startOf[k] = start;
    const old = last.lists[k] as ConfigObject[];
    lists[k] = [...old.slice(0, start), ...added, ...old.slice(start + removed)];
    shift[k] = added.length - removed;
  });
  const kinds = new Uint8Array(objects.length);
  const ranks = new Int32Array(objects.length);
  kinds.set(last.kinds.subarray(0, p));
  ranks.set(last.ranks.subarray(0, p));
  const seen = KINDS.map(() => 0);
  for (let i = p; i < addedEnd; i++) {
    const k = KINDS.indexOf((objects[i] as ConfigObject).kind);
    kinds[i] = k;
    // Rank: objects of the kind before the run, plus those of the run so far.
    ranks[i] = (startOf[k] as number) + (seen[k] as number);
    seen[k]!++;
  }
  for (let i = 0; i < s; i++) {
    const from = removedEnd + i;
    const to = addedEnd + i;
    const k = last.kinds[from] as number;
    kinds[to] = k;
    ranks[to] = (last.ranks[from] as number) + (shift[k] as number);
  }
  return { objects: [...objects], kinds, ranks, lists };
}

export interface Registry {
  readonly inputs: RegistryInputs;
  readonly mesh: Singleton<MeshSettings>;
  readonly networks: Singleton<NetworkDeclarations>;
  /** Pods and WorkloadEntries (also those not selectable, for --explain). */
  readonly workloads: Collection<Workload>;
  readonly workloadsByNamespace: Index<Workload>;
  readonly allocations: Collection<Allocation>;
  /** One per ServiceEntry and Kubernetes Service. */
  readonly bundles: Collection<ServiceBundle>;
  /** One per (host, namespace). */
  readonly services: Collection<MergedService>;
  readonly servicesByHost: Index<MergedService>;
  /** Network gateways from MeshNetworks and from Services labelled with a network (N-1). */
  readonly gateways: Singleton<readonly NetworkGateway[]>;
  /** Every derived collection by debug name, for counters and the debug dump. */
  readonly derived: ReadonlyMap<string, Collection<unknown> & { readonly stats: CollectionStats }>;
}

export function buildRegistry(inputs: RegistryInputs): Registry {
  const mesh = singleton('registry/MeshSettings', (ctx) => meshSettingsFrom(ctx.fetch(inputs.meshConfigs)));
  const networks = singleton('registry/NetworkDeclarations', (ctx) => networkDeclarationsFrom(ctx.fetch(inputs.meshNetworks)));

  // The store's Pods, Services and Nodes, over those read from a cluster.
  const pods = new LayeredCollection<Pod>('registry/Pods', [inputs.pods, inputs.clusterPods], objectKey);
  const kubeServices = new LayeredCollection<KubeService>('registry/KubeServices', [inputs.services, inputs.clusterServices], objectKey);
  const nodes = new LayeredCollection<KubeNode>('registry/Nodes', [inputs.nodes, inputs.clusterNodes], objectKey);

  const entryWorkloads = derive(
    'registry/EntryWorkloads',
    inputs.workloadEntries,
    (ctx, we) => workloadFromWorkloadEntry(we, ctx.fetch(mesh)[0] ?? meshSettingsFrom([])),
    (w) => w.key,
  );
  const podWorkloads = derive(
    'registry/PodWorkloads',
    pods,
    (ctx, pod) => {
      const node = pod.spec.nodeName ? ctx.fetchOne(nodes, `Node/${pod.spec.nodeName}`) : undefined;
      return workloadFromPod(pod, node, ctx.fetch(mesh)[0] ?? meshSettingsFrom([]), ctx.fetch(networks)[0] ?? networkDeclarationsFrom([]));
    },
    (w) => w.key,
  );
  const workloads = new JoinCollection<Workload>('registry/Workloads', [podWorkloads, entryWorkloads], (w) => w.key);
  const workloadsByNamespace = workloads.index('namespace', (w) => [w.namespace]);
  // Selector lookups go through one label of the selector, so that both the fetch and the search
  // for dependents on a workload change touch only workloads and services sharing that label.
  const workloadsByLabel = workloads.index('namespace-label', (w) => Object.entries(w.labels).map(([k, v]) => `${w.namespace}\u0000${k}=${v}`));
  const selectWorkloads = (ctx: Context, namespace: string, selector: StringMap | undefined, filter: (w: Workload) => boolean): Workload[] => {
    const firstKey = Object.keys(selector ?? {}).sort()[0];
    if (selector === undefined || firstKey === undefined) return ctx.fetch(workloads, { index: workloadsByNamespace, value: namespace, filter });
    return ctx.fetch(workloads, { index: workloadsByLabel, value: `${namespace}\u0000${firstKey}=${selector[firstKey] ?? ''}`, filter });
  };

  const allocationList = singleton('registry/AllocationTable', (ctx) => allocateAddresses(ctx.fetch(inputs.serviceEntries)));
  const allocations = deriveMany('registry/Allocations', allocationList, (_ctx, list) => list, (a) => a.key);

  const entryBundles = derive(
    'registry/ServiceEntryBundles',
    inputs.serviceEntries,
    (ctx, se) => {
      const key = `ServiceEntry/${se.metadata.namespace}/${se.metadata.name}`;
      const filter = selectorFilter(se);
      const selected = filter ? selectWorkloads(ctx, se.metadata.namespace, se.spec.workloadSelector?.labels, filter) : [];
      const alloc = ctx.fetchOne(allocations, key);
      return bundleFromServiceEntry(se, selected, alloc?.byHost ?? {}, ctx.fetch(mesh)[0] ?? meshSettingsFrom([]));
    },
    (b) => b.key,
  );
  const kubeBundles = derive(
    'registry/KubeServiceBundles',
    kubeServices,
    (ctx, svc) => {
      const filter = kubeSelectorFilter(svc);
      const selected = filter ? selectWorkloads(ctx, svc.metadata.namespace, svc.spec.selector, filter) : [];
      return bundleFromKubeService(svc, selected, ctx.fetch(mesh)[0] ?? meshSettingsFrom([]));
    },
    (b) => b.key,
  );
  const bundles = new JoinCollection<ServiceBundle>('registry/Bundles', [kubeBundles, entryBundles], (b) => b.key);
  const bundlesByHost = bundles.index('host-namespace', (b) => b.hosts.map((h) => `${b.namespace}/${h}`));

  const hostKeys = deriveMany(
    'registry/ServiceKeys',
    bundles,
    (_ctx, b) => b.hosts.map((host) => ({ key: `${b.namespace}/${host}`, host, namespace: b.namespace })),
    (k) => k.key,
  );
  const services = derive(
    'registry/Services',
    hostKeys,
    (ctx, k) => mergeServices(k.host, k.namespace, ctx.fetch(bundles, { index: bundlesByHost, value: k.key })),
    (s) => s.key,
  );
  const servicesByHost = services.index('host', (s) => [s.host]);

  const gateways = singleton('registry/Gateways', (ctx) => {
    const decl = ctx.fetch(networks)[0] ?? networkDeclarationsFrom([]);
    const meshSettings = ctx.fetch(mesh)[0] ?? meshSettingsFrom([]);
    const out: NetworkGateway[] = [...decl.gateways];
    const svcs = ctx.fetch(kubeServices);
    for (const svc of svcs) {
      const network = svc.metadata.labels[LABEL.network];
      if (network === undefined || network === '') continue;
      const port = Number(svc.metadata.labels[LABEL.gatewayPort] ?? '15443');
      for (const address of gatewayAddresses(svc)) {
        out.push({ network, address, port, cluster: meshSettings.clusterId, source: `Service/${svc.metadata.namespace}/${svc.metadata.name}` });
      }
    }
    for (const sg of decl.serviceGateways) {
      const svc = svcs.find((s) => kubeServiceHost(s, meshSettings) === sg.serviceName);
      if (!svc) continue;
      for (const address of gatewayAddresses(svc)) {
        out.push({ network: sg.network, address, port: sg.port, cluster: meshSettings.clusterId, source: `Service/${svc.metadata.namespace}/${svc.metadata.name}` });
      }
    }
    return out;
  });

  const derived = new Map<string, Collection<unknown> & { readonly stats: CollectionStats }>();
  for (const c of [mesh, networks, entryWorkloads, podWorkloads, allocationList, allocations, entryBundles, kubeBundles, hostKeys, services, gateways]) {
    derived.set(c.name, c as unknown as Collection<unknown> & { readonly stats: CollectionStats });
  }
  return { inputs, mesh, networks, workloads, workloadsByNamespace, allocations, bundles, services, servicesByHost, gateways, derived };
}

/**
 * A gateway Service's reachable addresses (Istio ConvertService ClusterExternalAddresses): its load
 * balancer ingress IPs and its external IPs, de-duplicated. Host names are not resolved here.
 */
function gatewayAddresses(svc: KubeService): string[] {
  const lb = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== '' && isIP(ip));
  return [...new Set([...lb, ...(svc.spec.externalIPs ?? []).filter(isIP)])];
}
