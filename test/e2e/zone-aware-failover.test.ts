/**
 * Issue 19, end to end: a DestinationRule `zoneAwareLbSetting` (rule L-11) with a failover rule
 * r1 -> r2 and no outlier detection. A real proxyless client in r1/z1/s1 sends every call to the
 * backends of its region, in both of its zones alike (priority 0 is the whole region); when those
 * backends go away (their servers stop), gRPC's priority policy moves the calls to the `to` region
 * r2 (priority 1), never to r3 (priority 2); when they come back, the calls return.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend } from '../xds/fixtures/backends.js';
import { backend, destinationRule, docs, readyClient, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, startServe } from './serve-process.js';

test('zone-aware: calls stay in the client region (all its zones), fail over to the "to" region when the local backends go, and come back', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const [zoneA, zoneB, toRegion, otherRegion] = await Promise.all([
    startBackend('r1-z1', '127.0.65.1'),
    startBackend('r1-z2', '127.0.65.2'),
    backend(own, 'r2', '127.0.66.1'),
    backend(own, 'r3', '127.0.67.1'),
  ]);
  // The local backends are stopped by the test itself (and restarted on the same ports).
  const local = [zoneA, zoneB];
  own(local, (list) => Promise.all(list.map((b) => b.stop())));
  const rule = destinationRule('za', 'za.demo.test', '{loadBalancer: {zoneAwareLbSetting: {failover: [{from: r1, to: r2}]}}}');
  const labels = { app: 'za' };
  const serve = await startServe({
    files: {
      'za.yaml': docs(
        serviceEntry('za', 'za.demo.test', labels),
        rule,
        workloadEntry('za-r1-z1', zoneA, labels, { locality: 'r1/z1/s1' }),
        workloadEntry('za-r1-z2', zoneB, labels, { locality: 'r1/z2/s1' }),
        workloadEntry('za-r2', toRegion, labels, { locality: 'r2/z1/s1' }),
        workloadEntry('za-r3', otherRegion, labels, { locality: 'r3/z1/s1' }),
      ),
    },
  });
  own(serve, (x) => x.stop());
  const client = await readyClient(own, serve.xds, 'za.demo.test', { region: 'r1', zone: 'z1', subZone: 's1' });

  const inRegion = await client.send({ op: 'call', count: 60, deadlineMs: 10_000, waitForReady: true }, 20_000);
  assert.deepEqual(inRegion.errors, []);
  assert.deepEqual(Object.keys(inRegion.counts).sort(), ['r1-z1', 'r1-z2'], `every call in region r1, in both zones: ${JSON.stringify(inRegion.counts)}`);

  // The local endpoints go: their servers stop. No outlier detection and no config change: the
  // region's priority fails, and the next priority is the failover target r2, not r3.
  await Promise.all(local.map((b) => b.stop()));
  const away = await client.send({ op: 'until', backend: 'r2', streak: 20, timeoutMs: 15_000 }, 20_000);
  assert.ok(away.reached, `traffic did not fail over to r2: last answer ${away.last}`);
  t.diagnostic(`failover: backends stopped → calls on r2 after ${away.ms} ms`);
  const failedOver = await client.send({ op: 'call', count: 40, deadlineMs: 5000 }, 15_000);
  assert.deepEqual(failedOver.counts, { r2: 40 }, 'the "to" region takes every call, the third region none');

  // They come back on the same addresses and ports: the calls return to region r1.
  local.splice(0, local.length, ...(await Promise.all([startBackend('r1-z1', zoneA.host, zoneA.port), startBackend('r1-z2', zoneB.host, zoneB.port)])));
  const back = await client.send({ op: 'until', backend: 'r1-z1', timeoutMs: 30_000 }, 35_000);
  assert.ok(back.reached, `traffic did not come back to r1: last answer ${back.last}`);
  t.diagnostic(`failback: backends restarted → calls on r1 after ${back.ms} ms (gRPC reconnect backoff)`);
  const after = await client.send({ op: 'call', count: 40, deadlineMs: 5000 }, 15_000);
  assert.ok(Object.keys(after.counts).every((k) => k.startsWith('r1-')), `back in region r1: ${JSON.stringify(after.counts)}`);
});
