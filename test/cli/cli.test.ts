/**
 * The command line as scripts see it (cli-contract.md): the real program in a child process,
 * exit codes, JSON on stdout, one-sentence errors on stderr.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, EXAMPLES, PROJECT_ROOT } from '../support/paths.js';

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface EndpointsJson {
  services: { host: string; namespace: string; endpoints: { address: string; port: number; tlsMode: string | null; source: string; serviceAccount: string | null }[]; excluded?: { source: string; reason: string }[] }[];
  clusters: { name: string; type: string; localities: { locality: string; endpoints: { address: string; port: number; tlsMode: string | null }[] }[] }[];
}

test('validate: the examples are valid (exit 0, JSON document)', () => {
  const r = run(['validate', '-o', 'json', EXAMPLES]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { valid: boolean; resources: number; errors: unknown[] };
  assert.equal(out.valid, true);
  assert.ok(out.resources >= 20);
  assert.deepEqual(out.errors, []);
});

test('validate: a syntax error is reported with file, line and column, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-cli-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: vm1\n  name: vm2\nspec: {address: 1.1.1.1}\n');
  const r = run(['validate', '-o', 'json', file]);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { valid: boolean; errors: { file: string; line: number; column: number; message: string }[] };
  assert.equal(out.valid, false);
  assert.equal(out.errors[0]?.file, file);
  assert.equal(out.errors[0]?.line, 5);
  assert.ok((out.errors[0]?.column ?? 0) >= 1);
});

test('a missing file is an I/O error: exit 2, one sentence on stderr, nothing on stdout', () => {
  const r = run(['validate', '-o', 'json', 'does/not/exist.yaml']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^meshbridge: cannot read does\/not\/exist\.yaml: no such file or directory\n$/);
});

test('usage errors exit 2', () => {
  assert.equal(run(['endpoints']).code, 2, 'missing --config');
  assert.equal(run(['validate', '-o', 'xml', EXAMPLES]).code, 2, 'unknown output format');
  assert.equal(run(['no-such-command']).code, 2);
  const growth = run(['serve', '--config', EXAMPLES, '--heap-growth', '5000']);
  assert.equal(growth.code, 2, 'heap growth out of range');
  assert.match(growth.stderr, /--heap-growth.*whole percentage from 0 to 1000/);
});

test('endpoints: seed scenario 1, one workloadSelector picks both the VMs and the pods (svc1.internal.com)', () => {
  const r = run(['endpoints', '-o', 'json', '--config', EXAMPLES, '--client-namespace', 'vm-demo', '--host', 'svc1.internal.com']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as EndpointsJson;
  const cluster = out.clusters.find((c) => c.name === 'outbound|80||svc1.internal.com');
  assert.ok(cluster);
  const eps = cluster.localities.flatMap((g) => g.endpoints).map((e) => `${e.address}:${e.port}`).sort();
  assert.deepEqual(eps, ['127.0.1.11:8080', '127.0.1.12:8080', '127.0.2.1:80', '127.0.2.2:80']);
  assert.ok(out.clusters.some((c) => c.name === 'outbound|80|vm|svc1.internal.com'));
  assert.ok(out.clusters.some((c) => c.name === 'outbound|80|k8s|svc1.internal.com'));
});

test('endpoints: seed scenario 2, details.bookinfo.com port 80 -> targetPort 8080; the VM with a serviceAccount gets mTLS', () => {
  const r = run(['endpoints', '-o', 'json', '--config', EXAMPLES, '--client-namespace', 'bookinfo', '--host', 'details.bookinfo.com', '--explain']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as EndpointsJson;
  const svc = out.services.find((s) => s.namespace === 'bookinfo');
  assert.ok(svc);
  const vm = svc.endpoints.find((e) => e.source.startsWith('WorkloadEntry/'));
  assert.equal(vm?.port, 8080);
  assert.equal(vm?.tlsMode, 'istio');
  assert.equal(vm?.serviceAccount, 'spiffe://cluster.local/ns/bookinfo/sa/details-legacy');
  assert.ok(svc.endpoints.some((e) => e.source.startsWith('Pod/') && e.port === 8080));
  const cluster = out.clusters.find((c) => c.name === 'outbound|80||details.bookinfo.com');
  assert.equal(cluster?.type, 'EDS');
  assert.ok(cluster?.localities.flatMap((g) => g.endpoints).every((e) => e.port === 8080 && e.tlsMode === 'istio'));
});

test('endpoints: invalid objects are left out and reported on stderr, exit 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-cli-'));
  writeFileSync(join(dir, 'a.yaml'), 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: vm1, namespace: ns1}\nspec: {address: "1.1.1.1", labels: {app: a}}\n---\nnot: [valid\n');
  const r = run(['endpoints', '-o', 'json', '--config', dir]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /a\.yaml:\d+:\d+: error: YAML syntax error/);
  JSON.parse(r.stdout);
});

test('the plaintext xDS port is for loopback only: which addresses count as loopback', async () => {
  const { isLoopbackAddress } = await import('../../src/cli/main.js');
  for (const a of ['127.0.0.1:15010', '127.1.2.3:0', '[::1]:15010', 'localhost:15010']) assert.equal(isLoopbackAddress(a), true, a);
  for (const a of ['0.0.0.0:15010', '10.0.0.5:15010', '[::]:15010', 'meshbridge.example:15010', '128.0.0.1:15010']) assert.equal(isLoopbackAddress(a), false, a);
});
