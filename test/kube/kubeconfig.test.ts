/**
 * Reaching the API server as meshbridge will: a kubeconfig (context, cluster CA, tls-server-name,
 * bearer token) or the in-cluster service account, then an informer over HTTPS. Against the fake
 * Kubernetes API server (the project's one TEST DOUBLE) serving TLS.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer, waitForSync } from '../../src/sources/kube/informer.js';
import { inClusterConfig, KubeconfigError, loadKubeconfig } from '../../src/sources/kube/kubeconfig.js';
import { KubeTransport } from '../../src/sources/kube/kube-transport.js';
import { startTlsFake, type FakeKubeApiServer } from '../support/fake-kube-apiserver.js';

let kube: FakeKubeApiServer;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mb-kubeconfig-'));
  kube = await startTlsFake({ token: 'sa-token' });
});
after(async () => {
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a kubeconfig with CA data, tls-server-name and a token: an informer lists and watches over HTTPS', async () => {
  const path = kube.writeKubeconfig(join(dir, 'kubeconfig'), 'kube-system');
  const conn = loadKubeconfig(path);
  assert.equal(conn.server, kube.url);
  assert.equal(conn.namespace, 'kube-system');
  assert.equal(conn.token, 'sa-token');
  assert.equal(conn.tlsServerName, 'localhost');
  const informer = new Informer(new KubeTransport(conn), { name: 'namespaces', path: '/api/v1/namespaces' });
  informer.start();
  try {
    assert.deepEqual(await waitForSync([informer], 3000), { synced: true, pending: [] });
    assert.deepEqual(informer.list().map((n) => n.metadata.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  } finally {
    await informer.stop();
  }
});

test('a wrong token: the informer never syncs and says Unauthorized; a certificate for another name is refused', async () => {
  const conn = loadKubeconfig(kube.writeKubeconfig(join(dir, 'kubeconfig2')));
  const wrongToken = new Informer(new KubeTransport({ ...conn, token: 'nope' }), { name: 'namespaces', path: '/api/v1/namespaces', backoff: { initialMs: 50, maxMs: 100 } });
  const wrongName = new Informer(new KubeTransport({ ...conn, tlsServerName: 'other.example' }), { name: 'pods', path: '/api/v1/pods', backoff: { initialMs: 50, maxMs: 100 } });
  wrongToken.start();
  wrongName.start();
  try {
    assert.deepEqual(await waitForSync([wrongToken, wrongName], 400), { synced: false, pending: ['namespaces', 'pods'] });
    assert.equal(wrongToken.status().lastError, 'Unauthorized');
    assert.match(wrongName.status().lastError, /other\.example/);
  } finally {
    await wrongToken.stop();
    await wrongName.stop();
  }
});

test('kubeconfig errors name the file and what is missing; exec plugins are refused by name', () => {
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const noContext = write('a', 'apiVersion: v1\nkind: Config\nclusters: []\n');
  assert.throws(() => loadKubeconfig(noContext), (e: unknown) => e instanceof KubeconfigError && e.message === `${noContext}: no current-context, and no --context given`);
  const missing = write('b', 'current-context: x\ncontexts: []\n');
  assert.throws(() => loadKubeconfig(missing), { message: `${missing}: context "x" is not in contexts` });
  assert.throws(() => loadKubeconfig(missing, 'y'), { message: `${missing}: context "y" is not in contexts` });
  const exec = write(
    'c',
    ['current-context: c', 'contexts: [{name: c, context: {cluster: k, user: u}}]', 'clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {exec: {command: aws}}}]', ''].join('\n'),
  );
  assert.throws(() => loadKubeconfig(exec), { message: `${exec}: user "u": exec credentials are not supported; use a token or a client certificate` });
});

test('in-cluster: KUBERNETES_SERVICE_HOST/PORT and the mounted service account', () => {
  const sa = join(dir, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), 'tok\n');
  writeFileSync(join(sa, 'ca.crt'), 'PEM');
  writeFileSync(join(sa, 'namespace'), 'istio-system');
  assert.equal(inClusterConfig({}, sa), undefined);
  assert.deepEqual(inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa), {
    server: 'https://10.96.0.1:443',
    token: 'tok',
    tokenFile: join(sa, 'token'),
    ca: 'PEM',
    namespace: 'istio-system',
  });
  assert.equal(inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa)?.server, 'https://[fd00::1]:443');
});

test('a rotating service account token: the transport reads the token file again once the refresh period passed (not per request), and keeps the last token while the file is unreadable', async () => {
  const sa = join(dir, 'sa-rotating');
  mkdirSync(sa);
  const tokenFile = join(sa, 'token');
  writeFileSync(tokenFile, 'sa-token\n');
  const conn = loadKubeconfig(kube.writeKubeconfig(join(dir, 'kubeconfig-rotating')));
  const { token: _inline, ...withoutToken } = conn;
  const transport = new KubeTransport({ ...withoutToken, token: 'sa-token', tokenFile }, { tokenRefreshMs: 300 });
  const namespaces = async (): Promise<string> => {
    try {
      await transport.json('GET', '/api/v1/namespaces');
      return 'ok';
    } catch (e) {
      return (e as Error).message;
    }
  };
  try {
    assert.equal(await namespaces(), 'ok');
    writeFileSync(tokenFile, 'sa-token-2\n');
    kube.rotateToken('sa-token-2');
    assert.equal(await namespaces(), 'Unauthorized', 'within the refresh period the cached token is sent: the file is not read per request');
    await sleep(350);
    assert.equal(await namespaces(), 'ok', 'after the refresh period the rotated token is read and accepted');
    rmSync(tokenFile);
    await sleep(350);
    assert.equal(await namespaces(), 'ok', 'an unreadable token file (mid-rotation) keeps the last token');
  } finally {
    kube.rotateToken('sa-token');
  }
});

test('in-cluster configuration names the token file, so the rotating token is re-read; a kubeconfig tokenFile too', () => {
  const sa = join(dir, 'sa-names');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), 't');
  writeFileSync(join(sa, 'ca.crt'), 'PEM');
  assert.equal(inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa)?.tokenFile, join(sa, 'token'));
  const path = join(dir, 'kubeconfig-tokenfile');
  writeFileSync(path, ['clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'users: [{name: u, user: {tokenFile: sa-names/token}}]', 'contexts: [{name: x, context: {cluster: c, user: u}}]', 'current-context: x', ''].join('\n'));
  const conn = loadKubeconfig(path);
  assert.equal(conn.token, 't');
  assert.equal(conn.tokenFile, join(dir, 'sa-names', 'token'));
});
