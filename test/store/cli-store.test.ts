/**
 * `apply`, `get`, `delete` against a real etcd through the real program (cli-contract "Store
 * commands"): admission with the same positioned findings as `validate`, all-or-nothing
 * multi-document applies, created/configured/unchanged lines, stale resourceVersions refused with a
 * conflict message, a Kubernetes-style List from `get -o json`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, PROJECT_ROOT } from '../support/paths.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';

let etcd: EtcdCluster;
let dir: string;

before(async () => {
  etcd = await startEtcd(1);
  dir = mkdtempSync(join(tmpdir(), 'mb-cli-store-'));
});
after(async () => {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], store: string | null = etcd.url): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, ...(store !== null ? ['--store', store] : [])], { cwd: PROJECT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const MESH = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc1, namespace: ns1}
spec: {hosts: [svc1.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: svc1}}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm1, namespace: ns1, labels: {app: svc1}}
spec: {address: 127.0.3.1, ports: {http: 8080}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm2, namespace: ns1, labels: {app: svc1}}
spec: {address: 127.0.3.2, ports: {http: 8080}}
`;

interface ListJson {
  apiVersion: string;
  kind: string;
  items: { kind: string; metadata: { name: string; namespace: string; resourceVersion: string; creationTimestamp: string; labels: Record<string, string>; annotations: Record<string, string> }; spec: { address?: string } }[];
}

test('apply creates, re-applies as unchanged, configures only what changed; get lists complete items', { timeout: 30_000 }, async () => {
  const f = file('mesh.yaml', MESH);
  const first = await run(['apply', '-f', f]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'serviceentry.networking.istio.io/svc1 created\nworkloadentry.networking.istio.io/vm1 created\nworkloadentry.networking.istio.io/vm2 created\n');
  const again = await run(['apply', '-f', f]);
  assert.equal(again.stdout, 'serviceentry.networking.istio.io/svc1 unchanged\nworkloadentry.networking.istio.io/vm1 unchanged\nworkloadentry.networking.istio.io/vm2 unchanged\n');
  const changed = await run(['apply', '-f', file('mesh.yaml', MESH.replace('127.0.3.2', '127.0.3.22'))]);
  assert.match(changed.stdout, /workloadentry.networking.istio.io\/vm1 unchanged\nworkloadentry.networking.istio.io\/vm2 configured/);

  const json = await run(['get', 'workloadentries', '-n', 'ns1', '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as ListJson;
  assert.equal(list.kind, 'List');
  assert.equal(list.apiVersion, 'v1');
  assert.deepEqual(list.items.map((i) => [i.metadata.name, i.spec.address]), [['vm1', '127.0.3.1'], ['vm2', '127.0.3.22']]);
  for (const i of list.items) {
    assert.match(i.metadata.resourceVersion, /^\d+$/);
    assert.ok(Date.parse(i.metadata.creationTimestamp) > 0);
    assert.deepEqual(i.metadata.labels, { app: 'svc1' });
    assert.deepEqual(i.metadata.annotations, {});
  }
  const text = await run(['get', 'we', '-n', 'ns1']);
  assert.match(text.stdout.split('\n')[0] ?? '', /^NAME\s+ADDRESS\s+GROUP\s+CONNECTED\s+HEALTHY\s+AGE$/);
  assert.match(text.stdout, /vm2\s+127\.0\.3\.22\s+-\s+-\s+-\s+\d+s/);
});

test('admission: an invalid document refuses the whole apply with the same positioned finding as validate', { timeout: 30_000 }, async () => {
  const bad = file('bad.yaml', `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: new-ok, namespace: ns2}
spec: {address: 127.0.3.5}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: broken, namespace: ns2}
spec:
  address: 127.0.3.6
  ports: {http: 70000}
`);
  const r = await run(['apply', '-f', bad]);
  assert.equal(r.code, 1);
  const validate = await run(['validate', bad], null);
  const finding = validate.stdout.split('\n').find((l) => l.includes(': error: '));
  assert.ok(finding, validate.stdout);
  assert.match(finding, /bad\.yaml:11:\d+: error: WorkloadEntry ns2\/broken spec\.ports\.http:/);
  assert.ok(r.stderr.includes(finding), `apply says what validate says:\n${r.stderr}`);
  assert.match(r.stderr, /nothing was applied/);
  const get = await run(['get', 'we', '-n', 'ns2', '-o', 'json']);
  assert.deepEqual((JSON.parse(get.stdout) as ListJson).items, [], 'the valid document was not applied either');
});

test('a stale resourceVersion is refused with a conflict, and the rest of that apply is not written', { timeout: 30_000 }, async () => {
  file('base.yaml', 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: cas, namespace: ns3}\nspec: {address: 127.0.3.7}\n');
  assert.equal((await run(['apply', '-f', join(dir, 'base.yaml')])).code, 0);
  // With a NAME, the object itself (kubectl; issue 13).
  const got = JSON.parse((await run(['get', 'we', 'cas', '-n', 'ns3', '-o', 'json'])).stdout) as ListJson['items'][number];
  const rv = got.metadata.resourceVersion ?? '';
  const edit = (address: string, version: string) =>
    `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: cas, namespace: ns3, resourceVersion: "${version}"}\nspec: {address: ${address}}\n`;
  assert.equal((await run(['apply', '-f', file('edit1.yaml', edit('127.0.3.8', rv))])).code, 0, 'the current version applies');
  const stale = await run(['apply', '-f', file('edit2.yaml', `${edit('127.0.3.9', rv)}---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: bystander, namespace: ns3}\nspec: {address: 127.0.3.10}\n`)]);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, new RegExp(`Error from server \\(Conflict\\): WorkloadEntry ns3/cas has been modified: the write was for resourceVersion ${rv}, the store has \\d+`));
  const names = (JSON.parse((await run(['get', 'we', '-n', 'ns3', '-o', 'json'])).stdout) as ListJson).items.map((i) => `${i.metadata.name}=${i.spec.address}`);
  assert.deepEqual(names, ['cas=127.0.3.8'], 'all or nothing: the bystander was not created');
});

test('delete KIND NAME and delete -f; a missing object is NotFound (exit 1); the file store refuses writes', { timeout: 30_000 }, async () => {
  const f = file('del.yaml', MESH.replaceAll('ns1', 'ns4'));
  assert.equal((await run(['apply', '-f', f])).code, 0);
  const one = await run(['delete', 'we', 'vm1', '-n', 'ns4']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout, 'workloadentry.networking.istio.io "vm1" deleted\n');
  const missing = await run(['delete', 'we', 'vm1', '-n', 'ns4']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /NotFound\): workloadentry.networking.istio.io "vm1" not found in namespace ns4/);
  const rest = await run(['delete', '-f', f]);
  assert.match(rest.stdout, /serviceentry.networking.istio.io "svc1" deleted\nworkloadentry.networking.istio.io "vm2" deleted/);
  assert.equal(rest.code, 1, 'vm1 was already gone');
  const fileStore = await run(['apply', '-f', f], `file://${dir}`);
  assert.equal(fileStore.code, 2);
  assert.match(fileStore.stderr, /apply needs a shared store/);
  const listed = await run(['get', 'se', '-n', 'ns4'], `file://${dir}`);
  assert.equal(listed.code, 0, 'get reads the file store');
});
