/**
 * K1 Kubernetes source (issue 14): `meshbridge serve --kubeconfig` reading a cluster of 10,000 pods
 * and 1,000 Services (each with an EndpointSlice naming its 10 pods by targetRef) from the fake
 * Kubernetes API server (test/support/fake-kube, the project's one test double, run in the bench
 * process so its CPU is not the control plane's). Measured per size (1k and 10k pods):
 * - start → serving: process start → listening (serve listens only once the sync gate opened, i.e.
 *   every informer listed once), and → the first EDS response of a watched Service;
 * - CPU per pod event: pods of the watched Service turn NotReady / Ready again one at a time, each
 *   awaited until a new EDS response reaches the watcher; CPU from /proc minus the idle rate;
 * - CPU per Service event: the same for a label change of another Service (nothing a proxy sees).
 * Target: CPU per pod event with 10k pods ≤ 1.5 × with 1k (work grows with what changed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FakeKubeApiServer } from '../../test/support/fake-kube-apiserver.js';
import { kubeNamespace, kubeNode, kubePod, kubeService, kubeSlice, seedable } from '../../test/support/kube-objects.js';
import { EdsWatcher } from '../../test/support/xds-watchers.js';
import { ControlPlaneProcess } from '../lib/cp.js';
import { workDir } from '../lib/mesh-run.js';
import { fmt, met } from '../lib/report.js';
import { now, round, sleep } from '../lib/time.js';
import type { Ctx, Scenario, ScenarioOutput } from './context.js';

const TARGET_RATIO = 1.5;
const PODS_PER_SERVICE = 10;
const NAMESPACES = 10;
const NODES = 30;

interface SizeResult {
  readonly pods: number;
  readonly services: number;
  readonly startMs: number;
  /** serve's CPU seconds from its start to listening (the wall time also carries the machine's load). */
  readonly startCpuS: number;
  readonly firstEdsMs: number;
  readonly cpuPerPodEventMs: number;
  readonly cpuPerServiceEventMs: number;
  readonly idleCores: number;
  readonly rssMiB: number;
}

/** A loopback-range address per pod index (never dialled: endpoints only). */
function podIP(i: number): string {
  return `127.${100 + Math.floor(i / 64_000)}.${Math.floor(i / 250) % 256}.${1 + (i % 250)}`;
}

export function seedCluster(kube: FakeKubeApiServer, pods: number): void {
  for (let n = 0; n < NAMESPACES; n++) kube.store.seed(seedable(kubeNamespace(`ns-${n}`, {})));
  for (let n = 0; n < NODES; n++) {
    kube.store.seed(seedable(kubeNode(`node-${n}`, { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': `z${n % 3}` })));
  }
  for (let s = 0; s < pods / PODS_PER_SERVICE; s++) {
    const ns = `ns-${s % NAMESPACES}`;
    const names = Array.from({ length: PODS_PER_SERVICE }, (_, k) => `svc-${s}-${k}`);
    names.forEach((name, k) => kube.store.seed(seedable(podOf(s, k, name, true))));
    kube.store.seed(seedable(kubeService(`svc-${s}`, { app: `svc-${s}` }, ns)));
    kube.store.seed(seedable(kubeSlice(`svc-${s}-x`, `svc-${s}`, names, { ns })));
  }
}

function podOf(service: number, k: number, name: string, ready: boolean) {
  const i = service * PODS_PER_SERVICE + k;
  return kubePod(name, { ns: `ns-${service % NAMESPACES}`, ip: podIP(i), labels: { app: `svc-${service}` }, node: `node-${i % NODES}`, ready });
}

/** Waits until the watcher has more than `count` responses. */
async function nextEds(eds: EdsWatcher, count: number, timeoutMs: number): Promise<void> {
  const until = now() + timeoutMs;
  while (eds.updates.length <= count) {
    if (now() > until) throw new Error(`no EDS response within ${timeoutMs} ms`);
    await sleep(5);
  }
}

async function measure(ctx: Ctx, pods: number, events: number): Promise<SizeResult> {
  const dir = workDir(`k1-${pods}`);
  mkdirSync(join(dir, 'config'), { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  const kube = await FakeKubeApiServer.start({ historyLimit: 5000 });
  const t0 = now();
  seedCluster(kube, pods);
  ctx.log(`  ${fmt(pods)} pods, ${fmt(pods / PODS_PER_SERVICE)} Services seeded into the fake API server in ${Math.round(now() - t0)} ms`);
  const kubeconfig = kube.writeKubeconfig(join(dir, 'kubeconfig'));
  const cp = new ControlPlaneProcess({
    configDir: join(dir, 'config'),
    stateDir: join(dir, 'state'),
    ...(ctx.profileDir !== undefined ? { profileDir: join(ctx.profileDir, `k1-${pods}`) } : {}),
    serveArgs: ['--kubeconfig', kubeconfig, '--kube-sync-timeout', '120s'],
  });
  let eds: EdsWatcher | undefined;
  try {
    await cp.waitListening(180_000);
    const startMs = cp.listeningAt - cp.startedAt;
    const startCpuS = cp.sample().cpu;
    eds = new EdsWatcher(cp.xds, 'outbound|80||svc-0.ns-0.svc.cluster.local', 'ns-0', '127.0.90.1');
    await nextEds(eds, 0, 60_000);
    const firstEdsMs = now() - cp.startedAt;
    ctx.log(`  ${fmt(pods)} pods: start → serving ${fmt(startMs)} ms (${round(startCpuS, 2)} CPU s), → first EDS ${fmt(firstEdsMs)} ms`);
    await sleep(2000);
    const i0 = cp.sample();
    await sleep(3000);
    const i1 = cp.sample();
    const idleRate = (i1.cpu - i0.cpu) / (i1.at - i0.at);
    const cpuPer = async (what: string, change: (k: number) => void, awaitEds: boolean): Promise<number> => {
      const s0 = cp.sample();
      for (let k = 0; k < events; k++) {
        const seen = eds?.updates.length ?? 0;
        change(k);
        if (awaitEds && eds) await nextEds(eds, seen, 10_000);
        else await sleep(150);
        await sleep(50);
      }
      const s1 = cp.sample();
      const perEvent = (Math.max(0, s1.cpu - s0.cpu - idleRate * (s1.at - s0.at)) / events) * 1000;
      ctx.log(`  ${fmt(pods)} pods: ${round(perEvent, 2)} ms CPU per ${what} (idle ${round(idleRate * 1000, 3)} cores)`);
      return perEvent;
    };
    // Pod k of svc-0 turns NotReady, then Ready again: one pod event each, each changing svc-0's EDS (health status).
    const cpuPerPodEventMs = await cpuPer(
      'pod event',
      (k) => {
        const pod = k % PODS_PER_SERVICE;
        kube.store.seed(seedable(podOf(0, pod, `svc-0-${pod}`, Math.floor(k / PODS_PER_SERVICE) % 2 === 1)));
      },
      true,
    );
    // A label of svc-1 changes: one Service event nobody's EDS depends on.
    const cpuPerServiceEventMs = await cpuPer(
      'Service event',
      (k) => {
        const svc = kubeService('svc-1', { app: 'svc-1' }, 'ns-1');
        kube.store.seed(seedable({ ...svc, metadata: { ...svc.metadata, labels: { revision: String(k) } } }));
      },
      false,
    );
    return { pods, services: pods / PODS_PER_SERVICE, startMs, startCpuS, firstEdsMs, cpuPerPodEventMs, cpuPerServiceEventMs, idleCores: idleRate * 1000, rssMiB: cp.sample().rssMiB };
  } finally {
    eds?.close();
    await cp.stop();
    await kube.close();
  }
}

export const k1: Scenario = {
  ids: ['K1'],
  title: 'Kubernetes source: start and CPU per pod event, 1k vs 10k pods',
  async run(ctx: Ctx): Promise<ScenarioOutput[]> {
    const small = ctx.quick ? 500 : 1_000;
    const large = ctx.quick ? 5_000 : 10_000;
    const events = ctx.quick ? 40 : 100;
    const a = await measure(ctx, small, events);
    const b = await measure(ctx, large, events);
    const ratio = b.cpuPerPodEventMs / Math.max(1e-6, a.cpuPerPodEventMs);
    const serviceRatio = b.cpuPerServiceEventMs / Math.max(1e-6, a.cpuPerServiceEventMs);
    const label = (n: number): string => `${n / 1000}k`;
    return [
      {
        id: 'K1',
        json: { events, small: a, large: b, ratio, serviceRatio },
        header: [
          'run',
          'sizes',
          'start → serving small / large',
          'CPU to serving small / large',
          'first EDS small / large',
          'CPU per pod event small / large',
          'ratio',
          'CPU per Service event small / large',
          'target',
          'met?',
          'command',
          'date',
          'machine',
        ],
        rows: [
          {
            key: ctx.mode,
            cells: [
              `${label(small)} vs ${label(large)} pods (${fmt(a.services)} / ${fmt(b.services)} Services), ${events} events each`,
              `${fmt(a.startMs / 1000, 2)} / ${fmt(b.startMs / 1000, 2)} s`,
              `${fmt(a.startCpuS, 2)} / ${fmt(b.startCpuS, 2)} s`,
              `${fmt(a.firstEdsMs / 1000, 2)} / ${fmt(b.firstEdsMs / 1000, 2)} s`,
              `${fmt(a.cpuPerPodEventMs, 2)} / ${fmt(b.cpuPerPodEventMs, 2)} ms`,
              `${fmt(ratio, 2)}×`,
              `${fmt(a.cpuPerServiceEventMs, 2)} / ${fmt(b.cpuPerServiceEventMs, 2)} ms (${fmt(serviceRatio, 2)}×)`,
              'pod-event ratio ≤ 1.5 (1k vs 10k)',
              ctx.quick ? `(quick: ${label(small)} vs ${label(large)}) ${met(ratio <= TARGET_RATIO)}` : met(ratio <= TARGET_RATIO),
              `\`${ctx.command}\``,
              ctx.date,
              `${ctx.machine.cores} vCPU`,
            ],
          },
        ],
        summary: [`K1 ${ctx.mode}: ${fmt(a.cpuPerPodEventMs, 2)} ms (${label(small)}) vs ${fmt(b.cpuPerPodEventMs, 2)} ms (${label(large)}) CPU per pod event: ratio ${fmt(ratio, 2)} (target ≤ 1.5); start → serving ${fmt(b.startMs / 1000, 2)} s at ${label(large)}`],
      },
    ];
  },
};
