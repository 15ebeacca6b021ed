/**
 * The push pipeline: registry changes → debounce → regenerate the views of connected proxies →
 * resource cache (which wakes the streams that need the change).
 *
 * Cost per change: each view keeps, per service, the resources it generated and the change token
 * they were built from (the registry's MergedService object, which is replaced only when that
 * service changed, plus a policy generation bumped when DestinationRules, VirtualServices,
 * PeerAuthentications, gateways or mesh settings change). A push regenerates only services whose
 * token moved; the cache re-encodes only resources whose token moved and wakes only streams whose
 * bytes changed. An endpoint change therefore rebuilds and sends just the affected clusters' EDS.
 */
import type { Registry } from '../../registry/registry.js';
import { resolveClientProxy, type ClientProxy } from '../../registry/view/client.js';
import { clustersForService, indexGateways, servicesForClient, type ViewSources } from '../../registry/view/clusters.js';
import { viewSourcesOf } from '../../app/offline-mesh.js';
import { debounce, type Debouncer } from '../../lib/async/debounce.js';
import type { MergedService, Workload } from '../../model/mesh/types.js';
import type { ResourceSink, ViewKey } from '../cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../types/resource-types.js';
import type { ProxyIdentity } from '../server/node-identity.js';
import { grpcServiceResources } from './grpc.js';
import { emptyResourceSet, mergeInto, type ResourceSet } from './resource-set.js';
import { viewKeyOf, type GeneratorKind, type ViewContext, type ViewSpec } from './view.js';

/** A generator flavour: per-service resources, plus resources shared by all services of a view. */
export interface Generator {
  forService(ctx: ViewContext, service: MergedService, sources: ViewSources, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet;
  /** Resources that depend on all services (Envoy: port-level routes, virtual listeners, inbound). */
  shared?(ctx: ViewContext, perService: ReadonlyMap<string, ResourceSet>, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet;
}

export const grpcGenerator: Generator = {
  forService(ctx, service, sources, servicesByHost) {
    const clusters = clustersForService(sources, ctx.spec.client, indexGateways(sources.gateways), service);
    return grpcServiceResources(ctx, { service, clusters }, servicesByHost);
  },
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
  readonly spec: ViewSpec;
  refs: number;
  readonly memo: Map<string, { service: MergedService; policy: number; resources: ResourceSet }>;
}

type Change = 'services' | 'policy' | 'workloads';

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
  private policyGeneration = 0;
  private readonly debouncer: Debouncer<Change>;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly o: PipelineOptions) {
    this.debouncer = debounce<Change>({ quietMs: o.debounceMs ?? 100, maxMs: o.debounceMaxMs ?? 10_000 }, (batch, firstAt) => this.push(batch, firstAt));
  }

  /** Subscribes to the registry. Construct, then start (STYLE principle 3). */
  start(): void {
    const r = this.o.registry;
    const on = (c: { subscribe(h: () => void): () => void }, change: Change) => this.unsubscribe.push(c.subscribe(() => this.debouncer.trigger(change)));
    on(r.services, 'services');
    on(r.workloads, 'workloads');
    for (const c of [r.inputs.destinationRules, r.inputs.virtualServices, r.inputs.peerAuthentications, r.gateways, r.mesh]) on(c, 'policy');
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await this.debouncer.flushNow();
    this.debouncer.close();
  }

  /**
   * The view a proxy belongs to (the xDS server's `viewOf`). A new view is generated at once, so
   * the proxy's first requests are answered from it.
   */
  viewOf(proxy: ProxyIdentity): ViewKey {
    const spec = this.specOf(proxy);
    let state = this.views.get(spec.key);
    if (!state) {
      state = { spec, refs: 0, memo: new Map() };
      this.views.set(spec.key, state);
      this.generate(state, viewSourcesOf(this.o.registry));
    }
    state.refs++;
    return spec.key;
  }

  /** A stream of this view closed; the view is dropped when none is left. */
  release(view: ViewKey): void {
    const state = this.views.get(view);
    if (!state) return;
    state.refs--;
    if (state.refs <= 0) {
      this.views.delete(view);
      this.o.cache.dropView(view);
    }
  }

  viewSpecs(): ViewSpec[] {
    return [...this.views.values()].map((v) => v.spec);
  }

  /** Forces a push now (tests, shutdown). */
  flush(): Promise<void> {
    return this.debouncer.flushNow();
  }

  private specOf(proxy: ProxyIdentity): ViewSpec {
    const workloads = this.o.registry.workloads.list();
    // L-10: a proxy whose IP is a WorkloadEntry's address is that workload (a VM's sidecar or agent).
    const own: Workload[] = proxy.ip !== undefined ? workloads.filter((w) => w.kind === 'WorkloadEntry' && w.address === proxy.ip && (proxy.namespace === undefined || w.namespace === proxy.namespace)) : [];
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
    const ownKeys = own.map((w) => w.key).sort();
    return { key: viewKeyOf(proxy.kind, client, ownKeys), kind: proxy.kind, client, ownWorkloads: ownKeys };
  }

  private push(batch: readonly Change[], firstAt: number): void {
    const started = performance.now();
    if (batch.includes('policy')) this.policyGeneration++;
    const sources = viewSourcesOf(this.o.registry);
    let regenerated = 0;
    for (const state of this.views.values()) regenerated += this.generate(state, sources);
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

  /** Regenerates one view from `sources`; returns how many services were rebuilt. */
  private generate(state: ViewState, sources: ViewSources): number {
    const generator = this.o.generators[state.spec.kind];
    if (!generator) return 0;
    const ownWorkloads = state.spec.ownWorkloads.flatMap((k) => {
      const w = this.o.registry.workloads.get(k);
      return w ? [w] : [];
    });
    const ctx: ViewContext = { spec: state.spec, sources, virtualServices: this.o.registry.inputs.virtualServices.list(), ownWorkloads };
    const services = servicesForClient(sources, state.spec.client);
    const byHost = new Map(services.map((s) => [s.host, s]));
    const seen = new Set<string>();
    const perService = new Map<string, ResourceSet>();
    const tokens = new Map<string, string>();
    let rebuilt = 0;
    for (const service of services) {
      seen.add(service.key);
      let memo = state.memo.get(service.key);
      if (!memo || memo.service !== service || memo.policy !== this.policyGeneration) {
        memo = { service, policy: this.policyGeneration, resources: generator.forService(ctx, service, sources, byHost) };
        state.memo.set(service.key, memo);
        rebuilt++;
      }
      perService.set(service.key, memo.resources);
      tokens.set(service.key, `${objectToken(service)}.${this.policyGeneration}`);
    }
    for (const k of [...state.memo.keys()]) if (!seen.has(k)) state.memo.delete(k);

    const listeners = new Map<string, { version: string; message: ResourceSet['listeners'] extends Map<string, infer M> ? M : never }>();
    const routes = new Map<string, { version: string; message: ResourceSet['routes'] extends Map<string, infer M> ? M : never }>();
    const clusters = new Map<string, { version: string; message: ResourceSet['clusters'] extends Map<string, infer M> ? M : never }>();
    const endpoints = new Map<string, { version: string; message: ResourceSet['endpoints'] extends Map<string, infer M> ? M : never }>();
    const add = (set: ResourceSet, version: string): void => {
      for (const [n, m] of set.listeners) listeners.set(n, { version, message: m });
      for (const [n, m] of set.routes) routes.set(n, { version, message: m });
      for (const [n, m] of set.clusters) clusters.set(n, { version, message: m });
      for (const [n, m] of set.endpoints) endpoints.set(n, { version, message: m });
    };
    for (const [key, set] of perService) add(set, tokens.get(key) ?? '');
    if (generator.shared) {
      const shared = emptyResourceSet();
      mergeInto(shared, generator.shared(ctx, perService, byHost));
      add(shared, `shared.${++sharedCounter}`);
    }
    const cache = this.o.cache;
    // Order: clusters and endpoints before listeners and routes (make-before-break).
    cache.setResources(state.spec.key, CLUSTER, clusters);
    cache.setResources(state.spec.key, ENDPOINT, endpoints);
    cache.setResources(state.spec.key, LISTENER, listeners);
    cache.setResources(state.spec.key, ROUTE, routes);
    return rebuilt;
  }
}

let sharedCounter = 0;
