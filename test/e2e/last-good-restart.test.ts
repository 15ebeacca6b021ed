/**
 * Issue 13, item 2, with real processes: invalid objects survive a restart. A WorkloadEntry file
 * edited into an invalid state is refused while serve runs (the entry keeps serving); after a
 * restart the entry is still served, from the last good version kept in the state directory, and
 * the refusal shows in /debug/configz, in `pilot_total_rejected_configs` and in /ready's `warnings`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NS, serviceEntry } from './mesh.js';
import { cleanups, metricValue, startServe, waitFor, type ServeProcess } from './serve-process.js';

const HOST = 'lg.demo.test';

function entry(address: string): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: lg-vm, namespace: ${NS}}
spec: {address: ${address}, labels: {app: lg}, ports: {grpc: 8080}}
`;
}

async function served(serve: ServeProcess): Promise<string[]> {
  const services = await serve.get<{ endpoints: { address: string }[] }[]>(`/debug/endpointz?namespace=${NS}&host=${HOST}`);
  return services.flatMap((s) => s.endpoints.map((e) => e.address));
}

async function ready(serve: ServeProcess): Promise<{ status: number; body: { status: string; warnings: string[] } }> {
  const res = await fetch(`http://${serve.http}/ready`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as { status: string; warnings: string[] } };
}

test('a WorkloadEntry made invalid keeps serving its last good version across a restart, with the refusal reported', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const dir = own(mkdtempSync(join(tmpdir(), 'mb-lastgood-')), (d) => rm(d, { recursive: true, force: true }).then(() => rm(`${d}.state`, { recursive: true, force: true })));
  const typo = `${entry('127.0.64.9').replace('lg-vm', 'lg-typo').replace('{address:', '{adress: x, address:')}`;
  const first = own(await startServe({ dir, files: { 'svc.yaml': serviceEntry('lg', HOST, { app: 'lg' }), 'vm.yaml': entry('127.0.64.1'), 'typo.yaml': typo } }), (s) => s.stop());
  // An accepted file's warnings are logged (issue 13, item 4).
  const warned = /warn configuration warning: \S*typo\.yaml:4:\d+: warning: WorkloadEntry demo\/lg-typo spec\.adress: unknown field "adress" in spec; it is ignored\. Did you mean "address"\?/;
  await waitFor(() => (warned.test(first.logs()) ? true : undefined), 5000, `the warning on stderr: ${first.logs()}`);
  assert.deepEqual((await served(first)).sort(), ['127.0.64.1', '127.0.64.9']);
  assert.deepEqual(await ready(first), { status: 200, body: { status: 'ready', warnings: [] } });

  first.write('vm.yaml', entry('127.0.64.300'));
  await waitFor(async () => ((await ready(first)).body.warnings.length > 0 ? true : undefined), 15_000, 'the refusal');
  assert.deepEqual((await served(first)).sort(), ['127.0.64.1', '127.0.64.9'], 'while running: the last good version');
  assert.equal(await first.stop(), 0);

  const second = own(await startServe({ dir }), (s) => s.stop());
  assert.deepEqual((await served(second)).sort(), ['127.0.64.1', '127.0.64.9'], 'after the restart: still the last good version');
  const r = await ready(second);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.warnings, [`${join(dir, 'vm.yaml')} has 1 error: refused, serving its last good version (see /debug/configz)`]);
  const configz = await second.get<{ rejectedFiles: string[]; files: { path: string; errors: { line: number; field: string; message: string }[] }[] }>('/debug/configz');
  assert.deepEqual(configz.rejectedFiles, [join(dir, 'vm.yaml')]);
  const error = configz.files.find((f) => f.path.endsWith('vm.yaml'))?.errors[0];
  assert.equal(error?.field, 'spec.address');
  assert.equal(error.line, 4);
  const metrics = await second.text('/metrics');
  assert.equal(metricValue(metrics, 'pilot_total_rejected_configs', { type: 'file' }), 1);
  assert.equal(metricValue(metrics, 'pilot_total_rejected_configs', { type: 'WorkloadEntry' }), 1);
  assert.match(second.logs(), /serving the last good version of \S*vm\.yaml/);

  // The fix applies as usual, and the warning goes.
  second.write('vm.yaml', entry('127.0.64.2'));
  await waitFor(async () => ((await served(second)).includes('127.0.64.2') ? true : undefined), 15_000, 'the fix');
  assert.deepEqual((await ready(second)).body.warnings, []);
});
