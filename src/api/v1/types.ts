/**
 * The JSON shapes of `/api/v1` (docs/api.md): the only contract between the control plane and the
 * dashboard, which imports these types and nothing else of the server. Plain data, JSON-safe (no
 * Maps, no undefined inside arrays); times are RFC 3339 strings.
 */
import type { ClientSelection, WhatIfResult } from '../../status/what-if.js';

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
