/**
 * Issue 13, item 4, through the real program: unknown fields and kinds with "did you mean"
 * suggestions (warnings; errors for `validate --strict` and `apply`), duplicates across files, strict
 * JSON, one clear message for a YAML indentation error, and `endpoints`' --client-locality and --port.
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

function files(entries: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mb-strict-'));
  for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
  return dir;
}

interface Finding {
  file: string;
  line: number;
  column: number;
  kind: string;
  field: string;
  message: string;
}
interface ValidateJson {
  valid: boolean;
  errors: Finding[];
  warnings: Finding[];
}

const TYPOS = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc, namespace: ns1}
spec:
  hosts: [svc.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelecter: {labels: {app: svc}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntri
metadata: {name: vm1, namespace: ns1}
spec: {address: 127.0.0.9}
`;

test('validate: an unknown field or kind is a warning with a did-you-mean (exit 0); --strict makes it an error (exit 1)', () => {
  const dir = files({ 'typos.yaml': TYPOS });
  const lax = run(['validate', '-o', 'json', dir]);
  assert.equal(lax.code, 0, lax.stderr);
  const l = JSON.parse(lax.stdout) as ValidateJson;
  assert.deepEqual(l.errors, []);
  assert.deepEqual(
    l.warnings.map((f) => `${f.line}:${f.column} ${f.field}: ${f.message}`),
    [
      '7:21 spec.workloadSelecter: unknown field "workloadSelecter" in spec; it is ignored. Did you mean "workloadSelector"?',
      '10:7 kind: Unknown kind "WorkloadEntri" (networking.istio.io/v1); meshbridge does not validate or use it. Did you mean "WorkloadEntry"?',
    ],
  );
  const strict = run(['validate', '--strict', '-o', 'json', dir]);
  assert.equal(strict.code, 1);
  const s = JSON.parse(strict.stdout) as ValidateJson;
  assert.equal(s.valid, false);
  assert.deepEqual(s.errors.map((f) => f.field), ['spec.workloadSelecter', 'kind']);
  assert.deepEqual(s.warnings, []);
});

test('apply: unknown fields and kinds are errors (kubectl strict field validation), with the suggestion; nothing is applied', () => {
  const dir = files({ 'typos.yaml': TYPOS });
  const r = run(['apply', '-f', dir, '--store', `file://${dir}`]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /typos\.yaml:7:21: error: ServiceEntry ns1\/svc spec\.workloadSelecter: unknown field "workloadSelecter" in spec; it is ignored\. Did you mean "workloadSelector"\?\n/);
  assert.match(r.stderr, /typos\.yaml:10:7: error: WorkloadEntri ns1\/vm1 kind: Unknown kind "WorkloadEntri" .*Did you mean "WorkloadEntry"\? apply stores only kinds meshbridge reads\.\n/);
  assert.match(r.stderr, /refused: 2 errors; nothing was applied\n$/);
});

test('validate: the same object in two files is an error naming both files and lines', () => {
  const we = (address: string) => `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: vm1, namespace: ns1}\nspec: {address: ${address}}\n`;
  const dir = files({ 'a.yaml': we('127.0.0.1'), 'b.yaml': `# the second\n${we('127.0.0.2')}` });
  const r = run(['validate', '-o', 'json', dir]);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as ValidateJson;
  assert.equal(out.errors.length, 1);
  const e = out.errors[0];
  assert.equal(e?.file, join(dir, 'b.yaml'));
  assert.equal(e.line, 2);
  assert.equal(e.message, `WorkloadEntry/ns1/vm1 is also defined at ${join(dir, 'a.yaml')}:1; define each object once (the later definition would silently replace the earlier).`);
});

test('validate: a .json file with a trailing comma is an error at the comma', () => {
  const dir = files({ 'vm.json': '{\n  "apiVersion": "networking.istio.io/v1",\n  "kind": "WorkloadEntry",\n  "metadata": {"name": "vm1"},\n  "spec": {"address": "127.0.0.1",}\n}\n' });
  const r = run(['validate', '-o', 'json', dir]);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as ValidateJson;
  assert.deepEqual(out.errors.map((f) => `${f.line}:${f.column} ${f.message}`), ['5:34 JSON syntax error: a trailing comma before "}" is not allowed']);
});

test('validate: a YAML indentation error is one clear message at the misindented line', () => {
  const dir = files({ 'vm.yaml': 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata:\n  name: vm1\n   namespace: ns1\nspec: {address: 127.0.0.1}\n' });
  const r = run(['validate', dir]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stdout,
    `${join(dir, 'vm.yaml')}:5:4: error: YAML syntax error: bad indentation: line 5 is indented deeper than line 4, whose key already has a value; indent it like the keys it belongs with\n` +
      'invalid: 0 resources in 1 file, 1 error, 0 warnings\n',
  );
});

test('endpoints: a malformed --client-locality is a usage error (exit 2); a region no workload is in is said on stderr', () => {
  for (const bad of ['us-east1/', 'a/b/c/d', 'us east1', '/zone']) {
    const r = run(['endpoints', '--config', EXAMPLES, '--client-locality', bad]);
    assert.equal(r.code, 2, bad);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `meshbridge: --client-locality takes region[/zone[/subzone]] (non-empty parts without spaces, e.g. us-east1/us-east1-b/rack-1), not ${JSON.stringify(bad)}\n`);
  }
  const typo = run(['endpoints', '--config', EXAMPLES, '--client-locality', 'us-eats1/us-east1-b', '-o', 'json']);
  assert.equal(typo.code, 0);
  assert.match(typo.stderr, /^meshbridge: warning: no workload is in region "us-eats1" of --client-locality us-eats1\/us-east1-b \(regions: europe-west1, us-east1\): the view is of a client outside all of them\. Did you mean "us-east1"\?\n$/);
  JSON.parse(typo.stdout);
});

test('endpoints --port: only services that have the port (no `ports=` with nothing after it)', () => {
  const none = run(['endpoints', '--config', EXAMPLES, '--port', '81']);
  assert.equal(none.code, 0, none.stderr);
  assert.doesNotMatch(none.stdout, /ports=\s*$/m);
  assert.match(none.stdout, /^SERVICES \(0\)$/m);
  const some = run(['endpoints', '--config', EXAMPLES, '--port', '80', '-o', 'json']);
  const services = (JSON.parse(some.stdout) as { services: { ports: { number: number }[] }[] }).services;
  assert.ok(services.length > 0);
  for (const s of services) assert.deepEqual(s.ports.map((p) => p.number), [80]);
});
