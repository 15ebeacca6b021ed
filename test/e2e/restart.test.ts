/**
 * Issue 3, end to end: a control-plane restart. `serve` stops on SIGTERM; the proxyless client keeps
 * calling from its cached configuration while no control plane runs; a new `serve` on the same xDS
 * address and config folder gets a new stream from it (visible in /debug/syncz), every type SYNCED
 * with no NACK, and a change made after the restart reaches the client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, NS, proxyless, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, metricValue, startServe, waitFor, type ServeProcess } from './serve-process.js';

const HOST = 'rs.demo.test';

function route(subset: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: rs, namespace: ${NS}}
spec:
  hosts: [${HOST}]
  http: [{route: [{destination: {host: ${HOST}, subset: ${subset}}}]}]
`;
}

async function allSynced(serve: ServeProcess): Promise<Awaited<ReturnType<ServeProcess['syncz']>>[number] | undefined> {
  const s = await serve.syncz();
  const p = s[0];
  return s.length === 1 && p?.types.length === 4 && p.types.every((ty) => ty.state === 'SYNCED') ? p : undefined;
}

test('restart: clients serve from cache while serve is down, resync to a new serve without NACK, and follow later changes', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  // The config folder outlives the first serve: owned by the test, removed last.
  const dir = own(mkdtempSync(join(tmpdir(), 'mb-e2e-restart-')), (d) => rm(d, { recursive: true, force: true }));
  const [a, b] = await Promise.all([backend(own, 'a', '127.0.71.1'), backend(own, 'b', '127.0.72.1')]);
  const mesh = docs(
    serviceEntry('rs', HOST, { app: 'rs' }),
    workloadEntry('rs-a', a, { app: 'rs', version: 'a' }),
    workloadEntry('rs-b', b, { app: 'rs', version: 'b' }),
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: rs, namespace: ${NS}}
spec:
  host: ${HOST}
  subsets: [{name: a, labels: {version: a}}, {name: b, labels: {version: b}}]
`,
  );
  const first = own(await startServe({ dir, files: { 'mesh.yaml': mesh, 'route.yaml': route('a') } }), (x) => x.stop());
  const client = own(new XdsClientChild(proxyless(first.xds, HOST)), (x) => x.stop());
  await client.ready(30_000);
  const warm = await client.send({ op: 'call', count: 20, deadlineMs: 10_000, waitForReady: true }, 15_000);
  assert.deepEqual(warm.counts, { a: 20 });
  const before = await waitFor(() => allSynced(first), 15_000, 'SYNCED on the first serve');

  // SIGTERM: serve exits 0, ending the ADS stream.
  const stopStart = Date.now();
  assert.equal(await first.stop(), 0, 'serve exits 0 on SIGTERM');
  t.diagnostic(`SIGTERM → exit ${Date.now() - stopStart} ms`);

  // No control plane: calls keep succeeding from the client's cache.
  const down = await client.send({ op: 'call', count: 100, deadlineMs: 1000 }, 15_000);
  assert.deepEqual(down.errors, []);
  assert.deepEqual(down.counts, { a: 100 });

  // A new serve on the same xDS address: the client comes back by itself, on a new stream.
  const second = own(await startServe({ dir, xdsAddress: first.xds }), (x) => x.stop());
  const secondUp = Date.now();
  const after = await waitFor(() => allSynced(second), 15_000, 'the client to resync to the new serve');
  t.diagnostic(`new serve listening → client SYNCED on it ${Date.now() - secondUp} ms`);
  // A new stream, on the new instance (stream ids are only unique within one serve process).
  assert.notEqual(after.instance, before.instance);
  assert.ok(Date.parse(after.connectedAt) > Date.parse(before.connectedAt), `connected at ${after.connectedAt}`);
  assert.deepEqual(after.types.map((ty) => ty.type).sort(), ['CDS', 'EDS', 'LDS', 'RDS']);
  for (const ty of after.types) {
    assert.equal(ty.nack, undefined, `${ty.type} NACKed: ${ty.nack?.error}`);
    assert.notEqual(ty.acked, before.types.find((x) => x.type === ty.type)?.acked, `${ty.type}: versions are unique across restarts`);
  }
  const metrics = await second.text('/metrics');
  for (const type of ['lds', 'rds', 'cds', 'eds']) assert.equal(metricValue(metrics, 'pilot_total_xds_rejects', { type }), 0, `${type} rejects`);
  const resumed = await client.send({ op: 'call', count: 20, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(resumed.counts, { a: 20 });

  // A change after the restart reaches the client.
  const editedAt = second.write('route.yaml', route('b'));
  const moved = await client.send({ op: 'until', backend: 'b', streak: 10, timeoutMs: 5000 }, 8000);
  assert.ok(moved.reached, `the change after the restart did not reach the client (last answer ${moved.last})`);
  t.diagnostic(`edit after restart → traffic on b ${moved.at - editedAt} ms`);
});
