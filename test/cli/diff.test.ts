/**
 * `meshbridge diff` through the real program (issue 18 what-if): the kubectl-diff-like text of a
 * VirtualService weight change (exactly the routes that change), exit 1 when something would
 * change and 0 when nothing would, an invalid file's positioned findings with nothing compared,
 * JSON output, and usage errors (exit 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, PROJECT_ROOT } from '../support/paths.js';

const CONFIG = join('test', 'fixtures', 'what-if');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The fixture's VirtualService `a` with the weights of subsets v1 and v2 given, in a file of its own. */
function virtualService(v1: string, v2: string): string {
  const mesh = readFileSync(join(PROJECT_ROOT, CONFIG, 'mesh.yaml'), 'utf8');
  const doc = mesh.split('\n---\n').find((d) => d.includes('kind: VirtualService'));
  assert.ok(doc);
  const file = join(mkdtempSync(join(tmpdir(), 'mb-diff-')), 'vs.yaml');
  writeFileSync(file, doc.replace('weight: 80', `weight: ${v1}`).replace('weight: 20', `weight: ${v2}`));
  return file;
}

test('diff: a VirtualService weight change prints exactly the routes that change per client class and exits 1', () => {
  const file = virtualService('50', '50');
  const r = run(['diff', '-f', file, '--config', CONFIG]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, '');
  const route = (name: string) => [
    `  ~ route ${name}, virtual host a.apps.test:80`,
    '      - prefix "" -> weighted outbound|80|v1|a.apps.test=80, outbound|80|v2|a.apps.test=20',
    '      + prefix "" -> weighted outbound|80|v1|a.apps.test=50, outbound|80|v2|a.apps.test=50',
  ];
  const lines = r.stdout.split('\n');
  const clients = lines.indexOf('=== clients: envoy ns=apps');
  assert.ok(clients > 0, r.stdout);
  assert.equal(lines[0], `VirtualService apps/a configured (${file}:1)`);
  assert.deepEqual(lines.slice(clients), ['=== clients: envoy ns=apps', 'routes:', ...route('80'), '', '=== clients: grpc ns=apps', 'routes:', ...route('a.apps.test:80'), '', 'would change: 1 object; the configuration of 2 of 2 client classes', '']);
});

test('diff: the same objects as the configuration change nothing (exit 0); -o json is the what-if result', () => {
  const same = virtualService('80', '20');
  const r = run(['diff', '-f', same, '--config', CONFIG, '--client-kind', 'envoy']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, `VirtualService apps/a unchanged (${same}:1)\n\nno changes: 1 object unchanged; 1 client class compared\n`);
  const json = run(['diff', '-f', virtualService('50', '50'), '--config', CONFIG, '--client-namespace', 'apps', '--client-kind', 'grpc', '-o', 'json']);
  assert.equal(json.code, 1, json.stderr);
  const result = JSON.parse(json.stdout) as { applicable: boolean; changed: boolean; compared: string[]; clients: { label: string; routes: { routeConfiguration: string; change: string }[] }[] };
  assert.equal(result.applicable, true);
  assert.equal(result.changed, true);
  assert.deepEqual(result.compared, ['grpc ns=apps']);
  assert.deepEqual(result.clients.map((c) => [c.label, c.routes.map((x) => `${x.change} ${x.routeConfiguration}`)]), [['grpc ns=apps', ['changed a.apps.test:80']]]);
});

test('diff: an invalid file lists its findings with file:line:column, compares nothing and exits 1', () => {
  const file = virtualService('fifty', '50');
  const r = run(['diff', '-f', file, '--config', CONFIG]);
  assert.equal(r.code, 1);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  assert.match(lines[0] ?? '', new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:10:\\d+: error: VirtualService apps/a spec\\.http\\[0\\]\\.route\\[0\\]\\.weight: `));
  assert.equal(lines[1], 'invalid: 1 error in the changed files; nothing would be applied and nothing was compared');
  assert.doesNotMatch(r.stdout, /=== clients/);
});

test('diff: usage errors exit 2 with the reason', () => {
  const noFile = run(['diff', '--config', CONFIG]);
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /diff needs at least one -f PATH/);
  const noConfig = run(['diff', '-f', virtualService('50', '50')]);
  assert.equal(noConfig.code, 2);
  assert.match(noConfig.stderr, /diff needs at least one --config PATH/);
  const badKind = run(['diff', '-f', virtualService('50', '50'), '--config', CONFIG, '--client-kind', 'ztunnel']);
  assert.equal(badKind.code, 2);
  assert.match(badKind.stderr, /--client-kind/);
  const missing = run(['diff', '-f', join(tmpdir(), 'no-such-what-if.yaml'), '--config', CONFIG]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no-such-what-if\.yaml/);
});
