/**
 * Issue 3, end to end: weights reach a real proxyless gRPC client's traffic.
 * - Locality weights: a DestinationRule `localityLbSetting.distribute` 75/25 between two zones, for a
 *   client whose bootstrap puts it in the first zone, shows as 75/25 (weighted random: 400 calls,
 *   ±10 percentage points).
 * - Endpoint weights: WorkloadEntry weights 3 and 1 in one locality with `consistentHash` (no hash
 *   key, so gRPC hashes every RPC at random, grpc-xds-notes §6) → RING_HASH shows as 3:1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, NS, pct, proxyless, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, startServe } from './serve-process.js';

const CALLS = 400;
const TOLERANCE = 10;

test('locality distribute 75/25 and RING_HASH endpoint weights 3:1 show in the traffic', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const [z1, z2, z2b, heavy, light] = await Promise.all([
    backend(own, 'z1', '127.0.31.1'),
    backend(own, 'z2', '127.0.32.1'),
    backend(own, 'z2', '127.0.32.2'),
    backend(own, 'heavy', '127.0.33.1'),
    backend(own, 'light', '127.0.34.1'),
  ]);
  const mesh = docs(
    serviceEntry('loc', 'loc.demo.test', { app: 'loc' }),
    workloadEntry('loc-z1', z1, { app: 'loc' }, { locality: 'r1/z1/s1' }),
    workloadEntry('loc-z2', z2, { app: 'loc' }, { locality: 'r1/z2/s1' }),
    // The same locality written differently (E-ATTR-4 drops a fourth segment): two groups for
    // meshbridge, one locality for gRPC, which NACKs a ClusterLoadAssignment naming a locality twice
    // at one priority. The generator merges them (common.ts loadAssignment).
    workloadEntry('loc-z2b', z2b, { app: 'loc' }, { locality: 'r1/z2/s1/rack-7' }),
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: loc, namespace: ${NS}}
spec:
  host: loc.demo.test
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        enabled: true
        distribute: [{from: "r1/z1/*", to: {"r1/z1/*": 75, "r1/z2/*": 25}}]
`,
    serviceEntry('hash', 'hash.demo.test', { app: 'hash' }),
    workloadEntry('hash-heavy', heavy, { app: 'hash' }, { locality: 'r1/z1/s1', weight: 3 }),
    workloadEntry('hash-light', light, { app: 'hash' }, { locality: 'r1/z1/s1', weight: 1 }),
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hash, namespace: ${NS}}
spec:
  host: hash.demo.test
  trafficPolicy: {loadBalancer: {consistentHash: {ringHash: {minimumRingSize: 1024}}}}
`,
  );
  const serve = await startServe({ files: { 'mesh.yaml': mesh } });
  own(serve, (x) => x.stop());
  const client = new XdsClientChild(proxyless(serve.xds, 'loc.demo.test', { locality: { region: 'r1', zone: 'z1', subZone: 's1' } }));
  own(client, (x) => x.stop());
  await client.ready(30_000);

  // Locality weights: warm up (connects both localities), then count.
  const warm = await client.send({ op: 'call', count: 20, deadlineMs: 10_000, waitForReady: true }, 15_000);
  assert.deepEqual(warm.errors, []);
  const loc = await client.send({ op: 'call', count: CALLS, deadlineMs: 2000 }, 30_000);
  assert.deepEqual(loc.errors, []);
  const z1Share = pct(loc.counts['z1'], CALLS);
  t.diagnostic(`distribute 75/25: z1 ${loc.counts['z1'] ?? 0} / z2 ${loc.counts['z2'] ?? 0} of ${CALLS} (${z1Share}%)`);
  assert.ok(Math.abs(z1Share - 75) <= TOLERANCE, `z1 got ${z1Share}% of the calls, expected 75 ± ${TOLERANCE}`);

  // Endpoint weights under RING_HASH (ROUND_ROBIN would ignore them, grpc-xds-notes §3).
  const target = 'xds:///hash.demo.test:80';
  // No waitForReady: a RING_HASH channel stays IDLE until picks connect its endpoints (gRFC A42).
  const warmHash = await client.send({ op: 'call', count: 20, deadlineMs: 10_000, target }, 15_000);
  assert.deepEqual(warmHash.errors, []);
  const hash = await client.send({ op: 'call', count: CALLS, deadlineMs: 2000, target }, 30_000);
  assert.deepEqual(hash.errors, []);
  const heavyShare = pct(hash.counts['heavy'], CALLS);
  t.diagnostic(`ring hash weights 3:1: heavy ${hash.counts['heavy'] ?? 0} / light ${hash.counts['light'] ?? 0} of ${CALLS} (${heavyShare}%)`);
  assert.ok(Math.abs(heavyShare - 75) <= TOLERANCE, `heavy got ${heavyShare}% of the calls, expected 75 ± ${TOLERANCE}`);

  // What was sent: RING_HASH for the hash cluster, the 75/25 locality weights for the other.
  const syncz = await serve.syncz();
  assert.equal(syncz.length, 1);
  for (const ty of syncz[0]?.types ?? []) assert.equal(ty.state, 'SYNCED', `${ty.type} is ${ty.state}`);
});
