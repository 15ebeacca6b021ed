/**
 * The push pipeline: registry changes → debounce → regenerate what the change touched → resource
 * cache (which wakes the streams that need the change).
 *
 * Views, classes and the shared memo (measured causes in docs/benchmarks.md, "Fixes"):
 * - A *view* is what the xDS server binds a stream to (its key comes from the node: kind, namespace,
 *   locality, network, labels, own workloads). Proxies of one workload set share a view.
 * - Many views receive identical configuration: with no policy that reads labels, locality or
 *   network, and every service exported everywhere under one namespace, they all get the same.
 *   Views are grouped in *classes* keyed by the client attributes that something in the mesh can
 *   read (`Relevance`); the cache holds one snapshot per class and aliases every view to its class.
 *   Bench S2 (2,000 proxies, 1,000 distinct label sets) went from one generated and encoded
 *   configuration per view to one; bench S3 (500 proxies in 100 namespaces, 30k services) from
 *   100 full generations of 30k services while proxies connect (56 s) to one.
 * - Per service, the generated resources are memoised across classes under a key made only of the
 *   client attributes that can change *that* service's output (no DestinationRule for its host and
 *   no VirtualService in the mesh: none), so an endpoint change is generated and encoded once,
 *   not once per class.
 * - A push that carries only service changes regenerates, in each class, only the hosts that
 *   changed and hands the cache the difference (`updateResources`); policy changes regenerate
 *   every class (from the memo where possible). Bench S4: the cost of one endpoint change no
 *   longer grows with the number of services.
 *
 * Generators opt in to sharing across views (`sharedAcrossViews`): the relevance rules below
 * describe what the gRPC generator reads of the client. Others get one class per view.
 */
import type { Registry } from '../../registry/registry.js';
import { resolveClientProxy, type ClientProxy } from '../../registry/view/client.js';
import { clustersForService, indexGateways, servicesForClient, type ViewSources } from '../../registry/view/clusters.js';
import { destinationRuleHost, hostMatches } from '../../registry/view/destination-rules.js';
import { isServiceVisible, winningService } from '../../registry/view/visibility.js';
import { debounce, type Debouncer } from '../../lib/async/debounce.js';
import type { Index } from '../../lib/krt/index.js';
import type { DestinationRule } from '../../model/config/types.js';
import { formatLocality } from '../../model/mesh/locality.js';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService, Workload } from '../../model/mesh/types.js';
import type { ResourceInput, ResourceSink, ViewKey } from '../cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types/resource-types.js';
import type { ProxyIdentity } from '../server/node-identity.js';
import { grpcInboundResources, grpcServiceResources } from './grpc.js';
import { CERTIFICATE_PROVIDER_INSTANCE, parseInboundListenerName } from './names.js';
import { emptyResourceSet, mergeInto, type ResourceSet } from './resource-set.js';
import { viewKeyOf, type GeneratorKind, type InboundRequest, type ViewContext, type ViewSpec } from './view.js';

/** A generator flavour: per-service resources, plus resources shared by all services of a view. */
export interface Generator {
  forService(ctx: ViewContext, service: MergedService, sources: ViewSources, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet;
  /** Resources that depend on all services (Envoy: port-level routes, virtual listeners, inbound). */
  shared?(ctx: ViewContext, perService: ReadonlyMap<string, ResourceSet>, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet;
  /**
   * The generator reads the client only through `clustersForService` (DestinationRules, locality
   * load balancing, network gateways) and the VirtualServices visible from its namespace, and not
   * the view's own workloads: views may then share classes and per-service results (see above).
   */
  readonly sharedAcrossViews?: boolean;
}

export const grpcGenerator: Generator = {
  forService(ctx, service, sources, servicesByHost) {
    const clusters = clustersForService(sources, ctx.spec.client, indexGateways(sources.gateways), service);
    return grpcServiceResources(ctx, { service, clusters }, servicesByHost);
  },
  shared(ctx) {
    return grpcInboundResources(ctx);
  },
  sharedAcrossViews: true,
};

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
}

interface ViewState {
  /** Replaced when the proxy's requested inbound listeners change (noteRequestedListeners). */
  spec: ViewSpec;
  /** Streams on this view. */
  refs: number;
  classKey: string;
  /**
   * The inbound Listener names each stream of this view asked for (noteRequestedListeners). The view
   * key does not hold the proxy's IP: two VMs of one WorkloadGroup share a view, and each must keep
   * its own listeners, so the view generates the union (SotW answers each stream its own names).
   */
  readonly requestsByStream: Map<string, readonly string[]>;
}

/** A group of views with identical configuration: one snapshot per type in the cache. */
interface ClassState {
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
}

/**
 * Which client attributes some policy in the mesh can read. Recomputed on every push; a change
 * re-classifies every view.
 */
interface Relevance {
  /**
   * Namespaces see different services or policies: a service not exported everywhere, a host
   * defined in several namespaces (D-4 prefers the client's), any DestinationRule or VirtualService.
   */
  readonly namespace: boolean;
  /** Network gateways exist: the client's network decides split-horizon EDS (N-*). */
  readonly network: boolean;
  /** Some locality-aware setting exists (a DestinationRule, mesh `distribute`, traffic-distribution). */
  readonly locality: boolean;
  /** Label keys read by DestinationRule workload selectors, or all labels when failoverPriority is used. */
  readonly labels: 'all' | readonly string[];
  readonly anyVirtualService: boolean;
  readonly meshDistribute: boolean;
  readonly rules: readonly DestinationRule[];
  readonly signature: string;
}

type Change = 'services' | 'policy' | 'workloads';

const TRAFFIC_DISTRIBUTION = 'networking.istio.io/traffic-distribution';

let tokenIds = new WeakMap<object, number>();
let nextTokenId = 1;
function objectToken(o: object): number {
  let id = tokenIds.get(o);
  if (id === undefined) tokenIds.set(o, (id = nextTokenId++));
  return id;
}
/** Test hook: forget object tokens. */
export function resetTokens(): void {
  tokenIds = new WeakMap();
}

export class XdsPipeline {
  private readonly views = new Map<ViewKey, ViewState>();
  private readonly classes = new Map<string, ClassState>();
  /** serviceKey → the service object and policy generation the entries were built from, memo key → resources. */
  private readonly memo = new Map<string, { service: MergedService; policy: number; byKey: Map<string, ResourceSet> }>();
  private policyGeneration = 0;
  private pushGeneration = 0;
  private relevance: Relevance | undefined;
  private dirtyHosts = new Set<string>();
  private dirtyWorkloads = new Set<string>();
  /** Services with the traffic-distribution annotation (locality-aware without any policy). */
  private readonly distributionAnnotated = new Set<string>();
  /** Services not exported to every namespace (their own exportTo, or the mesh default). */
  private readonly restrictedExport = new Set<string>();
  /** Hosts defined in more than one namespace. */
  private readonly sharedHosts = new Set<string>();
  private readonly debouncer: Debouncer<Change>;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly o: PipelineOptions) {
    this.debouncer = debounce<Change>({ quietMs: o.debounceMs ?? 100, maxMs: o.debounceMaxMs ?? 10_000 }, (batch, firstAt) => this.push(batch, firstAt));
  }

  /** Subscribes to the registry. Construct, then start (STYLE principle 3). */
  start(): void {
    const r = this.o.registry;
    for (const s of r.services.list()) this.noteService(s.key, s.host, s);
    this.unsubscribe.push(
      r.services.subscribe((events) => {
        for (const e of events) {
          if (e.old) this.dirtyHosts.add(e.old.host);
          if (e.new) this.dirtyHosts.add(e.new.host);
          if (e.old && e.old.host !== e.new?.host) this.noteService(e.old.key, e.old.host, undefined);
          const key = (e.new ?? e.old)?.key;
          const host = (e.new ?? e.old)?.host;
          if (key !== undefined && host !== undefined) this.noteService(key, host, e.new);
          if (e.old && !e.new) this.memo.delete(e.old.key);
        }
        this.debouncer.trigger('services');
      }),
    );
    // The mesh's default exportTo decides which services count as restricted.
    this.unsubscribe.push(
      r.mesh.subscribe(() => {
        for (const s of r.services.list()) this.noteService(s.key, s.host, s);
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
    const spec = this.specOf(proxy);
    let state = this.views.get(spec.key);
    if (!state) {
      const rel = this.currentRelevance();
      state = { spec, refs: 0, classKey: this.classKeyOf(spec, rel), requestsByStream: new Map() };
      this.views.set(spec.key, state);
      this.join(state, rel, this.sources());
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
      this.o.cache.alias(view, undefined);
      this.leave(state.classKey);
    }
  }

  /**
   * Issue 7: the Listener names a stream of `view` subscribed to (an LDS request). A proxyless view
   * that asks for server-side inbound listeners (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`) moves
   * to a class that generates them: for the workload of the view's namespace at that IP, else a
   * plaintext router-only listener so the server still starts (never another namespace's workload).
   */
  noteRequestedListeners(view: ViewKey, names: readonly string[], stream = ''): void {
    const state = this.views.get(view);
    if (state === undefined || state.spec.kind !== 'grpc') return;
    const inbound = names.filter((n) => parseInboundListenerName(n) !== undefined);
    if (inbound.length > 0) state.requestsByStream.set(stream, inbound);
    else if (!state.requestsByStream.delete(stream)) return;
    this.applyRequestedListeners(state);
  }

  /** Moves the view to the class of the union of its streams' inbound requests, if that changed. */
  private applyRequestedListeners(state: ViewState): void {
    const requested = [...new Set([...state.requestsByStream.values()].flat())].sort();
    if (requested.join(',') === (state.spec.inboundRequests ?? []).join(',')) return;
    const { inboundRequests: _previous, ...rest } = state.spec;
    state.spec = requested.length > 0 ? { ...rest, inboundRequests: requested } : rest;
    const rel = this.currentRelevance();
    const key = this.classKeyOf(state.spec, rel);
    if (key === state.classKey) return;
    const old = state.classKey;
    state.classKey = key;
    this.join(state, rel, this.sources());
    this.leave(old);
  }

  viewSpecs(): ViewSpec[] {
    return [...this.views.values()].map((v) => v.spec);
  }

  /** Forces a push now (tests, shutdown). */
  flush(): Promise<void> {
    return this.debouncer.flushNow();
  }

  private specOf(proxy: ProxyIdentity): ViewSpec {
    // L-10: a proxy whose IP is a WorkloadEntry's address is that workload (a VM's sidecar or agent).
    // Looked up by address (measured: filtering all 30k workloads for each of 500 connecting proxies
    // was 4 s of bench S3's connection phase); sorted by key as the registry's order is not defined.
    const candidates = proxy.ip !== undefined ? this.workloadsByAddress().lookup(proxy.ip) : [];
    const own: Workload[] = candidates
      // Issue 11: only a workload of the proxy's own namespace (a node without one is in `default`).
      .filter((w) => w.kind === 'WorkloadEntry' && w.namespace === (proxy.namespace ?? 'default'))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const l = proxy.locality;
    const nodeLocality = l.region !== '' || l.zone !== '' || l.subZone !== '' ? [l.region, l.zone, l.subZone].join('/').replace(/\/+$/, '') : undefined;
    const locality = own[0]?.locality || nodeLocality;
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

  private workloadsByAddress(): Index<Workload> {
    return this.o.registry.workloads.index('address', (w) => (w.address === '' ? [] : [w.address]));
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

  /** Keeps the per-service facts behind Relevance up to date (`service` undefined: gone). */
  private noteService(key: string, host: string, service: MergedService | undefined): void {
    if (service !== undefined && (service.annotations[TRAFFIC_DISTRIBUTION] ?? '') !== '') this.distributionAnnotated.add(key);
    else this.distributionAnnotated.delete(key);
    const mesh = this.o.registry.mesh.value();
    const exportTo = service === undefined ? ['*'] : service.exportTo.length > 0 ? service.exportTo : mesh.defaultServiceExportTo;
    if (exportTo.includes('*')) this.restrictedExport.delete(key);
    else this.restrictedExport.add(key);
    if (this.o.registry.servicesByHost.lookup(host).length > 1) this.sharedHosts.add(host);
    else this.sharedHosts.delete(host);
  }

  private currentRelevance(): Relevance {
    return (this.relevance ??= this.computeRelevance());
  }

  private computeRelevance(): Relevance {
    const r = this.o.registry;
    const mesh = r.mesh.value();
    const rules = r.inputs.DestinationRule.list();
    const anyVirtualService = r.inputs.VirtualService.size > 0;
    const meshLb = mesh.localityLbSetting;
    const meshDistribute = (meshLb?.distribute?.length ?? 0) > 0;
    const failoverPriority =
      (meshLb?.failoverPriority?.length ?? 0) > 0 || this.distributionAnnotated.size > 0 || rules.some(usesFailoverPriority);
    const selectorKeys = [...new Set(rules.flatMap((dr) => Object.keys(dr.spec.workloadSelector?.matchLabels ?? {})))].sort();
    const rel = {
      namespace: rules.length > 0 || anyVirtualService || this.restrictedExport.size > 0 || this.sharedHosts.size > 0,
      network: r.gateways.value().length > 0,
      locality: rules.length > 0 || meshDistribute || this.distributionAnnotated.size > 0,
      labels: failoverPriority ? ('all' as const) : selectorKeys,
      anyVirtualService,
      meshDistribute,
      rules,
    };
    return { ...rel, signature: JSON.stringify([rel.namespace, rel.network, rel.locality, rel.labels, anyVirtualService, meshDistribute]) };
  }

  /** The class a view belongs to: its kind and namespace, and what `rel` says can matter. */
  private classKeyOf(spec: ViewSpec, rel: Relevance): string {
    if (!this.o.generators[spec.kind]?.sharedAcrossViews) return `view|${spec.key}`;
    const c = this.classClient(spec.client, rel);
    const key = ['class', spec.kind, rel.namespace ? c.namespace : '*', rel.network ? c.network : '', rel.locality ? `${formatLocality(c.locality)}${c.hasLocality ? '' : '~'}` : '', labelString(c.labels)].join('|');
    // Issue 7: TLS-capable proxies and servers (own inbound listeners) never share with others.
    const server = spec.ownWorkloads.length > 0 ? `|own=${spec.ownWorkloads.join(',')}` : '';
    // Inbound listeners are generated for the workload of the class client's namespace (context()):
    // views of other namespaces asking for the same names never share the class (issue 11).
    const requested = (spec.inboundRequests?.length ?? 0) > 0 ? `|in=${spec.client.namespace}:${(spec.inboundRequests ?? []).join(',')}` : '';
    return `${key}${server}${requested}${spec.tls === true ? '|tls' : ''}`;
  }

  private classClient(client: ClientProxy, rel: Relevance): ClientProxy {
    if (rel.labels === 'all') return client;
    const labels: Record<string, string> = {};
    for (const k of rel.labels) {
      const v = client.labels[k];
      if (v !== undefined) labels[k] = v;
    }
    return { ...client, labels };
  }

  private join(view: ViewState, rel: Relevance, sources: ViewSources): void {
    let c = this.classes.get(view.classKey);
    if (!c) {
      const shared = this.o.generators[view.spec.kind]?.sharedAcrossViews === true;
      // The own workloads are part of the class key (classKeyOf): kept for the inbound side.
      const spec: ViewSpec = shared ? { ...view.spec, key: view.classKey, client: this.classClient(view.spec.client, rel) } : view.spec;
      c = { key: view.classKey, spec, views: 0, winners: new Map(), owned: new Map(), generated: -1 };
      this.classes.set(c.key, c);
      this.generateFull(c, sources);
    }
    c.views++;
    this.o.cache.alias(view.spec.key, c.key);
  }

  private leave(classKey: string): void {
    const c = this.classes.get(classKey);
    if (!c) return;
    c.views--;
    if (c.views <= 0) {
      this.classes.delete(classKey);
      this.o.cache.dropView(classKey);
      // Results memoised under this class's own key (services with a DestinationRule, generators
      // that do not share) would otherwise stay until their service changes.
      for (const m of this.memo.values()) m.byKey.delete(classKey);
    }
  }

  private push(batch: readonly Change[], firstAt: number): void {
    const started = performance.now();
    this.pushGeneration++;
    const policy = batch.includes('policy');
    if (policy) this.policyGeneration++;
    const hosts = this.dirtyHosts;
    const workloads = this.dirtyWorkloads;
    this.dirtyHosts = new Set();
    this.dirtyWorkloads = new Set();
    const sources = this.sources();
    let regenerated = 0;

    const before = this.relevance;
    const rel = (this.relevance = this.computeRelevance());
    if (before !== undefined && before.signature !== rel.signature) {
      // What matters changed: views move to other classes (new ones are generated on joining).
      for (const v of this.views.values()) {
        const key = this.classKeyOf(v.spec, rel);
        if (key === v.classKey) continue;
        const old = v.classKey;
        v.classKey = key;
        this.join(v, rel, sources);
        this.leave(old);
      }
    }
    for (const c of this.classes.values()) {
      if (c.generated === this.pushGeneration) continue;
      const generator = this.o.generators[c.spec.kind];
      // Shared resources are rebuilt on every push, for views that share classes only when they
      // have any (a proxyless server's inbound listeners).
      // Generators whose shared part reads the services (Envoy) regenerate in full; the proxyless
      // shared part (a server's inbound listeners) reads only the workloads and policies, so it is
      // rebuilt alone, next to the usual per-host increments.
      const sharedReadsServices = generator?.shared !== undefined && generator.sharedAcrossViews !== true;
      const sharedAlone = generator?.shared !== undefined && !sharedReadsServices && (c.spec.inboundRequests?.length ?? 0) > 0;
      const full = policy || sharedReadsServices || c.spec.ownWorkloads.some((k) => workloads.has(k));
      if (full) regenerated += this.generateFull(c, sources);
      else {
        if (hosts.size > 0) regenerated += this.generateHosts(c, sources, hosts);
        if (sharedAlone) this.generateShared(c, sources);
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

  private context(c: ClassState, sources: ViewSources): ViewContext {
    const ownWorkloads = c.spec.ownWorkloads.flatMap((k) => {
      const w = this.o.registry.workloads.get(k);
      return w ? [w] : [];
    });
    const inboundRequests = (c.spec.inboundRequests ?? []).flatMap((name): InboundRequest[] => {
      const at = parseInboundListenerName(name);
      if (at === undefined) return [];
      // Issue 11: only a workload of the client's own namespace. Another namespace's workload at that
      // IP is not the asking server (its identity and policy are not the client's to see): the
      // client gets the plaintext router-only listener, as for an IP without a workload.
      const workload = this.workloadsByAddress()
        .lookup(at.ip)
        .filter((w) => w.namespace === c.spec.client.namespace)
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))[0];
      return [{ name, ...at, ...(workload ? { workload } : {}) }];
    });
    return {
      spec: c.spec,
      sources,
      virtualServices: this.o.registry.inputs.VirtualService.list(),
      ownWorkloads,
      ...(inboundRequests.length > 0 ? { inboundRequests } : {}),
    };
  }

  /**
   * The client attributes that can change this service's resources (see Relevance): none when no
   * DestinationRule applies to its host, no VirtualService exists, no gateway exists and no
   * locality rule reads the client's locality.
   */
  private memoKey(c: ClassState, service: MergedService, mesh: MeshSettings): string {
    const rel = this.currentRelevance();
    const gen = this.o.generators[c.spec.kind];
    if (!gen?.sharedAcrossViews) return c.key;
    const ruled = rel.rules.some((dr) => hostMatches(destinationRuleHost(dr, mesh), service.host));
    if (ruled || this.distributionAnnotated.has(service.key)) return c.key;
    const client = c.spec.client;
    const key = [c.spec.kind, rel.anyVirtualService ? client.namespace : '*', rel.network ? client.network : '*', rel.meshDistribute ? formatLocality(client.locality) : '*'].join('|');
    return c.spec.tls === true ? `${key}|tls` : key;
  }

  /** The resources of `service` for class `c` (memoised), and the token for the cache. */
  private resourcesOf(gen: Generator, ctx: ViewContext, c: ClassState, service: MergedService, sources: ViewSources): { resources: ResourceSet; token: string; built: boolean } {
    let m = this.memo.get(service.key);
    if (!m || m.service !== service || m.policy !== this.policyGeneration) {
      m = { service, policy: this.policyGeneration, byKey: new Map() };
      this.memo.set(service.key, m);
    }
    const key = this.memoKey(c, service, sources.mesh);
    let resources = m.byKey.get(key);
    let built = false;
    if (resources === undefined) {
      resources = gen.forService(ctx, service, sources, c.winners);
      m.byKey.set(key, resources);
      built = true;
    }
    return { resources, token: `${objectToken(service)}.${this.policyGeneration}.${objectToken(resources)}`, built };
  }

  /** Regenerates one class from `sources`; returns how many services were rebuilt. */
  private generateFull(c: ClassState, sources: ViewSources): number {
    c.generated = this.pushGeneration;
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
      const { resources, token, built } = this.resourcesOf(generator, ctx, c, service, sources);
      if (built) rebuilt++;
      c.owned.set(service.host, { token, resources });
      perService.set(service.key, resources);
      sets.add(resources, token);
    }
    if (generator.shared) {
      const shared = emptyResourceSet();
      mergeInto(shared, generator.shared(ctx, perService, c.winners));
      sets.add(shared, `shared.${++sharedCounter}`);
      c.sharedOwned = shared;
    }
    const cache = this.o.cache;
    // Order: clusters and endpoints before listeners and routes (make-before-break).
    cache.setResources(c.key, CLUSTER, sets.clusters);
    cache.setResources(c.key, ENDPOINT, sets.endpoints);
    cache.setResources(c.key, LISTENER, sets.listeners);
    cache.setResources(c.key, ROUTE, sets.routes);
    return rebuilt;
  }

  /** Regenerates the given hosts of one class and hands the cache only the differences. */
  private generateHosts(c: ClassState, sources: ViewSources, hosts: ReadonlySet<string>): number {
    const generator = this.o.generators[c.spec.kind];
    if (!generator) return 0;
    const ctx = this.context(c, sources);
    const upserts = new TypedInputs();
    const removals = { listeners: [] as string[], routes: [] as string[], clusters: [] as string[], endpoints: [] as string[] };
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
      const { resources, token, built } = this.resourcesOf(generator, ctx, c, winner, sources);
      if (built) rebuilt++;
      if (before?.token === token) continue;
      if (before) remove(before.resources, resources);
      upserts.add(resources, token);
      c.owned.set(host, { token, resources });
    }
    const cache = this.o.cache;
    if (upserts.clusters.size > 0 || removals.clusters.length > 0) cache.updateResources(c.key, CLUSTER, upserts.clusters, removals.clusters);
    if (upserts.endpoints.size > 0 || removals.endpoints.length > 0) cache.updateResources(c.key, ENDPOINT, upserts.endpoints, removals.endpoints);
    if (upserts.listeners.size > 0 || removals.listeners.length > 0) cache.updateResources(c.key, LISTENER, upserts.listeners, removals.listeners);
    if (upserts.routes.size > 0 || removals.routes.length > 0) cache.updateResources(c.key, ROUTE, upserts.routes, removals.routes);
    return rebuilt;
  }

  /** Rebuilds the generator's shared part of one class alone (it must not read the services) and hands the cache the differences. */
  private generateShared(c: ClassState, sources: ViewSources): void {
    const generator = this.o.generators[c.spec.kind];
    if (!generator?.shared) return;
    const next = emptyResourceSet();
    mergeInto(next, generator.shared(this.context(c, sources), new Map(), c.winners));
    const before = c.sharedOwned ?? emptyResourceSet();
    c.sharedOwned = next;
    // The cache compares encoded contents: unchanged resources are not pushed again.
    const upserts = new TypedInputs();
    upserts.add(next, `shared.${++sharedCounter}`);
    const removed = (kind: (typeof KINDS)[number]): string[] => [...before[kind].keys()].filter((name) => !next[kind].has(name));
    const cache = this.o.cache;
    cache.updateResources(c.key, CLUSTER, upserts.clusters, removed('clusters'));
    cache.updateResources(c.key, ENDPOINT, upserts.endpoints, removed('endpoints'));
    cache.updateResources(c.key, LISTENER, upserts.listeners, removed('listeners'));
    cache.updateResources(c.key, ROUTE, upserts.routes, removed('routes'));
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

const KINDS = ['listeners', 'routes', 'clusters', 'endpoints'] as const;

type MessageOf<K extends keyof ResourceSet> = ResourceSet[K] extends Map<string, infer M> ? M : never;

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

/**
 * Whether a DestinationRule sets `failoverPriority` in any of its traffic policies (top level, per
 * port, per subset, per subset port). A structural look at the fields Istio defines: issue 11 found
 * that serialising whole specs on this path let an alias bomb kill the process.
 */
function usesFailoverPriority(dr: DestinationRule): boolean {
  const policies = [dr.spec.trafficPolicy, ...(dr.spec.subsets ?? []).map((s) => s.trafficPolicy)];
  return policies.some((p) => p !== undefined && [p, ...(p.portLevelSettings ?? [])].some((l) => l.loadBalancer?.localityLbSetting?.failoverPriority !== undefined));
}

function labelString(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

let sharedCounter = 0;
