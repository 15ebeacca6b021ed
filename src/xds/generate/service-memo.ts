/**
 * Per-service memo: the resources generated for a service are shared across classes under a key
 * made only of the client attributes that can change *that* service's output (no DestinationRule
 * for its host and no VirtualService in the mesh: none), so an endpoint change is generated and
 * encoded once, not once per class. Entries live until their service object or the policy
 * generation changes.
 */
import type { Collection } from '../../lib/krt/index.js';
import { formatLocality } from '../../model/mesh/locality.js';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { MergedService } from '../../model/mesh/types.js';
import type { ViewSources } from '../../registry/view/clusters.js';
import { destinationRuleHost, hostMatches, mayServeNamespace } from '../../registry/view/destination-rules.js';
import type { DestinationRule } from '../../model/config/types.js';
import type { Generator } from './generator.js';
import { factKey, namedByVirtualService, type Relevance, type RelevanceFact } from './relevance.js';
import type { ResourceSet } from './resource-set.js';
import type { ViewContext } from './view.js';

export interface ServiceMemoOptions {
  /** The relevance classes were last formed under. */
  readonly relevance: () => Relevance;
  /** The relevance facts (relevance.ts): services with the traffic-distribution annotation. */
  readonly facts: Collection<RelevanceFact>;
}

/** One service's memoised resources, valid for one service object and policy generation. */
interface MemoEntry {
  readonly service: MergedService;
  readonly policy: number;
  /** Memo key (memoKey) → resources. */
  readonly byKey: Map<string, ResourceSet>;
  /** The DestinationRules of the service's host (memoKey), found once per entry. */
  rules?: readonly DestinationRule[];
}

export class ServiceMemo {
  /** serviceKey → the entry. */
  private readonly entries = new Map<string, MemoEntry>();
  private policyGeneration = 0;
  /** Small numbers for the service and resource objects behind cache tokens (per memo, so tokens never leak across pipelines). */
  private readonly tokenIds = new WeakMap<object, number>();
  private nextTokenId = 1;

  constructor(private readonly o: ServiceMemoOptions) {}

  /** Policies changed: every entry is stale. */
  policyChanged(): void {
    this.policyGeneration++;
  }

  /** The service is gone. */
  forgetService(serviceKey: string): void {
    this.entries.delete(serviceKey);
  }

  /**
   * The class is gone: results memoised under its own key (services with a DestinationRule,
   * generators that do not share) would otherwise stay until their service changes.
   */
  forgetClass(classKey: string): void {
    for (const m of this.entries.values()) m.byKey.delete(classKey);
  }

  /**
   * The resources of `service` for class `classKey` (whose spec is `ctx.spec`), memoised, and the
   * token for the cache; `built` when they were generated now.
   */
  resourcesOf(
    gen: Generator,
    ctx: ViewContext,
    classKey: string,
    service: MergedService,
    sources: ViewSources,
    winners: ReadonlyMap<string, MergedService>,
  ): { resources: ResourceSet; token: string; built: boolean } {
    let m = this.entries.get(service.key);
    if (!m || m.service !== service || m.policy !== this.policyGeneration) {
      m = { service, policy: this.policyGeneration, byKey: new Map() };
      this.entries.set(service.key, m);
    }
    const key = this.memoKey(gen, ctx, classKey, m, sources.mesh);
    let resources = m.byKey.get(key);
    let built = false;
    if (resources === undefined) {
      resources = gen.forService(ctx, service, sources, winners);
      m.byKey.set(key, resources);
      built = true;
    }
    return { resources, token: `${this.tokenOf(service)}.${this.policyGeneration}.${this.tokenOf(resources)}`, built };
  }

  /**
   * The client attributes that can change this service's resources (see Relevance): none when no
   * DestinationRule applies to its host, no VirtualService exists, no gateway exists and no
   * locality rule reads the client's locality.
   */
  private memoKey(gen: Generator, ctx: ViewContext, classKey: string, entry: MemoEntry, mesh: MeshSettings): string {
    const rel = this.o.relevance();
    if (gen.sharedAcrossViews !== true && gen.perServiceAcrossViews !== true) return classKey;
    const service = entry.service;
    const { spec } = ctx;
    const client = spec.client;
    // The rules are fixed for an entry's life (a policy change makes a new entry). Measured (bench S3
    // `--variant policies`, 200 rules): scanning them for every service of every class was 5 % of the CPU.
    const rules = (entry.rules ??= rel.rules.filter((dr) => hostMatches(destinationRuleHost(dr, mesh), service.host)));
    // Only a rule that can serve the client's namespace makes the result the class's own. Measured
    // cause (bench S3 `--variant policies`: each of the 10 churned services has a DestinationRule
    // private to its namespace): every change was generated for each of ~300 classes, 1 in 100 of
    // which could see the rule.
    const ruled = rules.length > 0 && rules.some((dr) => mayServeNamespace(dr, client.namespace, mesh));
    if (ruled || this.o.facts.get(factKey('traffic-distribution', service.key)) !== undefined) return classKey;
    // A VirtualService reads the client's namespace (exportTo) only for the hosts it names: other
    // services are shared across namespaces. Measured cause (bench S2 --variant policies, two
    // VirtualServices in each of 50 namespaces): every endpoint change of any service was
    // generated and encoded once per namespace.
    const byNamespace = namedByVirtualService(rel.virtualServiceHosts, service.host);
    const key = [spec.kind, byNamespace ? client.namespace : '*', rel.network ? client.network : '*', rel.meshDistribute ? formatLocality(client.locality) : '*'].join('|');
    return spec.tls === true ? `${key}|tls` : key;
  }

  private tokenOf(o: object): number {
    let id = this.tokenIds.get(o);
    if (id === undefined) this.tokenIds.set(o, (id = this.nextTokenId++));
    return id;
  }
}
