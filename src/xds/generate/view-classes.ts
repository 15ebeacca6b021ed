/**
 * Class assignment: views with identical configuration share a *class*, keyed by their generator
 * kind and the client attributes that something in the mesh can read (relevance.ts). The cache
 * holds one snapshot per class and aliases every view to its class. A class is created (and
 * generated in full) when its first view joins, and dropped when its last view leaves.
 */
import { formatLocality } from '../../model/mesh/locality.js';
import type { MergedService } from '../../model/mesh/types.js';
import type { ClientProxy } from '../../registry/view/client.js';
import type { ViewSources } from '../../registry/view/clusters.js';
import type { ViewKey } from '../cache/resource-cache.js';
import type { Relevance } from './relevance.js';
import type { ResourceSet } from './resource-set.js';
import type { GeneratorKind, ViewSpec } from './view.js';
import { withFields } from '../../lib/objects/with-fields.js';
import { demandGrew, widenDemand, type Demand } from './demand.js';

/** A group of views with identical configuration: one snapshot per type in the cache. */
export interface ClassState {
  readonly key: string;
  /** A representative spec: the client attributes that matter, and the own workloads (if any). */
  readonly spec: ViewSpec;
  views: number;
  /** The service each visible host resolves to for this class (D-4). */
  winners: Map<string, MergedService>;
  /** The resources generated for each host, and the token they were handed to the cache with. */
  owned: Map<string, { readonly token: string; readonly resources: ResourceSet }>;
  /** Push generation in which the class was last generated in full. */
  generated: number;
  /** The resources of the generator's `shared` part as last handed to the cache (if any). */
  sharedOwned?: ResourceSet;
  /**
   * The hosts generated for this class (demand.ts): the union of its views' demands. Undefined: the
   * class is not generated on demand (every visible service).
   */
  demand?: Demand;
}

/** A view as class assignment sees it: its spec and the class it is in. */
export interface ClassedView {
  readonly spec: ViewSpec;
  classKey: string;
  /** What the view's streams requested, when its kind is generated on demand (demand.ts). */
  demand?: Demand;
}

export interface ViewClassesOptions {
  /** Whether the generator of `kind` lets views share classes (Generator.sharedAcrossViews). */
  readonly sharesAcrossViews: (kind: GeneratorKind) => boolean;
  /** A class was created: generate it in full (before any view is aliased to it). */
  readonly created: (c: ClassState, sources: ViewSources) => void;
  /** A class generated on demand was asked for more hosts (`added`; `all`: every host): generate them. */
  readonly demanded: (c: ClassState, added: Demand, sources: ViewSources) => void;
  /** Points the cache's `view` at class `classKey` (undefined: the view is gone). */
  readonly alias: (view: ViewKey, classKey: string | undefined) => void;
  /** The last view of a class left: drop its snapshot and what was memoised under its key. */
  readonly dropped: (classKey: string) => void;
}

export class ViewClasses {
  private readonly classes = new Map<string, ClassState>();

  constructor(private readonly o: ViewClassesOptions) {}

  /** The class `spec` belongs to under `rel`. */
  keyOf(spec: ViewSpec, rel: Relevance): string {
    return classKeyOf(spec, rel, this.o.sharesAcrossViews(spec.kind));
  }

  values(): IterableIterator<ClassState> {
    return this.classes.values();
  }

  /** Counts `view` in its class (creating the class if needed) and aliases the view to it. */
  join(view: ClassedView, rel: Relevance, sources: ViewSources): void {
    let c = this.classes.get(view.classKey);
    if (!c) {
      const shared = this.o.sharesAcrossViews(view.spec.kind);
      // The own workloads are part of the class key (classKeyOf): kept for the inbound side.
      const spec: ViewSpec = shared ? withFields(view.spec, { key: view.classKey, client: classClient(view.spec.client, rel) }) : view.spec;
      c = { key: view.classKey, spec, views: 0, winners: new Map(), owned: new Map(), generated: -1 };
      if (view.demand !== undefined) c.demand = view.demand === 'all' ? 'all' : new Set(view.demand);
      this.classes.set(c.key, c);
      this.o.created(c, sources);
    } else if (view.demand !== undefined) this.widen(c, view.demand, sources);
    c.views++;
    this.o.alias(view.spec.key, c.key);
  }

  /** The view's streams asked for more hosts (`more`, already in view.demand): its class generates those it lacks. */
  demand(view: ClassedView, more: Demand, sources: ViewSources): void {
    const c = this.classes.get(view.classKey);
    if (c !== undefined) this.widen(c, more, sources);
  }

  private widen(c: ClassState, more: Demand, sources: ViewSources): void {
    if (c.demand === undefined) return;
    const { demand, added } = widenDemand(c.demand, more);
    c.demand = demand;
    if (demandGrew(added)) this.o.demanded(c, added, sources);
  }

  /** Moves `view` to class `key` if it is not there: joins the new class before leaving the old (make-before-break). */
  move(view: ClassedView, key: string, rel: Relevance, sources: ViewSources): void {
    if (key === view.classKey) return;
    const old = view.classKey;
    view.classKey = key;
    this.join(view, rel, sources);
    this.leave(old);
  }

  /** A view is gone: un-aliases it and leaves its class. */
  remove(view: ClassedView): void {
    this.o.alias(view.spec.key, undefined);
    this.leave(view.classKey);
  }

  private leave(classKey: string): void {
    const c = this.classes.get(classKey);
    if (!c) return;
    c.views--;
    if (c.views <= 0) {
      this.classes.delete(classKey);
      this.o.dropped(classKey);
    }
  }
}

/** The class a view belongs to: its kind and namespace, and what `rel` says can matter. */
export function classKeyOf(spec: ViewSpec, rel: Relevance, sharesAcrossViews: boolean): string {
  if (!sharesAcrossViews) return `view|${spec.key}`;
  const c = classClient(spec.client, rel);
  const key = ['class', spec.kind, rel.namespace ? c.namespace : '*', rel.network ? c.network : '', rel.locality ? `${formatLocality(c.locality)}${c.hasLocality ? '' : '~'}` : '', labelString(c.labels)].join('|');
  // Issue 7: TLS-capable proxies and servers (own inbound listeners) never share with others.
  const server = spec.ownWorkloads.length > 0 ? `|own=${spec.ownWorkloads.join(',')}` : '';
  // Inbound listeners are generated for the workload of the class client's namespace (class-feed.ts):
  // views of other namespaces asking for the same names never share the class (issue 11).
  const requested = (spec.inboundRequests?.length ?? 0) > 0 ? `|in=${spec.client.namespace}:${(spec.inboundRequests ?? []).join(',')}` : '';
  return `${key}${server}${requested}${spec.tls === true ? '|tls' : ''}`;
}

/**
 * The relevance class of `spec`: its class key without its own workloads and inbound requests, as
 * if the generator shared classes across views. Every class of one relevance class sees the same
 * outbound side (Generator.outbound, and per-service results when Generator.perServiceAcrossViews).
 */
export function relevanceClassKeyOf(spec: ViewSpec, rel: Relevance): string {
  const { inboundRequests: _inbound, ...rest } = spec;
  return classKeyOf({ ...rest, ownWorkloads: [] }, rel, true);
}

/** The client with only the labels `rel` says something reads. */
export function classClient(client: ClientProxy, rel: Relevance): ClientProxy {
  if (rel.labels === 'all') return client;
  const labels: Record<string, string> = {};
  for (const k of rel.labels) {
    const v = client.labels[k];
    if (v !== undefined) labels[k] = v;
  }
  return { ...client, labels };
}

function labelString(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
