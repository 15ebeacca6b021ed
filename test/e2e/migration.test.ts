/**
 * Issue 3, end to end: moving a service from VMs to Kubernetes. One ServiceEntry selects VM
 * WorkloadEntries and pods alike; a DestinationRule names them as subsets `vm` and `k8s`; a
 * VirtualService moves the traffic 100/0 → 50/50 → 0/100 (and back) as the file is edited. Each step
 * shows in a real proxyless client's traffic within 1 s of the edit, with serve's default debounce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, pct, pod, proxyless, serviceEntry, subsetSplit, versionSubsets, workloadEntry } from './mesh.js';
import { cleanups, startServe } from './serve-process.js';

const HOST = 'mig.demo.test';
const STEP_LIMIT_MS = 1000;

function split(vm: number, k8s: number): string {
  return subsetSplit('mig', HOST, vm, k8s);
}

test('migration: a VirtualService moves traffic from VM to pod subsets, each edit visible within 1 s', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const [vm1, vm2, pod1] = await Promise.all([backend(own, 'vm', '127.0.51.1'), backend(own, 'vm', '127.0.51.2'), backend(own, 'k8s', '127.0.52.1')]);
  const mesh = docs(
    serviceEntry('mig', HOST, { app: 'mig' }),
    workloadEntry('mig-vm-1', vm1, { app: 'mig', version: 'vm' }),
    workloadEntry('mig-vm-2', vm2, { app: 'mig', version: 'vm' }),
    pod('mig-pod-1', pod1, { app: 'mig', version: 'k8s' }),
    versionSubsets('mig', HOST),
  );
  // debounceMs null: serve's own default (100 ms), so the measured times are what users get.
  const serve = await startServe({ files: { 'mesh.yaml': mesh, 'route.yaml': split(100, 0) }, debounceMs: null });
  own(serve, (x) => x.stop());
  const client = new XdsClientChild(proxyless(serve.xds, HOST));
  own(client, (x) => x.stop());
  await client.ready(30_000);

  const start = await client.send({ op: 'call', count: 40, deadlineMs: 10_000, waitForReady: true }, 15_000);
  assert.deepEqual(start.errors, []);
  assert.deepEqual(start.counts, { vm: 40 }, '100/0: everything on the VMs');

  /** Edits the route and returns ms from the edit until `backend` took `streak` calls in a row. */
  const step = async (vm: number, k8s: number, backend: string, streak: number): Promise<number> => {
    const editedAt = serve.write('route.yaml', split(vm, k8s));
    const r = await client.send({ op: 'until', backend, streak, timeoutMs: 5000 }, 8000);
    assert.ok(r.reached, `${vm}/${k8s}: ${backend} never answered ${streak} times in a row (last: ${r.last})`);
    const ms = r.at - editedAt;
    t.diagnostic(`${vm}/${k8s}: edit → ${streak > 1 ? `${streak} calls in a row on` : 'first call on'} ${backend} in ${ms} ms`);
    assert.ok(ms <= STEP_LIMIT_MS, `${vm}/${k8s} took ${ms} ms to show, over ${STEP_LIMIT_MS} ms`);
    return ms;
  };

  // 100/0 → 50/50: the pod gets its first call within 1 s, then the split holds (±10 points).
  await step(50, 50, 'k8s', 1);
  const half = await client.send({ op: 'call', count: 400, deadlineMs: 2000 }, 30_000);
  assert.deepEqual(half.errors, []);
  const k8sShare = pct(half.counts['k8s'], 400);
  t.diagnostic(`50/50: vm ${half.counts['vm'] ?? 0} / k8s ${half.counts['k8s'] ?? 0} of 400`);
  assert.ok(Math.abs(k8sShare - 50) <= 10, `k8s got ${k8sShare}% at 50/50`);

  // 50/50 → 0/100: from the edit on, the VMs stop getting calls (20 calls in a row on the pod; at
  // 50/50 that happens by chance once in a million).
  await step(0, 100, 'k8s', 20);
  const all = await client.send({ op: 'call', count: 40, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(all.counts, { k8s: 40 }, '0/100: everything on the pod');

  // And back (rollback) 0/100 → 100/0: first call on a VM within 1 s.
  await step(100, 0, 'vm', 1);
  const back = await client.send({ op: 'call', count: 40, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(back.counts, { vm: 40 }, 'rolled back to the VMs');
});
