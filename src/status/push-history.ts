/**
 * What changed in the last push to each view (`diffFromPrevious` of `GET /api/v1/proxies/{id}/config`,
 * docs/api.md). A ResourceSink in front of the resource cache: it forwards every call and keeps no
 * copy of any view's resources: the cache's snapshots are immutable, so the resources one push
 * batch changes are gathered until `commit()` (the pipeline's onPush) as references to the cache's
 * encoded resource before and after. The comparison (view-diff.ts: endpoints by address, clusters
 * and listeners by content, routes per virtual host) decodes them only when someone reads the diff,
 * so pushes pay nothing but bookkeeping proportional to what changed. Measured cause (bench S6):
 * a per-view map of every resource's token and message, 2,000 Envoy views × ~2,000 resources,
 * duplicated the cache's own bookkeeping.
 */
import { equals, fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import type { PushDiff } from '../api/v1/types.js';
import type { ResourceInput, ResourceSink, ResourceSource, TypeSnapshot, ViewKey } from '../xds/cache/resource-cache.js';
import type { EncodedResource } from '../xds/types/encoded-resource.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../xds/types/resource-types.js';
import type { XdsResourceType } from '../xds/types/resource-type.js';
import { TYPE_SHORT_NAMES } from './sync-status.js';
import { compareClusterEndpoints, endpointsSummary, routeSummaries, type EndpointsChange, type ResourceChange, type RouteChange, type RouteSummary } from './view-diff.js';

/** One resource changed by a batch: as it was when the batch began and as it is after (undefined: absent); the cache's objects. */
interface RawChange {
  readonly typeUrl: string;
  readonly name: string;
  readonly before: EncodedResource | undefined;
  readonly after: EncodedResource | undefined;
}

/**
 * What one push did to one type of a view: its versions before and after, and the resources it
 * changed as they were before and after (the cache's objects; compared and decoded when read).
 * Only changed resources are kept: a whole earlier snapshot would keep every resource of a large
 * view alive, and with them the messages of resources nobody has asked for yet (the cache encodes
 * lazily, so a resource nobody asked for still holds its message).
 */
interface TypePush {
  readonly versions: readonly [string, string];
  readonly changes: readonly RawChange[];
}

interface RawPush {
  readonly at: string;
  /** By type URL. */
  readonly types: ReadonlyMap<string, TypePush>;
}

/**
 * A type's record while its batch is open: its version and the changed resources as the batch
 * began (their state after is read on commit). Bench S6: kept per name changed, not per name
 * handed in, so a sidecar class rebuilt in full with ~3,000 unchanged resources records nothing
 * for them (12 % of the CPU of a single endpoint change when it recorded every name).
 */
interface PendingType {
  readonly beforeVersion: string;
  readonly befores: Map<string, EncodedResource | undefined>;
}

const TRACKED_TYPES = new Map<string, XdsResourceType>([CLUSTER, LISTENER, ENDPOINT, ROUTE].map((t) => [t.typeUrl, t]));
const TRACKED = new Set(TRACKED_TYPES.keys());

/** The message of an encoded resource of a tracked type (decoded on read). */
function messageOf(e: EncodedResource | undefined): unknown {
  const type = e === undefined ? undefined : TRACKED_TYPES.get(e.typeUrl);
  return e === undefined || type === undefined ? undefined : fromBinary(type.schema, e.any.value);
}

function virtualHosts(rc: unknown): Map<string, readonly RouteSummary[]> {
  const out = new Map<string, readonly RouteSummary[]>();
  for (const vh of rc === undefined ? [] : (rc as RouteConfiguration).virtualHosts) out.set(vh.name, routeSummaries(vh));
  return out;
}

/** Resources of `before` and `after` that are not the same object (the cache keeps the object of an unchanged resource). */
function differences(typeUrl: string, before: TypeSnapshot | undefined, after: TypeSnapshot | undefined): RawChange[] {
  const x = before?.resources ?? new Map<string, EncodedResource>();
  const y = after?.resources ?? new Map<string, EncodedResource>();
  const out: RawChange[] = [];
  let kept = 0;
  // Iterating does not count as reads of a LayeredMap (which would flatten it).
  for (const [name, b] of x) {
    const a = y.get(name);
    if (a !== undefined) kept++;
    if (a !== b) out.push({ typeUrl, name, before: b, after: a });
  }
  if (kept < y.size) for (const [name, a] of y) if (!x.has(name)) out.push({ typeUrl, name, before: undefined, after: a });
  return out;
}

/** The comparison of one push's changes (run when read). */
export function pushDiffOf(raw: RawPush): PushDiff {
  const clusters: ResourceChange[] = [];
  const listeners: ResourceChange[] = [];
  const endpoints: EndpointsChange[] = [];
  const routes: RouteChange[] = [];
  const versions: Record<string, readonly [string, string]> = {};
  const all: RawChange[] = [];
  for (const [typeUrl, t] of raw.types) {
    versions[TYPE_SHORT_NAMES[typeUrl] ?? typeUrl] = t.versions;
    all.push(...t.changes);
  }
  const sorted = all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of sorted) {
    const a = messageOf(c.before);
    const b = messageOf(c.after);
    if (a === undefined && b === undefined) continue;
    const kind = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
    if (c.typeUrl === CLUSTER.typeUrl || c.typeUrl === LISTENER.typeUrl) {
      const same = a !== undefined && b !== undefined && (c.typeUrl === CLUSTER.typeUrl ? equals(CLUSTER.schema, a as Cluster, b as Cluster) : equals(LISTENER.schema, a as Listener, b as Listener));
      if (!same) (c.typeUrl === CLUSTER.typeUrl ? clusters : listeners).push({ name: c.name, change: kind });
    } else if (c.typeUrl === ENDPOINT.typeUrl) {
      const e = compareClusterEndpoints(c.name, a !== undefined ? endpointsSummary(a as ClusterLoadAssignment) : undefined, b !== undefined ? endpointsSummary(b as ClusterLoadAssignment) : undefined);
      if (e !== undefined) endpoints.push(e);
    } else {
      const x = virtualHosts(a);
      const y = virtualHosts(b);
      for (const vh of [...new Set([...x.keys(), ...y.keys()])].sort()) {
        const before = x.get(vh);
        const after = y.get(vh);
        if (before !== undefined && after !== undefined && JSON.stringify(before) === JSON.stringify(after)) continue;
        const change = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
        routes.push({ routeConfiguration: c.name, virtualHost: vh, change, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) });
      }
    }
  }
  return { versions, at: raw.at, clusters, endpoints, routes, listeners };
}

export class PushHistory implements ResourceSink {
  private readonly pending = new Map<ViewKey, Map<string, PendingType>>();
  /**
   * Per view (a class the pipeline writes, a shared slot classes read some types from, or a proxy
   * view moved to another class): its last push and when (`seq`: one per commit, so the parts of one
   * push written to a class and to its shared slot carry the same one).
   */
  private readonly last = new Map<ViewKey, { readonly seq: number; readonly raw: RawPush; diff?: PushDiff }>();
  private readonly aliases = new Map<ViewKey, ViewKey>();
  /** view → type URL → the view whose slot of that type it reads (ResourceSink.aliasType). */
  private readonly typeAliases = new Map<ViewKey, Map<string, ViewKey>>();
  private seq = 0;
  /**
   * Forwarded to the cache when it has it (and absent when it does not, so a generator writes every
   * type per view as it would to that cache). Measured cause (bench S6): without it the pipeline saw
   * a sink that cannot alias types and wrote every Envoy sidecar's EDS and RDS to a slot of its own:
   * a single endpoint change then made a new EDS snapshot, selection and comparison per sidecar.
   */
  readonly aliasType: ResourceSink['aliasType'];

  constructor(
    private readonly cache: ResourceSink & Pick<ResourceSource, 'current'>,
    private readonly now: () => number = Date.now,
  ) {
    const forward = cache.aliasType?.bind(cache);
    this.aliasType =
      forward === undefined
        ? undefined
        : (view, typeUrl, target) => {
            forward(view, typeUrl, target);
            let types = this.typeAliases.get(view);
            if (target === undefined || target === view) {
              types?.delete(typeUrl);
              if (types?.size === 0) this.typeAliases.delete(view);
              return;
            }
            if (types === undefined) this.typeAliases.set(view, (types = new Map<string, ViewKey>()));
            types.set(typeUrl, target);
          };
  }

  setResources<Desc extends DescMessage>(view: ViewKey, type: XdsResourceType<Desc>, resources: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>): void {
    const before = this.cache.current(view, type.typeUrl);
    this.cache.setResources(view, type, resources);
    this.apply(view, type.typeUrl, before, 'all');
  }

  updateResources<Desc extends DescMessage>(view: ViewKey, type: XdsResourceType<Desc>, upserts: ReadonlyMap<string, ResourceInput<MessageShape<Desc>>>, removals: Iterable<string>): void {
    const before = this.cache.current(view, type.typeUrl);
    const removed = [...removals];
    this.cache.updateResources(view, type, upserts, removed);
    this.apply(view, type.typeUrl, before, [upserts.keys(), removed]);
  }

  /**
   * A proxy view moved to another class (the pipeline creates the new class first, then aliases,
   * then drops the old one): its last push is the difference between the two classes' resources.
   */
  alias(view: ViewKey, target: ViewKey | undefined): void {
    const previous = this.aliases.get(view);
    this.cache.alias(view, target);
    if (target === undefined) {
      this.aliases.delete(view);
      return;
    }
    this.aliases.set(view, target);
    if (previous === undefined || previous === target) return;
    const types = new Map<string, TypePush>();
    for (const typeUrl of TRACKED) {
      const before = this.cache.current(previous, typeUrl);
      const after = this.cache.current(target, typeUrl);
      if (before !== undefined || after !== undefined) types.set(typeUrl, { versions: [before?.version ?? '', after?.version ?? ''], changes: differences(typeUrl, before, after) });
    }
    this.last.set(view, { seq: ++this.seq, raw: { at: new Date(this.now()).toISOString(), types } });
  }

  dropView(view: ViewKey): void {
    this.cache.dropView(view);
    this.pending.delete(view);
    this.last.delete(view);
    this.typeAliases.delete(view);
  }

  /** The end of a push: each view changed since the last commit gets these changes as its last push. */
  commit(): void {
    if (this.pending.size === 0) return;
    const at = new Date(this.now()).toISOString();
    const seq = ++this.seq;
    for (const [view, p] of this.pending) {
      const types = new Map<string, TypePush>();
      for (const [typeUrl, t] of p) {
        const after = this.cache.current(view, typeUrl);
        const changes: RawChange[] = [];
        for (const [name, before] of t.befores) {
          const now = after?.resources.get(name);
          if (now !== before) changes.push({ typeUrl, name, before, after: now });
        }
        types.set(typeUrl, { versions: [t.beforeVersion, after?.version ?? ''], changes });
      }
      this.last.set(view, { seq, raw: { at, types } });
    }
    this.pending.clear();
  }
  /** The last push diff of `view`: the later of its own move between classes and its class's last change. */
  lastPush(view: ViewKey): PushDiff | undefined {
    // Resources reach the streams as soon as the cache has them, before the pipeline's onPush: a
    // reader in between sees those changes committed (a push still in progress counts as one).
    if (this.pending.size > 0) this.commit();
    const own = this.last.get(view);
    const target = this.aliases.get(view);
    const classKey = target ?? view;
    const viaClass = target !== undefined ? this.last.get(target) : undefined;
    const entry = own === undefined || (viaClass !== undefined && viaClass.seq > own.seq) ? viaClass : own;
    // The types the class reads from shared slots: their changes are the slot's. A later push to a
    // slot is the view's last push; a push that changed the class and its slot is one.
    const slots = this.typeAliases.get(classKey);
    if (slots === undefined) {
      if (entry === undefined) return undefined;
      entry.diff ??= pushDiffOf(entry.raw);
      return entry.diff;
    }
    const parts: { readonly seq: number; readonly raw: RawPush; readonly types: (typeUrl: string) => boolean }[] = [];
    if (entry !== undefined) {
      const moved = entry === own; // a move between classes compares every type
      parts.push({ ...entry, types: (typeUrl) => moved || !slots.has(typeUrl) });
    }
    for (const [typeUrl, slot] of slots) {
      const e = this.last.get(slot);
      if (e !== undefined) parts.push({ ...e, types: (t) => t === typeUrl });
    }
    const seq = Math.max(...parts.map((p) => p.seq));
    const latest = parts.filter((p) => p.seq === seq);
    if (latest.length === 0) return undefined;
    const types = new Map<string, TypePush>();
    for (const p of latest) for (const [typeUrl, t] of p.raw.types) if (p.types(typeUrl)) types.set(typeUrl, t);
    return pushDiffOf({ at: (latest[0] as (typeof latest)[number]).raw.at, types });
  }

  private apply(view: ViewKey, typeUrl: string, before: TypeSnapshot | undefined, touched: 'all' | readonly Iterable<string>[]): void {
    if (!TRACKED.has(typeUrl)) return;
    const after = this.cache.current(view, typeUrl);
    if (after?.version === before?.version) return; // nothing changed (the cache did not bump the version)
    let p = this.pending.get(view);
    if (p === undefined) this.pending.set(view, (p = new Map<string, PendingType>()));
    let t = p.get(typeUrl);
    if (t === undefined) p.set(typeUrl, (t = { beforeVersion: before?.version ?? '', befores: new Map() }));
    const record = (name: string, was: EncodedResource | undefined): void => {
      if (!t.befores.has(name)) t.befores.set(name, was);
    };
    if (touched === 'all') for (const c of differences(typeUrl, before, after)) record(c.name, c.before);
    else {
      for (const names of touched) {
        for (const name of names) {
          const was = before?.resources.get(name);
          if (was !== after?.resources.get(name)) record(name, was);
        }
      }
    }
  }
}
