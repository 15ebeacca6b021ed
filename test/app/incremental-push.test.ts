/**
 * Issue 5 (performance), through a real `ControlPlane` on the file store and real ADS streams: a
 * one-file edit reaches the registry as that file's objects only, wakes only the stream subscribed
 * to the changed cluster (cache watch counters, not timing), and its ACK is measured by
 * pilot_proxy_convergence_time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '../../src/app/control-plane.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { EdsWatcher } from '../support/xds-watchers.js';

const service = (name: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ns1}
spec: {hosts: [${name}.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: ${name}}}}
`;
const entry = (name: string, app: string, address: string, weight: number) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}, namespace: ns1}
spec: {address: ${address}, weight: ${weight}, labels: {app: ${app}}}
`;

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not met in ${ms} ms`);
    await sleep(10);
  }
}

async function convergenceCount(cp: ControlPlane): Promise<number> {
  const metric = await cp.metrics.proxyConvergenceTime.get();
  return metric.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
}

test('a one-file edit: only its objects change, only the subscribed stream wakes, its ACK is measured', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-incr-'));
  writeFileSync(join(dir, 'services.yaml'), [service('a'), service('b')].join('---\n'));
  writeFileSync(join(dir, 'bulk.yaml'), Array.from({ length: 30 }, (_, i) => entry(`bulk${i}`, 'b', `127.0.60.${i + 1}`, 1)).join('---\n'));
  writeFileSync(join(dir, 'vm-a.yaml'), entry('vm-a', 'a', '127.0.61.1', 1));
  const cp = new ControlPlane({ configPaths: [dir], xdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, stateDir: `${dir}.state`, debounceMs: 10, watchDebounceMs: 20 });
  const watchers: EdsWatcher[] = [];
  t.after(async () => {
    for (const w of watchers) w.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.state`, { recursive: true, force: true });
  });
  const { xds } = await cp.start();
  const onA = new EdsWatcher(xds, 'outbound|80||a.example.com', 'ns1', '127.0.0.91');
  const onB = new EdsWatcher(xds, 'outbound|80||b.example.com', 'ns1', '127.0.0.92');
  watchers.push(onA, onB);
  await until(() => onA.latest().length === 1 && onB.latest().length === 30, 20_000, 'both served');
  await sleep(200); // the ACKs of the first responses arrive
  const responsesToB = onB.updates.length;
  const watches = cp.cache.watchStats;
  const measured = await convergenceCount(cp);

  writeFileSync(join(dir, 'vm-a.yaml'), entry('vm-a', 'a', '127.0.61.2', 3));
  await until(() => onA.latest()[0]?.startsWith('127.0.61.2:') === true, 20_000, 'the edit reached the subscribed proxy');

  const reload = cp.backend.files?.lastReload;
  assert.deepEqual([...(reload?.changes.keys() ?? [])], ['WorkloadEntry/ns1/vm-a'], 'the reload carries the edited file\'s object only');
  assert.equal(reload?.objectCount, 33);
  const after = cp.cache.watchStats;
  assert.ok(after.skipped > watches.skipped, 'the stream on cluster b was left armed, not woken');
  assert.equal(onB.updates.length, responsesToB, 'and got nothing');
  await until(() => cp.xds.streams().every((s) => s.types.every((ty) => ty.acked !== undefined)), 10_000, 'ACKs in');
  await sleep(100);
  assert.ok((await convergenceCount(cp)) > measured, 'the ACK of the pushed version is measured by pilot_proxy_convergence_time');
});
