/**
 * Config generator: a mesh of ServiceEntries (one host, port 8080 GRPC, workloadSelector app=svc-N),
 * WorkloadEntries and pods selected by them, written into a config folder the way an operator (or a
 * GitOps sync) would: bulk objects in large multi-document files, and the entries the churn touches
 * in one small file each, so that a change re-reads one small file (the folder source re-parses only
 * files whose size or mtime changed).
 *
 * Everything is deterministic from the shape; addresses are loopback (127.x) data that nothing dials.
 */
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MeshShape {
  /** ServiceEntries (one host each). */
  readonly services: number;
  readonly namespaces: number;
  /** WorkloadEntries, spread round-robin over the services (entry i → service i % services). */
  readonly workloadEntries: number;
  /** Pods, continuing the round-robin after the entries. */
  readonly pods: number;
  /** Localities r1/z0 .. r1/z(n-1). */
  readonly zones: number;
  /** Objects per bulk file. */
  readonly chunk?: number;
  /** The first `churnPool` entries are written one per file (churn targets). */
  readonly churnPool: number;
  /**
   * The `policies` variant: in every namespace, a DestinationRule and a VirtualService for each of the
   * first `policiesPerNamespace` services declared there, visible in that namespace only, so that proxies
   * of different namespaces (and zones) see different policies and fall into many views. 0 or absent: none.
   */
  readonly policiesPerNamespace?: number;
}

export const SERVICE_PORT = 8080;

export function serviceNamespace(shape: MeshShape, s: number): string {
  return `ns-${s % shape.namespaces}`;
}
export function serviceHost(shape: MeshShape, s: number): string {
  return `svc-${s}.${serviceNamespace(shape, s)}.mesh`;
}
/** The name a proxyless gRPC client dials and subscribes to in LDS (`xds:///host:port`). */
export function listenerName(shape: MeshShape, s: number): string {
  return `${serviceHost(shape, s)}:${SERVICE_PORT}`;
}
/** C-1: `outbound|<port>||<host>`, also the EDS service name. */
export function clusterName(shape: MeshShape, s: number): string {
  return `outbound|${SERVICE_PORT}||${serviceHost(shape, s)}`;
}

/** Workload i (entries first, then pods) belongs to service i % services. */
export function serviceOfWorkload(shape: MeshShape, i: number): number {
  return i % shape.services;
}

export function entryAddress(i: number): string {
  return `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}
export function podAddress(j: number): string {
  return `127.${100 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`;
}
export function zoneOf(i: number, zones: number): string {
  return `z${i % zones}`;
}

/** The state of one churned entry, from which its file is written. */
export interface EntryState {
  readonly index: number;
  exists: boolean;
  healthy: boolean;
  /** false: the app label is changed so that no ServiceEntry selects the entry. */
  selected: boolean;
  weight: number;
}

export function initialEntryState(index: number): EntryState {
  return { index, exists: true, healthy: true, selected: true, weight: 1 };
}

function serviceEntryYaml(shape: MeshShape, s: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: svc-${s}
  namespace: ${serviceNamespace(shape, s)}
spec:
  hosts:
  - ${serviceHost(shape, s)}
  location: MESH_INTERNAL
  ports:
  - number: ${SERVICE_PORT}
    name: grpc
    protocol: GRPC
  resolution: STATIC
  workloadSelector:
    labels:
      app: svc-${s}
`;
}

/** Churned entries have health checks enabled (H-GATE-2) so that health can be toggled in the file. */
export function workloadEntryYaml(shape: MeshShape, i: number, st?: EntryState): string {
  const s = serviceOfWorkload(shape, i);
  const app = st && !st.selected ? `svc-${s}-moved` : `svc-${s}`;
  const health = st
    ? `  annotations:
    proxy.istio.io/health-checks-enabled: "true"
`
    : '';
  const status = st
    ? `status:
  conditions:
  - type: Healthy
    status: "${st.healthy ? 'True' : 'False'}"
`
    : '';
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: we-${i}
  namespace: ${serviceNamespace(shape, s)}
${health}spec:
  address: ${entryAddress(i)}
  locality: r1/${zoneOf(i, shape.zones)}
  weight: ${st?.weight ?? 1}
  labels:
    app: ${app}
    version: v1
${status}`;
}

/**
 * A DestinationRule (outlier detection, which also turns on locality failover priorities, and a
 * connection pool) and a VirtualService (timeout, retries) for service `s`, exported to their own
 * namespace only. The route keeps the plain host and port (no subset), so the proxies' clusters and
 * EDS names are those of the plain mesh and the churn's expectations hold unchanged.
 */
export function policyYaml(shape: MeshShape, s: number): string {
  const ns = serviceNamespace(shape, s);
  const host = serviceHost(shape, s);
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: svc-${s}
  namespace: ${ns}
spec:
  host: ${host}
  exportTo:
  - "."
  trafficPolicy:
    connectionPool:
      http:
        http2MaxRequests: ${100 + s}
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: svc-${s}
  namespace: ${ns}
spec:
  hosts:
  - ${host}
  exportTo:
  - "."
  http:
  - timeout: ${5 + (s % 10)}s
    retries:
      attempts: 2
      perTryTimeout: 2s
    route:
    - destination:
        host: ${host}
        port:
          number: ${SERVICE_PORT}
`;
}

/** For a mesh description: `, 2 DR + 2 VS per namespace` in the policies variant, '' otherwise. */
export function policyNote(shape: MeshShape): string {
  const per = shape.policiesPerNamespace ?? 0;
  return per > 0 ? `, ${per} DR + ${per} VS per namespace` : '';
}

/** The services that get policies: the first `policiesPerNamespace` of each namespace (s = k, k + namespaces, ...). */
export function policyServices(shape: MeshShape): number[] {
  const per = shape.policiesPerNamespace ?? 0;
  const out: number[] = [];
  for (let j = 0; j < per; j++) for (let k = 0; k < shape.namespaces; k++) if (j * shape.namespaces + k < shape.services) out.push(j * shape.namespaces + k);
  return out;
}

function podYaml(shape: MeshShape, j: number): string {
  const i = shape.workloadEntries + j;
  const s = serviceOfWorkload(shape, i);
  return `apiVersion: v1
kind: Pod
metadata:
  name: pod-${j}
  namespace: ${serviceNamespace(shape, s)}
  labels:
    app: svc-${s}
    version: v1
spec:
  nodeName: node-${zoneOf(j, shape.zones)}
  containers:
  - name: app
    ports:
    - name: grpc
      containerPort: ${SERVICE_PORT}
status:
  phase: Running
  podIP: ${podAddress(j)}
  conditions:
  - type: Ready
    status: "True"
`;
}

function nodeYaml(zone: string, k: number): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: node-${zone}
  labels:
    topology.kubernetes.io/region: r1
    topology.kubernetes.io/zone: ${zone}
status:
  addresses:
  - type: InternalIP
    address: 127.200.0.${k + 1}
`;
}

export interface GeneratedMesh {
  readonly dir: string;
  readonly files: number;
  readonly objects: number;
  readonly bytes: number;
}

/** Writes the whole mesh into `dir` (emptied first). */
export function generateMesh(dir: string, shape: MeshShape): GeneratedMesh {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'bulk'), { recursive: true });
  mkdirSync(join(dir, 'churn'), { recursive: true });
  const chunk = shape.chunk ?? 1000;
  let files = 0;
  let objects = 0;
  let bytes = 0;
  const writeBulk = (prefix: string, count: number, yaml: (k: number) => string, skip: (k: number) => boolean = () => false): void => {
    for (let start = 0; start < count; start += chunk) {
      const docs: string[] = [];
      for (let k = start; k < Math.min(count, start + chunk); k++) if (!skip(k)) docs.push(yaml(k));
      if (docs.length === 0) continue;
      const text = docs.join('---\n');
      writeFileSync(join(dir, 'bulk', `${prefix}-${String(start / chunk).padStart(5, '0')}.yaml`), text);
      files++;
      objects += docs.length;
      bytes += text.length;
    }
  };
  const meshText = `apiVersion: meshbridge.io/v1alpha1
kind: MeshConfig
metadata:
  name: mesh
spec:
  clusterId: Kubernetes
---
${Array.from({ length: shape.zones }, (_, k) => nodeYaml(zoneOf(k, shape.zones), k)).join('---\n')}`;
  writeFileSync(join(dir, '00-mesh.yaml'), meshText);
  files++;
  objects += 1 + shape.zones;
  bytes += meshText.length;
  writeBulk('se', shape.services, (s) => serviceEntryYaml(shape, s));
  writeBulk('we', shape.workloadEntries, (i) => workloadEntryYaml(shape, i), (i) => i < shape.churnPool);
  writeBulk('pod', shape.pods, (j) => podYaml(shape, j));
  const policies = policyServices(shape);
  writeBulk('policy', policies.length, (k) => policyYaml(shape, policies[k] as number));
  objects += policies.length; // two objects (DestinationRule + VirtualService) per document pair
  for (let i = 0; i < Math.min(shape.churnPool, shape.workloadEntries); i++) {
    const text = workloadEntryYaml(shape, i, initialEntryState(i));
    writeFileSync(churnFile(dir, i), text);
    files++;
    objects++;
    bytes += text.length;
  }
  return { dir, files, objects, bytes };
}

export function churnFile(dir: string, i: number): string {
  return join(dir, 'churn', `we-${i}.yaml`);
}

/** Writes (or removes) a churned entry's file from its state. */
export function writeEntry(dir: string, shape: MeshShape, st: EntryState): void {
  if (!st.exists) {
    try {
      unlinkSync(churnFile(dir, st.index));
    } catch {
      // already gone
    }
    return;
  }
  writeFileSync(churnFile(dir, st.index), workloadEntryYaml(shape, st.index, st));
}
