/**
 * Informer events → the registry's cluster inputs (`inputs.cluster`: Pod, Service,
 * Node), incrementally: a pod event re-translates that pod, a node event that node (the
 * registry then re-derives the locality of the pods on it), a Service or EndpointSlice event that
 * one Service. Only a change of the system namespace's network label re-translates every pod, since
 * it is every unlabelled pod's network. No I/O: the informers call it, tests call it directly.
 *
 * Joins kept here:
 * - EndpointSlices → their Service (label `kubernetes.io/service-name`): the Service's `endpointPods`
 *   is the union of its slices' `targetRef` pods. An endpoint whose pod has not arrived yet is kept
 *   by name and becomes an endpoint when the pod arrives (the registry joins pods by name). An
 *   endpoint without a Pod `targetRef` is joined by IP to a pod of the namespace: the Services of
 *   such endpoints are re-translated when a pod takes or leaves that IP.
 * - The system namespace's `topology.istio.io/network` label → every pod without its own.
 */
import { LABEL } from '../../model/mesh/labels.js';
import type { ClusterInputs } from '../../registry/registry.js';
import type { StaticCollection } from '../../lib/krt/static-collection.js';
import type { KubeObject } from './informer.js';
import type { KubeNode, KubeService, Pod } from '../../model/config/types.js';
import { nodeFromKube, podFromKube, podIPOf, serviceFromKube, sliceTargets, type SliceTargets } from './translate.js';


export type ClusterKind = 'Namespace' | 'Service' | 'EndpointSlice' | 'Pod' | 'Node';

/**
 * Writes to one input collection, buffered while a batch is open: the last write per key wins, and
 * the batch is committed as one delete and one upsert (one recomputation downstream instead of one
 * per object: a list of 10,000 pods is one event batch).
 */
class BufferedInput<T> {
  private pending: Map<string, T | undefined> | undefined;

  constructor(private readonly target: StaticCollection<T>) {}

  upsert(...items: T[]): void {
    if (this.pending === undefined) this.target.upsert(...items);
    else for (const item of items) this.pending.set(this.target.keyOf(item), item);
  }

  delete(key: string): void {
    if (this.pending === undefined) this.target.delete(key);
    else this.pending.set(key, undefined);
  }

  open(): void {
    this.pending ??= new Map();
  }

  flush(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending === undefined) return;
    const deleted: string[] = [];
    const upserted: T[] = [];
    for (const [key, item] of pending) {
      if (item === undefined) deleted.push(key);
      else upserted.push(item);
    }
    if (deleted.length > 0) this.target.delete(...deleted);
    if (upserted.length > 0) this.target.upsert(...upserted);
  }
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function labelOf(o: KubeObject, label: string): string {
  const labels = (o.metadata as { labels?: unknown }).labels;
  const v = labels !== null && typeof labels === 'object' ? (labels as Record<string, unknown>)[label] : undefined;
  return typeof v === 'string' ? v : '';
}

export class ClusterTranslator {
  /** Pods, Services as last received (`namespace/name`): re-translated when a join changes. */
  private readonly pods = new Map<string, KubeObject>();
  private readonly services = new Map<string, KubeObject>();
  private readonly slices = new Map<string, SliceTargets>();
  /** Service `namespace/name` → its slices' keys. */
  private readonly slicesOfService = new Map<string, Set<string>>();
  /** `namespace/ip` → the pod holding it, and each pod's `namespace/ip`. */
  private readonly podByIP = new Map<string, string>();
  private readonly ipOfPod = new Map<string, string>();
  /** `namespace/ip` of endpoints without a Pod targetRef → the slices listing it. */
  private readonly slicesByIP = new Map<string, Set<string>>();
  /** Namespace name → its `topology.istio.io/network` label. */
  private readonly namespaceNetworks = new Map<string, string>();
  private systemNetwork = '';
  private readonly inputs: { readonly Pod: BufferedInput<Pod>; readonly Service: BufferedInput<KubeService>; readonly Node: BufferedInput<KubeNode> };
  private batchDepth = 0;

  constructor(
    inputs: ClusterInputs,
    private systemNamespace: string,
  ) {
    this.inputs = { Pod: new BufferedInput(inputs.Pod), Service: new BufferedInput(inputs.Service), Node: new BufferedInput(inputs.Node) };
  }

  /**
   * Runs `apply` calls as one batch: their writes reach the registry together at the end (a list or
   * relist of a collection, a namespace entering discovery). Nested batches join the outer one.
   */
  batch<R>(run: () => R): R {
    const all = [this.inputs.Pod, this.inputs.Service, this.inputs.Node];
    if (this.batchDepth++ === 0) for (const input of all) input.open();
    try {
      return run();
    } finally {
      if (--this.batchDepth === 0) for (const input of all) input.flush();
    }
  }

  /** An object added or changed (`deleted` false) or deleted. */
  apply(kind: ClusterKind, o: KubeObject, deleted = false): void {
    switch (kind) {
      case 'Pod':
        return this.pod(o, deleted);
      case 'Node':
        if (deleted) this.inputs.Node.delete(`Node/${o.metadata.name}`);
        else this.inputs.Node.upsert(nodeFromKube(o));
        return;
      case 'Service':
        return this.service(o, deleted);
      case 'EndpointSlice':
        return this.slice(o, deleted);
      case 'Namespace':
        if (deleted) this.namespaceNetworks.delete(o.metadata.name);
        else this.namespaceNetworks.set(o.metadata.name, labelOf(o, LABEL.network));
        return this.refreshSystemNetwork();
    }
  }

  /** MeshConfig's rootNamespace changed: the default network is read from the new one. */
  setSystemNamespace(name: string): void {
    this.systemNamespace = name;
    this.refreshSystemNetwork();
  }

  private refreshSystemNetwork(): void {
    const network = this.namespaceNetworks.get(this.systemNamespace) ?? '';
    if (network === this.systemNetwork) return;
    this.systemNetwork = network;
    this.inputs.Pod.upsert(...[...this.pods.values()].map((p) => podFromKube(p, network)));
  }

  private pod(o: KubeObject, deleted: boolean): void {
    const key = keyOf(o);
    if (deleted) {
      this.pods.delete(key);
      this.inputs.Pod.delete(`Pod/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`);
    } else {
      this.pods.set(key, o);
      this.inputs.Pod.upsert(podFromKube(o, this.systemNetwork));
    }
    this.movePodIP(key, o.metadata.name, deleted ? '' : podIPOf(o), o.metadata.namespace ?? 'default');
  }

  /** Keeps the IP index; a pod taking or leaving an IP some slice lists without targetRef re-translates its Services. */
  private movePodIP(podKey: string, podName: string, ip: string, namespace: string): void {
    const before = this.ipOfPod.get(podKey);
    const after = ip === '' ? undefined : `${namespace}/${ip}`;
    if (before === after) return;
    if (before !== undefined && this.podByIP.get(before) === podName) this.podByIP.delete(before);
    if (after !== undefined) this.podByIP.set(after, podName);
    if (after !== undefined) this.ipOfPod.set(podKey, after);
    else this.ipOfPod.delete(podKey);
    const services = new Set<string>();
    for (const nsIP of [before, after]) {
      for (const sliceKey of nsIP !== undefined ? (this.slicesByIP.get(nsIP) ?? []) : []) {
        const service = this.slices.get(sliceKey)?.service;
        if (service !== undefined) services.add(service);
      }
    }
    for (const service of services) this.emitService(service);
  }

  private indexSliceIPs(sliceKey: string, targets: SliceTargets, add: boolean): void {
    const namespace = targets.service.slice(0, targets.service.indexOf('/'));
    for (const ip of targets.ips) {
      const nsIP = `${namespace}/${ip}`;
      const set = this.slicesByIP.get(nsIP) ?? new Set<string>();
      if (add) this.slicesByIP.set(nsIP, set.add(sliceKey));
      else if (set.delete(sliceKey) && set.size === 0) this.slicesByIP.delete(nsIP);
    }
  }

  private service(o: KubeObject, deleted: boolean): void {
    const key = keyOf(o);
    if (deleted) {
      this.services.delete(key);
      this.inputs.Service.delete(`Service/${key}`);
      return;
    }
    this.services.set(key, o);
    this.emitService(key);
  }

  private slice(o: KubeObject, deleted: boolean): void {
    const key = keyOf(o);
    const before = this.slices.get(key);
    const after = deleted ? undefined : sliceTargets(o);
    if (before !== undefined) {
      this.slices.delete(key);
      this.slicesOfService.get(before.service)?.delete(key);
      this.indexSliceIPs(key, before, false);
    }
    if (after !== undefined) {
      this.slices.set(key, after);
      this.indexSliceIPs(key, after, true);
      const set = this.slicesOfService.get(after.service) ?? new Set<string>();
      this.slicesOfService.set(after.service, set.add(key));
    }
    if (before !== undefined) this.emitService(before.service);
    if (after !== undefined && after.service !== before?.service) this.emitService(after.service);
  }

  /** Translates one Service with the pods of its slices (nothing while the Service has not arrived). */
  private emitService(service: string): void {
    const raw = this.services.get(service);
    if (raw === undefined) return;
    const namespace = service.slice(0, service.indexOf('/'));
    const pods = new Set<string>();
    for (const sliceKey of this.slicesOfService.get(service) ?? []) {
      const targets = this.slices.get(sliceKey);
      for (const p of targets?.pods ?? []) pods.add(p);
      for (const ip of targets?.ips ?? []) {
        const pod = this.podByIP.get(`${namespace}/${ip}`);
        if (pod !== undefined) pods.add(pod);
      }
    }
    this.inputs.Service.upsert(serviceFromKube(raw, [...pods].sort()));
  }
}
