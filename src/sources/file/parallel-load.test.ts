/**
 * Loading in worker threads gives exactly what loading inline gives: the same objects and the same
 * findings (file, line, column, field, message), in the order of the files; and the folder source
 * using it still refuses a bad file with the same error while serving its last good version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../model/config/load.js';
import { ConfigFolderSource } from './config-folder.js';
import { loadFiles, parallelLoadStats, type SourceFile } from './parallel-load.js';

const we = (name: string, address: string): string =>
  `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: ${name}, namespace: ns1, labels: {app: a}}\nspec: {address: "${address}", ports: {http: 8080}}\n`;

/** Valid and invalid files of every sort: bulk, a syntax error, a field error, a fail-closed policy, JSON. */
function files(): SourceFile[] {
  return [
    { path: 'a-bulk.yaml', text: Array.from({ length: 300 }, (_, i) => we(`vm${i}`, `10.0.${i % 250}.${i % 7}`)).join('---\n') },
    { path: 'b-syntax.yaml', text: `${we('ok', '1.1.1.1')}---\nkind: [broken\n` },
    { path: 'c-field.yaml', text: `${we('bad', 'not an address!')}---\n${we('fine', '2.2.2.2')}` },
    {
      path: 'd-policy.yaml',
      text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny, namespace: ns1}\nspec: {action: DENY, rules: [{to: [{operation: {methods: 7}}]}]}\n',
    },
    { path: 'e.json', text: JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 's', namespace: 'ns1' }, spec: { hosts: ['s.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' } }) },
    { path: 'f-bulk.yaml', text: Array.from({ length: 200 }, (_, i) => we(`other${i}`, `10.1.${i % 250}.1`)).join('---\n') },
  ];
}

test('workers give the same objects and findings as loading inline, in file order', async () => {
  const input = files();
  const inline = input.map((f) => loadConfig([f]));
  const before = { ...parallelLoadStats };
  const parallel = await loadFiles(input, { workers: 3, minBytes: 0 });
  assert.equal(parallelLoadStats.filesInWorkers - before.filesInWorkers, input.length, 'every file was loaded by a worker');
  assert.equal(parallelLoadStats.filesAfterWorkerFailure, before.filesAfterWorkerFailure, 'no worker failed');
  assert.deepEqual(parallel, inline);
  const errors = parallel.flatMap((r) => r.findings.filter((f) => f.severity === 'error').map((f) => f.file));
  assert.ok(errors.includes('b-syntax.yaml') && errors.includes('c-field.yaml') && errors.includes('d-policy.yaml'), 'the bad files are reported');
  assert.ok(parallel[0]?.objects.length === 300 && parallel[5]?.objects.length === 200);
});

test('below the size threshold, or with one worker, files are loaded inline (same results)', async () => {
  const input = files();
  const before = parallelLoadStats.filesInWorkers;
  assert.deepEqual(await loadFiles(input), input.map((f) => loadConfig([f])));
  assert.deepEqual(await loadFiles(input, { workers: 1, minBytes: 0 }), input.map((f) => loadConfig([f])));
  assert.equal(parallelLoadStats.filesInWorkers, before, 'no worker started');
});

test('the folder source loading in workers: same snapshot as inline; a bad edit is refused with the same error and the last good version kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-par-'));
  try {
    for (const f of files()) writeFileSync(join(dir, f.path), f.text);
    const inWorkers = new ConfigFolderSource([dir], undefined, { workers: 2, minBytes: 0 });
    const inline = new ConfigFolderSource([dir]);
    const before = parallelLoadStats.filesInWorkers;
    const a = await inWorkers.load();
    assert.equal(parallelLoadStats.filesInWorkers - before, files().length, 'loaded in workers');
    const b = await inline.load();
    assert.deepEqual(a.snapshot, b.snapshot);
    assert.ok(a.snapshot.objects.length >= 502);

    const bulk = join(dir, 'a-bulk.yaml');
    writeFileSync(bulk, `${we('vm0', '9.9.9.9')}---\nspec: {address: [\n`);
    utimesSync(bulk, 5000, 5000);
    const refusedInWorkers = await inWorkers.reload();
    const refusedInline = await inline.reload();
    assert.deepEqual(refusedInWorkers.rejected, [bulk]);
    assert.deepEqual(refusedInWorkers.snapshot.findings, refusedInline.snapshot.findings, 'the same error, file and line');
    const vm0 = refusedInWorkers.snapshot.objects.find((o) => o.metadata.name === 'vm0');
    assert.equal(vm0?.kind === 'WorkloadEntry' ? vm0.spec.address : '', '10.0.0.0', 'the last good version is served');
    assert.equal(refusedInWorkers.snapshot.objects.length, a.snapshot.objects.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
