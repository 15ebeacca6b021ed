/**
 * Issue 6, "done when": with a real 3-member etcd cluster, killing the etcd leader during a burst
 * of 1,000 applies loses no acknowledged write, and every replica converges to the same state —
 * in its registry and in the EDS its proxies receive. A separate checking watch proves that the
 * watch resumed without dropping or repeating a change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../../src/app/control-plane.js';
import { applyObjects } from '../../src/app/apply-objects.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { objectKey, type ConfigObject, type WorkloadEntry } from '../../src/model/config/types.js';
import { createEtcdClient } from '../../src/sources/etcd/etcd-client.js';
import { EtcdStore } from '../../src/sources/etcd/etcd-store.js';
import { RetryingStore } from '../../src/sources/etcd/retrying-store.js';
import { StoreMirror, until } from '../conformance/store-mirror.js';
import { objectsFrom } from '../support/mesh.js';
import { startEtcd } from '../support/etcd.js';
import { EdsWatcher } from '../support/xds-watchers.js';

const N = 1000;
const CONCURRENCY = 16;
const address = (i: number): string => `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`;

function burstEntry(i: number): WorkloadEntry {
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name: `burst-${i}`, namespace: 'burst', labels: { app: 'burst' }, annotations: {} },
    spec: { address: address(i), labels: { app: 'burst' }, ports: { http: 8080 } },
    origin: { file: 'burst', line: 0, column: 0, order: i },
  };
}

const SERVICE = objectsFrom(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: burst, namespace: burst}
spec: {hosts: [burst.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: burst}}}
`);

test('3-member etcd: the leader killed during 1,000 applies; no acknowledged write lost; every replica converges (registry and EDS)', { timeout: 80_000 }, async (t) => {
  const etcd = await startEtcd(3);
  const client = new RetryingStore(new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints, requestTimeoutMs: 2000 }), { description: etcd.url }), { deadlineMs: 20_000 });
  const replicas = ['r1', 'r2', 'r3'].map(
    (instance) => new ControlPlane({ store: etcd.url, instance, xdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, debounceMs: 100, sessionTtlSeconds: 2 }),
  );
  const watchers: EdsWatcher[] = [];
  const mirrors: StoreMirror[] = [];
  t.after(async () => {
    for (const w of watchers) w.close();
    for (const m of mirrors) await m.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await client.close();
    await etcd.stop();
  });
  assert.ok((await applyObjects(client, SERVICE)).ok);
  const bound = await Promise.all(replicas.map((r) => r.start()));
  for (const b of bound) watchers.push(new EdsWatcher(b.xds, 'outbound|80||burst.example.com', 'burst'));
  const mirror = new StoreMirror(client, await client.list());
  mirrors.push(mirror);

  const acked = new Map<string, string>();
  const failures: string[] = [];
  let next = 0;
  let killed: Promise<string> | undefined;
  let ackedAfterKill = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      if (i === 300) killed = etcd.leader().then(async (m) => (await m.kill('SIGKILL'), m.name));
      const r = await applyObjects(client, [burstEntry(i)]).catch((e: unknown) => ({ ok: false as const, failure: { code: 'Unavailable' as const, message: String(e), retryable: true } }));
      if (r.ok) {
        acked.set(`WorkloadEntry/burst/burst-${i}`, address(i));
        if (killed) ackedAfterKill++;
      } else failures.push(`burst-${i}: ${r.failure.code}: ${r.failure.message}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const burstMs = performance.now() - started;
  const killedMember = await killed;
  t.diagnostic(`burst: ${N} applies in ${Math.round(burstMs)} ms with ${CONCURRENCY} in flight; leader ${killedMember} killed at apply 300; ${acked.size} acknowledged (${ackedAfterKill} after the kill), ${failures.length} failed`);
  assert.ok(ackedAfterKill > 0, 'applies went on after the leader was killed');

  // No acknowledged write is lost: each is in etcd, as applied.
  const final = await client.list();
  const stored = new Map(final.objects.filter((o): o is WorkloadEntry => o.kind === 'WorkloadEntry').map((o) => [objectKey(o), o.spec.address]));
  for (const [key, addr] of acked) assert.equal(stored.get(key), addr, `${key} was acknowledged`);
  assert.deepEqual(failures, [], 'with retries every apply is acknowledged in the end');

  // Every replica converges to the same state: the store's objects at their resource versions ...
  const versions = (objects: readonly ConfigObject[]): string => objects.map((o) => `${objectKey(o)}@${o.metadata.resourceVersion}`).sort().join('\n');
  const want = versions(final.objects);
  const settle = performance.now();
  await until(() => replicas.every((r) => versions([...r.registry.inputs.WorkloadEntry.list(), ...r.registry.inputs.ServiceEntry.list()]) === want), 20_000, 'replica registries equal to the store');
  // ... and the same endpoints on every proxy.
  const endpoints = [...acked.values()].map((a) => `${a}:8080`).sort();
  await until(() => watchers.every((w) => w.latest().length === endpoints.length), 20_000, 'EDS with every endpoint on every replica');
  for (const w of watchers) assert.deepEqual(w.latest(), endpoints);
  t.diagnostic(`replicas and proxies converged ${Math.round(performance.now() - settle)} ms after the burst`);

  // The checking watch lost nothing and repeated nothing across the leader change.
  await until(() => mirror.revision >= Number(final.revision), 10_000, 'checking watch caught up');
  assert.deepEqual(mirror.duplicates, [], 'no change delivered twice');
  assert.deepEqual(mirror.disorder, [], 'revisions in order');
  assert.equal(versions([...mirror.objects.values()]), want, 'the checking watch equals the store');
});
