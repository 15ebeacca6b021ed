/**
 * Issue 13, kubectl's conventions, through the real program: `get KIND NAME -o json|yaml` prints the
 * object, `-l`, `-o name`, `get we,se`, `No resources found in NS namespace.`, Istio's printer
 * columns, AGE of folder objects from their file, `get -w`; `apply -n` and `--dry-run=client|server`
 * (against a real etcd); `version`; `completion bash`; the agent's log lines.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'yaml';
import { agentLog } from '../../src/cli/agent-command.js';
import { consoleLogger } from '../../src/lib/log/logger.js';
import { BIN, PROJECT_ROOT } from '../support/paths.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';

let dir: string;
let etcd: EtcdCluster;

const WE = (name: string, ns: string | undefined, labels: string, address: string): string => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}${ns !== undefined ? `, namespace: ${ns}` : ''}, labels: {${labels}}}
spec: {address: ${address}, labels: {app: web}}
`;

const SE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec: {hosts: [web.shop.test], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: web}}}
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mb-kubectl-'));
  writeFileSync(join(dir, 'we.yaml'), [WE('vm-a', 'shop', 'tier: front, env: prod', '127.0.70.1'), WE('vm-b', 'shop', 'tier: back', '127.0.70.2')].join('---\n'));
  writeFileSync(join(dir, 'se.yaml'), SE);
  // Three hours old: AGE comes from the file.
  const threeHoursAgo = new Date(Date.now() - 3 * 3600 * 1000 - 60_000);
  utimesSync(join(dir, 'se.yaml'), threeHoursAgo, threeHoursAgo);
  etcd = await startEtcd(1);
});
after(async () => {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.state`, { recursive: true, force: true });
});

function run(args: readonly string[], store: string | null = `file://${dir}`): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args, ...(store !== null ? ['--store', store] : [])], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The CLI contract fixes get's JSON as a Kubernetes-style List, also for one NAME (kubectl would print
// the object itself): the contract wins, and a List of one is what `apply -f` reads back.
test('get KIND NAME -o json|yaml is a List holding that one object (cli-contract)', () => {
  const one = run(['get', 'we', 'vm-a', '-n', 'shop', '-o', 'json']);
  assert.equal(one.code, 0, one.stderr);
  const obj = JSON.parse(one.stdout) as { kind: string; items: { kind: string; metadata: { name: string; namespace: string } }[] };
  assert.equal(obj.kind, 'List');
  assert.deepEqual(obj.items.map((i) => [i.kind, i.metadata.name, i.metadata.namespace]), [['WorkloadEntry', 'vm-a', 'shop']]);
  const yaml = parse(run(['get', 'workloadentries', 'vm-b', '-n', 'shop', '-o', 'yaml']).stdout) as { kind: string; items: { metadata: { name: string } }[] };
  assert.deepEqual([yaml.kind, yaml.items.map((i) => i.metadata.name)], ['List', ['vm-b']]);
  const list = JSON.parse(run(['get', 'we', '-n', 'shop', '-o', 'json']).stdout) as { kind: string; items: unknown[] };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 2);
});

test('get -l SELECTOR and -o name', () => {
  assert.equal(run(['get', 'we', '-n', 'shop', '-l', 'tier=front', '-o', 'name']).stdout, 'workloadentry.networking.istio.io/vm-a\n');
  assert.equal(run(['get', 'we', '-n', 'shop', '-l', 'tier!=front', '-o', 'name']).stdout, 'workloadentry.networking.istio.io/vm-b\n');
  assert.equal(run(['get', 'we', '-n', 'shop', '-l', 'tier in (front,back),!env', '-o', 'name']).stdout, 'workloadentry.networking.istio.io/vm-b\n');
  assert.equal(run(['get', 'we', '-A', '-l', 'env', '-o', 'name']).stdout, 'workloadentry.networking.istio.io/vm-a\n');
  const bad = run(['get', 'we', '-l', 'a=(b']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^meshbridge: -l "a=\(b": cannot read/);
});

test('get we,se prints a table per kind with kind.group/name; an empty result says so on stderr', () => {
  const both = run(['get', 'we,se', '-n', 'shop']);
  assert.equal(both.code, 0, both.stderr);
  const [we, se] = both.stdout.trimEnd().split('\n\n');
  assert.match(we ?? '', /^NAME\s+ADDRESS\s+GROUP\s+CONNECTED\s+HEALTHY\s+AGE\nworkloadentry\.networking\.istio\.io\/vm-a\s+127\.0\.70\.1/);
  assert.match(se ?? '', /^NAME\s+HOSTS\s+LOCATION\s+RESOLUTION\s+AGE\nserviceentry\.networking\.istio\.io\/web\s+\[web\.shop\.test\]\s+MESH_INTERNAL\s+STATIC\s+3h$/);
  const none = run(['get', 'we', '-n', 'nothing-here']);
  assert.deepEqual([none.code, none.stdout, none.stderr], [0, '', 'No resources found in nothing-here namespace.\n']);
  assert.equal(run(['get', 'dr', '-A']).stderr, 'No resources found\n');
});

test('ServiceEntry columns are Istio printer columns; AGE of folder objects is their file age, not <unknown>', () => {
  const r = run(['get', 'se', '-n', 'shop', '-o', 'wide']);
  assert.equal(r.code, 0, r.stderr);
  const [header = '', row = ''] = r.stdout.trimEnd().split('\n');
  assert.deepEqual(header.split(/\s{2,}/), ['NAME', 'HOSTS', 'LOCATION', 'RESOLUTION', 'AGE', 'ADDRESSES', 'PORTS']);
  assert.deepEqual(row.split(/\s{2,}/).slice(0, 5), ['web', '[web.shop.test]', 'MESH_INTERNAL', 'STATIC', '3h']);
  assert.doesNotMatch(run(['get', 'we', '-n', 'shop']).stdout, /<unknown>/);
});

test('get -w prints the list, then a row per change, and exits 0 on SIGINT', async () => {
  const child = spawn(process.execPath, [BIN, 'get', 'we', '-n', 'shop', '-w', '--store', `file://${dir}`], { cwd: PROJECT_ROOT });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const until = async (re: RegExp): Promise<void> => {
    const end = Date.now() + 15_000;
    while (!re.test(stdout)) {
      if (Date.now() > end) throw new Error(`no ${String(re)} in ${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await until(/vm-b/);
    writeFileSync(join(dir, 'we-c.yaml'), WE('vm-c', 'shop', 'tier: back', '127.0.70.3'));
    await until(/^vm-c\s+127\.0\.70\.3/m);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(stdout.match(/^NAME/gm)?.length, 1, 'one header');
  } finally {
    child.kill('SIGKILL');
    rmSync(join(dir, 'we-c.yaml'), { force: true });
  }
});

test('apply -n NS places objects that name no namespace, refuses one naming another; --dry-run writes nothing', () => {
  const file = join(dir, '..', `${dir.split('/').pop() ?? 'x'}-apply.yaml`);
  writeFileSync(file, WE('vm-n', undefined, 'tier: new', '127.0.70.9'));
  const other = `${file}.other.yaml`;
  writeFileSync(other, WE('vm-o', 'elsewhere', 'tier: new', '127.0.70.10'));
  try {
    const client = run(['apply', '-f', file, '-n', 'team', '--dry-run=client'], etcd.url);
    assert.deepEqual([client.code, client.stdout], [0, 'workloadentry.networking.istio.io/vm-n validated (dry run)\n']);
    const server = run(['apply', '-f', file, '-n', 'team', '--dry-run=server'], etcd.url);
    assert.deepEqual([server.code, server.stdout], [0, 'workloadentry.networking.istio.io/vm-n created (server dry run)\n']);
    assert.equal(run(['get', 'we', '-n', 'team'], etcd.url).stderr, 'No resources found in team namespace.\n', 'the dry runs wrote nothing');
    const applied = run(['apply', '-f', file, '-n', 'team'], etcd.url);
    assert.deepEqual([applied.code, applied.stdout], [0, 'workloadentry.networking.istio.io/vm-n created\n'], applied.stderr);
    const got = JSON.parse(run(['get', 'we', 'vm-n', '-n', 'team', '-o', 'json'], etcd.url).stdout) as { items: { metadata: { namespace: string } }[] };
    assert.deepEqual(got.items.map((i) => i.metadata.namespace), ['team']);
    assert.equal(run(['apply', '-f', file, '-n', 'team', '--dry-run=server'], etcd.url).stdout, 'workloadentry.networking.istio.io/vm-n unchanged (server dry run)\n');
    const refused = run(['apply', '-f', other, '-n', 'team'], etcd.url);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /metadata\.namespace.*the namespace from the provided object "elsewhere" does not match the namespace "team"/);
    // A server dry run against a file store (read-only for the CLI) answers without writing.
    const folder = run(['apply', '-f', file, '-n', 'shop', '--dry-run=server']);
    assert.deepEqual([folder.code, folder.stdout], [0, 'workloadentry.networking.istio.io/vm-n created (server dry run)\n'], folder.stderr);
    assert.equal(run(['apply', '-f', file, '-n', 'shop']).code, 2, 'a real apply still needs a shared store');
  } finally {
    rmSync(file, { force: true });
    rmSync(other, { force: true });
  }
});

test('version prints the client version (and -o json the document)', () => {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(run(['version'], null).stdout, `client version: ${pkg.version} (node ${process.version})\n`);
  assert.deepEqual(JSON.parse(run(['version', '-o', 'json'], null).stdout), { clientVersion: { version: pkg.version, node: process.version } });
});

test('completion bash completes commands, subcommands and flags from the command definitions', () => {
  const script = run(['completion', 'bash'], null);
  assert.equal(script.code, 0, script.stderr);
  const complete = (words: string): string => {
    const r = spawnSync('bash', ['-c', `eval "$(cat)"; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _meshbridge; echo "\${COMPREPLY[*]}"`], { input: script.stdout, encoding: 'utf8' });
    return r.stdout.trim();
  };
  assert.equal(complete('meshbridge proxy-c'), 'proxy-config');
  assert.equal(complete('meshbridge proxy-config cl'), 'clusters');
  assert.equal(complete('meshbridge get we -n ns --wat'), '--watch');
  assert.equal(complete('meshbridge workload entry con'), 'configure');
  assert.equal(run(['completion', 'fish'], null).code, 2);
  assert.match(run(['completion', 'zsh'], null).stdout, /^#compdef meshbridge\n/);
});

test("the agent's lines carry a timestamp and a level, as serve's do", () => {
  let text = '';
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((text += chunk.toString()), done()) });
  const log = agentLog(consoleLogger(sink));
  log('registered as web-127.0.0.1');
  log('warning: no root-cert.pem in /x: talking to the control plane in plaintext');
  log('certificate request failed: UNAVAILABLE');
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info registered as web-127\.0\.0\.1$/);
  assert.match(lines[1] ?? '', /^\S+Z warn no root-cert\.pem in \/x: /);
  assert.match(lines[2] ?? '', /^\S+Z warn certificate request failed: UNAVAILABLE$/);
});
