/**
 * The settings of `serve`: one object, built by the CLI from its flags (cli/serve-command.ts) or by
 * a test or benchmark directly, and read by the control plane and its store backend. Unset optional
 * values take the defaults named on each.
 */
import type { Logger } from '../lib/log/logger.js';
import type { SecretsKeyring } from '../security/secrets-at-rest.js';
import type { StoreFlags } from '../sources/store-url.js';
import type { XdsLimits } from '../xds/server/limits.js';
import type { XdsTransport } from '../xds/server/transport-choice.js';
import type { ClusterSourceOptions } from '../sources/kube/cluster-source.js';

export interface ServeSettings {
  /** The config folders of the file store (when `store` is not given). */
  readonly configPaths?: readonly string[];
  /** `file://DIR` or `etcd://h:p[,h:p...]` (cli-contract `--store`, sources/store-url.ts); default: the file store on `configPaths`. */
  readonly store?: string;
  /** TLS and user/password for an etcd store (`--etcd-*`; override the URL's options); the kubeconfig of a `kube://` store. */
  readonly etcd?: StoreFlags;
  /** Seals the CA key and the token signing key at rest (`--secrets-key-file`; docs/security.md §7); absent: plaintext, with one warning. */
  readonly secrets?: SecretsKeyring;
  /** etcd session TTL in seconds: how long after a crash a replica's workloads are reclaimed (default 5). */
  readonly sessionTtlSeconds?: number;
  /** The plaintext xDS port (loopback development; the CLI refuses other addresses unless asked). */
  readonly xdsAddress: string;
  /** false: no plaintext xDS port (`--no-plaintext-xds`). Default true. */
  readonly plaintextXds?: boolean;
  /** The secure (TLS) xDS port; absent: none (the CLI's default is 127.0.0.1:15012). */
  readonly secureXdsAddress?: string;
  /** Lifetime of the secure port's serving certificate (re-issued at half of it; default 24 h). */
  readonly serverCertificateTtlSeconds?: number;
  readonly httpAddress: string;
  /** Quiet time before a push (ms; the pipeline's default when unset). */
  readonly debounceMs?: number;
  /** Longest delay of a push under constant change (ms; the pipeline's default when unset). */
  readonly debounceMaxMs?: number;
  /** File store: quiet time of the folder watch (ms; default 50). */
  readonly watchDebounceMs?: number;
  readonly logger: Logger;
  /** Control-plane instance name (Istio: the istiod pod name); default meshbridge-<host>-<pid>. */
  readonly instance?: string;
  /** File store: where registered entries, status and the signing key live (default `<first config>.state`). */
  readonly stateDir?: string;
  /** PILOT_WORKLOAD_ENTRY_GRACE_PERIOD (default 10 s). */
  readonly gracePeriodMs?: number;
  /** `--reclaim-rate`: the lifecycle's sweep and reclaim writes per second (RegistrationOptions.reclaimRate). */
  readonly reclaimRatePerSecond?: number;
  /** An operator's CA in Istio's cacerts layout; default: a self-signed root kept in the store. */
  readonly cacertsDir?: string;
  /** What serves the xDS ports' gRPC calls (`--xds-transport`; default grpc-js, transport-choice.ts). */
  readonly xdsTransport?: XdsTransport;
  /** Bounds on xDS clients (issue 11; `serve --max-*` flags); unset ones keep DEFAULT_XDS_LIMITS. */
  readonly xdsLimits?: Partial<XdsLimits>;
  /** How long a registration token lineage may be renewed from its original issue (default 30 days; issue 11). */
  readonly tokenMaxLifetimeSeconds?: number;
  /** Pods, Services, EndpointSlices, Nodes and Namespaces read from a Kubernetes cluster beside the store (`--kubeconfig`). */
  readonly kube?: ClusterSourceOptions;
}
