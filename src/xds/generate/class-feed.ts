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
import { createHash } from 'node:crypto';
import { toBinary } from '@bufbuild/protobuf';
import type { ResourceInput, ResourceSink } from '../cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types/resource-types.js';
import type { Generator } from './generator.js';
import { parseInboundListenerName } from './names.js';
import { emptyResourceSet, mergeInto, type ResourceSet } from './resource-set.js';
import type { ServiceMemo } from './service-memo.js';
import type { Relevance } from './relevance.js';
import { relevanceClassKeyOf, type ClassState } from './view-classes.js';
import { DemandWinners, type Demand } from './demand.js';
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

type Owned = ClassState['owned'] extends Map<string, infer O> ? O : never;

/** What regenerating some hosts changed, and how many services it generated. */
interface HostChanges {
  readonly upserts: TypedInputs;
  readonly removals: Removals;
  readonly rebuilt: number;
}

/**
 * The outbound state of one relevance class, shared by reference by its classes when they read
 * SHARED_TYPES from one slot (Envoy sidecars: a class each). Measured cause (bench S6): every
 * sidecar class kept its own `winners` and `owned` maps over every service and regenerated each
 * changed host itself.
 */
interface OutboundGroup {
  readonly winners: Map<string, MergedService>;
  readonly owned: Map<string, Owned>;
  /** The policy generation it was built under: a policy change rebuilds it. */
  readonly policy: number;
  /** The push generation whose changed hosts it applied. */
  advanced: number;
  /** The last push's changes: its clusters and listeners are applied by each class to its own slots. */
  perClass: HostChanges;
}

/** A class's view-wide resources (`all`), its own part alone, and the memoised outbound part they include. */
interface SharedParts {
  readonly all: ResourceSet;
  readonly own: ResourceSet;
  readonly outbound: ResourceSet | undefined;
}

/** The types a class holds for itself: read from an own-part slot when it has one. */
const PER_CLASS_TYPES = [CLUSTER, LISTENER] as const;

/**
 * A slot holding the CDS and LDS of every class of one relevance class whose own part (the
 * generator's `shared`: an Envoy sidecar's inbound clusters and listeners) has the same content:
 * the relevance class's clusters and listeners plus that own part. Measured cause (bench S6): each
 * of 2,000 sidecars had its own CDS and LDS slot of ~1,000 resources (maps, snapshot, selection and
 * response per sidecar) though sidecars serving the same ports under the same policies hold the
 * very same ones.
 */
interface OwnSlot {
  /** Classes reading it. */
  readers: number;
  /** The push generation it was last brought up to (written in full, or the push's changes applied). */
  current: number;
  /** The push generation whose shared-part changes it applied (generateShared). */
  sharedAt: number;
}

/** Content hashes of own parts (ownSlotName): an own part built once for many classes is hashed once. */
const ownPartHashes = new WeakMap<ResourceSet, string>();

/** The own-part slot of relevance slot `slot` for own part `own`: named by its content. */
function ownSlotName(slot: string, own: ResourceSet): string {
  let known = ownPartHashes.get(own);
  if (known === undefined) ownPartHashes.set(own, (known = ownPartHash(own)));
  return `${slot}|own:${known}`;
}

function ownPartHash(own: ResourceSet): string {
  const hash = createHash('sha256');
  for (const [kind, type] of [['listeners', LISTENER], ['routes', ROUTE], ['clusters', CLUSTER], ['endpoints', ENDPOINT]] as const) {
    for (const [name, message] of [...own[kind]].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      hash.update(`${kind}\n${name}\n`);
      hash.update(toBinary(type.schema as never, message as never));
    }
  }
  return hash.digest('base64url').slice(0, 22);
}

/** Distinct own parts kept at most (Generator.sharedKey); beyond it the memo starts over. */
const OWN_PART_MEMO_LIMIT = 10_000;

export class ClassFeed {
  /** Push generation; a class generated in full in the current one is not generated again by its push. */
  generation = 0;
  /** Version tokens of the generators' shared parts (unique per feed: a cache is fed by one pipeline). */
  private sharedVersion = 0;
  /** Generator.outbound results by relevance class key, valid for one policy and one definitions generation. */
  private readonly outboundMemo = new Map<string, { policy: number; definitions: number; resources: ResourceSet }>();
  private policyGeneration = 0;
  /** Bumped when a push changed some service's definition (host-definitions.ts): outbound parts are stale. */
  private definitionsGeneration = 0;
  /**
   * Generator.shared results by Generator.sharedKey, valid for one policy generation. Measured cause
   * (bench S6 connect, 500 sidecars): each sidecar's inbound side was built, encoded and hashed
   * for its class (~1 ms) though sidecars of one service port and policy get the same one. As with
   * outboundMemo, a class made between a policy change and its push reads the memo of the last push;
   * that push regenerates every class.
   */
  private readonly ownPartMemo = new Map<string, ResourceSet>();
  /** Class key → the shared slot it reads SHARED_TYPES from, and shared slot → how many classes read it. */
  private readonly sharedSlotOf = new Map<string, string>();
  private readonly sharedSlotReaders = new Map<string, number>();
  /** Shared slot → the outbound state of its relevance class (winners, per-host results). */
  private readonly groups = new Map<string, OutboundGroup>();
  /** Shared slot → what its EDS and RDS were last written in full from (generateFull). */
  private readonly sharedSlotWrites = new Map<string, { group: OutboundGroup; outbound: ResourceSet | undefined; generation: number }>();
  /**
   * Class key → the slot it reads CDS and LDS from (an own-part slot, see OwnSlot), and each such
   * slot's state. Only classes that read a shared slot (sharedSlotFor) use them.
   */
  private readonly ownSlotOf = new Map<string, string>();
  private readonly ownSlots = new Map<string, OwnSlot>();
  /** The hosts the current push regenerates (set by the pipeline with `generation`). */
  changedHosts: ReadonlySet<string> = new Set();

  constructor(private readonly o: ClassFeedOptions) {}

  /**
   * Some service's definition changed, or a host appeared or went (HostChanges.definitions): the
   * memoised outbound parts are stale. Endpoint changes (weights, health, workloads joining) are not.
   */
  definitionsChanged(): void {
    this.definitionsGeneration++;
    this.outboundMemo.clear();
  }

  /** Policies changed: memoised outbound parts are stale. */
  policyChanged(): void {
    this.policyGeneration++;
    this.outboundMemo.clear();
    this.ownPartMemo.clear();
  }

  /**
   * The class's view-wide resources (`all`: the generator's outbound part, memoised, and its own
   * shared part) and the own part alone (the generator's `shared`: what differs between classes of
   * one relevance class).
   */
  private sharedParts(generator: Generator, c: ClassState, ctx: ViewContext): SharedParts {
    const out = emptyResourceSet();
    let own = emptyResourceSet();
    const outbound = generator.outbound ? this.outboundOf(generator, c, ctx) : undefined;
    if (outbound !== undefined) mergeInto(out, outbound);
    if (generator.shared) {
      own = this.ownPartOf(generator, ctx, c.winners);
      if (this.sharedSlotFor(c) !== undefined) assertNoSharedTypes(own, c.spec.kind);
      mergeInto(out, own);
    }
    return { all: out, own, outbound };
  }

  /** Generator.shared for this context, memoised by Generator.sharedKey when the generator has one. */
  private ownPartOf(generator: Generator, ctx: ViewContext, winners: ReadonlyMap<string, MergedService>): ResourceSet {
    const build = (): ResourceSet => (generator.shared ? generator.shared(ctx, winners) : emptyResourceSet());
    if (generator.sharedKey === undefined) return build();
    const key = generator.sharedKey(ctx);
    let own = this.ownPartMemo.get(key);
    if (own === undefined) {
      if (this.ownPartMemo.size >= OWN_PART_MEMO_LIMIT) this.ownPartMemo.clear();
      this.ownPartMemo.set(key, (own = build()));
    }
    return own;
  }

  /**
   * Generator.outbound for this class, shared by every class of the same relevance class (its own
   * workloads and inbound requests left out) while no policy and no service definition changed: the
   * outbound part reads the services' definitions only (as HostDefinitions decides them), so an
   * endpoint change keeps it. Measured cause (bench S6, 500 sidecars): each endpoint change rebuilt
   * the outbound listeners and routes of 1,000 services, and encoded them, for the class of the
   * workload that changed (~45 ms, a sixth of the change's CPU). A class made between a registry
   * change and its push reads the memo of the last push, as every other class still does until
   * that push regenerates the stale parts of all of them.
   */
  private outboundOf(generator: Generator, c: ClassState, ctx: ViewContext): ResourceSet {
    const key = relevanceClassKeyOf(c.spec, this.o.relevance());
    const hit = this.outboundMemo.get(key);
    if (hit !== undefined && hit.policy === this.policyGeneration && hit.definitions === this.definitionsGeneration) return hit.resources;
    const resources = (generator.outbound as NonNullable<Generator['outbound']>)(ctx, c.winners);
    this.outboundMemo.set(key, { policy: this.policyGeneration, definitions: this.definitionsGeneration, resources });
    return resources;
  }

  /**
   * Regenerates one class from `sources`; returns how many services were rebuilt. `parts`: its
   * shared parts when the caller has just built them (generateShared moving a class).
   */
  generateFull(c: ClassState, sources: ViewSources, parts?: SharedParts): number {
    c.generated = this.generation;
    const generator = this.o.generators[c.spec.kind];
    if (!generator) return 0;
    const ctx = this.context(c, sources);
    const slot = this.sharedSlotFor(c);
    let rebuilt: number;
    let group: OutboundGroup | undefined;
    if (slot === undefined) {
      const all = this.buildAll(generator, ctx, c.key, sources, c.demand);
      c.winners = all.winners;
      c.owned = all.owned;
      rebuilt = all.rebuilt;
    } else {
      // The relevance class's state, shared by reference (never modified per class).
      const shared = this.groupOf(slot, generator, ctx, sources);
      group = shared.state;
      c.winners = group.winners;
      c.owned = group.owned;
      rebuilt = shared.rebuilt;
    }
    let ownSlot: string | undefined;
    let shared: SharedParts | undefined;
    if (generator.shared || generator.outbound) {
      shared = parts ?? this.sharedParts(generator, c, ctx);
      c.sharedOwned = shared.all;
      if (slot !== undefined) ownSlot = ownSlotName(slot, shared.own);
    }
    const cache = this.o.cache;
    // An own-part slot already brought up to this push holds exactly these clusters and listeners.
    const known = ownSlot === undefined ? undefined : this.ownSlots.get(ownSlot);
    const write = ownSlot === undefined || known === undefined || known.current !== this.generation;
    // The shared slot's EDS and RDS come from the relevance class's state and outbound part alone
    // (an own part holds neither: assertNoSharedTypes): written in full by a class of this push
    // generation from the same two, they are these. Measured cause (bench S6 connect): every
    // sidecar class collected and handed the cache ~1,000 endpoints and routes to find them equal.
    const from = group === undefined ? undefined : { group, outbound: shared?.outbound, generation: this.generation };
    const last = slot === undefined ? undefined : this.sharedSlotWrites.get(slot);
    const sharedCurrent = from !== undefined && last !== undefined && last.group === from.group && last.outbound === from.outbound && last.generation === from.generation;
    if (!write && sharedCurrent) {
      this.readOwnSlot(c.key, ownSlot);
      this.readSharedSlot(c.key, slot);
      return rebuilt;
    }
    const sets = new TypedInputs();
    for (const { token, resources } of c.owned.values()) sets.add(resources, token);
    if (shared !== undefined) sets.add(shared.all, this.nextSharedVersion());
    const perClassSlot = ownSlot ?? c.key;
    if (write) cache.setResources(perClassSlot, CLUSTER, sets.clusters);
    this.readOwnSlot(c.key, ownSlot);
    if (!sharedCurrent) {
      cache.setResources(slot ?? c.key, ENDPOINT, sets.endpoints);
      cache.setResources(slot ?? c.key, ROUTE, sets.routes);
      if (slot !== undefined && from !== undefined) this.sharedSlotWrites.set(slot, from);
    }
    this.readSharedSlot(c.key, slot);
    if (write) cache.setResources(perClassSlot, LISTENER, sets.listeners);
    if (ownSlot !== undefined && write) (this.ownSlots.get(ownSlot) as OwnSlot).current = this.generation;
    return rebuilt;
  }

  /** Regenerates the given hosts of one class and hands the cache only the differences. */
  generateHosts(c: ClassState, sources: ViewSources, hosts: ReadonlySet<string>): number {
    const generator = this.o.generators[c.spec.kind];
    if (!generator) return 0;
    const slot = this.sharedSlotFor(c);
    // The relevance changed under the class: its shared slot is another one, written in full.
    if (slot !== this.sharedSlotOf.get(c.key)) return this.generateFull(c, sources);
    const ctx = this.context(c, sources);
    if (slot === undefined) {
      const demand = c.demand;
      const wanted = demand === undefined || demand === 'all' ? hosts : [...hosts].filter((h) => demand.has(h));
      const changes = this.applyHosts(generator, ctx, c.key, sources, wanted, c.winners, c.owned);
      this.update(c.key, changes.upserts, changes.removals, 'changed types');
      return changes.rebuilt;
    }
    // Done once per relevance class and push; each class applies the per-class part to its own slots.
    const group = this.groupOf(slot, generator, ctx, sources, hosts);
    const own = this.ownSlotOf.get(c.key);
    const state = own === undefined ? undefined : this.ownSlots.get(own);
    if (state !== undefined) {
      // Classes reading one own-part slot apply it once per push.
      if (state.current === this.generation) return group.rebuilt;
      state.current = this.generation;
    }
    this.update(c.key, group.state.perClass.upserts, group.state.perClass.removals, 'changed types', 'per-class types');
    return group.rebuilt;
  }

  /**
   * A class generated on demand (demand.ts) was asked for more hosts: generates them (`all`: the
   * class in full) and hands the cache the additions, before the request that asked is answered.
   */
  generateDemanded(c: ClassState, sources: ViewSources, added: Demand): void {
    const generator = this.o.generators[c.spec.kind];
    if (!generator) return;
    if (added === 'all' || this.sharedSlotFor(c) !== undefined) {
      this.generateFull(c, sources);
      return;
    }
    const changes = this.applyHosts(generator, this.context(c, sources), c.key, sources, added, c.winners, c.owned);
    this.update(c.key, changes.upserts, changes.removals, 'changed types');
  }

  /**
   * Every visible service's resources for one class (or relevance class: `memoKey`); with a demand
   * (demand.ts), those of the demanded hosts only.
   */
  private buildAll(
    generator: Generator,
    ctx: ViewContext,
    memoKey: string,
    sources: ViewSources,
    demand?: Demand,
  ): { winners: Map<string, MergedService>; owned: Map<string, Owned>; rebuilt: number } {
    const client = ctx.spec.client;
    let services: MergedService[];
    let winners: Map<string, MergedService>;
    if (demand === undefined || demand === 'all') {
      services = servicesForClient(sources, client);
      winners = new Map(services.map((s) => [s.host, s]));
    } else {
      winners = new DemandWinners((host) => this.winnerFor(host, client, sources.mesh));
      services = [];
      for (const host of [...demand].sort()) {
        const winner = this.winnerFor(host, client, sources.mesh);
        if (winner === undefined) continue;
        services.push(winner);
        winners.set(host, winner);
      }
    }
    const owned = new Map<string, Owned>();
    let rebuilt = 0;
    for (const service of services) {
      const { resources, token, built } = this.o.memo.resourcesOf(generator, ctx, memoKey, service, sources, winners);
      if (built) rebuilt++;
      owned.set(service.host, { token, resources });
    }
    return { winners, owned, rebuilt };
  }

  /** Regenerates `hosts` into `winners` and `owned` (modified) and returns what changed. */
  private applyHosts(
    generator: Generator,
    ctx: ViewContext,
    memoKey: string,
    sources: ViewSources,
    hosts: Iterable<string>,
    winners: Map<string, MergedService>,
    owned: Map<string, Owned>,
  ): HostChanges {
    const { upserts, removals } = noHostChanges();
    const remove = (set: ResourceSet, keep: ResourceSet | undefined): void => {
      for (const kind of KINDS) for (const name of set[kind].keys()) if (!keep?.[kind].has(name)) removals[kind].push(name);
    };
    let rebuilt = 0;
    for (const host of hosts) {
      const before = owned.get(host);
      const winner = this.winnerFor(host, ctx.spec.client, sources.mesh);
      if (winner === undefined) {
        winners.delete(host);
        if (before) remove(before.resources, undefined);
        owned.delete(host);
        continue;
      }
      winners.set(host, winner);
      const { resources, token, built } = this.o.memo.resourcesOf(generator, ctx, memoKey, winner, sources, winners);
      if (built) rebuilt++;
      if (before?.token === token) continue;
      if (before) remove(before.resources, resources);
      upserts.add(resources, token);
      owned.set(host, { token, resources });
    }
    return { upserts, removals, rebuilt };
  }

  /**
   * The state of relevance class `slot`, brought up to this push: built in full when new or after a
   * policy change; else, once per push, the push's changed hosts applied (`hosts`, default the
   * push's), their SHARED_TYPES written to the slot and the rest kept for each class (`perClass`).
   * `rebuilt`: services generated by this call.
   */
  private groupOf(slot: string, generator: Generator, ctx: ViewContext, sources: ViewSources, hosts: ReadonlySet<string> = this.changedHosts): { state: OutboundGroup; rebuilt: number } {
    const known = this.groups.get(slot);
    if (known === undefined || known.policy !== this.policyGeneration) {
      const all = this.buildAll(generator, ctx, slot, sources);
      const state: OutboundGroup = { winners: all.winners, owned: all.owned, policy: this.policyGeneration, advanced: this.generation, perClass: noHostChanges() };
      this.groups.set(slot, state);
      return { state, rebuilt: all.rebuilt };
    }
    if (known.advanced === this.generation) return { state: known, rebuilt: 0 };
    known.advanced = this.generation;
    const changes = this.applyHosts(generator, ctx, slot, sources, hosts, known.winners, known.owned);
    const cache = this.o.cache;
    if (changes.upserts.endpoints.size > 0 || changes.removals.endpoints.length > 0) cache.updateResources(slot, ENDPOINT, changes.upserts.endpoints, changes.removals.endpoints);
    if (changes.upserts.routes.size > 0 || changes.removals.routes.length > 0) cache.updateResources(slot, ROUTE, changes.upserts.routes, changes.removals.routes);
    known.perClass = changes;
    return { state: known, rebuilt: changes.rebuilt };
  }

  /** Rebuilds the generator's shared part of one class alone (it must not read the services) and hands the cache the differences. */
  generateShared(c: ClassState, sources: ViewSources): void {
    const generator = this.o.generators[c.spec.kind];
    if (!generator || (!generator.shared && !generator.outbound)) return;
    const parts = this.sharedParts(generator, c, this.context(c, sources));
    const next = parts.all;
    const slot = this.sharedSlotFor(c);
    const own = this.ownSlotOf.get(c.key);
    if (slot !== undefined && own !== undefined) {
      // Its own part changed content: the class reads another own-part slot, written in full if new.
      if (ownSlotName(slot, parts.own) !== own) {
        this.generateFull(c, sources, parts);
        return;
      }
      const state = this.ownSlots.get(own) as OwnSlot;
      if (state.sharedAt === this.generation) {
        c.sharedOwned = next;
        return;
      }
      state.sharedAt = this.generation;
    }
    const before = c.sharedOwned ?? emptyResourceSet();
    c.sharedOwned = next;
    // The cache compares encoded contents: unchanged resources are not pushed again.
    const upserts = new TypedInputs();
    upserts.add(next, this.nextSharedVersion());
    const removed = (kind: Kind): string[] => [...before[kind].keys()].filter((name) => !next[kind].has(name));
    this.update(c.key, upserts, { listeners: removed('listeners'), routes: removed('routes'), clusters: removed('clusters'), endpoints: removed('endpoints') }, 'every type');
  }

  /** Hands the cache `upserts` and `removals` of one class, for every type or only those with a change. */
  private update(classKey: string, upserts: TypedInputs, removals: Removals, which: 'every type' | 'changed types', only?: 'per-class types'): void {
    const cache = this.o.cache;
    const slot = this.sharedSlotOf.get(classKey) ?? classKey;
    const perClassSlot = this.ownSlotOf.get(classKey) ?? classKey;
    const changed = (kind: Kind): boolean => which === 'every type' || upserts[kind].size > 0 || removals[kind].length > 0;
    const shared = (kind: SharedKind): boolean => only === undefined && changed(kind);
    if (changed('clusters')) cache.updateResources(perClassSlot, CLUSTER, upserts.clusters, removals.clusters);
    if (shared('endpoints')) cache.updateResources(slot, ENDPOINT, upserts.endpoints, removals.endpoints);
    if (changed('listeners')) cache.updateResources(perClassSlot, LISTENER, upserts.listeners, removals.listeners);
    if (shared('routes')) cache.updateResources(slot, ROUTE, upserts.routes, removals.routes);
  }

  /**
   * Points the class's CDS and LDS at own-part slot `ownSlot` (already written: make-before-break),
   * or back at its own slots (undefined), and releases the slot it read before; an own-part slot no
   * class reads any more is dropped.
   */
  private readOwnSlot(classKey: string, ownSlot: string | undefined): void {
    const before = this.ownSlotOf.get(classKey);
    if (before === ownSlot) return;
    for (const type of PER_CLASS_TYPES) this.o.cache.aliasType?.(classKey, type.typeUrl, ownSlot);
    if (ownSlot !== undefined) {
      this.ownSlotOf.set(classKey, ownSlot);
      let state = this.ownSlots.get(ownSlot);
      if (state === undefined) this.ownSlots.set(ownSlot, (state = { readers: 0, current: -1, sharedAt: -1 }));
      state.readers++;
    } else this.ownSlotOf.delete(classKey);
    if (before === undefined) return;
    const state = this.ownSlots.get(before);
    if (state !== undefined && --state.readers > 0) return;
    this.ownSlots.delete(before);
    this.o.cache.dropView(before);
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
      this.sharedSlotWrites.delete(before);
      this.groups.delete(before);
      this.o.memo.forgetClass(before);
      this.o.cache.dropView(before);
    }
  }

  /** A class was dropped: it no longer reads its shared slot. */
  forgetClass(classKey: string): void {
    this.readOwnSlot(classKey, undefined);
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

function noHostChanges(): HostChanges {
  return { upserts: new TypedInputs(), removals: { listeners: [], routes: [], clusters: [], endpoints: [] }, rebuilt: 0 };
}

/** A generator whose per-service results are shared across views must keep SHARED_TYPES out of its own `shared` part. */
function assertNoSharedTypes(own: ResourceSet, kind: GeneratorKind): void {
  const kinds: readonly SharedKind[] = SHARED_TYPES.map(([k]) => k);
  const found = kinds.find((k) => own[k].size > 0);
  if (found !== undefined) throw new Error(`the ${kind} generator's shared part yields ${found}, which its classes read from their relevance class (class-feed.ts SHARED_TYPES)`);
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
