/**
 * The push pipeline: registry changes → debounce → regenerate what the change touched → resource
 * cache (which wakes the streams that need the change).
 *
 * Views, classes and the shared memo (measured causes in docs/benchmarks.md, "Fixes"):
 * - A *view* is what the xDS server binds a stream to (its key comes from the node: kind, namespace,
 *   locality, network, labels, own workloads). Proxies of one workload set share a view
 *   (proxy-views.ts counts the streams on each).
 * - Many views receive identical configuration: with no policy that reads labels, locality or
 *   network, and every service exported everywhere under one namespace, they all get the same.
 *   Views are grouped in *classes* (view-classes.ts) keyed by the client attributes that something
 *   in the mesh can read (relevance.ts, derived from the registry); the cache holds one snapshot per
 *   class and aliases every view to its class. Bench S2 (2,000 proxies, 1,000 distinct label sets)
 *   went from one generated and encoded configuration per view to one; bench S3 (500 proxies in 100
 *   namespaces, 30k services) from 100 full generations of 30k services while proxies connect
 *   (56 s) to one.
 * - Per service, the generated resources are memoised across classes (service-memo.ts) under a key
 *   made only of the client attributes that can change *that* service's output, so an endpoint
 *   change is generated and encoded once, not once per class.
 * - A push that carries only service changes regenerates, in each class, only the hosts that
 *   changed and hands the cache the difference (class-feed.ts); policy changes regenerate every
 *   class (from the memo where possible). Bench S4: the cost of one endpoint change no longer grows
 *   with the number of services.
 *
 * Generators opt in to sharing across views (`sharedAcrossViews`): the relevance rules describe
 * what the gRPC generator reads of the client. Others get one class per view.
 */
import { debounce, type Debouncer } from '../../lib/async/debounce.js';
import type { MergedService } from '../../model/mesh/types.js';
import type { Registry } from '../../registry/registry.js';
import type { ViewSources } from '../../registry/view/clusters.js';
import type { ResourceSink, ViewKey } from '../cache/resource-cache.js';
import type { ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import { ClassFeed } from './class-feed.js';
import { DEFAULT_DEBOUNCE_MAX_MS, DEFAULT_DEBOUNCE_MS } from './push-timing.js';
import { NameTables } from './name-tables.js';
import { HostDefinitions, sharedPartStale } from './host-definitions.js';
import type { Generator } from './generator.js';
import { ProxyViews } from './proxy-views.js';
import { deriveRelevance, type Relevance, type RelevanceCollections } from './relevance.js';
import { ServiceMemo } from './service-memo.js';
import { ViewClasses } from './view-classes.js';
import type { GeneratorKind, ViewSpec } from './view.js';

export interface PushInfo {
  /** Seconds from the first change of the batch to the push. */
  readonly debounceSeconds: number;
  readonly pushSeconds: number;
  readonly views: number;
  readonly regeneratedServices: number;
  readonly changes: number;
  /** performance.now() of the first change in the batch. */
  readonly firstChangeAt: number;
}

export interface PipelineOptions {
  readonly registry: Registry;
  readonly cache: ResourceSink;
  readonly generators: Readonly<Partial<Record<GeneratorKind, Generator>>>;
  readonly debounceMs?: number;
  readonly debounceMaxMs?: number;
  readonly onPush?: (info: PushInfo) => void;
  /** A push threw (a bug: the push's changes may be lost until the hosts change again). */
  readonly onPushError?: (error: unknown) => void;
  /**
   * The caller tells the pipeline every stream request (noteRequested): classes of generators that
   * serve clients subscribing by name (Generator.onDemand, proxyless gRPC) then hold only the hosts
   * their streams asked for (demand.ts). Default false: every class holds every visible service.
   */
  readonly generateOnDemand?: boolean;
}

type Change = 'services' | 'policy' | 'workloads';


/** Whether the generator's view-wide part reads the services (Envoy; the proxyless one does not). */
function sharedReadsServices(generator: Generator | undefined): boolean {
  return generator?.outbound !== undefined || (generator?.shared !== undefined && generator.sharedAcrossViews !== true);
}

export class XdsPipeline {
  private readonly derived: RelevanceCollections;
  /** The relevance of the last push (read lazily before the first): views are classified by it. */
  private relevance: Relevance | undefined;
  private readonly memo: ServiceMemo;
  private readonly feed: ClassFeed;
  /** NDS: the DNS name table of each Envoy class (name-tables.ts). */
  readonly nameTables: NameTables;
  private readonly classes: ViewClasses;
  private readonly views: ProxyViews;
  private readonly hostDefinitions: HostDefinitions;
  private dirtyHosts = new Set<string>();
  private dirtyWorkloads = new Set<string>();
  private readonly debouncer: Debouncer<Change>;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly o: PipelineOptions) {
    this.derived = deriveRelevance(o.registry);
    const relevance = (): Relevance => this.currentRelevance();
    const sharesAcrossViews = (kind: GeneratorKind): boolean => o.generators[kind]?.sharedAcrossViews === true;
    const onDemand = (kind: GeneratorKind): boolean => o.generateOnDemand === true && o.generators[kind]?.onDemand === true;
    const workloadsByAddress = o.registry.workloads.index('address', (w) => (w.address === '' ? [] : [w.address]));
    this.hostDefinitions = new HostDefinitions((host) => o.registry.servicesByHost.lookup(host));
    this.memo = new ServiceMemo({ relevance, facts: this.derived.facts });
    this.feed = new ClassFeed({ relevance, registry: o.registry, cache: o.cache, generators: o.generators, memo: this.memo, workloadsByAddress });
    this.nameTables = new NameTables({ registry: o.registry, cache: o.cache });
    this.classes = new ViewClasses({
      sharesAcrossViews,
      created: (c, sources) => {
        if (sharedReadsServices(o.generators[c.spec.kind])) this.hostDefinitions.seed(sources.services);
        this.feed.generateFull(c, sources);
        this.nameTables.build(c, sources);
      },
      demanded: (c, added, sources) => this.feed.generateDemanded(c, sources, added),
      alias: (view, classKey) => o.cache.alias(view, classKey),
      dropped: (classKey) => {
        o.cache.dropView(classKey);
        this.feed.forgetClass(classKey);
        this.memo.forgetClass(classKey);
        this.nameTables.forget(classKey);
      },
    });
    this.views = new ProxyViews({ classes: this.classes, workloadsByAddress, relevance, sources: () => this.sources(), onDemand });
    this.debouncer = debounce<Change>(
      { quietMs: o.debounceMs ?? DEFAULT_DEBOUNCE_MS, maxMs: o.debounceMaxMs ?? DEFAULT_DEBOUNCE_MAX_MS, ...(o.onPushError ? { onError: o.onPushError } : {}) },
      (batch, firstAt) => this.push(batch, firstAt),
    );
  }

  /** Subscribes to the registry. Construct, then start (STYLE principle 3). */
  start(): void {
    const r = this.o.registry;
    this.unsubscribe.push(
      r.services.subscribe((events) => {
        for (const e of events) {
          if (e.old) this.dirtyHosts.add(e.old.host);
          if (e.new) this.dirtyHosts.add(e.new.host);
          if (e.old && !e.new) this.memo.forgetService(e.old.key);
        }
        this.debouncer.trigger('services');
      }),
    );
    this.unsubscribe.push(
      r.workloads.subscribe((events) => {
        for (const e of events) {
          const key = (e.new ?? e.old)?.key;
          if (key !== undefined) this.dirtyWorkloads.add(key);
        }
        this.debouncer.trigger('workloads');
      }),
    );
    for (const c of [r.inputs.DestinationRule, r.inputs.VirtualService, r.inputs.PeerAuthentication, r.inputs.AuthorizationPolicy, r.gateways, r.mesh]) {
      this.unsubscribe.push(c.subscribe(() => this.debouncer.trigger('policy')));
    }
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await this.debouncer.flushNow();
    this.debouncer.close();
  }

  /**
   * The view a proxy belongs to (the xDS server's `viewOf`). A new view's class is generated at
   * once, so the proxy's first requests are answered from it.
   */
  viewOf(proxy: ProxyIdentity): ViewKey {
    return this.views.viewOf(proxy);
  }

  /** A stream of this view closed (`stream`: as given to noteRequestedListeners); the view is dropped when none is left. */
  release(view: ViewKey, stream?: string): void {
    this.views.release(view, stream);
  }

  /**
   * Issue 7: the Listener names a stream of `view` subscribed to (an LDS request). A proxyless view
   * that asks for server-side inbound listeners (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`) moves
   * to a class that generates them: for the workload of the view's namespace at that IP, else a
   * plaintext router-only listener so the server still starts (never another namespace's workload).
   */
  noteRequestedListeners(view: ViewKey, names: readonly string[], stream = ''): void {
    this.views.noteRequestedListeners(view, names, stream);
  }

  /**
   * A stream of `view` requested `names` of `typeUrl` (SotW: its whole subscription; delta: the names
   * it added; `wildcard`: it subscribes to every resource of the type). With generateOnDemand, a class
   * generated on demand generates the hosts it lacks now, so the request is answered with them.
   */
  noteRequested(view: ViewKey, typeUrl: string, names: readonly string[], wildcard: boolean): void {
    this.views.noteRequested(view, typeUrl, names, wildcard);
  }

  viewSpecs(): ViewSpec[] {
    return this.views.specs();
  }

  /** Forces a push now (tests, shutdown). */
  flush(): Promise<void> {
    return this.debouncer.flushNow();
  }

  private push(batch: readonly Change[], firstAt: number): void {
    const started = performance.now();
    const generation = ++this.feed.generation;
    const policy = batch.includes('policy');
    if (policy) {
      this.memo.policyChanged();
      this.feed.policyChanged();
    }
    const hosts = this.dirtyHosts;
    const workloads = this.dirtyWorkloads;
    this.dirtyHosts = new Set();
    this.dirtyWorkloads = new Set();
    this.feed.changedHosts = hosts;
    const sources = this.sources();
    let regenerated = 0;

    const before = this.relevance;
    const rel = (this.relevance = this.derived.relevance.value());
    if (before !== undefined && before.signature !== rel.signature) this.views.reclassify(rel, sources);
    const hostChanges = this.hostDefinitions.changes(hosts);
    if (hostChanges.definitions) this.feed.definitionsChanged();
    this.nameTables.refresh(sources, hosts);
    for (const c of this.classes.values()) {
      if (c.generated === generation) continue;
      const generator = this.o.generators[c.spec.kind];
      // Shared resources are rebuilt only when what they read changed. The Envoy shared part
      // (outbound listeners and routes, own inbound listeners) reads the services' definitions and
      // which workloads back them (host-definitions.ts): rebuilt when those changed, next to the
      // per-host increments. The proxyless shared part (a server's inbound listeners) reads only the
      // workloads and policies: rebuilt alone for views that have one.
      const readsServices = sharedReadsServices(generator);
      const sharedAlone = generator?.shared !== undefined && !readsServices && (c.spec.inboundRequests?.length ?? 0) > 0;
      const full = policy || c.spec.ownWorkloads.some((k) => workloads.has(k));
      if (full) regenerated += this.feed.generateFull(c, sources);
      else {
        if (hosts.size > 0) regenerated += this.feed.generateHosts(c, sources, hosts);
        if (sharedAlone || (readsServices && hosts.size > 0 && sharedPartStale(hostChanges, c.spec.ownWorkloads))) this.feed.generateShared(c, sources);
      }
    }
    const done = performance.now();
    this.o.onPush?.({
      debounceSeconds: (started - firstAt) / 1000,
      pushSeconds: (done - started) / 1000,
      views: this.views.size,
      regeneratedServices: regenerated,
      changes: batch.length,
      firstChangeAt: firstAt,
    });
  }

  private currentRelevance(): Relevance {
    return (this.relevance ??= this.derived.relevance.value());
  }

  private sources(): ViewSources {
    const r = this.o.registry;
    let services: MergedService[] | undefined;
    // `services` (every service, O(size)) is needed only for full generations: listed on demand.
    return {
      mesh: r.mesh.value(),
      get services(): MergedService[] {
        return (services ??= r.services.list());
      },
      destinationRules: r.inputs.DestinationRule.list(),
      peerAuthentications: r.inputs.PeerAuthentication.list(),
      authorizationPolicies: r.inputs.AuthorizationPolicy.list(),
      gateways: r.gateways.value(),
    };
  }
}
