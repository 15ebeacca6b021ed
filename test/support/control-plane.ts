/**
 * A real `ControlPlane` (file store in a temp folder, loopback ports) for tests that speak real gRPC
 * to it, and a raw SotW ADS stream as a proxyless client of a namespace.
 */
import { create } from '@bufbuild/protobuf';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../src/app/control-plane.js';
import type { ServeSettings } from '../../src/app/serve-settings.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { RawAdsStream } from '../xds/fixtures/ads-client.js';

export interface RunningControlPlane {
  readonly cp: ControlPlane;
  readonly xds: string;
  /** The secure port, when `secureXdsAddress` was given. */
  readonly xdsTls?: string;
  readonly http: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/** Starts a ControlPlane on `files` (name → YAML); `stop` ends it and removes its folders. */
export async function startControlPlaneOn(files: Readonly<Record<string, string>>, options: Partial<ServeSettings> = {}): Promise<RunningControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-cp-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const cp = new ControlPlane({ configPaths: [dir], xdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, stateDir: `${dir}.state`, debounceMs: 10, watchDebounceMs: 20, ...options });
  const { xds, xdsTls, http } = await cp.start();
  return {
    cp,
    xds,
    ...(xdsTls !== undefined ? { xdsTls } : {}),
    http,
    dir,
    stop: async () => {
      await cp.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}.state`, { recursive: true, force: true });
    },
  };
}

export type AdsStream = RawAdsStream<DiscoveryRequest, DiscoveryResponse>;

export interface NodeInit {
  readonly id: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A proxyless (GENERATOR=grpc) node of `namespace` at `ip`. */
export function proxylessNode(namespace: string, ip: string, name = 'client'): NodeInit {
  return { id: `proxyless~${ip}~${name}.${namespace}~${namespace}.svc.cluster.local`, metadata: { NAMESPACE: namespace, GENERATOR: 'grpc' } };
}

/** Opens a SotW ADS stream and sends its first request (with `node`) for `typeUrl` and `names`. */
export function openAds(address: string, node: NodeInit, typeUrl: string, names: readonly string[], deadlineMs = 30_000): AdsStream {
  const stream = new RawAdsStream(address, adsServiceDefinition.StreamAggregatedResources, deadlineMs);
  stream.send(create(DiscoveryRequestSchema, { node: { id: node.id, metadata: { ...node.metadata } }, typeUrl, resourceNames: [...names] }));
  return stream;
}

/** A one-service mesh for tests: `a.example.com:80` (cluster A_CLUSTER) selecting `app: a` workloads. */
export const A_CLUSTER = 'outbound|80||a.example.com';

export function serviceAYaml(namespace: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: ${namespace}}
spec: {hosts: [a.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: a}}}
`;
}

/** The one workload of service a (`vm-a`), at `address`. */
export function workloadAYaml(namespace: string, address: string): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-a, namespace: ${namespace}}
spec: {address: ${address}, labels: {app: a}}
`;
}
