/**
 * Issue 3, end to end: an invalid edit changes nothing on the wire. A VirtualService file rewritten
 * with a validation error (it would also move the traffic) is refused: the client's traffic and the
 * versions it was sent stay as they were, and the refusal is reported in /debug/configz (file, line,
 * field), in `pilot_total_rejected_configs` and on serve's stderr. Fixing the file applies it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, NS, proxyless, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, metricValue, startServe, waitFor } from './serve-process.js';

const HOST = 'inv.demo.test';

function route(subset: string, timeout: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: inv, namespace: ${NS}}
spec:
  hosts: [${HOST}]
  http:
  - timeout: ${timeout}
    route:
    - {destination: {host: ${HOST}, subset: ${subset}}}
`;
}

interface ConfigzFile {
  path: string;
  rejected: boolean;
  errors: { line: number; column: number; field: string; message: string; kind: string }[];
}

test('an invalid edit is refused and reported, changes nothing on the wire, and its fix applies', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const [a, b] = await Promise.all([backend(own, 'a', '127.0.61.1'), backend(own, 'b', '127.0.62.1')]);
  const mesh = docs(
    serviceEntry('inv', HOST, { app: 'inv' }),
    workloadEntry('inv-a', a, { app: 'inv', version: 'a' }),
    workloadEntry('inv-b', b, { app: 'inv', version: 'b' }),
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: inv, namespace: ${NS}}
spec:
  host: ${HOST}
  subsets: [{name: a, labels: {version: a}}, {name: b, labels: {version: b}}]
`,
  );
  const serve = await startServe({ files: { 'mesh.yaml': mesh, 'route.yaml': route('a', '5s') } });
  own(serve, (x) => x.stop());
  const client = new XdsClientChild(proxyless(serve.xds, HOST));
  own(client, (x) => x.stop());
  await client.ready(30_000);
  const first = await client.send({ op: 'call', count: 20, deadlineMs: 10_000, waitForReady: true }, 15_000);
  assert.deepEqual(first.counts, { a: 20 });

  const synced = await waitFor(async () => {
    const s = await serve.syncz();
    return s[0]?.types.length === 4 && s[0].types.every((ty) => ty.state === 'SYNCED') ? s[0] : undefined;
  }, 15_000, 'the client to be SYNCED');
  const versions = (p: typeof synced): Record<string, string | undefined> => Object.fromEntries(p.types.map((ty) => [ty.type, `${ty.sent}/${ty.acked}/${ty.current}`]));
  const rejectedBefore = metricValue(await serve.text('/metrics'), 'pilot_total_rejected_configs', { type: 'file' });

  // The invalid edit: it would move the traffic to b, but its timeout is not a duration (line 7).
  serve.write('route.yaml', route('b', '5 parsecs'));
  const file = await waitFor(async () => {
    const c = await serve.get<{ files: ConfigzFile[]; rejectedFiles: string[] }>('/debug/configz');
    return c.files.find((f) => f.path.endsWith('route.yaml') && f.rejected);
  }, 15_000, '/debug/configz to list route.yaml as rejected');
  const error = file.errors[0];
  assert.ok(error, 'the rejected file carries its error');
  assert.equal(error.line, 7);
  assert.equal(error.field, 'spec.http[0].timeout');
  assert.equal(error.kind, 'VirtualService');
  assert.match(error.message, /not a duration/);

  const metrics = await serve.text('/metrics');
  assert.equal(metricValue(metrics, 'pilot_total_rejected_configs', { type: 'file' }), rejectedBefore + 1);
  assert.equal(metricValue(metrics, 'pilot_total_rejected_configs', { type: 'VirtualService' }), 1);
  const logLine = serve.logs().split('\n').find((l) => l.includes('route.yaml:7:'));
  assert.ok(logLine, `stderr names the file and line:\n${serve.logs()}`);
  assert.match(logLine, /warn .*refused/);

  // Nothing moved: the traffic stays on a, and no type was pushed a new version.
  const during = await client.send({ op: 'call', count: 40, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(during.counts, { a: 40 });
  const after = (await serve.syncz())[0];
  assert.ok(after);
  assert.equal(after.stream, synced.stream, 'same ADS stream');
  assert.deepEqual(versions(after), versions(synced), 'CDS/EDS/LDS/RDS versions (sent/acked/current) unchanged');

  // The fix applies: the traffic moves to b.
  const fixedAt = serve.write('route.yaml', route('b', '5s'));
  const moved = await client.send({ op: 'until', backend: 'b', streak: 10, timeoutMs: 5000 }, 8000);
  assert.ok(moved.reached, `the fixed route did not apply (last answer ${moved.last})`);
  t.diagnostic(`fix → traffic on b in ${moved.at - fixedAt} ms`);
  const c = await serve.get<{ files: ConfigzFile[]; rejectedFiles: string[] }>('/debug/configz');
  assert.deepEqual(c.rejectedFiles, []);
  const fixed = (await serve.syncz())[0];
  assert.notEqual(fixed?.types.find((ty) => ty.type === 'RDS')?.acked, synced.types.find((ty) => ty.type === 'RDS')?.acked, 'a new RDS version was sent and ACKed');
});
