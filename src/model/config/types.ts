/**
 * The input kinds meshbridge reads, as typed values. Field names follow Istio's and Kubernetes'
 * JSON exactly (the same YAML Istio users write). Values are decoded from validated documents by
 * `decode.ts`; optional fields stay optional here, and defaults are applied where they are used
 * (e.g. resolution NONE, location MESH_EXTERNAL: API-2).
 */

/**
 * Every input kind, the one list of them. In dependency order: settings, then policies, then
 * workloads, then services (the order a complete snapshot is applied in, and /debug/configz lists).
 */
export const KINDS = [
  'MeshConfig',
  'MeshNetworks',
  'Node',
  'DestinationRule',
  'VirtualService',
  'PeerAuthentication',
  'AuthorizationPolicy',
  'WorkloadGroup',
  'WorkloadEntry',
  'Pod',
  'ServiceEntry',
  'Service',
] as const;
export type Kind = (typeof KINDS)[number];

/** Kinds that are cluster-wide: `metadata.namespace` is ignored. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<Kind> = new Set<Kind>(['Node', 'MeshConfig', 'MeshNetworks']);

export type StringMap = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  /** `default` where the document names none; '' for cluster-scoped kinds. */
  readonly namespace: string;
  readonly labels: StringMap;
  readonly annotations: StringMap;
  readonly creationTimestamp?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly deletionTimestamp?: string;
  readonly uid?: string;
}

/** Where an object was read from, and its place in the load order (files sorted, then documents). */
export interface Origin {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Position in the load order; breaks creation-time ties (cli-contract: creation order). */
  readonly order: number;
}

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastProbeTime?: string;
  readonly lastTransitionTime?: string;
  readonly observedGeneration?: number;
}

// ---- networking.istio.io ----

export type Resolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'DYNAMIC_DNS';
export type Location = 'MESH_EXTERNAL' | 'MESH_INTERNAL';

export interface ServicePortSpec {
  readonly number: number;
  readonly protocol?: string;
  readonly name: string;
  readonly targetPort?: number;
}

export interface WorkloadEntrySpec {
  readonly address?: string;
  readonly ports?: Readonly<Record<string, number>>;
  readonly labels?: StringMap;
  readonly network?: string;
  readonly locality?: string;
  readonly weight?: number;
  readonly serviceAccount?: string;
}

export interface ServiceEntrySpec {
  readonly hosts: readonly string[];
  readonly addresses?: readonly string[];
  readonly ports?: readonly ServicePortSpec[];
  readonly location?: Location;
  readonly resolution?: Resolution;
  readonly endpoints?: readonly WorkloadEntrySpec[];
  readonly workloadSelector?: { readonly labels?: StringMap };
  readonly exportTo?: readonly string[];
  readonly subjectAltNames?: readonly string[];
}

export interface ServiceEntryStatus {
  readonly addresses?: readonly { readonly value: string; readonly host?: string }[];
  readonly conditions?: readonly Condition[];
}

export interface WorkloadEntryStatus {
  readonly conditions?: readonly Condition[];
}

export interface HttpGetProbe {
  readonly path?: string;
  readonly port: number;
  readonly host?: string;
  readonly scheme?: string;
  readonly httpHeaders?: readonly { readonly name: string; readonly value: string }[];
}
export interface ReadinessProbe {
  readonly initialDelaySeconds?: number;
  readonly timeoutSeconds?: number;
  readonly periodSeconds?: number;
  readonly successThreshold?: number;
  readonly failureThreshold?: number;
  readonly httpGet?: HttpGetProbe;
  readonly tcpSocket?: { readonly host?: string; readonly port: number };
  readonly exec?: { readonly command: readonly string[] };
  readonly grpc?: { readonly port: number; readonly service?: string };
}

export interface WorkloadGroupSpec {
  readonly metadata?: { readonly labels?: StringMap; readonly annotations?: StringMap };
  readonly template: WorkloadEntrySpec;
  readonly probe?: ReadinessProbe;
}

export interface LocalityLbSetting {
  readonly enabled?: boolean;
  readonly distribute?: readonly { readonly from?: string; readonly to?: Readonly<Record<string, number>> }[];
  readonly failover?: readonly { readonly from?: string; readonly to?: string }[];
  readonly failoverPriority?: readonly string[];
}

/**
 * DestinationRule `loadBalancer.zoneAwareLbSetting` (L-11): EDS priorities by region only, without
 * outlier detection; `enabled: false` switches locality handling off for the cluster.
 */
export interface ZoneAwareLbSetting {
  readonly enabled?: boolean;
  readonly failover?: readonly { readonly from?: string; readonly to?: string }[];
  readonly failoverPriority?: readonly string[];
  /** Envoy `zone_aware_lb_config.min_cluster_size` (a whole number >= 0). */
  readonly minClusterSize?: number;
}

export interface OutlierDetection {
  readonly consecutiveErrors?: number;
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly interval?: string;
  readonly baseEjectionTime?: string;
  readonly maxEjectionPercent?: number;
  readonly minHealthPercent?: number;
  readonly splitExternalLocalOriginErrors?: boolean;
}

export interface ClientTlsSettings {
  readonly mode?: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  readonly sni?: string;
  readonly subjectAltNames?: readonly string[];
  readonly credentialName?: string;
  readonly insecureSkipVerify?: boolean;
}

export interface LoadBalancerSettings {
  readonly simple?: 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';
  readonly consistentHash?: {
    readonly httpHeaderName?: string;
    readonly httpCookie?: { readonly name: string; readonly path?: string; readonly ttl?: string };
    readonly useSourceIp?: boolean;
    readonly httpQueryParameterName?: string;
    readonly ringHash?: { readonly minimumRingSize?: number };
    readonly maglev?: { readonly tableSize?: number };
    readonly minimumRingSize?: number;
  };
  readonly localityLbSetting?: LocalityLbSetting;
  readonly zoneAwareLbSetting?: ZoneAwareLbSetting;
  readonly warmupDurationSecs?: string;
}

export interface PortTrafficPolicy {
  readonly port?: { readonly number?: number };
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: Readonly<Record<string, unknown>>;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTlsSettings;
}

export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: Readonly<Record<string, unknown>>;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTlsSettings;
  readonly portLevelSettings?: readonly PortTrafficPolicy[];
}

export interface Subset {
  readonly name: string;
  readonly labels?: StringMap;
  readonly trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  readonly host: string;
  readonly trafficPolicy?: TrafficPolicy;
  readonly subsets?: readonly Subset[];
  readonly exportTo?: readonly string[];
  readonly workloadSelector?: { readonly matchLabels?: StringMap };
}

export interface StringMatch {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}

export interface HttpMatchRequest {
  readonly name?: string;
  readonly uri?: StringMatch;
  readonly method?: StringMatch;
  readonly headers?: Readonly<Record<string, StringMatch>>;
  readonly port?: number;
  readonly queryParams?: Readonly<Record<string, StringMatch>>;
}

export interface Destination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: { readonly number?: number };
}

export interface HttpRouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
}

export interface HttpRoute {
  readonly name?: string;
  readonly match?: readonly HttpMatchRequest[];
  readonly route?: readonly HttpRouteDestination[];
  readonly timeout?: string;
  readonly retries?: { readonly attempts?: number; readonly perTryTimeout?: string; readonly retryOn?: string };
  readonly fault?: {
    readonly delay?: { readonly fixedDelay?: string; readonly percentage?: { readonly value?: number } };
    readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: string; readonly percentage?: { readonly value?: number } };
  };
}

export interface VirtualServiceSpec {
  readonly hosts: readonly string[];
  readonly gateways?: readonly string[];
  readonly http?: readonly HttpRoute[];
  readonly tcp?: readonly unknown[];
  readonly tls?: readonly unknown[];
  readonly exportTo?: readonly string[];
}

// ---- security.istio.io ----

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  readonly selector?: { readonly matchLabels?: StringMap };
  readonly mtls?: { readonly mode?: MtlsMode };
  readonly portLevelMtls?: Readonly<Record<string, { readonly mode?: MtlsMode }>>;
}

export interface AuthorizationPolicySpec {
  readonly selector?: { readonly matchLabels?: StringMap };
  readonly action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  readonly rules?: readonly {
    readonly from?: readonly { readonly source?: Readonly<Record<string, readonly string[]>> }[];
    readonly to?: readonly { readonly operation?: Readonly<Record<string, readonly string[]>> }[];
    readonly when?: readonly { readonly key: string; readonly values?: readonly string[]; readonly notValues?: readonly string[] }[];
  }[];
}

// ---- Kubernetes v1 ----

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: string;
}

export interface PodSpec {
  readonly containers?: readonly { readonly name?: string; readonly ports?: readonly ContainerPort[] }[];
  readonly initContainers?: readonly { readonly name?: string; readonly restartPolicy?: string; readonly ports?: readonly ContainerPort[] }[];
  readonly serviceAccountName?: string;
  readonly nodeName?: string;
  readonly hostNetwork?: boolean;
}

export interface PodStatus {
  readonly podIP?: string;
  readonly podIPs?: readonly { readonly ip: string }[];
  readonly phase?: string;
  readonly conditions?: readonly Condition[];
}

export interface KubeServicePort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

export interface KubeServiceSpec {
  readonly type?: string;
  readonly selector?: StringMap;
  readonly ports?: readonly KubeServicePort[];
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly externalName?: string;
  readonly externalIPs?: readonly string[];
}

export interface KubeServiceStatus {
  readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[] };
}

// ---- meshbridge.io ----

/** A Kubernetes label selector (metav1.LabelSelector): matchLabels and matchExpressions, ANDed. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}
export interface LabelSelector {
  readonly matchLabels?: StringMap;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface MeshConfigSpec {
  readonly trustDomain?: string;
  readonly enableAutoMtls?: boolean;
  readonly localityLbSetting?: LocalityLbSetting;
  readonly defaultServiceExportTo?: readonly string[];
  readonly defaultDestinationRuleExportTo?: readonly string[];
  readonly rootNamespace?: string;
  readonly clusterId?: string;
  /** Namespaces whose Kubernetes objects are read (ORed; absent or empty: all). */
  readonly discoverySelectors?: readonly LabelSelector[];
}

export interface NetworkGateway {
  readonly address?: string;
  readonly registryServiceName?: string;
  readonly port: number;
}
export interface MeshNetwork {
  readonly endpoints?: readonly { readonly fromRegistry?: string; readonly fromCidr?: string }[];
  readonly gateways?: readonly NetworkGateway[];
}
export interface MeshNetworksSpec {
  readonly networks?: Readonly<Record<string, MeshNetwork>>;
}

// ---- the objects ----

interface Base<K extends Kind> {
  readonly kind: K;
  readonly apiVersion: string;
  readonly metadata: ObjectMeta;
  readonly origin: Origin;
}

export interface ServiceEntry extends Base<'ServiceEntry'> { readonly spec: ServiceEntrySpec; readonly status?: ServiceEntryStatus }
export interface WorkloadEntry extends Base<'WorkloadEntry'> { readonly spec: WorkloadEntrySpec; readonly status?: WorkloadEntryStatus }
export interface WorkloadGroup extends Base<'WorkloadGroup'> { readonly spec: WorkloadGroupSpec }
export interface DestinationRule extends Base<'DestinationRule'> { readonly spec: DestinationRuleSpec }
export interface VirtualService extends Base<'VirtualService'> { readonly spec: VirtualServiceSpec }
export interface PeerAuthentication extends Base<'PeerAuthentication'> { readonly spec: PeerAuthenticationSpec }
export interface AuthorizationPolicy extends Base<'AuthorizationPolicy'> { readonly spec: AuthorizationPolicySpec }
export interface Pod extends Base<'Pod'> { readonly spec: PodSpec; readonly status?: PodStatus }
export interface KubeService extends Base<'Service'> {
  readonly spec: KubeServiceSpec;
  readonly status?: KubeServiceStatus;
  /**
   * The names of the pods the Service's EndpointSlices list (by `targetRef`), sorted: set only for
   * Services read from a cluster, whose pod endpoints are these rather than the selector's pods.
   * Absent for Services written as YAML, which select pods by `spec.selector`.
   */
  readonly endpointPods?: readonly string[];
}
export interface KubeNode extends Base<'Node'> { readonly spec: Readonly<Record<string, unknown>> }
export interface MeshConfig extends Base<'MeshConfig'> { readonly spec: MeshConfigSpec }
export interface MeshNetworks extends Base<'MeshNetworks'> { readonly spec: MeshNetworksSpec }

export type ConfigObject =
  | ServiceEntry
  | WorkloadEntry
  | WorkloadGroup
  | DestinationRule
  | VirtualService
  | PeerAuthentication
  | AuthorizationPolicy
  | Pod
  | KubeService
  | KubeNode
  | MeshConfig
  | MeshNetworks;

/** The object type of a kind. */
export type ObjectOf<K extends Kind> = Extract<ConfigObject, { readonly kind: K }>;

/** A guard for objects of `kind` (narrows a ConfigObject to the kind's type). */
export const isOfKind =
  <K extends Kind>(kind: K) =>
  (o: ConfigObject): o is ObjectOf<K> =>
    o.kind === kind;

/** `Kind/namespace/name` (cluster-scoped kinds: `Kind/name`): unique across the configuration. */
export function objectKey(o: { readonly kind: string; readonly metadata: { readonly name: string; readonly namespace: string } }): string {
  return o.metadata.namespace === '' ? `${o.kind}/${o.metadata.name}` : `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
}
