/**
 * Issue 7 with `--store etcd://`: the self-signed root (certificate and key) is kept in etcd, so all
 * replicas sign with the same root: the first to start creates it (create-if-absent transaction),
 * the others, and later starts, load it. A certificate one replica issues is accepted by another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ControlPlane } from '../../src/app/control-plane.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { identityFromCertificate } from '../../src/security/peer-identity.js';
import { startEtcd } from '../support/etcd.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function replica(url: string, instance: string): ControlPlane {
  return new ControlPlane({ store: url, instance, xdsAddress: '127.0.0.1:0', secureXdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, sessionTtlSeconds: 2 });
}

test('replicas on one etcd share one CA root: created once, loaded by the others and by later starts', { timeout: 60_000 }, async (t) => {
  const etcd = await startEtcd(1);
  const running: ControlPlane[] = [];
  t.after(async () => {
    for (const cp of running) await cp.stop().catch(() => undefined);
    await etcd.stop();
  });
  // Two replicas start at the same time: one transaction wins, both end with its root.
  const [a, b] = [replica(etcd.url, 'ca-a'), replica(etcd.url, 'ca-b')];
  running.push(a, b);
  await Promise.all([a.start(), b.start()]);
  const root = a.certificateAuthority().rootPem;
  assert.equal(b.certificateAuthority().rootPem, root, 'one root for both');

  // A workload certificate from replica a is accepted by replica b.
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const csr = (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: ALG })).toString('pem');
  const [leaf = ''] = await a.certificateAuthority().issue(csr, 'spiffe://cluster.local/ns/a/sa/web', 600);
  const check = identityFromCertificate(leaf, { anchors: b.certificateAuthority().trustAnchors(), trustDomain: 'cluster.local', now: Date.now() });
  assert.ok(check.ok, JSON.stringify(check));

  // Everyone stops; a later start loads the same root.
  await a.stop();
  await b.stop();
  running.length = 0;
  const c = replica(etcd.url, 'ca-c');
  running.push(c);
  await c.start();
  assert.equal(c.certificateAuthority().rootPem, root, 'kept in etcd across restarts');
});
