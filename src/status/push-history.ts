/**
 * What changed in the last push to each view (`diffFromPrevious` of `GET /api/v1/proxies/{id}/config`,
 * docs/api.md). A ResourceSink in front of the resource cache: it forwards every call, and keeps per
 * VIEW (shared by the proxies of that view, not per stream) a decoded summary of the resources the
 * generator handed in — cluster and listener change tokens, each cluster's endpoints (address →
 * locality, priority, weight, health), each virtual host's routes — so that a push's changes can be
 * compared with the set before it (view-diff.ts). Changes of one push batch are gathered until
 * `commit()` (the pipeline's onPush) and then become the view's last push diff. Work per call
 * grows with what changed (unchanged tokens are not summarised again).
 */
import { createHash } from 'node:crypto';
import { toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import type { PushDiff } from '../api/v1/types.js';
import type { ResourceInput, ResourceSink, ResourceSource, ViewKey } from '../xds/cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../xds/types/resource-types.js';
import type { XdsResourceType } from '../xds/types/resource-type.js';
import { TYPE_SHORT_NAMES } from './sync-status.js';
import { compareClusterEndpoints, endpointsSummary, routeSummaries, type EndpointsChange, type EndpointsSummary, type ResourceChange, type RouteChange, type RouteSummary } from './view-diff.js';

/** One resource as remembered: the generator's change token and, per type, what is compared. */
interface Summary {
  readonly token: string;
  /** Clusters and listeners: a hash of the encoded resource (tokens differ between view classes; contents are compared). */
  readonly content?: string;
  readonly endpoints?: EndpointsSummary;
  /** Route configurations: virtual host name → its routes. */
  readonly virtualHosts?: ReadonlyMap<string, readonly RouteSummary[]>;
}

interface PendingChanges {
  /** `typeUrl name` → the resource's summary when the batch began (undefined: it did not exist). */
  readonly start: Map<string, Summary | undefined>;
  readonly versions: Map<string, [string, string]>;
  readonly clusters: Map<string, ResourceChange>;
  readonly listeners: Map<string, ResourceChange>;
  readonly endpoints: Map<string, EndpointsChange>;
  readonly routes: Map<string, RouteChange>;
}

const TRACKED = new Set([CLUSTER.typeUrl, LISTENER.typeUrl, ENDPOINT.typeUrl, ROUTE.typeUrl]);

function summarise(typeUrl: string, token: string, message: unknown): Summary {
  if (typeUrl === CLUSTER.typeUrl) return { token, content: createHash('sha1').update(toBinary(CLUSTER.schema, message as MessageShape<typeof CLUSTER.schema>)).digest('base64') };
  if (typeUrl === LISTENER.typeUrl) return { token, content: createHash('sha1').update(toBinary(LISTENER.schema, message as MessageShape<typeof LISTENER.schema>)).digest('base64') };
  if (typeUrl === ENDPOINT.typeUrl) return { token, endpoints: endpointsSummary(message as ClusterLoadAssignment) };
  if (typeUrl === ROUTE.typeUrl) return { token, virtualHosts: new Map((message as RouteConfiguration).virtualHosts.map((vh) => [vh.name, routeSummaries(vh)])) };
  return { token };
}

const sameRoutes = (a: readonly RouteSummary[] | undefined, b: readonly RouteSummary[] | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

export class PushHistory implements ResourceSink {
  /** view → type URL → resource name → summary. */
  private readonly summaries = new Map<ViewKey, Map<string, Map<string, Summary>>>();
  private readonly pending = new Map<ViewKey, PendingChanges>();
  /** Per view (a class the pipeline writes, or a proxy view moved to another class): its last push diff and when (`seq`). */
  private readonly last = new Map<ViewKey, { readonly seq: number; readonly diff: PushDiff }>();
  private seq = 0;
  private readonly aliases = new Map<ViewKey, ViewKey>();

  constructor(
    private readonly cache: ResourceSink & Pick<ResourceSource, 'current'>,
    private readonly now: () => number = Date.now,
  ) {}

  setResources<Desc extends DescMessage>(view: ViewKey, type: XdsResourceType<Desc>, resources: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>): void {
    const before = this.cache.current(view, type.typeUrl)?.version;
    this.cache.setResources(view, type, resources);
    if (!TRACKED.has(type.typeUrl)) return;
    const old = this.typeSummaries(view, type.typeUrl);
    const removed = [...old.keys()].filter((name) => !resources.has(name));
    this.apply(view, type.typeUrl, before, resources, removed);
  }

  updateResources<Desc extends DescMessage>(view: ViewKey, type: XdsResourceType<Desc>, upserts: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>, removals: Iterable<string>): void {
    const before = this.cache.current(view, type.typeUrl)?.version;
    const removed = [...removals];
    this.cache.updateResources(view, type, upserts, removed);
    if (!TRACKED.has(type.typeUrl)) return;
    this.apply(view, type.typeUrl, before, upserts, removed.filter((name) => !upserts.has(name)));
  }

  /**
   * A proxy view moved to another class (the pipeline creates the new class first, then aliases,
   * then drops the old one): its last push is the difference between the two classes' resources.
   */
  alias(view: ViewKey, target: ViewKey | undefined): void {
    const previous = this.aliases.get(view);
    const versionsBefore = previous !== undefined ? this.versions(previous) : undefined;
    this.cache.alias(view, target);
    if (target === undefined) {
      this.aliases.delete(view);
      return;
    }
    this.aliases.set(view, target);
    if (previous === undefined || previous === target || versionsBefore === undefined) return;
    const p = this.emptyPending();
    const a = this.summaries.get(previous);
    const b = this.summaries.get(target);
    for (const typeUrl of TRACKED) {
      const x = a?.get(typeUrl) ?? new Map<string, Summary>();
      const y = b?.get(typeUrl) ?? new Map<string, Summary>();
      for (const name of new Set([...x.keys(), ...y.keys()])) this.note(p, typeUrl, name, x.get(name), y.get(name));
    }
    const after = this.versions(target);
    for (const [type, version] of Object.entries(after)) p.versions.set(type, [versionsBefore[type] ?? '', version]);
    this.last.set(view, { seq: ++this.seq, diff: this.diffOf(p, new Date(this.now()).toISOString()) });
  }

  /** The current version per type short name of a view (tracked types only). */
  private versions(view: ViewKey): Record<string, string> {
    const out: Record<string, string> = {};
    for (const typeUrl of TRACKED) {
      const v = this.cache.current(view, typeUrl)?.version;
      if (v !== undefined) out[TYPE_SHORT_NAMES[typeUrl] ?? typeUrl] = v;
    }
    return out;
  }

  dropView(view: ViewKey): void {
    this.cache.dropView(view);
    this.summaries.delete(view);
    this.pending.delete(view);
    this.last.delete(view);
  }

  /** The end of a push: each view changed since the last commit gets these changes as its last push diff. */
  commit(): void {
    const at = new Date(this.now()).toISOString();
    for (const [view, p] of this.pending) this.last.set(view, { seq: ++this.seq, diff: this.diffOf(p, at) });
    this.pending.clear();
  }

  private diffOf(p: PendingChanges, at: string): PushDiff {
    const sorted = <T>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    return { versions: Object.fromEntries(p.versions), at, clusters: sorted(p.clusters), endpoints: sorted(p.endpoints), routes: sorted(p.routes), listeners: sorted(p.listeners) };
  }

  /** The last push diff of `view`: the later of its own move between classes and its class's last change. */
  lastPush(view: ViewKey): PushDiff | undefined {
    // Resources reach the streams as soon as the cache has them, before the pipeline's onPush: a
    // reader in between sees those changes committed (a push still in progress counts as one).
    if (this.pending.size > 0) this.commit();
    const own = this.last.get(view);
    const target = this.aliases.get(view);
    const viaClass = target !== undefined ? this.last.get(target) : undefined;
    if (own === undefined) return viaClass?.diff;
    return viaClass !== undefined && viaClass.seq > own.seq ? viaClass.diff : own.diff;
  }

  private emptyPending(): PendingChanges {
    return { start: new Map(), versions: new Map(), clusters: new Map(), listeners: new Map(), endpoints: new Map(), routes: new Map() };
  }

  private typeSummaries(view: ViewKey, typeUrl: string): Map<string, Summary> {
    let byType = this.summaries.get(view);
    if (byType === undefined) this.summaries.set(view, (byType = new Map<string, Map<string, Summary>>()));
    let m = byType.get(typeUrl);
    if (m === undefined) byType.set(typeUrl, (m = new Map<string, Summary>()));
    return m;
  }

  private pendingOf(view: ViewKey): PendingChanges {
    let p = this.pending.get(view);
    if (p === undefined) this.pending.set(view, (p = this.emptyPending()));
    return p;
  }

  private apply(view: ViewKey, typeUrl: string, before: string | undefined, upserts: ReadonlyMap<string, ResourceInput<unknown>>, removed: readonly string[]): void {
    const after = this.cache.current(view, typeUrl)?.version;
    if (after === before) return; // nothing changed (the cache did not bump the version)
    const m = this.typeSummaries(view, typeUrl);
    const p = this.pendingOf(view);
    const short = TYPE_SHORT_NAMES[typeUrl] ?? typeUrl;
    p.versions.set(short, [p.versions.get(short)?.[0] ?? before ?? '', after ?? '']);
    for (const [name, input] of upserts) {
      const old = m.get(name);
      if (old?.token === input.version) continue;
      const next = summarise(typeUrl, input.version, input.message);
      m.set(name, next);
      this.note(p, typeUrl, name, old, next);
    }
    for (const name of removed) {
      const old = m.get(name);
      if (old === undefined) continue;
      m.delete(name);
      this.note(p, typeUrl, name, old, undefined);
    }
  }

  /** Folds one resource's change into the batch: compared with the resource as it was when the batch began. */
  private note(p: PendingChanges, typeUrl: string, name: string, previous: Summary | undefined, next: Summary | undefined): void {
    const key = `${typeUrl} ${name}`;
    if (!p.start.has(key)) p.start.set(key, previous);
    const old = p.start.get(key);
    const kind = old === undefined ? 'added' : next === undefined ? 'removed' : 'changed';
    const same = old?.content === next?.content;
    const byName = typeUrl === CLUSTER.typeUrl ? p.clusters : typeUrl === LISTENER.typeUrl ? p.listeners : undefined;
    if (byName !== undefined) {
      if (same) byName.delete(name);
      else byName.set(name, { name, change: kind });
      return;
    }
    if (typeUrl === ENDPOINT.typeUrl) {
      const c = compareClusterEndpoints(name, old?.endpoints, next?.endpoints);
      if (c !== undefined) p.endpoints.set(name, c);
      else p.endpoints.delete(name);
    } else if (typeUrl === ROUTE.typeUrl) {
      const a = old?.virtualHosts ?? new Map<string, readonly RouteSummary[]>();
      const b = next?.virtualHosts ?? new Map<string, readonly RouteSummary[]>();
      for (const vh of new Set([...a.keys(), ...b.keys()])) {
        const x = a.get(vh);
        const y = b.get(vh);
        if ((x === undefined && y === undefined) || (x !== undefined && y !== undefined && sameRoutes(x, y))) {
          p.routes.delete(`${name}\u0000${vh}`);
          continue;
        }
        const change = x === undefined ? 'added' : y === undefined ? 'removed' : 'changed';
        p.routes.set(`${name}\u0000${vh}`, { routeConfiguration: name, virtualHost: vh, change, ...(x !== undefined ? { before: x } : {}), ...(y !== undefined ? { after: y } : {}) });
      }
    }
  }
}
