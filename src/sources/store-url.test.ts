import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreUrlError } from '../model/config/store.js';
import { parseStoreUrl, readStoreUrl, storeUrlOrDefault, STORE_ENV } from './store-url.js';

test('a file:// URL or a bare path is the file store on that folder; file:// alone is the current folder', () => {
  assert.deepEqual(parseStoreUrl('file:///srv/cfg'), { kind: 'file', folder: '/srv/cfg', written: '/srv/cfg', form: 'url' });
  assert.deepEqual(parseStoreUrl('file://cfg'), { kind: 'file', folder: 'cfg', written: 'cfg', form: 'url' });
  assert.deepEqual(parseStoreUrl('file://'), { kind: 'file', folder: '.', written: '', form: 'url' });
  assert.deepEqual(parseStoreUrl('cfg/dir'), { kind: 'file', folder: 'cfg/dir', written: 'cfg/dir', form: 'path' });
});

test('an etcd URL is an etcd target, with the --etcd-* flags over the URL options', () => {
  const location = parseStoreUrl('etcd://u@127.0.0.1:2379,127.0.0.2:2379?ca=ca.pem', { passwordFile: 'pw' });
  assert.equal(location.kind, 'etcd');
  assert.ok(location.kind === 'etcd');
  assert.deepEqual(location.target.endpoints, ['127.0.0.1:2379', '127.0.0.2:2379']);
  assert.deepEqual(location.target.tls, { ca: 'ca.pem' });
  assert.deepEqual(location.target.password, { file: 'pw' });
  assert.throws(() => parseStoreUrl('etcd://'), (e: unknown) => e instanceof StoreUrlError && /no HOST:PORT/.test(e.message));
});

test('another scheme is refused naming the URL and the forms; readStoreUrl leaves the wording to its caller', () => {
  assert.throws(
    () => parseStoreUrl('http://127.0.0.1:2379'),
    (e: unknown) => e instanceof StoreUrlError && e.message === 'unsupported store http://127.0.0.1:2379: use file://DIR or etcd://HOST:PORT[,HOST:PORT...]',
  );
  assert.equal(readStoreUrl('memory://x'), undefined);
});

test('a command without --store takes $MESHBRIDGE_STORE, else the current folder', () => {
  const saved = process.env[STORE_ENV];
  try {
    delete process.env[STORE_ENV];
    assert.equal(storeUrlOrDefault(undefined), 'file://.');
    process.env[STORE_ENV] = 'etcd://127.0.0.1:2379';
    assert.equal(storeUrlOrDefault(undefined), 'etcd://127.0.0.1:2379');
    assert.equal(storeUrlOrDefault('file://cfg'), 'file://cfg');
  } finally {
    if (saved === undefined) delete process.env[STORE_ENV];
    else process.env[STORE_ENV] = saved;
  }
});

test('kube:// is the Kubernetes store: its namespace (default istio-system) and the --kubeconfig/--context flags; a bad namespace is refused', () => {
  assert.deepEqual(parseStoreUrl('kube://'), { kind: 'kube', namespace: 'istio-system', connection: {} });
  assert.deepEqual(parseStoreUrl('kube://mesh-system', { kubeconfig: '/k/config', context: 'prod' }), { kind: 'kube', namespace: 'mesh-system', connection: { kubeconfig: '/k/config', context: 'prod' } });
  assert.throws(() => parseStoreUrl('kube://Bad_NS'), (e: unknown) => e instanceof StoreUrlError && /"Bad_NS" is not a namespace name/.test(e.message));
});
