/**
 * Issue 3, end to end: `meshbridge proxy-status` against a running serve with a connected proxyless
 * client reads like `istioctl proxy-status` (NAME CLUSTER CDS LDS EDS RDS ECDS ISTIOD VERSION, with
 * meshbridge's KIND and NAMESPACE after the name); `-o json` gives the same data as /debug/syncz.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxySync } from '../../src/status/sync-status.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, proxyless, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, runCli, startServe, waitFor } from './serve-process.js';

const HOST = 'ps.demo.test';

test('proxy-status: istioctl-like columns for a connected client, JSON as /debug/syncz', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const a = await backend(own, 'a', '127.0.91.1');
  const serve = await startServe({ files: { 'mesh.yaml': docs(serviceEntry('ps', HOST, { app: 'ps' }), workloadEntry('ps-a', a, { app: 'ps' })) } });
  own(serve, (x) => x.stop());
  const client = new XdsClientChild(proxyless(serve.xds, HOST));
  own(client, (x) => x.stop());
  await client.ready(30_000);
  const warm = await client.send({ op: 'call', count: 1, deadlineMs: 10_000, waitForReady: true }, 15_000);
  assert.deepEqual(warm.errors, []);
  const synced = await waitFor(async () => {
    const p = (await serve.syncz())[0];
    return p?.types.length === 4 && p.types.every((ty) => ty.state === 'SYNCED') ? p : undefined;
  }, 15_000, 'SYNCED');

  const text = await runCli(['proxy-status', '--http-address', serve.http]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stderr, '');
  for (const l of text.stdout.trimEnd().split('\n')) t.diagnostic(l);
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, 'a header and one row per connected proxy');
  const [header = '', row = ''] = lines;
  const columns = header.split(/\s{2,}/);
  assert.deepEqual(columns, ['NAME', 'KIND', 'NAMESPACE', 'CLUSTER', 'CDS', 'LDS', 'EDS', 'RDS', 'ECDS', 'ISTIOD', 'VERSION']);
  const cells = row.split(/\s{2,}/);
  assert.equal(cells.length, columns.length, row);
  const cell = Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
  assert.deepEqual(cell, {
    NAME: 'client.demo', // istioctl's <pod>.<namespace>, from the node id proxyless~127.0.9.1~client.demo~demo.svc.cluster.local
    KIND: 'grpc',
    NAMESPACE: 'demo',
    CLUSTER: 'Kubernetes',
    CDS: 'SYNCED',
    LDS: 'SYNCED',
    EDS: 'SYNCED',
    RDS: 'SYNCED',
    ECDS: 'NOT SENT',
    ISTIOD: synced.instance,
    VERSION: synced.version,
  });
  assert.match(synced.version, /^\d+\.\d+\.\d+/, 'the gRPC client’s version, from its user agent');
  // Columns line up: every column starts at the same offset in the header and the row.
  let offset = 0;
  for (const [i, c] of columns.entries()) {
    offset = header.indexOf(c, offset);
    assert.ok(row.startsWith(cells[i] ?? '?', offset), `column ${c} starts at ${offset} in the row too`);
  }

  const json = await runCli(['proxy-status', '--http-address', serve.http, '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const data = JSON.parse(json.stdout) as { proxies: ProxySync[] };
  assert.equal(data.proxies.length, 1);
  assert.equal(data.proxies[0]?.proxy, 'proxyless~127.0.9.1~client.demo~demo.svc.cluster.local');
  assert.deepEqual(data.proxies[0]?.types.map((ty) => [ty.type, ty.state]).sort(), [['CDS', 'SYNCED'], ['EDS', 'SYNCED'], ['LDS', 'SYNCED'], ['RDS', 'SYNCED']]);

  // No serve there: exit code 2 and one sentence on stderr.
  const down = await runCli(['proxy-status', '--http-address', '127.0.0.1:1']);
  assert.equal(down.code, 2);
  assert.equal(down.stdout, '');
  assert.match(down.stderr, /^meshbridge: cannot reach the control plane at 127\.0\.0\.1:1/);
});
