/**
 * Fidelity of the fake Kubernetes API server (the project's one TEST DOUBLE) checked with a real
 * client nobody here wrote: `kubectl` (Debian's `kubernetes-client`, installed by .ci/run; `KUBECTL`
 * picks another binary). Each case runs kubectl against the fake and asserts the outcome the real API
 * server gives: exit codes, kubectl's messages built from the server's Status bodies, the requests
 * kubectl sent (discovery, strategic vs merge patch, status subresource, list-then-watch) and the
 * resulting objects. Messages are those every kubectl from 1.20 (Debian) to 1.32 prints.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeKubeApiServer, ISTIO_CRDS, startTlsFake, type JsonObject } from '../support/fake-kube-apiserver.js';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
let kube: FakeKubeApiServer;
let dir: string;
let kubeconfig: string;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(args: readonly string[], config = kubeconfig): ChildProcess {
  return spawn(KUBECTL, ['--kubeconfig', config, '--cache-dir', join(dir, 'cache'), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs kubectl to completion (asynchronously: the fake answers from this process). */
async function kubectl(args: readonly string[], stdin?: string, config = kubeconfig): Promise<Run> {
  const child = start(args, config);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(stdin ?? '');
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  return { code, stdout, stderr };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function stored(apiVersion: string, plural: string, name: string): JsonObject | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const t = kube.store.registry.get(group ?? '', version ?? '', plural);
  return t ? kube.store.get(t, 'default', name) : undefined;
}

function meta(o: JsonObject | undefined): { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; generation?: number } {
  return (o?.metadata ?? {}) as ReturnType<typeof meta>;
}

const POD = (name: string, labels: string, containers: readonly string[]) =>
  [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    `  labels: {${labels}}`,
    'spec:',
    '  containers:',
    ...containers.flatMap((c) => [`  - name: ${c}`, `    image: registry.example/${c}:1`]),
    '',
  ].join('\n');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mb-kubectl-'));
  kube = await FakeKubeApiServer.start();
  for (const c of ISTIO_CRDS) kube.store.seed(c);
  kubeconfig = kube.writeKubeconfig(join(dir, 'kubeconfig'));
});
after(async () => {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

test('kubectl get: NotFound as the real server words it (exit 1); discovery lists the built-in and Istio kinds with short names', async () => {
  const missing = await kubectl(['get', 'pod', 'missing']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error from server \(NotFound\): pods "missing" not found$/m);
  const ns = await kubectl(['get', 'namespaces', '-o', 'name']);
  assert.equal(ns.code, 0, ns.stderr);
  assert.deepEqual(ns.stdout.trim().split('\n'), ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
  const resources = await kubectl(['api-resources', '-o', 'name']);
  assert.equal(resources.code, 0, resources.stderr);
  for (const r of ['pods', 'services', 'nodes', 'namespaces', 'endpointslices.discovery.k8s.io', 'leases.coordination.k8s.io', 'workloadentries.networking.istio.io', 'authorizationpolicies.security.istio.io']) {
    assert.ok(resources.stdout.split('\n').includes(r), `${r} in ${resources.stdout}`);
  }
  const none = await kubectl(['get', 'we']);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /No resources found in default namespace/);
});

test('kubectl create: created, then AlreadyExists (exit 1) naming the file; the object as the server stored it', async () => {
  const f = file('web.yaml', POD('web', 'app: web', ['a']));
  const first = await kubectl(['create', '-f', f]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trim(), 'pod/web created');
  const again = await kubectl(['create', '-f', f]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`^Error from server \\(AlreadyExists\\): error when creating "${f}": pods "web" already exists$`, 'm'));
  const got = await kubectl(['get', 'pod', 'web', '-o', 'json']);
  const obj = JSON.parse(got.stdout) as { kind: string; metadata: { uid: string; resourceVersion: string }; status: { phase: string } };
  assert.equal(obj.kind, 'Pod');
  assert.equal(obj.metadata.resourceVersion, meta(stored('v1', 'pods', 'web')).resourceVersion);
  assert.equal(obj.status.phase, 'Pending', 'the server resets a created pod\'s status');
});

test('kubectl apply (client-side): created, configured by a strategic merge patch that removes a container, unchanged', async () => {
  const f = file('app.yaml', POD('app', 'app: app', ['a', 'b']));
  const created = await kubectl(['apply', '-f', f]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout.trim(), 'pod/app created');
  assert.ok(meta(stored('v1', 'pods', 'app')).annotations?.['kubectl.kubernetes.io/last-applied-configuration']);
  kube.clearRequests();
  file('app.yaml', POD('app', 'app: app, tier: front', ['a']));
  const configured = await kubectl(['apply', '-f', f]);
  assert.equal(configured.code, 0, configured.stderr);
  assert.equal(configured.stdout.trim(), 'pod/app configured');
  const patches = kube.requests((r) => r.method === 'PATCH');
  assert.deepEqual(patches.map((r) => [r.path, r.contentType]), [['/api/v1/namespaces/default/pods/app', 'application/strategic-merge-patch+json']]);
  assert.match(patches[0]?.body ?? '', /"\$patch":"delete"/, 'three-way: the container dropped from the file is deleted by directive');
  const pod = stored('v1', 'pods', 'app');
  assert.deepEqual(((pod?.spec as { containers: { name: string }[] }).containers).map((c) => c.name), ['a']);
  assert.deepEqual(meta(pod).labels, { app: 'app', tier: 'front' });
  const unchanged = await kubectl(['apply', '-f', f]);
  assert.equal(unchanged.stdout.trim(), 'pod/app unchanged');
});

test('kubectl apply of an Istio custom resource: created, then configured by a JSON merge patch; apply --server-side with field-manager conflicts', async () => {
  const we = (port: number) =>
    ['apiVersion: networking.istio.io/v1', 'kind: WorkloadEntry', 'metadata:', '  name: vm1', 'spec:', '  address: 127.0.60.1', `  ports: {http: ${port}}`, ''].join('\n');
  const f = file('we.yaml', we(8080));
  assert.equal((await kubectl(['apply', '-f', f])).stdout.trim(), 'workloadentry.networking.istio.io/vm1 created');
  kube.clearRequests();
  file('we.yaml', we(9090));
  const configured = await kubectl(['apply', '-f', f]);
  assert.equal(configured.stdout.trim(), 'workloadentry.networking.istio.io/vm1 configured', configured.stderr);
  assert.deepEqual(kube.requests((r) => r.method === 'PATCH').map((r) => r.contentType), ['application/merge-patch+json']);
  const obj = stored('networking.istio.io/v1', 'workloadentries', 'vm1');
  assert.deepEqual((obj?.spec as { ports: unknown }).ports, { http: 9090 });
  assert.equal(meta(obj).generation, 2);

  const se = (resolution: string) =>
    ['apiVersion: networking.istio.io/v1', 'kind: ServiceEntry', 'metadata:', '  name: web', 'spec:', '  hosts: [web.example]', `  resolution: ${resolution}`, ''].join('\n');
  const s1 = file('se.yaml', se('STATIC'));
  const ssa = await kubectl(['apply', '--server-side', '-f', s1]);
  assert.equal(ssa.stdout.trim(), 'serviceentry.networking.istio.io/web serverside-applied', ssa.stderr);
  const s2 = file('se2.yaml', se('DNS'));
  const clash = await kubectl(['apply', '--server-side', '--field-manager=other', '-f', s2]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /Apply failed with 1 conflict: conflict with "kubectl" using networking\.istio\.io\/v1: \.spec\.resolution/);
  const forced = await kubectl(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', s2]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal((stored('networking.istio.io/v1', 'serviceentries', 'web')?.spec as { resolution: string }).resolution, 'DNS');
});

test('kubectl patch: --type=json (422 Invalid when a test fails, 400 for a non-patch), --type=merge, strategic on a custom resource refused (415)', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pt', namespace: 'default', labels: { app: 'pt' } }, spec: { containers: [{ name: 'a', image: 'x' }] } });
  const failed = await kubectl(['patch', 'pod', 'pt', '--type=json', '-p', '[{"op":"test","path":"/metadata/labels/app","value":"nope"}]']);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^The request is invalid/m);
  assert.equal(kube.requests((r) => r.method === 'PATCH').at(-1)?.status, 422);
  const notPatch = await kubectl(['patch', 'pod', 'pt', '--type=json', '-p', '{"op":"add"}']);
  assert.equal(notPatch.code, 1);
  assert.match(notPatch.stderr, /^Error from server \(BadRequest\): json: cannot unmarshal object into Go value of type jsonpatch\.Patch$/m);
  const ok = await kubectl(['patch', 'pod', 'pt', '--type=json', '-p', '[{"op":"test","path":"/metadata/labels/app","value":"pt"},{"op":"add","path":"/metadata/labels/j","value":"1"}]']);
  assert.equal(ok.stdout.trim(), 'pod/pt patched', ok.stderr);
  const merge = await kubectl(['patch', 'pod', 'pt', '--type=merge', '-p', '{"metadata":{"labels":{"app":null,"m":"2"}}}']);
  assert.equal(merge.stdout.trim(), 'pod/pt patched', merge.stderr);
  assert.deepEqual(meta(stored('v1', 'pods', 'pt')).labels, { j: '1', m: '2' });
  const noChange = await kubectl(['patch', 'pod', 'pt', '--type=merge', '-p', '{"metadata":{"labels":{"m":"2"}}}']);
  assert.equal(noChange.stdout.trim(), 'pod/pt patched (no change)');
  const smp = await kubectl(['patch', 'we', 'vm1', '--type=strategic', '-p', '{"spec":{"weight":3}}']);
  assert.equal(smp.code, 1);
  assert.match(
    smp.stderr,
    /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/,
  );
  assert.equal(kube.requests((r) => r.method === 'PATCH').at(-1)?.status, 415);
});

test('status subresource through kubectl: conditions merged by type, spec and generation untouched; a stale replace is a Conflict', async () => {
  const help = await kubectl(['patch', '--help']);
  const hasSubresource = help.stdout.includes('--subresource');
  const status = async (conditionType: string, podIP: string) => {
    if (hasSubresource) {
      const patch = JSON.stringify({ status: { phase: 'Running', podIP, conditions: [{ type: conditionType, status: 'True' }] } });
      return kubectl(['patch', 'pod', 'web', '--subresource=status', '--type=strategic', '-p', patch]);
    }
    // kubectl before 1.24 has no --subresource: PUT the status subresource with the object as read.
    const cur = stored('v1', 'pods', 'web') as JsonObject;
    const prev = (cur.status ?? {}) as { conditions?: unknown[] };
    const body = { ...cur, status: { ...prev, phase: 'Running', podIP, conditions: [...(prev.conditions ?? []), { type: conditionType, status: 'True' }] } };
    return kubectl(['replace', '--raw', '/api/v1/namespaces/default/pods/web/status', '-f', '-'], JSON.stringify(body));
  };
  const generation = meta(stored('v1', 'pods', 'web')).generation;
  const first = await status('Ready', '127.0.60.2');
  assert.equal(first.code, 0, first.stderr);
  const second = await status('PodScheduled', '127.0.60.2');
  assert.equal(second.code, 0, second.stderr);
  const writes = kube.requests((r) => r.path === '/api/v1/namespaces/default/pods/web/status' && r.method !== 'GET');
  assert.equal(writes.length, 2);
  const pod = stored('v1', 'pods', 'web');
  assert.deepEqual(pod?.status, {
    phase: 'Running',
    qosClass: 'BestEffort',
    podIP: '127.0.60.2',
    conditions: [
      { type: 'Ready', status: 'True' },
      { type: 'PodScheduled', status: 'True' },
    ],
  });
  assert.equal(meta(pod).generation, generation);

  const staleRv = String(Number(meta(pod).resourceVersion) - 1);
  const f = file('stale.json', JSON.stringify({ ...pod, metadata: { ...meta(pod), resourceVersion: staleRv } }));
  const stale = await kubectl(['replace', '-f', f]);
  assert.equal(stale.code, 1);
  assert.match(
    stale.stderr,
    /Error from server \(Conflict\): error when replacing ".*stale\.json": Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again/,
  );
});

test('kubectl get -w: lists, then watches from the list resourceVersion and prints ADDED, MODIFIED, DELETED until killed', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'watch-0', namespace: 'default', labels: { w: 'y' } }, spec: { containers: [] } });
  kube.clearRequests();
  const child = start(['get', 'pods', '-l', 'w=y', '-w', '--output-watch-events', '-o', 'json']);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    const until = Date.now() + 10_000;
    while (kube.requests((r) => r.verb === 'watch' && r.status === 200).length === 0 && Date.now() < until) await sleep(20);
    const list = kube.requests((r) => r.verb === 'list' && r.path === '/api/v1/namespaces/default/pods');
    const watch = kube.requests((r) => r.verb === 'watch');
    assert.equal(list.length, 1);
    assert.equal(watch.length, 1);
    assert.equal(watch[0]?.query.labelSelector, 'w=y');
    assert.ok(Number(watch[0]?.query.resourceVersion) > 0, 'watch from the list resourceVersion');
    kube.store.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'watch-1', namespace: 'default', labels: { w: 'y' } }, spec: { containers: [] } });
    kube.store.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'watch-1', namespace: 'default', labels: { w: 'y', v: '2' } }, spec: { containers: [] } });
    kube.store.unseed('v1', 'Pod', 'default', 'watch-1');
    kube.store.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'watch-2', namespace: 'default', labels: { w: 'n' } }, spec: { containers: [] } });
    const expected = ['ADDED watch-0', 'ADDED watch-1', 'MODIFIED watch-1', 'DELETED watch-1'];
    const events = (): string[] =>
      out
        .split(/\n(?=\{)/)
        .filter((c) => c.trim() !== '')
        .map((c) => JSON.parse(c) as { type: string; object: { metadata: { name: string } } })
        .map((e) => `${e.type} ${e.object.metadata.name}`);
    while (events().length < expected.length && Date.now() < until) await sleep(20);
    assert.deepEqual(events(), expected);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const until = Date.now() + 2000;
  while (kube.openWatches() > 0 && Date.now() < until) await sleep(20);
  assert.equal(kube.openWatches(), 0, 'the killed client\'s watch is gone from the server');
});

test('kubectl get -w --request-timeout: the client ends the watch after that long and exits 0; the server sees the hang-up', async () => {
  kube.clearRequests();
  const t0 = Date.now();
  const run = await kubectl(['get', 'pods', '-w', '--request-timeout=2s']);
  const elapsed = Date.now() - t0;
  assert.equal(run.code, 0, run.stderr);
  assert.ok(elapsed >= 1900, `ended after ${elapsed} ms`);
  const watch = kube.requests((r) => r.verb === 'watch');
  assert.equal(watch.length, 1);
  assert.equal(watch[0]?.query.timeout, '2s');
  const until = Date.now() + 2000;
  while (kube.openWatches() > 0 && Date.now() < until) await sleep(20);
  assert.equal(kube.openWatches(), 0);
});

test('kubectl delete: deleted, then NotFound (exit 1)', async () => {
  const del = await kubectl(['delete', 'pod', 'web']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(del.stdout.trim(), 'pod "web" deleted');
  assert.equal(stored('v1', 'pods', 'web'), undefined);
  const again = await kubectl(['delete', 'pod', 'web']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^Error from server \(NotFound\): pods "web" not found$/m);
});

test('over HTTPS (the kubeconfig\'s CA and tls-server-name): kubectl sends the bearer token; a wrong token is refused as Unauthorized', async () => {
  const secure = await startTlsFake({ token: 'right-token' });
  try {
    const good = secure.writeKubeconfig(join(dir, 'kubeconfig-tls'));
    const ok = await kubectl(['get', 'namespace', 'default', '-o', 'name'], undefined, good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'namespace/default');
    const bad = file('kubeconfig-bad', readFileSync(good, 'utf8').replace('token: right-token', 'token: wrong-token'));
    const refused = await kubectl(['get', 'namespace', 'default'], undefined, bad);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: You must be logged in to the server/m);
    assert.ok(secure.requests().every((r) => r.status === 401 || r.status === 200));
    assert.ok(secure.requests().some((r) => r.status === 401));
  } finally {
    await secure.close();
  }
});
