/**
 * Feeding the cache: generates a class's resources (in full, for some hosts, or only the
 * generator's shared part) and hands the resource cache the whole set or only the differences.
 * Order within a class: clusters and endpoints before listeners and routes (make-before-break).
 */
import type { Index } from '../../lib/krt/index.js';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService, Workload } from '../../model/mesh/types.js';
import type { Registry } from '../../registry/registry.js';
import type { ClientProxy } from '../../registry/view/client.js';
import { servicesForClient, type ViewSources } from '../../registry/view/clusters.js';
import { isServiceVisible, winningService } from '../../registry/view/visibility.js';
import type { ResourceInput, ResourceSink } from '../cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types/resource-types.js';
import type { Generator } from './generator.js';
import { parseInboundListenerName } from './names.js';
import { emptyResourceSet, mergeInto, type ResourceSet } from './resource-set.js';
import type { ServiceMemo } from './service-memo.js';
import type { Relevance } from './relevance.js';
import { relevanceClassKeyOf, type ClassState } from './view-classes.js';
import { byKey, type GeneratorKind, type InboundRequest, type ViewContext } from './view.js';

export interface ClassFeedOptions {
  /** The relevance classes are formed under (Generator.outbound is memoised by it). */
  readonly relevance: () => Relevance;
  readonly registry: Registry;
  readonly cache: ResourceSink;
  readonly generators: Readonly<Partial<Record<GeneratorKind, Generator>>>;
  readonly memo: ServiceMemo;
  readonly workloadsByAddress: Index<Workload>;
}

const KINDS = ['listeners', 'routes', 'clusters', 'endpoints'] as const;
type Kind = (typeof KINDS)[number];
type Removals = Record<Kind, string[]>;

/**
 * The types that every class of one relevance class holds alike when the generator's per-service
 * results are shared across views (Generator.perServiceAcrossViews) and its own `shared` part yields
 * none of them (Envoy: endpoints, and routes, which are all outbound). They are kept in one cache
 * slot per relevance class that the classes read through ResourceSink.aliasType. Measured cause
 * (bench S6): every sidecar class held its own EDS slot over ~1,000 ClusterLoadAssignments.
 */
const SHARED_TYPES = [
  ['endpoints', ENDPOINT],
  ['routes', ROUTE],
] as const;
type SharedKind = (typeof SHARED_TYPES)[number][0];

export class ClassFeed {
  /** Push generation; a class generated in full in the current one is not generated again by its push. */
  generation = 0;
  /** Version tokens of the generators' shared parts (unique per feed: a cache is fed by one pipeline). */
  private sharedVersion = 0;
  /** Generator.outbound results by relevance class key, valid for one policy generation and these winners. */
  private readonly outboundMemo = new Map<string, { policy: number; winners: ReadonlyMap<string, MergedService>; resources: ResourceSet }>();
  private policyGeneration = 0;
  /** Class key → the shared slot it reads SHARED_TYPES from, and shared slot → how many classes read it. */
  private readonly sharedSlotOf = new Map<string, string>();
  private readonly sharedSlotReaders = new Map<string, number>();

  constructor(private readonly o: ClassFeedOptions) {}

  /** Policies changed: memoised outbound parts are stale. */
  policyChanged(): void {
    this.policyGeneration++;
    this.outboundMemo.clear();
  }

  /** The class's view-wide resources: the generator's outbound part (memoised) and its own shared part. */
  private sharedOf(generator: Generator, c: ClassState, ctx: ViewContext, perService: ReadonlyMap<string, ResourceSet>): ResourceSet {
    const out = emptyResourceSet();
    if (generator.outbound) mergeInto(out, this.outboundOf(generator, c, ctx));
    if (generator.shared) {
      const own = generator.shared(ctx, perService, c.winners);
      if (this.sharedSlotFor(c) !== undefined) assertNoSharedTypes(own, c.spec.kind);
      mergeInto(out, own);
    }
    return out;
  }

  /**
   * Generator.outbound for this class, shared by every class of the same relevance class (its own
   * workloads and inbound requests left out) with the very same winners (the same service objects):
   * any service change makes new objects, so a hit never reads an older registry.
   */
  private outboundOf(generator: Generator, c: ClassState, ctx: ViewContext): ResourceSet {
    const key = relevanceClassKeyOf(c.spec, this.o.relevance());
    const hit = this.outboundMemo.get(key);
    if (hit !== undefined && hit.policy === this.policyGeneration && sameWinners(hit.winners, c.winners)) return hit.resources;
    const resources = (generator.outbound as NonNullable<Generator['outbound']>)(ctx, c.winners);
    this.outboundMemo.set(key, { policy: this.policyGeneration, winners: new Map(c.winners), resources });
    return resources;
  }

  /** Regenerates one class from `sources`; returns how many services were rebuilt. */
  generateFull(c: ClassState, sources: ViewSources): number {
    c.generated = this.generation;
    const generator = this.o.generators[c.spec.kind];
    if (!generator) return 0;
    const ctx = this.context(c, sources);
    const services = servicesForClient(sources, c.spec.client);
    c.winners = new Map(services.map((s) => [s.host, s]));
    c.owned = new Map();
    const perService = new Map<string, ResourceSet>();
    const sets = new TypedInputs();
    let rebuilt = 0;
    for (const service of services) {
      const { resources, token, built } = this.o.memo.resourcesOf(generator, ctx, c.key, service, sources, c.winners);
      if (built) rebuilt++;
      c.owned.set(service.host, { token, resources });
      perService.set(service.key, resources);
      sets.add(resources, token);
    }
    if (generator.shared || generator.outbound) {
      const shared = this.sharedOf(generator, c, ctx, perService);
      sets.add(shared, this.nextSharedVersion());
      c.sharedOwned = shared;
    }
    const cache = this.o.cache;
    const slot = this.sharedSlotFor(c);
    cache.setResources(c.key, CLUSTER, sets.clusters);
    cache.setResources(slot ?? c.key, ENDPOINT, sets.endpoints);
    cache.setResources(slot ?? c.key, ROUTE, sets.routes);
    this.readSharedSlot(c.key, slot);
    cache.setResources(c.key, LISTENER, sets.listeners);
    return rebuilt;
  }

  /** Regenerates the given hosts of one class and hands the cache only the differences. */
  generateHosts(c: ClassState, sources: ViewSources, hosts: ReadonlySet<string>): number {
    const generator = this.o.generators[c.spec.kind];
    if (!generator) return 0;
    // The relevance changed under the class: its shared slot is another one, written in full.
    if (this.sharedSlotFor(c) !== this.sharedSlotOf.get(c.key)) return this.generateFull(c, sources);
    const ctx = this.context(c, sources);
    const upserts = new TypedInputs();
    const removals: Removals = { listeners: [], routes: [], clusters: [], endpoints: [] };
    const remove = (set: ResourceSet, keep: ResourceSet | undefined): void => {
      for (const kind of KINDS) for (const name of set[kind].keys()) if (!keep?.[kind].has(name)) removals[kind].push(name);
    };
    let rebuilt = 0;
    for (const host of hosts) {
      const before = c.owned.get(host);
      const winner = this.winnerFor(host, c.spec.client, sources.mesh);
      if (winner === undefined) {
        c.winners.delete(host);
        if (before) remove(before.resources, undefined);
        c.owned.delete(host);
        continue;
      }
      c.winners.set(host, winner);
      const { resources, token, built } = this.o.memo.resourcesOf(generator, ctx, c.key, winner, sources, c.winners);
      if (built) rebuilt++;
      if (before?.token === token) continue;
      if (before) remove(before.resources, resources);
      upserts.add(resources, token);
      c.owned.set(host, { token, resources });
    }
    this.update(c.key, upserts, removals, 'changed types');
    return rebuilt;
  }

  /** Rebuilds the generator's shared part of one class alone (it must not read the services) and hands the cache the differences. */
  generateShared(c: ClassState, sources: ViewSources): void {
    const generator = this.o.generators[c.spec.kind];
    if (!generator || (!generator.shared && !generator.outbound)) return;
    const next = this.sharedOf(generator, c, this.context(c, sources), new Map());
    const before = c.sharedOwned ?? emptyResourceSet();
    c.sharedOwned = next;
    // The cache compares encoded contents: unchanged resources are not pushed again.
    const upserts = new TypedInputs();
    upserts.add(next, this.nextSharedVersion());
    const removed = (kind: Kind): string[] => [...before[kind].keys()].filter((name) => !next[kind].has(name));
    this.update(c.key, upserts, { listeners: removed('listeners'), routes: removed('routes'), clusters: removed('clusters'), endpoints: removed('endpoints') }, 'every type');
  }

  /** Hands the cache `upserts` and `removals` of one class, for every type or only those with a change. */
  private update(classKey: string, upserts: TypedInputs, removals: Removals, which: 'every type' | 'changed types'): void {
    const cache = this.o.cache;
    const slot = this.sharedSlotOf.get(classKey) ?? classKey;
    const changed = (kind: Kind): boolean => which === 'every type' || upserts[kind].size > 0 || removals[kind].length > 0;
    if (changed('clusters')) cache.updateResources(classKey, CLUSTER, upserts.clusters, removals.clusters);
    if (changed('endpoints')) cache.updateResources(slot, ENDPOINT, upserts.endpoints, removals.endpoints);
    if (changed('listeners')) cache.updateResources(classKey, LISTENER, upserts.listeners, removals.listeners);
    if (changed('routes')) cache.updateResources(slot, ROUTE, upserts.routes, removals.routes);
  }

  /**
   * The shared slot class `c` reads SHARED_TYPES from under the current relevance, or undefined when
   * it keeps them in its own slot (the generator does not share per-service results, or the sink
   * cannot alias single types).
   */
  private sharedSlotFor(c: ClassState): string | undefined {
    const generator = this.o.generators[c.spec.kind];
    if (generator?.perServiceAcrossViews !== true || this.o.cache.aliasType === undefined) return undefined;
    return `shared|${relevanceClassKeyOf(c.spec, this.o.relevance())}`;
  }

  /**
   * Points the class's SHARED_TYPES at `slot` (already written: make-before-break) and releases the
   * slot it read before; a shared slot no class reads any more is dropped.
   */
  private readSharedSlot(classKey: string, slot: string | undefined): void {
    const before = this.sharedSlotOf.get(classKey);
    if (before === slot) return;
    for (const [, type] of SHARED_TYPES) this.o.cache.aliasType?.(classKey, type.typeUrl, slot);
    if (slot !== undefined) {
      this.sharedSlotOf.set(classKey, slot);
      this.sharedSlotReaders.set(slot, (this.sharedSlotReaders.get(slot) ?? 0) + 1);
    } else this.sharedSlotOf.delete(classKey);
    if (before === undefined) return;
    const readers = (this.sharedSlotReaders.get(before) ?? 1) - 1;
    if (readers > 0) this.sharedSlotReaders.set(before, readers);
    else {
      this.sharedSlotReaders.delete(before);
      this.o.cache.dropView(before);
    }
  }

  /** A class was dropped: it no longer reads its shared slot. */
  forgetClass(classKey: string): void {
    this.readSharedSlot(classKey, undefined);
  }

  private nextSharedVersion(): string {
    return `shared.${++this.sharedVersion}`;
  }

  private context(c: ClassState, sources: ViewSources): ViewContext {
    const registry = this.o.registry;
    const ownWorkloads = c.spec.ownWorkloads.flatMap((k) => {
      const w = registry.workloads.get(k);
      return w ? [w] : [];
    });
    const inboundRequests = (c.spec.inboundRequests ?? []).flatMap((name): InboundRequest[] => {
      const at = parseInboundListenerName(name);
      if (at === undefined) return [];
      // Issue 11: only a workload of the client's own namespace. Another namespace's workload at that
      // IP is not the asking server (its identity and policy are not the client's to see): the
      // client gets the plaintext router-only listener, as for an IP without a workload.
      const workload = this.o.workloadsByAddress
        .lookup(at.ip)
        .filter((w) => w.namespace === c.spec.client.namespace)
        .sort(byKey)[0];
      return [{ name, ...at, ...(workload ? { workload } : {}) }];
    });
    return {
      spec: c.spec,
      sources,
      virtualServices: registry.inputs.VirtualService.list(),
      ownWorkloads,
      ...(inboundRequests.length > 0 ? { inboundRequests } : {}),
    };
  }

  /** The visible service `host` resolves to for this client (as servicesForClient decides it). */
  private winnerFor(host: string, client: ClientProxy, mesh: MeshSettings): MergedService | undefined {
    const candidates = this.o.registry.servicesByHost
      .lookup(host)
      .filter((s) => isServiceVisible(s, client.namespace, mesh))
      .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
    return winningService(candidates, client.namespace);
  }
}

/** A generator whose per-service results are shared across views must keep SHARED_TYPES out of its own `shared` part. */
function assertNoSharedTypes(own: ResourceSet, kind: GeneratorKind): void {
  const kinds: readonly SharedKind[] = SHARED_TYPES.map(([k]) => k);
  const found = kinds.find((k) => own[k].size > 0);
  if (found !== undefined) throw new Error(`the ${kind} generator's shared part yields ${found}, which its classes read from their relevance class (class-feed.ts SHARED_TYPES)`);
}

function sameWinners(a: ReadonlyMap<string, MergedService>, b: ReadonlyMap<string, MergedService>): boolean {
  if (a.size !== b.size) return false;
  for (const [host, s] of b) if (a.get(host) !== s) return false;
  return true;
}

type MessageOf<K extends Kind> = ResourceSet[K] extends Map<string, infer M> ? M : never;

/** Resources of several services by type, each with the token of the service it came from. */
class TypedInputs {
  readonly listeners = new Map<string, ResourceInput<MessageOf<'listeners'>>>();
  readonly routes = new Map<string, ResourceInput<MessageOf<'routes'>>>();
  readonly clusters = new Map<string, ResourceInput<MessageOf<'clusters'>>>();
  readonly endpoints = new Map<string, ResourceInput<MessageOf<'endpoints'>>>();
  add(set: ResourceSet, version: string): void {
    for (const [n, m] of set.listeners) this.listeners.set(n, { version, message: m });
    for (const [n, m] of set.routes) this.routes.set(n, { version, message: m });
    for (const [n, m] of set.clusters) this.clusters.set(n, { version, message: m });
    for (const [n, m] of set.endpoints) this.endpoints.set(n, { version, message: m });
  }
}
