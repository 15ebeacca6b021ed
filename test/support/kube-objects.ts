/**
 * Kubernetes objects as an API server sends them (JSON), for tests of the cluster source and for
 * seeding the fake API server: a Ready Running pod by default, a node, a namespace, a Service, an
 * EndpointSlice naming pods by targetRef.
 */
import type { KubeObject } from '../../src/sources/kube/informer.js';
import type { JsonObject } from './fake-kube-apiserver.js';

/** An object as the fake API server's `store.seed` takes it. */
export function seedable(o: KubeObject): JsonObject {
  return JSON.parse(JSON.stringify(o)) as JsonObject;
}

export interface PodShape {
  readonly ns?: string;
  readonly ip?: string;
  readonly labels?: Record<string, string>;
  readonly ready?: boolean;
  readonly phase?: string;
  readonly node?: string;
  readonly serviceAccount?: string;
  readonly terminating?: boolean;
  readonly rv?: string;
  /** The container port (default 8080) and its name (default `http`). */
  readonly port?: number;
  readonly portName?: string;
}

export function kubePod(name: string, p: PodShape = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: p.ns ?? 'ns1',
      resourceVersion: p.rv ?? '1',
      labels: p.labels ?? { app: 'a' },
      ...(p.terminating === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'app', ports: [{ name: p.portName ?? 'http', containerPort: p.port ?? 8080 }] }],
      ...(p.node !== undefined ? { nodeName: p.node } : {}),
      serviceAccountName: p.serviceAccount ?? 'default',
    },
    status: {
      phase: p.phase ?? 'Running',
      ...(p.ip !== '' ? { podIP: p.ip ?? '10.0.0.1', podIPs: [{ ip: p.ip ?? '10.0.0.1' }] } : {}),
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
        { type: 'Ready', status: p.ready === false ? 'False' : 'True', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
      containerStatuses: [{ name: 'app', restartCount: Number(p.rv ?? '1') }],
    },
  };
}

export function kubeNode(name: string, labels: Record<string, string>, rv = '1'): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, resourceVersion: rv, labels: { 'kubernetes.io/os': 'linux', ...labels } }, status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: rv }] } };
}

export function kubeNamespace(name: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function kubeService(name: string, selector: Record<string, string> | undefined, ns = 'ns1', port = 80): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { clusterIP: '10.96.0.10', ...(selector ? { selector } : {}), ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
  };
}

export function kubeSlice(name: string, service: string, pods: readonly string[], o: { ns?: string; extraLabels?: Record<string, string>; addressType?: string } = {}): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: o.ns ?? 'ns1', labels: { 'kubernetes.io/service-name': service, ...o.extraLabels } },
    addressType: o.addressType ?? 'IPv4',
    endpoints: pods.map((p, i) => ({ addresses: [`10.0.1.${i + 1}`], conditions: { ready: true }, targetRef: { kind: 'Pod', name: p, namespace: o.ns ?? 'ns1' } })),
    ports: [{ name: 'http', port: 8080 }],
  };
}

