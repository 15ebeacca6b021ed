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
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
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
  if (typeUrl === ENDPOINT.typeUrl) return { token, endpoints: endpointsSummary(message as ClusterLoadAssignment) };
  if (typeUrl === ROUTE.typeUrl) return { token, virtualHosts: new Map((message as RouteConfiguration).virtualHosts.map((vh) => [vh.name, routeSummaries(vh)])) };
  return { token };
}

const sameRoutes = (a: readonly RouteSummary[] | undefined, b: readonly RouteSummary[] | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

export class PushHistory implements ResourceSink {
  /** view → type URL → resource name → summary. */
  private readonly summaries = new Map<ViewKey, Map<string, Map<string, Summary>>>();
  private readonly pending = new Map<ViewKey, PendingChanges>();
  private readonly last = new Map<ViewKey, PushDiff>();
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

  alias(view: ViewKey, target: ViewKey | undefined): void {
    this.cache.alias(view, target);
    if (target === undefined) this.aliases.delete(view);
    else this.aliases.set(view, target);
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
    for (const [view, p] of this.pending) {
      const sorted = <T>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
      this.last.set(view, {
        versions: Object.fromEntries(p.versions),
        at,
        clusters: sorted(p.clusters),
        endpoints: sorted(p.endpoints),
        routes: sorted(p.routes),
        listeners: sorted(p.listeners),
      });
    }
    this.pending.clear();
  }

  /** The last push diff of `view` (or of the view it aliases). */
  lastPush(view: ViewKey): PushDiff | undefined {
    return this.last.get(view) ?? this.last.get(this.aliases.get(view) ?? '');
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
    if (p === undefined) this.pending.set(view, (p = { start: new Map(), versions: new Map(), clusters: new Map(), listeners: new Map(), endpoints: new Map(), routes: new Map() }));
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
    const same = old?.token === next?.token;
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
