/**
 * Issue 3, end to end: locality failover (L-2, L-4). A DestinationRule with `outlierDetection` turns
 * localities into priorities relative to the client: its own zone first, then the region. A real
 * proxyless client sends everything to its zone; removing those endpoints from the file moves the
 * traffic to the next priority, and putting them back moves it back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend, destinationRule, docs, readyClient, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, startServe } from './serve-process.js';

test('failover: the local zone first, the next priority when it is emptied, and back when it returns', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const [local, remote] = await Promise.all([backend(own, 'local', '127.0.41.1'), backend(own, 'remote', '127.0.42.1')]);
  const rule = destinationRule('fo', 'fo.demo.test', '{outlierDetection: {consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 30s}, loadBalancer: {localityLbSetting: {enabled: true}}}');
  const se = serviceEntry('fo', 'fo.demo.test', { app: 'fo' });
  const remoteWe = workloadEntry('fo-remote', remote, { app: 'fo' }, { locality: 'r1/z2/s1' });
  const localWe = workloadEntry('fo-local', local, { app: 'fo' }, { locality: 'r1/z1/s1' });
  const serve = await startServe({ files: { 'service.yaml': docs(se, rule, remoteWe), 'local.yaml': localWe } });
  own(serve, (x) => x.stop());
  const client = await readyClient(own, serve.xds, 'fo.demo.test', { region: 'r1', zone: 'z1', subZone: 's1' });

  const before = await client.send({ op: 'call', count: 50, deadlineMs: 10_000, waitForReady: true }, 15_000);
  assert.deepEqual(before.errors, []);
  assert.deepEqual(before.counts, { local: 50 }, 'priority 0 (own zone) takes every call');

  // The local endpoints go away (the file is emptied): priority 1 takes over.
  const removedAt = serve.write('local.yaml', '');
  const away = await client.send({ op: 'until', backend: 'remote', streak: 20, timeoutMs: 5000 }, 8000);
  assert.ok(away.reached, `traffic did not fail over: last answer ${away.last}`);
  const awayMs = away.at - removedAt;
  t.diagnostic(`failover: edit → calls on the next priority ${awayMs} ms`);
  assert.ok(awayMs <= 1000, `failover took ${awayMs} ms`);

  // They come back: traffic returns to priority 0.
  const restoredAt = serve.write('local.yaml', localWe);
  const back = await client.send({ op: 'until', backend: 'local', streak: 20, timeoutMs: 5000 }, 8000);
  assert.ok(back.reached, `traffic did not come back: last answer ${back.last}`);
  const backMs = back.at - restoredAt;
  t.diagnostic(`failback: edit → calls back on the own zone ${backMs} ms`);
  assert.ok(backMs <= 1000, `failback took ${backMs} ms`);
  const after = await client.send({ op: 'call', count: 50, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(after.counts, { local: 50 });
});
