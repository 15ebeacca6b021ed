/**
 * Small YAML builders for the end-to-end scenarios: a STATIC ServiceEntry selecting workloads by
 * label, WorkloadEntries (VMs) and Pods pointing at real backends, and the XdsClientChild options of
 * a proxyless client in namespace `demo`. Keeping the YAML here lets each test show only what it is about.
 */
import { startBackend, type Backend } from '../xds/fixtures/backends.js';
import { XdsClientChild, type ClientChildOptions } from '../xds/fixtures/client-process.js';

export const NS = 'demo';

/** Node metadata of a proxyless gRPC app in `demo` whose bootstrap has the certificate provider `default` (issue 7). */
export const TLS_PROXYLESS_METADATA = { GENERATOR: 'grpc', NAMESPACE: NS, CERTIFICATE_PROVIDERS: 'default' };

export function serviceEntry(name: string, host: string, selector: Readonly<Record<string, string>>): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${NS}}
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: ${flow(selector)}}
`;
}

/** A DestinationRule in `demo` for `host`; `trafficPolicy` is a YAML flow value. */
export function destinationRule(name: string, host: string, trafficPolicy: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${NS}}
spec: {host: ${host}, trafficPolicy: ${trafficPolicy}}
`;
}

export interface WorkloadOptions {
  readonly locality?: string;
  readonly weight?: number;
}

/** A VM: a WorkloadEntry at the backend's address and port. */
export function workloadEntry(name: string, b: Backend, labels: Readonly<Record<string, string>>, o: WorkloadOptions = {}): string {
  const extra = [o.locality !== undefined ? `locality: ${o.locality}` : '', o.weight !== undefined ? `weight: ${o.weight}` : ''].filter((x) => x !== '');
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}, namespace: ${NS}}
spec: {address: ${b.host}, labels: ${flow(labels)}, ports: {grpc: ${b.port}}${extra.map((x) => `, ${x}`).join('')}}
`;
}

/** A Kubernetes pod, Running and Ready, at the backend's address and port. */
export function pod(name: string, b: Backend, labels: Readonly<Record<string, string>>): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NS}, labels: ${flow(labels)}}
spec: {containers: [{name: app, ports: [{name: grpc, containerPort: ${b.port}}]}]}
status: {podIP: ${b.host}, phase: Running, conditions: [{type: Ready, status: "True"}]}
`;
}

/**
 * A WorkloadGroup in `demo` for VMs labelled `app: <app>` with service account `<app>`, serving
 * `grpc` on `appPort`; `probe` is a YAML flow value (none by default).
 */
export function workloadGroup(name: string, app: string, appPort: number, probe?: string): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: ${name}, namespace: ${NS}}
spec:
  metadata: {labels: {app: ${app}}}
  template: {serviceAccount: ${app}, ports: {grpc: ${appPort}}}
${probe !== undefined ? `  probe: ${probe}\n` : ''}`;
}

/** A VirtualService `name` in `demo` splitting `host`'s HTTP traffic between subsets `vm` and `k8s` (the migration). */
export function subsetSplit(name: string, host: string, vm: number, k8s: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${NS}}
spec:
  hosts: [${host}]
  http:
  - route:
    - {destination: {host: ${host}, subset: vm}, weight: ${vm}}
    - {destination: {host: ${host}, subset: k8s}, weight: ${k8s}}
`;
}

/** A DestinationRule `name` in `demo` naming the subsets `vm` and `k8s` of `host` by the label `version`. */
export function versionSubsets(name: string, host: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${NS}}
spec:
  host: ${host}
  subsets:
  - {name: vm, labels: {version: vm}}
  - {name: k8s, labels: {version: k8s}}
`;
}

export function docs(...parts: readonly string[]): string {
  return parts.join('---\n');
}

function flow(m: Readonly<Record<string, string>>): string {
  return `{${Object.entries(m)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')}}`;
}

/** A proxyless gRPC client in namespace `demo` (node id and metadata as Istio's grpc agent writes them). */
export function proxyless(xdsServer: string, host: string, extra: Partial<ClientChildOptions> = {}): ClientChildOptions {
  return {
    target: `xds:///${host}:80`,
    xdsServer,
    nodeId: `proxyless~127.0.9.1~client.${NS}~${NS}.svc.cluster.local`,
    metadata: { GENERATOR: 'grpc', NAMESPACE: NS },
    lifetimeMs: 150_000, // longer than any test's timeout: the child never leaves in the middle of one
    ...extra,
  };
}

/** Percentage of `n` in `total`, rounded to one decimal. */
export function pct(n: number | undefined, total: number): number {
  return Math.round(((n ?? 0) * 1000) / total) / 10;
}

/** `own` of `cleanups(t)` (serve-process.ts). */
export type Own = <T>(value: T, stop: (value: T) => Promise<unknown>) => T;

/** A real gRPC backend answering with `id`, stopped at the end of the test. */
export function backend(own: Own, id: string, host: string): Promise<Backend> {
  return startBackend(id, host).then((b) => own(b, (x) => x.stop()));
}

/**
 * A proxyless client child (proxyless()) in the given locality, stopped at the end of the test, once
 * it is ready.
 */
export async function readyClient(own: Own, xdsServer: string, host: string, locality: { region: string; zone: string; subZone: string }): Promise<XdsClientChild> {
  const client = own(new XdsClientChild(proxyless(xdsServer, host, { locality })), (x) => x.stop());
  await client.ready(30_000);
  return client;
}

/**
 * The `echo.demo.test` service on one xDS-enabled VM server (`vm-echo`, service account `echo`) at
 * `ip:port`, under a STRICT PeerAuthentication, with the AuthorizationPolicy `policyName` selecting
 * it (`policySpec`: its action and rules, YAML lines indented by two): the mTLS and authorization
 * scenarios.
 */
export function strictEchoServer(ip: string, port: number, policyName: string, policySpec: string): string {
  return `${serviceEntry('echo', 'echo.demo.test', { app: 'echo' })}---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-echo, namespace: ${NS}}
spec: {address: ${ip}, labels: {app: echo}, serviceAccount: echo, ports: {grpc: ${port}}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: ${NS}}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${policyName}, namespace: ${NS}}
spec:
  selector: {matchLabels: {app: echo}}
${policySpec}`;
}
