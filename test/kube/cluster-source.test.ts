/**
 * `serve --kubeconfig`'s cluster source (src/sources/kube/cluster-source.ts) against the fake
 * Kubernetes API server, the project's one TEST DOUBLE (docs/kubernetes-fake.md; its fidelity is
 * checked with kubectl in fake-apiserver-kubectl.test.ts): what is read and how (the pod watch
 * leaves Failed pods out by field selector), live changes through the watches, the sync gate with its
 * timeout, and kubeconfig errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../src/lib/log/logger.js';
import { startClusterSource } from '../../src/sources/kube/cluster-source.js';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';
import { runCli } from '../e2e/serve-process.js';
import { kubeNode, kubePod, kubeService, kubeSlice, seedable } from '../support/kube-objects.js';
import { addresses, endpoints, registryFrom, serviceEntry } from '../support/mesh.js';

const HOST = 'a.ns1.svc.cluster.local';
const FAST = { initialMs: 50, maxMs: 200 };
let kube: FakeKubeApiServer;
let dir: string;

before(async () => {
  kube = await FakeKubeApiServer.start();
  dir = mkdtempSync(join(tmpdir(), 'mb-cluster-source-'));
});
after(async () => {
  await kube.close();
});

function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { log: { info: add('info'), warn: add('warn'), error: add('error') }, lines };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function selected(registry: ReturnType<typeof registryFrom>, host: string): string[] {
  return addresses(endpoints(registry, { host }).services.find((s) => s.host === host)?.endpoints ?? []).sort();
}

test('reads nodes, Services, EndpointSlices and pods (without Failed ones: field selector) before resolving, then follows the watches', async () => {
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns1' } });
  kube.store.seed(seedable(kubeNode('n1', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-1' })));
  kube.store.seed(seedable(kubeService('svc', { app: 'a' })));
  kube.store.seed(seedable(kubeSlice('svc-1', 'svc', ['p1', 'p2'])));
  kube.store.seed(seedable(kubePod('p1', { ip: '10.0.0.1', node: 'n1' })));
  kube.store.seed(seedable(kubePod('p2', { ip: '10.0.0.2', node: 'n1' })));
  kube.store.seed(seedable(kubePod('failed', { ip: '10.0.0.3', phase: 'Failed' })));
  const registry = registryFrom(serviceEntry('a', 'ns1', HOST));
  const { log, lines } = recordingLogger();
  const source = await startClusterSource({ kubeconfig: kube.writeKubeconfig(join(dir, 'kubeconfig')), backoff: FAST }, registry, log);
  try {
    assert.deepEqual(selected(registry, HOST), ['10.0.0.1:8080', '10.0.0.2:8080'], 'read before the gate opened');
    assert.deepEqual(selected(registry, 'svc.ns1.svc.cluster.local'), ['10.0.0.1:8080', '10.0.0.2:8080'], 'the Service\'s slice pods, on the targetPort named http');
    assert.equal(registry.workloads.get('Pod/ns1/failed'), undefined, 'a Failed pod is never read');
    assert.equal(registry.workloads.get('Pod/ns1/p1')?.locality, 'eu/eu-1/');
    await until(() => kube.requests((r) => r.path === '/api/v1/pods' && r.verb === 'watch').length > 0);
    const podRequests = kube.requests((r) => r.path === '/api/v1/pods');
    assert.deepEqual([...new Set(podRequests.map((r) => r.verb))].sort(), ['list', 'watch']);
    assert.ok(podRequests.every((r) => r.query.fieldSelector === 'status.phase!=Failed'), 'list and watch of pods carry the field selector');
    assert.ok(lines.some((l) => l.startsWith('info Kubernetes cluster read')), lines.join('\n'));
    assert.deepEqual(source.status().map((s) => s.synced), [true, true, true, true, true]);

    kube.store.seed(seedable(kubePod('p2', { ip: '10.0.0.2', node: 'n1', ready: false })));
    await until(() => selected(registry, HOST).length === 1);
    assert.deepEqual(selected(registry, HOST), ['10.0.0.1:8080'], 'a pod turned NotReady leaves');
    kube.store.seed(seedable(kubeNode('n1', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-9' })));
    await until(() => registry.workloads.get('Pod/ns1/p1')?.locality === 'eu/eu-9/');
  } finally {
    await source.stop();
    for (const name of ['p1', 'p2', 'failed']) kube.store.unseed('v1', 'Pod', 'ns1', name);
  }
});

test('the sync gate: an informer that cannot list holds the first push only until the timeout, with a warning naming it; it is read when the API server recovers', async () => {
  kube.failNext(8, 500, { verbs: ['list'], path: '/api/v1/pods' });
  kube.store.seed(seedable(kubePod('late', { ip: '10.0.0.7' })));
  const registry = registryFrom(serviceEntry('a', 'ns1', HOST));
  const { log, lines } = recordingLogger();
  const started = Date.now();
  const source = await startClusterSource({ kubeconfig: kube.writeKubeconfig(join(dir, 'kubeconfig')), backoff: { initialMs: 100, maxMs: 100 }, syncTimeoutMs: 300 }, registry, log);
  try {
    assert.ok(Date.now() - started >= 290, 'waited for the timeout');
    const warning = lines.find((l) => l.startsWith('warn serving before the Kubernetes cluster is fully read'));
    assert.ok(warning?.includes('pods not listed within 300 ms'), lines.join('\n'));
    assert.deepEqual(source.gate(), { timedOut: true, pending: ['pods'], timeoutMs: 300, discoverySelectors: 0 }, 'the gate says it opened on its timeout, and what was missing');
    assert.deepEqual(selected(registry, HOST), []);
    await until(() => selected(registry, HOST).length === 1, 8000);
    assert.deepEqual(selected(registry, HOST), ['10.0.0.7:8080']);
  } finally {
    await source.stop();
    kube.store.unseed('v1', 'Pod', 'ns1', 'late');
  }
});

test('an unusable kubeconfig refuses the start with the file and what is wrong', async () => {
  const path = join(dir, 'broken-kubeconfig');
  writeFileSync(path, 'apiVersion: v1\nkind: Config\ncontexts: []\n');
  const registry = registryFrom(serviceEntry('a', 'ns1', HOST));
  await assert.rejects(startClusterSource({ kubeconfig: path }, registry, recordingLogger().log), new RegExp(`${path}: no current-context, and no --context given`));
  await assert.rejects(startClusterSource({ kubeconfig: path, context: 'prod' }, registry, recordingLogger().log), new RegExp(`${path}: context "prod" is not in contexts`));
});

test('serve refuses unusable cluster flags before starting, exit 2, naming the flag, the file and what is wrong', async () => {
  const path = join(dir, 'no-context-kubeconfig');
  writeFileSync(path, 'apiVersion: v1\nkind: Config\n');
  const config = mkdtempSync(join(tmpdir(), 'mb-cluster-config-'));
  const cases: [string[], string][] = [
    [['--kubeconfig', path], `meshbridge: --kubeconfig: ${path}: no current-context, and no --context given`],
    [['--context', 'prod'], 'meshbridge: --context needs --kubeconfig PATH'],
    [['--kubeconfig', path, '--kube-in-cluster'], 'meshbridge: serve takes --kubeconfig PATH or --kube-in-cluster, not both'],
    [['--kubeconfig', kube.writeKubeconfig(join(dir, 'good-kubeconfig')), '--kube-sync-timeout', '0s'], 'meshbridge: --kube-sync-timeout must be a duration of at least 1s (e.g. 1h, 30m), not "0s"'],
  ];
  for (const [flags, message] of cases) {
    const r = await runCli(['serve', '--config', config, ...flags]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim(), message);
  }
});
