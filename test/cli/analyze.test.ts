/**
 * `meshbridge analyze` through the real program (issue 13): istioctl's text lines, JSON, exit 1 on
 * messages at the failure threshold, usage errors exit 2, and a store as input.
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

const CONFIG = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: ns1}
spec:
  hosts: [a.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: a}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: a1, namespace: ns1}
spec: {address: 127.0.0.10, labels: {app: a, version: v1}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: ns1}
spec:
  hosts: [a.example.com]
  http:
  - route: [{destination: {host: a.example.com, subset: v2}}]
`;

function folder(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mb-analyze-'));
  writeFileSync(join(dir, 'mesh.yaml'), text);
  return dir;
}

test('analyze: an error message is printed as istioctl does and exits 1; -o json is one document', () => {
  const dir = folder(CONFIG);
  const r = run(['analyze', dir]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, `Error [IST0101] (VirtualService ns1/vs ${join(dir, 'mesh.yaml')}:22) spec.http[0].route[0].destination.subset: Referenced host+subset in destinationrule not found: "a.example.com+v2"\n`);
  const json = run(['analyze', '-o', 'json', dir]);
  assert.equal(json.code, 1);
  const messages = JSON.parse(json.stdout) as { code: string; name: string; level: string; origin: string; line: number }[];
  assert.deepEqual(messages.map((m) => [m.code, m.name, m.level, m.origin, m.line]), [['IST0101', 'ReferencedResourceNotFound', 'Error', 'VirtualService ns1/vs', 22]]);
});

test('analyze --failure-threshold: warnings fail the check only when asked; no messages is a check mark', () => {
  const warningOnly = folder(CONFIG.replace(', subset: v2', '').replace('{app: a, version: v1}', '{app: b}'));
  const lax = run(['analyze', warningOnly]);
  assert.equal(lax.code, 0, lax.stdout);
  assert.match(lax.stdout, /^Warning \[IST0127\] \(ServiceEntry ns1\/a /m);
  assert.match(lax.stdout, /^Warning \[MB0104\] \(WorkloadEntry ns1\/a1 /m);
  assert.equal(run(['analyze', '--failure-threshold', 'Warning', warningOnly]).code, 1);
  assert.equal(run(['analyze', '--failure-threshold', 'info', warningOnly]).code, 1);
  const clean = folder(CONFIG.replace(', subset: v2', ''));
  const ok = run(['analyze', '--failure-threshold', 'Info', clean]);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, `\u2714 No validation issues found when analyzing ${clean}.\n`);
});

test('analyze: usage errors exit 2 with one sentence', () => {
  const none = run(['analyze']);
  assert.equal(none.code, 2);
  assert.equal(none.stderr, 'meshbridge: analyze needs PATH... or --store URL\n');
  const level = run(['analyze', '--failure-threshold', 'Fatal', EXAMPLES]);
  assert.equal(level.code, 2);
  assert.equal(level.stderr, 'meshbridge: --failure-threshold takes Info, Warning, Error, not "Fatal"\n');
  assert.equal(run(['analyze', '--store', 'file://x', EXAMPLES]).code, 2);
});

test('analyze --store file://DIR: the objects as the store serves them', () => {
  const dir = folder(CONFIG);
  const r = run(['analyze', '--store', `file://${dir}`, '-o', 'json']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { code: string }[]).map((m) => m.code), ['IST0101']);
});
