/**
 * The simulated proxies of a mesh: proxy i is the client running on workload i (an entry's VM or a
 * pod), so it carries that workload's namespace, labels, locality and IP, as a proxyless gRPC
 * bootstrap would. It dials `targets` other services (picked deterministically) plus the `hot` ones.
 */
import { entryAddress, listenerName, podAddress, serviceNamespace, serviceOfWorkload, zoneOf, type MeshShape } from './config-gen.js';
import type { ProxySpec } from '../load/sim-proxy.js';

export interface ProxyPlan {
  readonly count: number;
  readonly targetsPerProxy: number;
  /** Services every proxy dials (the churned ones, when every proxy must be affected). */
  readonly hot?: readonly number[];
  /** Envoy sidecars (S6) instead of proxyless clients: every other one on delta ADS, the rest SotW. */
  readonly envoy?: boolean;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function proxySpecs(shape: MeshShape, plan: ProxyPlan): ProxySpec[] {
  const out: ProxySpec[] = [];
  const workloads = shape.workloadEntries + shape.pods;
  for (let i = 0; i < plan.count; i++) {
    const w = i % Math.max(1, workloads);
    const s = serviceOfWorkload(shape, w);
    const ns = serviceNamespace(shape, s);
    const ip = w < shape.workloadEntries ? entryAddress(w) : podAddress(w - shape.workloadEntries);
    const rand = rng(i + 1);
    const targets = new Set<number>(plan.hot ?? []);
    const want = Math.min(shape.services, targets.size + plan.targetsPerProxy);
    for (let guard = 0; targets.size < want && guard < 100 * want; guard++) targets.add(Math.floor(rand() * shape.services));
    const envoy = plan.envoy === true ? { envoy: i % 2 === 0 ? ('delta' as const) : ('sotw' as const) } : {};
    out.push({
      id: `${plan.envoy === true ? 'sidecar' : 'proxyless'}~${ip}~client-${i}.${ns}~${ns}.svc.cluster.local`,
      ...envoy,
      namespace: ns,
      labels: { app: `svc-${s}`, version: 'v1' },
      region: 'r1',
      zone: zoneOf(w, shape.zones),
      targets: [...targets].sort((a, b) => a - b).map((t) => listenerName(shape, t)),
    });
  }
  return out;
}
