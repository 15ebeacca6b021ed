/**
 * Issue 11 item 3, against real processes: `meshbridge validate` refuses every file of the bomb
 * corpus with a positioned finding and its reason, and a running `serve` survives it, at start (and
 * so after every restart) and written into its folder while clients are connected: it goes on
 * serving the valid configuration and pushing its changes. Before the fix the bomb passed
 * `validate` and the first client killed `serve` (RangeError: Invalid string length).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanups, runCli, startServe, waitFor } from '../e2e/serve-process.js';
import { A_CLUSTER, serviceAYaml, workloadAYaml } from '../support/control-plane.js';
import { EdsWatcher } from '../support/xds-watchers.js';
import { bombCorpus, jsonKeyAnchorBomb, REFUSALS } from './bomb-corpus.js';

const CLUSTER = A_CLUSTER;
const SERVICE = serviceAYaml('default');
const entry = (address: string): string => workloadAYaml('default', address);

function folder(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mb-bombs-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('the issue\'s 1 KB bomb: validate refuses it with its reason; serve started with it serves clients, also after a restart', { timeout: 90_000 }, async (t) => {
  const own = cleanups(t);
  const dir = own(folder({ 'service.yaml': SERVICE, 'vm.yaml': entry('127.0.70.1'), 'dr.yaml': jsonKeyAnchorBomb(8, 'reviews') }), (d) => {
    rmSync(d, { recursive: true, force: true });
    rmSync(`${d}.state`, { recursive: true, force: true });
    return Promise.resolve();
  });
  const v = await runCli(['validate', dir], 30_000);
  assert.equal(v.code, 1, `validate must fail: ${v.stdout}${v.stderr}`);
  assert.match(`${v.stdout}${v.stderr}`, /dr\.yaml:1:1: error: cannot read document: Excessive alias count .*maxAliasCount of 100/);

  for (const round of ['first start', 'restart']) {
    const serve = await startServe({ dir });
    const watcher = new EdsWatcher(serve.xds, CLUSTER, 'default', '127.0.0.93');
    try {
      await waitFor(() => (watcher.latest().includes('127.0.70.1:80') ? true : undefined), 20_000, `${round}: the client is served`);
      assert.equal(watcher.ended, undefined, `${round}: the stream is up`);
      const ready = JSON.parse(await serve.text('/ready')) as { status: string; warnings: string[] };
      assert.equal(ready.status, 'ready', `${round}: serve is alive`);
      assert.ok(ready.warnings.some((w) => w.includes('dr.yaml')), `${round}: /ready warns about the refused file`);
      assert.match(serve.logs(), /dr\.yaml:1:1: error: cannot read document: Excessive alias count/, 'serve reports the refused file');
    } finally {
      watcher.close();
      assert.equal(await serve.stop(), 0, `${round}: serve exits cleanly (it did not crash)`);
    }
  }
});

test('the bomb corpus: validate refuses every file with its position and reason; a running serve survives all of it being written', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const corpus = bombCorpus();
  const corpusDir = own(folder(Object.fromEntries(corpus.map((f) => [f.name, f.text]))), (d) => Promise.resolve(rmSync(d, { recursive: true, force: true })));
  const v = await runCli(['validate', corpusDir], 60_000);
  assert.equal(v.code, 1, 'validate fails (and does not crash)');
  const output = `${v.stdout}${v.stderr}`;
  for (const [name, reason] of Object.entries(REFUSALS)) {
    const line = output.split('\n').find((l) => l.includes(`${name}:`) && l.includes(reason));
    assert.ok(line !== undefined && new RegExp(`${name.replace(/\./g, '\\.')}:\\d+:\\d+: error: `).test(line), `${name}: refused with "${reason}" at a position:\n${output.slice(0, 3000)}`);
  }

  const serve = own(await startServe({ files: { 'service.yaml': SERVICE, 'vm.yaml': entry('127.0.70.2') } }), (s) => s.stop());
  const watcher = own(new EdsWatcher(serve.xds, CLUSTER, 'default', '127.0.0.94'), (w) => Promise.resolve(w.close()));
  await waitFor(() => (watcher.latest().includes('127.0.70.2:80') ? true : undefined), 20_000, 'the client is served');
  for (const f of corpus) serve.write(f.name, f.text);
  // A valid change after the bombs: serve read them, refused them and still pushes.
  serve.write('vm.yaml', entry('127.0.70.3'));
  await waitFor(() => (watcher.latest().includes('127.0.70.3:80') ? true : undefined), 60_000, 'the change after the bombs is pushed');
  assert.equal(watcher.ended, undefined, 'the client stream survived');
  await waitFor(() => (/json-key-anchor-bomb\.yaml/.test(serve.logs()) ? true : undefined), 10_000, 'the refusal is logged');
  const second = new EdsWatcher(serve.xds, CLUSTER, 'default', '127.0.0.95');
  try {
    await waitFor(() => (second.latest().includes('127.0.70.3:80') ? true : undefined), 20_000, 'a new client is served after the bombs');
  } finally {
    second.close();
  }
  assert.equal(await serve.stop(), 0, 'serve exits cleanly: it never crashed');
});
