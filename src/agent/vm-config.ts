/**
 * What `workload entry configure` derives from a WorkloadGroup (pure; the command writes it):
 * the agent's settings (agent-protocol.md §1) and Istio-compatible `cluster.env` (I-3) and
 * `mesh.yaml` (I-4), with meshbridge's values where Istio's make no sense:
 * - `discoveryAddress` is the control plane's xDS address (Istio writes it only for revisions; the
 *   first one when `--control-plane` lists several: Istio's agent takes one);
 * - ISTIO_META_AUTO_REGISTER_GROUP is always set (the agent always auto-registers: `--autoregister`);
 * - ISTIO_META_DNS_CAPTURE is not set (no DNS proxy on the VM yet; capturing DNS would break it);
 * - no CA_ADDR, ISTIO_SVC_IP, root-cert.pem, istio-token or hosts (no CA, no Kubernetes tokens:
 *   the registration token replaces istio-token);
 * - SERVICE_ACCOUNT is the template's as written, '' when none (AR-3; istioctl's "default", I-2,
 *   would not match the registration token's claims);
 * - TRUST_DOMAIN and ISTIO_META_CLUSTER_ID come from meshbridge's MeshConfig (defaults
 *   `cluster.local`, `Kubernetes`).
 */
import { parse as parseYaml, stringify } from 'yaml';
import type { WorkloadGroup } from '../model/config/types.js';
import type { AgentSettings } from './bootstrap.js';
import { firstControlPlane } from './control-plane-targets.js';

export interface MeshValues {
  readonly controlPlane: string;
  readonly trustDomain: string;
  readonly clusterId: string;
}

const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';

/** `meshbridge-agent.json` for a group; labels = template labels overridden by `spec.metadata.labels` (AR-3). */
export function agentSettingsFor(group: WorkloadGroup, mesh: MeshValues): AgentSettings {
  const t = group.spec.template;
  return {
    controlPlane: mesh.controlPlane,
    namespace: group.metadata.namespace,
    group: group.metadata.name,
    serviceAccount: t.serviceAccount ?? '',
    network: t.network ?? '',
    locality: t.locality ?? '',
    labels: sortKeys({ ...(t.labels ?? {}), ...(group.spec.metadata?.labels ?? {}) }),
    ports: sortKeys({ ...(t.ports ?? {}) }),
    ...(group.spec.probe !== undefined ? { probe: group.spec.probe } : {}),
    trustDomain: mesh.trustDomain,
    clusterId: mesh.clusterId,
  };
}

/** Istio's canonical service name and revision from labels (pkg/config/labels CanonicalService). */
export function canonicalService(labels: Readonly<Record<string, string>>, workloadName: string): { name: string; revision: string } {
  return {
    name: labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? workloadName,
    revision: labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels['version'] ?? 'latest',
  };
}

/** I-4: the proxy config (`defaultConfig` of mesh.yaml), proxyMetadata included. */
export function proxyConfigFor(group: WorkloadGroup, mesh: MeshValues): Record<string, unknown> {
  const config: Record<string, unknown> = { discoveryAddress: firstControlPlane(mesh.controlPlane) };
  const md: Record<string, string> = {};
  // `proxy.istio.io/config` on the group, then in spec.metadata, overlay the defaults (I-4).
  for (const annotations of [group.metadata.annotations, group.spec.metadata?.annotations ?? {}]) {
    const overlay = proxyConfigAnnotation(annotations[PROXY_CONFIG_ANNOTATION]);
    if (overlay === undefined) continue;
    const { proxyMetadata, ...rest } = overlay;
    Object.assign(config, rest);
    if (proxyMetadata !== null && typeof proxyMetadata === 'object') {
      for (const [k, v] of Object.entries(proxyMetadata as Record<string, unknown>)) md[k] = String(v);
    }
  }
  const t = group.spec.template;
  const name = group.metadata.name;
  // istioctl: spec.metadata.labels overridden by template labels, plus the canonical labels.
  const labels: Record<string, string> = { ...(group.spec.metadata?.labels ?? {}), ...(t.labels ?? {}) };
  const canonical = canonicalService(labels, name);
  md['CANONICAL_SERVICE'] = canonical.name;
  md['CANONICAL_REVISION'] = canonical.revision;
  md['POD_NAMESPACE'] = group.metadata.namespace;
  md['SERVICE_ACCOUNT'] = t.serviceAccount ?? '';
  md['TRUST_DOMAIN'] = mesh.trustDomain;
  md['ISTIO_META_CLUSTER_ID'] = mesh.clusterId;
  md['ISTIO_META_MESH_ID'] = typeof config['meshId'] === 'string' ? config['meshId'] : '';
  md['ISTIO_META_NETWORK'] = t.network ?? '';
  const ports = Object.entries(t.ports ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (ports.length > 0) md['ISTIO_META_POD_PORTS'] = JSON.stringify(ports.map(([n, p]) => ({ name: n, containerPort: p, protocol: '' })));
  md['ISTIO_META_WORKLOAD_NAME'] = name;
  labels['service.istio.io/canonical-name'] = canonical.name;
  labels['service.istio.io/canonical-revision'] = canonical.revision;
  md['ISTIO_METAJSON_LABELS'] = JSON.stringify(sortKeys(labels));
  md['ISTIO_META_AUTO_REGISTER_GROUP'] = name;
  config['proxyMetadata'] = sortKeys(md);
  if (group.spec.probe !== undefined) config['readinessProbe'] = group.spec.probe;
  return config;
}

/** mesh.yaml (I-4): `defaultConfig`, keys sorted as Go's YAML marshalling of maps sorts them. */
export function meshYaml(group: WorkloadGroup, mesh: MeshValues): string {
  return stringify({ defaultConfig: proxyConfigFor(group, mesh) }, { sortMapEntries: true, lineWidth: 0 });
}

/** cluster.env (I-3): the proxy metadata plus the group's overrides, `KEY='value'` lines, sorted. */
export function clusterEnv(group: WorkloadGroup, mesh: MeshValues): string {
  const config = proxyConfigFor(group, mesh);
  const t = group.spec.template;
  const ports = Object.entries(t.ports ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => String(p));
  const statusPort = typeof config['statusPort'] === 'number' ? config['statusPort'] : 0;
  const exclude = `22,15090,15021${statusPort === 15090 || statusPort === 15021 ? '' : `,${statusPort !== 0 ? statusPort : 15020}`}`;
  const env: Record<string, string> = {
    ...(config['proxyMetadata'] as Record<string, string>),
    ISTIO_INBOUND_PORTS: ports.length > 0 ? ports.join(',') : '*',
    ISTIO_NAMESPACE: group.metadata.namespace,
    ISTIO_SERVICE: `${group.metadata.name}.${group.metadata.namespace}`,
    ISTIO_SERVICE_CIDR: '*',
    ISTIO_LOCAL_EXCLUDE_PORTS: exclude,
    SERVICE_ACCOUNT: t.serviceAccount ?? '',
  };
  const lines = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return `${lines.sort().join('\n')}\n`;
}

/** Single-quoted for a POSIX shell (as istioctl writes cluster.env). */
export function shellQuote(v: string): string {
  return `'${v.replaceAll("'", `'"'"'`)}'`;
}

function proxyConfigAnnotation(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const v: unknown = parseYaml(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sortKeys<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
