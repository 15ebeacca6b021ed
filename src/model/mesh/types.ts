/**
 * meshbridge's internal model of the mesh: workloads (from pods and WorkloadEntries), services
 * (from ServiceEntries and Kubernetes Services) and their endpoints. Pure data: every value here is
 * derived by the registry from the input kinds and compared structurally.
 */
import type { Location, Resolution, StringMap } from '../config/types.js';

/** Envoy's health status names as sent in EDS. WorkloadEntries carry UNKNOWN, pods HEALTHY (E-ATTR-7). */
export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

/** Why a candidate workload is not an endpoint (cli-contract `excluded[].reason`). */
export type ExclusionReason =
  | 'namespace'
  | 'labels'
  | 'unhealthy'
  | 'port'
  | 'network'
  | 'address'
  | 'resolution'
  | 'subset'
  | 'exportTo';

export interface CreationOrder {
  /** metadata.creationTimestamp, or '' when unset (sorts first, like Kubernetes' zero time). */
  readonly timestamp: string;
  /** Load order (files sorted by path, then documents): the tie breaker. */
  readonly order: number;
}

export type AddressKind = 'ip' | 'dns' | 'unix' | 'none';

/** A pod or a WorkloadEntry, as selectors and endpoint builders see it. */
export interface Workload {
  /** `WorkloadEntry/<ns>/<name>` or `Pod/<ns>/<name>`: also the endpoint `source`. */
  readonly key: string;
  readonly kind: 'WorkloadEntry' | 'Pod';
  readonly name: string;
  readonly namespace: string;
  /** IP, DNS name, `unix:///path`, or '' (network-only entry). */
  readonly address: string;
  readonly addressKind: AddressKind;
  /** Named ports: WorkloadEntry `ports`, or a pod's named TCP container ports (E-PORT-2). */
  readonly ports: Readonly<Record<string, number>>;
  /** Effective labels (E-LBL-1) augmented with topology labels (E-LBL-3). */
  readonly labels: StringMap;
  readonly network: string;
  readonly locality: string;
  /** As configured; 0 when unset (E-ATTR-6 turns 0 into 1 on output). */
  readonly weight: number;
  /** SPIFFE identity (E-ATTR-2), or null. */
  readonly identity: string | null;
  /** `security.istio.io/tlsMode` semantics (E-ATTR-1): usually 'istio' or 'disabled'. */
  readonly tlsMode: string;
  readonly health: HealthStatus;
  /** Workload name for telemetry (E-ATTR-8). */
  readonly workloadName: string;
  /**
   * Whether selectors may pick this workload. False for an unhealthy health-checked entry
   * (H-GATE-2) or a pod that is not ready (E-SEL-3); `exclusion` says why.
   */
  readonly selectable: boolean;
  /**
   * Whether a Kubernetes Service lists it as an endpoint: like `selectable`, except that a pod that
   * is only not Ready is listed too (its EndpointSlice entry is not ready: `health` UNHEALTHY,
   * EDS-4/EDS-7), while ServiceEntry selectors skip it (E-SEL-3).
   */
  readonly listedByServices: boolean;
  readonly exclusion?: { readonly reason: ExclusionReason; readonly detail: string };
  readonly creation: CreationOrder;
}

export interface ServicePort {
  readonly number: number;
  readonly name: string;
  /** Canonical protocol name (HTTP, TCP, GRPC, ...), or '' when unset. */
  readonly protocol: string;
  /** 0 when unset. For Kubernetes Services a named targetPort is kept in `targetPortName`. */
  readonly targetPort: number;
  readonly targetPortName?: string;
}

/** One endpoint of one service port. */
export interface Endpoint {
  /** IP, DNS name, `unix:///path` (port 0), or '' (network-only). */
  readonly address: string;
  readonly port: number;
  readonly servicePort: number;
  readonly portName: string;
  readonly labels: StringMap;
  readonly locality: string;
  readonly network: string;
  /** >= 1 (E-ATTR-6). */
  readonly weight: number;
  readonly tlsMode: string;
  /** SPIFFE identity or null. */
  readonly serviceAccount: string | null;
  readonly health: HealthStatus;
  /** `WorkloadEntry/<ns>/<name>`, `Pod/<ns>/<name>`, `ServiceEntry/<ns>/<name>#<i>`. */
  readonly source: string;
  /** The namespace of the workload's identity. */
  readonly namespace: string;
  readonly workloadName: string;
}

/**
 * What one ServiceEntry or Kubernetes Service declares, with its endpoints: the unit the registry
 * recomputes when a selected workload changes.
 */
export interface ServiceBundle {
  /** `ServiceEntry/<ns>/<name>` or `Service/<ns>/<name>`. */
  readonly key: string;
  readonly source: 'ServiceEntry' | 'Service';
  readonly name: string;
  readonly namespace: string;
  readonly creation: CreationOrder;
  readonly hosts: readonly string[];
  /** Spec addresses (IPs and CIDRs, /32 and /128 reduced to the IP: S-2); the same for every host. */
  readonly specAddresses: readonly string[];
  /** Automatically allocated addresses per host (A-V2-2, S-5). */
  readonly autoAddresses: Readonly<Record<string, readonly string[]>>;
  readonly resolution: Resolution;
  readonly location: Location;
  readonly ports: readonly ServicePort[];
  /** exportTo as written ([] = mesh default). */
  readonly exportTo: readonly string[];
  readonly subjectAltNames: readonly string[];
  /** Selector labels, or null when the service has no selector. */
  readonly selector: StringMap | null;
  /** The object's own metadata.labels (D-4 merge condition). */
  readonly objectLabels: StringMap;
  readonly annotations: StringMap;
  /**
   * Endpoints shared by every host. When `hostnameEndpoints` is set (E-SRC-1), each host instead
   * has one endpoint per port whose address is the host itself, built by `endpointsOfHost`.
   */
  readonly endpoints: readonly Endpoint[];
  readonly hostnameEndpoints: boolean;
  /** Workloads considered by the selector (same namespace), for --explain: key -> reason left out. */
  readonly externalName?: string;
}

/** All services for one (host, namespace), merged as Istio merges them (D-1..D-5). */
export interface MergedService {
  /** `<namespace>/<host>` */
  readonly key: string;
  readonly host: string;
  readonly namespace: string;
  /** The bundle whose definition wins (D-4: a Kubernetes Service beats ServiceEntries; else the oldest). */
  readonly definedBy: string;
  readonly source: 'ServiceEntry' | 'Service';
  readonly resolution: Resolution;
  readonly location: Location;
  readonly ports: readonly ServicePort[];
  readonly addresses: readonly string[];
  readonly exportTo: readonly string[];
  readonly subjectAltNames: readonly string[];
  readonly annotations: StringMap;
  readonly creation: CreationOrder;
  /** Every endpoint of every bundle for this host and namespace, in creation order (D-1, D-2, D-3). */
  readonly endpoints: readonly Endpoint[];
  /** Keys of the contributing bundles, oldest first. */
  readonly bundles: readonly string[];
}
