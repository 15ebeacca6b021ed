/**
 * The JSON shapes of `/api/v1` (docs/api.md): the only contract between the control plane and the
 * dashboard, which imports these types and nothing else of the server. Plain data, JSON-safe (no
 * Maps, no undefined inside arrays); times are RFC 3339 strings. Fields are only ever added.
 *
 * Endpoint → response type:
 * - `GET /api/v1/services`                        → ServicesResponse
 * - `GET /api/v1/services/{ns}/{host}`            → ServiceDetail
 * - `GET /api/v1/workloadgroups`                  → WorkloadGroupsResponse
 * - `GET /api/v1/workloadgroups/{ns}/{name}`      → WorkloadGroupView
 * - `POST /api/v1/what-if` (body WhatIfRequest)   → WhatIfResponse
 * - `GET /api/v1/proxies`                         → ProxiesResponse
 * - `GET /api/v1/proxies/{id}/config`             → ProxyConfigResponse
 * - `GET /api/v1/timeline?service=ns/host`        → TimelineResponse
 * - `GET /api/v1/timeline?endpoint=KEY`           → TimelineResponse
 * - `GET /api/v1/localities?client=...`           → LocalitiesResponse
 * - `GET /api/v1/config`                          → ConfigResponse
 * - `GET /api/v1/controlplane`                    → ControlPlaneResponse
 * - `GET /api/v1/events` (Accept: text/event-stream) → Server-Sent Events, each `data:` one ApiEvent
 *   (`event:` its `type`, `id:` its `id`); `GET /api/v1/events?since=ID` → EventsResponse
 * - any error (400, 404, 405, 413, 503)           → ApiError
 */
import type { ClientSelection, EndpointsChange, ResourceChange, RouteChange, RouteSummary, WhatIfResult } from '../../status/what-if.js';

export type { ClientSelection, WhatIfResult } from '../../status/what-if.js';
export type {
  ClientChanges,
  EndpointChange,
  EndpointState,
  EndpointsChange,
  LocalityWeightChange,
  ObjectChange,
  ResourceChange,
  RouteChange,
  RouteSummary,
  WhatIfClient,
  WhatIfFinding,
} from '../../status/what-if.js';

/** Where a member of a service comes from: a pod, a WorkloadEntry (a VM), or an inline ServiceEntry endpoint. */
export type EndpointKind = 'Pod' | 'WorkloadEntry' | 'inline';

/** Envoy's health status names, as sent in EDS. */
export type EndpointHealth = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' | 'DRAINING';

/** An input object and where it was read: `file:line` for files, the store's key or description otherwise. */
export interface ObjectSource {
  /** `Kind/namespace/name`. */
  readonly key: string;
  readonly location: string;
}

export interface ServicePortView {
  readonly number: number;
  readonly name: string;
  /** HTTP, GRPC, TCP, ... ('' when unset). */
  readonly protocol: string;
  /** A number, a Kubernetes named target port, or absent. */
  readonly targetPort?: number | string;
}

/** Counts of a service's members (distinct workloads and inline endpoints, not ports). */
export interface EndpointCounts {
  readonly total: number;
  readonly byKind: Readonly<Record<EndpointKind, number>>;
  /** Members left out of EDS because their health check fails are counted as UNHEALTHY. */
  readonly byHealth: Readonly<Record<EndpointHealth, number>>;
  /** Of `total`: members left out of EDS as unhealthy (a failing VM probe, a pod not listed). */
  readonly leftOutUnhealthy: number;
}

/** One row of the services table (view 1): a host in a namespace, merged across its sources. */
export interface ServiceSummary {
  readonly host: string;
  readonly namespace: string;
  /** ServiceEntry or Service: the kind whose definition wins (a Kubernetes Service beats ServiceEntries). */
  readonly kind: 'ServiceEntry' | 'Service';
  readonly resolution: string;
  /** MESH_INTERNAL or MESH_EXTERNAL. */
  readonly location: string;
  readonly ports: readonly ServicePortView[];
  /** VIPs: the spec's (or the Service's ClusterIP), and the addresses allocated automatically (ServiceEntry status). */
  readonly addresses: { readonly spec: readonly string[]; readonly auto: readonly string[] };
  /** The object whose definition wins, then every contributing object (oldest first). */
  readonly definedBy: ObjectSource;
  readonly sources: readonly ObjectSource[];
  readonly endpoints: EndpointCounts;
}

/** `GET /api/v1/services`. */
export interface ServicesResponse {
  readonly services: readonly ServiceSummary[];
}

/** One service port of a member: where the service port goes on this workload. */
export interface MemberPort {
  readonly servicePort: number;
  readonly portName: string;
  /** The port on the workload (0: a unix socket). */
  readonly port: number;
}

/** A pod, a VM (WorkloadEntry) or an inline endpoint of a service: one row of the side-by-side table. */
export interface ServiceMember {
  readonly kind: EndpointKind;
  /** `Pod/ns/name`, `WorkloadEntry/ns/name`, `ServiceEntry/ns/name#i`. */
  readonly source: string;
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  readonly ports: readonly MemberPort[];
  readonly labels: Readonly<Record<string, string>>;
  readonly network: string;
  /** `region/zone/subzone` ('' when none). */
  readonly locality: string;
  /** Where the locality came from: e.g. `WorkloadEntry spec.locality`, `label topology.istio.io/locality`, `Node n1 labels`, `none`. */
  readonly localitySource: string;
  readonly weight: number;
  /** The SPIFFE identity (from the service account), or null. */
  readonly identity: string | null;
  /** `istio` (mutual TLS) or `disabled`; null when unknown. */
  readonly tlsMode: string | null;
  readonly health: EndpointHealth;
  /** Why it has that health: the Healthy condition and its message, the pod's readiness, or that it is not health checked. */
  readonly healthReason: string;
  /** false: left out of EDS (its health check fails); the row still shows it. */
  readonly inEndpoints: boolean;
  /** The object whose selector (or inline endpoints) made it a member. */
  readonly selectedBy: string;
  /** That object's selector labels; null for inline endpoints. */
  readonly selector: Readonly<Record<string, string>> | null;
  /** Where the member's own object was read (absent for inline endpoints: see `selectedBy`). */
  readonly location?: string;
}

/** A candidate workload a selector left out, and why (labels, namespace, port, resolution, ...). */
export interface LeftOut {
  readonly source: string;
  readonly reason: string;
  readonly detail: string;
}

/** `GET /api/v1/services/{namespace}/{host}` (view 2). */
export interface ServiceDetail extends ServiceSummary {
  /** Pods and VMs side by side, then inline endpoints; by kind, then name. */
  readonly members: readonly ServiceMember[];
  /** Other candidates the selectors left out (not counted in `endpoints`). */
  readonly leftOut: readonly LeftOut[];
}

/** The `Healthy` condition of a health-checked WorkloadEntry. */
export interface HealthCondition {
  /** "True", "False" or "Unknown"; null: health checks are enabled but nothing was reported yet. */
  readonly status: string | null;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
  readonly lastProbeTime?: string;
}

/** A WorkloadEntry registered from a WorkloadGroup (view 3): the auto-registration lifecycle. */
export interface GroupEntry {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly locality: string;
  readonly network: string;
  /** The control plane instance that owns the entry (`istio.io/workloadController`), or null. */
  readonly controller: string | null;
  readonly connectedAt: string | null;
  readonly disconnectedAt: string | null;
  /** connected: has connectedAt and no disconnectedAt. */
  readonly state: 'connected' | 'disconnected' | 'unknown';
  /** disconnectedAt plus the grace period: when the entry is deleted if the VM does not come back; null when connected. */
  readonly cleanupDeadline: string | null;
  /** Present when health checks are enabled (`proxy.istio.io/health-checks-enabled`). */
  readonly health?: HealthCondition;
  /** false: left out of EDS (its health check fails). */
  readonly inEndpoints: boolean;
  readonly location: string;
}

/** A WorkloadGroup with its entries (view 3). */
export interface WorkloadGroupView {
  readonly name: string;
  readonly namespace: string;
  readonly location: string;
  readonly template: {
    readonly labels: Readonly<Record<string, string>>;
    readonly ports: Readonly<Record<string, number>>;
    readonly serviceAccount: string;
    readonly network: string;
    readonly locality: string;
    readonly weight: number;
  };
  /** The group has a readiness probe: its VMs are health checked. */
  readonly probe: boolean;
  readonly entries: readonly GroupEntry[];
  readonly counts: { readonly connected: number; readonly disconnected: number; readonly healthy: number; readonly unhealthy: number };
}

/** `GET /api/v1/workloadgroups`. */
export interface WorkloadGroupsResponse {
  readonly workloadGroups: readonly WorkloadGroupView[];
}

/** `POST /api/v1/what-if` request body. */
export interface WhatIfRequest {
  /** The changed files: a name for positions (e.g. the uploaded file's name) and the YAML or JSON text. */
  readonly files: readonly { readonly path: string; readonly text: string }[];
  readonly clients?: ClientSelection;
}

/** `POST /api/v1/what-if` response: the what-if result (as `meshbridge diff -o json`). */
export type WhatIfResponse = WhatIfResult;

/** Any error of the API: HTTP 400 (a bad request) or 404 (no such object). */
export interface ApiError {
  readonly error: string;
}

/** Any JSON value (a status we wrote, as stored). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------
// Connected proxies (view 5): `GET /api/v1/proxies`

/** Per xDS type of a stream (istioctl proxy-status): see docs/api.md for the rules. */
export type ProxySyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

/** Responses sent and answers received on one stream (per type, or summed over the types). */
export interface XdsCounters {
  readonly pushes: number;
  readonly acks: number;
  readonly nacks: number;
}

/** The last NACK of a type on a stream. */
export interface NackView {
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  /** When the NACK arrived; null when the stream's NACK predates the event recorder. */
  readonly at: string | null;
}

export interface ProxyTypeSync {
  /** CDS, EDS, LDS, RDS, SDS (or the type URL). */
  readonly type: string;
  readonly typeUrl: string;
  readonly state: ProxySyncState;
  /** The version and nonce last sent; null: nothing sent. */
  readonly sent: { readonly version: string; readonly nonce: string } | null;
  readonly acked: { readonly version: string; readonly nonce: string } | null;
  /** The view's current version of this type (what the proxy should have); null: none generated. */
  readonly current: string | null;
  /** The last NACK, kept even after a later ACK (see `state` for whether it still applies). */
  readonly lastNack: NackView | null;
  /** Resources subscribed (names). */
  readonly resources: number;
  readonly counters: XdsCounters;
}

/** How the proxy talks to the control plane. */
export type ProxyClientKind = 'Envoy' | 'gRPC' | 'agent' | 'unknown';

export interface ProxyView {
  /** The node id (the `{id}` of `/api/v1/proxies/{id}/config`, URL-encoded). */
  readonly id: string;
  /** `<workload>.<namespace>` (istioctl's NAME), else the node id. */
  readonly name: string;
  readonly clientKind: ProxyClientKind;
  /** The node's kind as the server classifies it (envoy, grpc, ...). */
  readonly kind: string;
  readonly namespace: string;
  /** The node's cluster (metadata CLUSTER_ID, else the mesh's). */
  readonly cluster: string;
  readonly network: string;
  /** `region/zone/subzone` ('' when none). */
  readonly locality: string;
  /** The proxy's first IP ('' when unknown) and all of them. */
  readonly ip: string;
  readonly ips: readonly string[];
  readonly version: string;
  /** The view (generated config shared by proxies alike) the proxy gets. */
  readonly view: string;
  readonly stream: string;
  /** `sotw` or `delta`. */
  readonly protocol: string;
  /** The stream's remote address. */
  readonly peer: string;
  /** The SPIFFE identity the stream authenticated with (null on the plaintext port). */
  readonly identity: string | null;
  readonly connectedAt: string;
  /** The control plane replica (instance) serving the stream. */
  readonly instance: string;
  readonly types: readonly ProxyTypeSync[];
  /** Summed over the types. */
  readonly counters: XdsCounters;
  /** When a response was last sent on the stream; null: never. */
  readonly lastPushAt: string | null;
  /** What the proxy has may be out of date: see `staleReasons`. */
  readonly mayBeStale: boolean;
  readonly staleReasons: readonly string[];
}

export interface ProxiesResponse {
  readonly instance: string;
  readonly proxies: readonly ProxyView[];
  /** A source (store, Kubernetes) is disconnected or not synced: everything shown may be stale. */
  readonly mayBeStale: boolean;
  readonly staleReasons: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// "What does this proxy get" (view 6): `GET /api/v1/proxies/{id}/config`

/** One endpoint of a cluster as sent (ClusterLoadAssignment). */
export interface ProxyEndpointView {
  /** `IP:PORT` or `unix:PATH`. */
  readonly address: string;
  /** `region/zone/subzone`. */
  readonly locality: string;
  /** 0 = preferred; higher is failover. */
  readonly priority: number;
  /** 0: none set. */
  readonly weight: number;
  /** Envoy's HealthStatus name. */
  readonly health: string;
  /** Set when this endpoint is a network gateway standing in for a remote network's endpoints: that network. */
  readonly gatewayFor: string | null;
}

export interface ProxyClusterView {
  readonly name: string;
  /** EDS, STATIC, STRICT_DNS, LOGICAL_DNS, ORIGINAL_DST, ... */
  readonly discovery: string;
  /** Endpoints (EDS clusters: the ClusterLoadAssignment sent; others: the inline load assignment), by priority then address. */
  readonly endpoints: readonly ProxyEndpointView[];
}

export interface ProxyListenerView {
  readonly name: string;
  /** `IP:PORT` ('' for a listener without an address, e.g. gRPC's API listeners). */
  readonly address: string;
  /** Route configurations the listener refers to (RDS names). */
  readonly routeConfigurations: readonly string[];
}

export interface ProxyRouteView {
  readonly routeConfiguration: string;
  readonly virtualHost: string;
  readonly domains: readonly string[];
  readonly routes: readonly RouteSummary[];
}

/** What changed in the last push to the proxy's view (compared with the push before it). */
export interface PushDiff {
  /** Versions per type before and after, e.g. `{"CDS": ["3", "4"]}`. */
  readonly versions: Readonly<Record<string, readonly [string, string]>>;
  readonly at: string;
  readonly clusters: readonly ResourceChange[];
  readonly endpoints: readonly EndpointsChange[];
  readonly routes: readonly RouteChange[];
  readonly listeners: readonly ResourceChange[];
}

export interface ProxyConfigResponse {
  readonly id: string;
  readonly name: string;
  readonly view: string;
  /** The versions the resources below are of, per type (the ones last sent). */
  readonly versions: Readonly<Record<string, string>>;
  readonly clusters: readonly ProxyClusterView[];
  readonly listeners: readonly ProxyListenerView[];
  readonly routes: readonly ProxyRouteView[];
  /** null: the view has had only one push since serve started (nothing to compare). */
  readonly diffFromPrevious: PushDiff | null;
}

// ---------------------------------------------------------------------------------------------
// Health timeline (view 4): `GET /api/v1/timeline`

/** An endpoint's state on the timeline: its health, or its agent's connection. */
export type TimelineState = 'healthy' | 'unhealthy' | 'unknown' | 'connected' | 'disconnected' | 'absent';

/** Who told the control plane: a probe (agent health report / Healthy condition), the agent's stream, an operator's write, Kubernetes readiness. */
export type TransitionSource = 'probe' | 'connection' | 'operator' | 'kubernetes';

export interface HealthTransition {
  readonly at: string;
  readonly from: TimelineState;
  readonly to: TimelineState;
  readonly reason: string;
  readonly source: TransitionSource;
}

export interface EndpointTimeline {
  /** `WorkloadEntry/ns/name` or `Pod/ns/name`. */
  readonly endpoint: string;
  readonly kind: EndpointKind;
  readonly namespace: string;
  readonly name: string;
  /** The last address known ('' when none). */
  readonly address: string;
  /** The last health state (`healthy`, `unhealthy`, `unknown`, or `absent` once deleted). */
  readonly health: TimelineState;
  /** The last connection state of its agent (WorkloadEntries registered by an agent), else null. */
  readonly connection: 'connected' | 'disconnected' | null;
  /** Oldest first; at most `limits.transitionsPerEndpoint` (older ones are dropped and counted). */
  readonly transitions: readonly HealthTransition[];
  readonly dropped: number;
  /** At least `limits.flapThreshold` health transitions within the last `limits.flapWindowSeconds`. */
  readonly flapping: boolean;
  /** Health transitions within the flap window (now). */
  readonly flapCount: number;
}

export interface TimelineLimits {
  readonly transitionsPerEndpoint: number;
  readonly endpoints: number;
  readonly flapWindowSeconds: number;
  readonly flapThreshold: number;
}

export interface TimelineResponse {
  /** The filter applied: `ns/host`, an endpoint key, or null (all). */
  readonly service: string | null;
  readonly endpoint: string | null;
  readonly endpoints: readonly EndpointTimeline[];
  readonly limits: TimelineLimits;
  /** Endpoints forgotten because of the cap (least recently changed first). */
  readonly evictedEndpoints: number;
}

// ---------------------------------------------------------------------------------------------
// Locality & networks (view 7): `GET /api/v1/localities?client=region/zone/subzone&network=N&namespace=NS`

export interface LocalityClient {
  readonly locality: string;
  readonly network: string;
  readonly namespace: string;
}

export interface FailoverEndpoint {
  readonly address: string;
  readonly locality: string;
  readonly network: string;
  readonly weight: number;
  readonly health: string;
  /** `Pod/ns/name`, `WorkloadEntry/ns/name`, `ServiceEntry/ns/name#i`, or `gateway` for a network gateway. */
  readonly source: string;
  readonly gatewayFor: string | null;
}

/** The endpoints the client would try at one priority (0 first). */
export interface PriorityGroup {
  readonly priority: number;
  readonly localities: readonly string[];
  readonly endpoints: readonly FailoverEndpoint[];
}

export interface ServiceFailover {
  readonly host: string;
  readonly namespace: string;
  readonly port: number;
  readonly cluster: string;
  /** The client gets more than one priority for this cluster (locality failover applies). */
  readonly localityAware: boolean;
  /** Which setting decided the priorities and weights: `zoneAwareLbSetting`, `localityLbSetting`, `trafficDistribution`, `mesh`, `none`, with its source. */
  readonly localityLb: { readonly setting: string; readonly source: string; readonly detail: string };
  readonly priorities: readonly PriorityGroup[];
}

export interface LocalitiesResponse {
  readonly client: LocalityClient;
  readonly services: readonly ServiceFailover[];
  /** Every locality and network with endpoints, with counts (for the picker). */
  readonly localities: readonly { readonly locality: string; readonly network: string; readonly endpoints: number }[];
}

// ---------------------------------------------------------------------------------------------
// Config & validation (view 9): `GET /api/v1/config`

export interface ConfigProblem {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** The field path, e.g. `spec.ports[0].number` ('' when the whole object). */
  readonly field: string;
  /** Where: a file with line and column (0 when unknown), or a store key. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface ConfigReference {
  /** `group` (a WorkloadEntry's WorkloadGroup), `entries` (a group's entries), `selects` (ServiceEntry → workloads), `selectedBy`, `host` (DR/VS → service). */
  readonly relation: 'group' | 'entries' | 'selects' | 'selectedBy' | 'host';
  readonly key: string;
}

export interface ConfigObjectView {
  /** `Kind/namespace/name`. */
  readonly key: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** `file:line`, the etcd key, or the Kubernetes object. */
  readonly location: string;
  readonly problems: readonly ConfigProblem[];
  /** The status as stored (what we wrote: ServiceEntry addresses, WorkloadEntry conditions), or null. */
  readonly status: JsonValue;
  readonly references: readonly ConfigReference[];
}

export interface ConfigFileView {
  readonly path: string;
  /** Refused: its last good version is served. */
  readonly rejected: boolean;
  readonly objects: number;
  readonly problems: readonly ConfigProblem[];
}

export interface ConfigResponse {
  readonly store: string;
  readonly revision: string;
  readonly objects: readonly ConfigObjectView[];
  /** The file store's files (empty with etcd). */
  readonly files: readonly ConfigFileView[];
}

// ---------------------------------------------------------------------------------------------
// Control plane & sources (view 10): `GET /api/v1/controlplane`

export interface LatencySummary {
  readonly count: number;
  /** Estimated from the histogram buckets; null when no observation. */
  readonly p50Seconds: number | null;
  readonly p99Seconds: number | null;
}

export interface ControlPlaneResponse {
  readonly instance: string;
  readonly version: string;
  readonly startedAt: string;
  readonly ready: boolean;
  readonly leader: boolean;
  readonly replicas: readonly string[];
  readonly store: {
    readonly description: string;
    /** `file` or `etcd`. */
    readonly kind: string;
    readonly connected: boolean;
    readonly since: string;
    readonly revision: string;
    readonly message: string;
    readonly changesApplied: number;
    readonly resyncs: number;
    readonly problems: readonly string[];
  };
  /** The file store's watcher: the last reload; null with etcd. */
  readonly files: { readonly lastReloadAt: string | null; readonly files: number; readonly rejected: readonly string[] } | null;
  /** The Kubernetes source (`--kubeconfig`), or null; informers as /debug/sourcez shows them. */
  readonly kubernetes: { readonly server: string; readonly synced: boolean; readonly informers: JsonValue } | null;
  readonly push: {
    readonly pushes: number;
    readonly lastPushAt: string | null;
    /** pilot_proxy_convergence_time: change → ACK. */
    readonly convergence: LatencySummary;
    /** pilot_xds_push_time. */
    readonly pushTime: LatencySummary;
  };
  readonly counts: {
    readonly proxies: number;
    readonly services: number;
    readonly workloadEntries: number;
    readonly pods: number;
    readonly workloadGroups: number;
    readonly objects: number;
    readonly sseClients: number;
  };
  readonly mayBeStale: boolean;
  readonly staleReasons: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Live events: `GET /api/v1/events` (SSE) and `?since=ID` (JSON polling)

interface EventBase {
  /** Increasing from 1 within a serve process (ids restart with the process: see `instance` of EventsResponse). */
  readonly id: number;
  readonly at: string;
}

/** An endpoint's health or connection changed (the same transition the timeline records). */
export interface HealthEvent extends EventBase {
  readonly type: 'health';
  readonly endpoint: string;
  readonly kind: EndpointKind;
  readonly address: string;
  readonly from: TimelineState;
  readonly to: TimelineState;
  readonly reason: string;
  readonly source: TransitionSource;
  readonly flapping: boolean;
}

export interface ProxyEvent extends EventBase {
  readonly type: 'proxy';
  readonly action: 'connect' | 'disconnect' | 'nack';
  /** The node id. */
  readonly proxy: string;
  readonly name: string;
  readonly stream: string;
  /** disconnect: the reason; nack: the proxy's error message. */
  readonly message: string;
  /** nack: the type (CDS, ...). */
  readonly xdsType?: string;
}

export interface ConfigEvent extends EventBase {
  readonly type: 'config';
  readonly revision: string;
  /** Objects changed in this batch, and up to 20 of their keys. */
  readonly changes: number;
  readonly objects: readonly string[];
}

export interface PushEvent extends EventBase {
  readonly type: 'push';
  readonly views: number;
  readonly changes: number;
  readonly pushSeconds: number;
  readonly debounceSeconds: number;
}

export type ApiEvent = HealthEvent | ProxyEvent | ConfigEvent | PushEvent;
export type ApiEventType = ApiEvent['type'];

/** SSE `event: reset`: events between the client's Last-Event-ID and now were dropped (or it is another process): reload the views. */
export interface EventsReset {
  readonly instance: string;
  readonly lastId: number;
}

export interface EventsResponse {
  /** The serve process (ids are per process: a different instance means start again from 0). */
  readonly instance: string;
  /** Events with an id above `since`, oldest first. */
  readonly events: readonly ApiEvent[];
  /** The highest id so far (0: none): pass it as the next `since`. */
  readonly lastId: number;
  /** Events between `since` and the oldest kept were dropped from the ring (reload the views). */
  readonly truncated: boolean;
}
