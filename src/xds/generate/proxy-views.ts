/**
 * View refcounting: the view each proxy stream is bound to (its key comes from the node: kind,
 * namespace, locality, network, labels, own workloads), how many streams hold it, and the inbound
 * listeners each stream asked for. Proxies of one workload set share a view; every view is in one
 * class (view-classes.ts).
 */
import type { Index } from '../../lib/krt/index.js';
import type { Workload } from '../../model/mesh/types.js';
import { resolveClientProxy, type ClientProxy } from '../../registry/view/client.js';
import type { ViewSources } from '../../registry/view/clusters.js';
import type { ViewKey } from '../cache/resource-cache.js';
import { formatLocality } from '../../model/mesh/locality.js';
import type { ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import { CERTIFICATE_PROVIDER_INSTANCE, parseInboundListenerName } from './names.js';
import type { Relevance } from './relevance.js';
import type { ClassedView, ViewClasses } from './view-classes.js';
import { byKey, viewKeyOf, type GeneratorKind, type ViewSpec } from './view.js';
import { DEMAND_LIMIT, demandGrew, hostOfRequestedName, widenDemand, type Demand } from './demand.js';

interface ViewState extends ClassedView {
  /** Replaced when the proxy's requested inbound listeners change (noteRequestedListeners). */
  spec: ViewSpec;
  /** Streams on this view. */
  refs: number;
  /**
   * The inbound Listener names each stream of this view asked for (noteRequestedListeners). The view
   * key does not hold the proxy's IP: two VMs of one WorkloadGroup share a view, and each must keep
   * its own listeners, so the view generates the union (SotW answers each stream its own names).
   */
  readonly requestsByStream: Map<string, readonly string[]>;
  /** Requested names already mapped into `demand` (noteRequested), bounded. */
  demandNames?: Set<string>;
}

export interface ProxyViewsOptions {
  readonly classes: ViewClasses;
  /** Workloads by address (the registry's workloads). */
  readonly workloadsByAddress: Index<Workload>;
  /** The relevance views are classified by (as of the last push). */
  readonly relevance: () => Relevance;
  /** A fresh snapshot of the registry for generating a class a view joins. */
  readonly sources: () => ViewSources;
  /** Whether views of `kind` are generated on demand (demand.ts): what their streams request. */
  readonly onDemand: (kind: GeneratorKind) => boolean;
}

export class ProxyViews {
  private readonly views = new Map<ViewKey, ViewState>();

  constructor(private readonly o: ProxyViewsOptions) {}

  get size(): number {
    return this.views.size;
  }

  specs(): ViewSpec[] {
    return [...this.views.values()].map((v) => v.spec);
  }

  /** The view `proxy` belongs to, counted once more; a new view joins its class at once. */
  viewOf(proxy: ProxyIdentity): ViewKey {
    const spec = viewSpecOf(proxy, this.o.workloadsByAddress);
    let state = this.views.get(spec.key);
    if (!state) {
      const rel = this.o.relevance();
      state = { spec, refs: 0, classKey: this.o.classes.keyOf(spec, rel), requestsByStream: new Map() };
      if (this.o.onDemand(spec.kind)) state.demand = new Set();
      this.views.set(spec.key, state);
      this.o.classes.join(state, rel, this.o.sources());
    }
    state.refs++;
    return spec.key;
  }

  /** A stream of this view closed (`stream`: as given to noteRequestedListeners); the view is dropped when none is left. */
  release(view: ViewKey, stream?: string): void {
    const state = this.views.get(view);
    if (!state) return;
    if (stream !== undefined && state.requestsByStream.delete(stream) && state.refs > 1) this.applyRequestedListeners(state);
    state.refs--;
    if (state.refs <= 0) {
      this.views.delete(view);
      this.o.classes.remove(state);
    }
  }

  /** Issue 7: see XdsPipeline.noteRequestedListeners. */
  noteRequestedListeners(view: ViewKey, names: readonly string[], stream = ''): void {
    const state = this.views.get(view);
    if (state === undefined || state.spec.kind !== 'grpc') return;
    const inbound = names.filter((n) => parseInboundListenerName(n) !== undefined);
    if (inbound.length > 0) state.requestsByStream.set(stream, inbound);
    else if (!state.requestsByStream.delete(stream)) return;
    this.applyRequestedListeners(state);
  }

  /**
   * A stream of `view` requested `names` of `typeUrl` (`wildcard`: it subscribes to every resource of
   * the type): a view generated on demand widens its demand by their hosts, and its class generates
   * those it lacks before the request is answered. Cheap when nothing is new (every ACK repeats the
   * names), and a no-op for views not generated on demand.
   */
  noteRequested(view: ViewKey, typeUrl: string, names: readonly string[], wildcard: boolean): void {
    const state = this.views.get(view);
    if (state?.demand === undefined || state.demand === 'all') return;
    let more: Demand | undefined;
    if (wildcard) more = 'all';
    else {
      const known = state.demand;
      // Every ACK repeats its names: a name seen before is skipped without parsing it.
      const seen = (state.demandNames ??= new Set());
      let hosts: Set<string> | undefined;
      for (const name of names) {
        if (seen.has(name)) continue;
        if (seen.size < DEMAND_LIMIT * 4) seen.add(name);
        const host = hostOfRequestedName(typeUrl, name);
        if (host === undefined || known.has(host)) continue;
        (hosts ??= new Set()).add(host);
      }
      more = hosts;
    }
    if (more === undefined) return;
    const { demand, added } = widenDemand(state.demand, more);
    state.demand = demand;
    if (demandGrew(added)) this.o.classes.demand(state, added, this.o.sources());
  }

  /** What matters changed: views move to other classes (new ones are generated on joining). */
  reclassify(rel: Relevance, sources: ViewSources): void {
    for (const v of this.views.values()) this.o.classes.move(v, this.o.classes.keyOf(v.spec, rel), rel, sources);
  }

  /** Moves the view to the class of the union of its streams' inbound requests, if that changed. */
  private applyRequestedListeners(state: ViewState): void {
    const requested = [...new Set([...state.requestsByStream.values()].flat())].sort();
    if (requested.join(',') === (state.spec.inboundRequests ?? []).join(',')) return;
    const { inboundRequests: _previous, ...rest } = state.spec;
    state.spec = requested.length > 0 ? { ...rest, inboundRequests: requested } : rest;
    const rel = this.o.relevance();
    const key = this.o.classes.keyOf(state.spec, rel);
    if (key === state.classKey) return;
    this.o.classes.move(state, key, rel, this.o.sources());
  }
}

/** The view spec of a connecting proxy: its client attributes, own workloads and TLS capability. */
export function viewSpecOf(proxy: ProxyIdentity, workloadsByAddress: Index<Workload>): ViewSpec {
  // L-10: a proxy whose IP is a WorkloadEntry's address is that workload (a VM's sidecar or agent).
  // Looked up by address (measured: filtering all 30k workloads for each of 500 connecting proxies
  // was 4 s of bench S3's connection phase); sorted by key as the registry's order is not defined.
  const candidates = proxy.ip !== undefined ? workloadsByAddress.lookup(proxy.ip) : [];
  const own: Workload[] = candidates
    // Issue 11: only a workload of the proxy's own namespace (a node without one is in `default`).
    .filter((w) => w.kind === 'WorkloadEntry' && w.namespace === (proxy.namespace ?? 'default'))
    .sort(byKey);
  const locality = own[0]?.locality || formatLocality(proxy.locality);
  const client: ClientProxy = resolveClientProxy(
    {
      namespace: proxy.namespace ?? 'default',
      ...(locality !== undefined && locality !== '' ? { locality } : {}),
      ...(proxy.network !== undefined ? { network: proxy.network } : own[0] ? { network: own[0].network } : {}),
      labels: Object.keys(proxy.labels).length > 0 ? proxy.labels : own[0]?.labels ?? {},
    },
    [],
  );
  // Issue 7: proxyless clients are not pre-given inbound listeners: an xDS-enabled server subscribes to
  // its listener by name (SotW), and noteRequestedListeners puts the view in a class of its
  // own then. Measured (bench S3/S5): pre-generating them put every proxyless client that runs
  // on a workload's IP in a class of its own, regenerated in full on every push (60x the CPU).
  const ownKeys = (proxy.kind === 'grpc' ? [] : own).map((w) => w.key).sort();
  const tls = proxy.certificateProviders?.includes(CERTIFICATE_PROVIDER_INSTANCE) === true;
  return {
    key: viewKeyOf(proxy.kind, client, ownKeys, tls),
    kind: proxy.kind,
    client,
    ownWorkloads: ownKeys,
    ...(tls ? { tls } : {}),
  };
}
