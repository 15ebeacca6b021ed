/**
 * Issue 16 item 4, rolling upgrade: the stored format is versioned (`meshbridgeFormat` on every etcd
 * value). Objects written straight into a real etcd as a newer meshbridge would write them:
 * - one of a newer format (2) with fields this version does not know: listed and served as far as
 *   understood; every write this version could make of it (apply, status, delete, the leader's
 *   reclaim of an entry whose replica is gone) is refused naming both formats; the stored bytes
 *   never change;
 * - one of this format with unknown fields (top level, metadata, spec): a status write and an
 *   annotation change keep every unknown field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkloadEntry } from '../../src/model/config/types.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { LocalCoordination } from '../../src/lifecycle/coordination.js';
import { RegistrationController } from '../../src/lifecycle/registration-controller.js';
import { newSigningKey } from '../../src/security/registration-token.js';
import { createEtcdClient } from '../../src/sources/etcd/etcd-client.js';
import { EtcdStore } from '../../src/sources/etcd/etcd-store.js';
import { FORMAT_FIELD, STORED_FORMAT } from '../../src/sources/etcd/keys.js';
import { startEtcd } from '../support/etcd.js';

const NEWER_KEY = '/meshbridge/config/WorkloadEntry/ns1/vm-10.0.5.1';
const KNOWN_KEY = '/meshbridge/config/WorkloadEntry/ns1/db';

/** An auto-registered entry as a newer replica (format 2) stores it, connected to a replica that is gone. */
const newer = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadEntry',
  metadata: {
    name: 'vm-10.0.5.1',
    namespace: 'ns1',
    labels: { app: 'vm' },
    annotations: { 'istio.io/autoRegistrationGroup': 'vm', 'istio.io/workloadController': 'cp-gone', 'istio.io/connectedAt': '2026-01-01T00:00:00.000000000Z' },
    futureMetadata: { shard: 7 },
  },
  spec: { address: '10.0.5.1', ports: { http: 8080 }, futureSpec: 'x' },
  futureTopLevel: [1, 2, 3],
  [FORMAT_FIELD]: 2,
};

/** An operator's entry of this format, with fields a newer version added. */
const known = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'WorkloadEntry',
  metadata: { name: 'db', namespace: 'ns1', labels: { app: 'db' }, annotations: { team: 'a' }, futureMetadata: 'kept' },
  spec: { address: '10.0.5.2', futureSpec: { nested: true } },
  futureTopLevel: 'kept',
  [FORMAT_FIELD]: STORED_FORMAT,
};

test('an object of a newer stored format is served, never rewritten or deleted; unknown fields survive rewrites', { timeout: 60_000 }, async (t) => {
  const etcd = await startEtcd(1);
  t.after(() => etcd.stop());
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const store = new EtcdStore(client, { description: etcd.url });
  t.after(() => store.close());
  await client.put(NEWER_KEY).value(JSON.stringify(newer));
  await client.put(KNOWN_KEY).value(JSON.stringify(known));
  const raw = async (key: string): Promise<string | null> => client.get(key).string();
  const newerBytes = await raw(NEWER_KEY);

  // Served as far as understood.
  const listing = await store.list();
  const served = listing.objects.find((o) => o.metadata.name === 'vm-10.0.5.1') as WorkloadEntry | undefined;
  assert.equal(served?.spec.address, '10.0.5.1');
  assert.deepEqual(served.spec.ports, { http: 8080 });
  assert.deepEqual(listing.problems, []);

  // Every write this version could make is refused, naming both formats.
  const ref = { kind: 'WorkloadEntry' as const, namespace: 'ns1', name: 'vm-10.0.5.1' };
  const version = served.metadata.resourceVersion ?? '';
  for (const op of [
    { op: 'updateStatus' as const, ref, status: { conditions: [{ type: 'Healthy', status: 'True' }] }, resourceVersion: version },
    { op: 'update' as const, object: { ...served, metadata: { ...served.metadata, labels: { app: 'changed' } } } },
    { op: 'delete' as const, ref },
  ]) {
    const r = await store.write([op]);
    assert.ok(!r.ok, op.op);
    assert.match(r.failure.message, /was stored by a newer meshbridge \(stored format 2; this version writes format 1\): it is served as far as this version understands it, and never rewritten or deleted by it/);
  }

  // The leader's reclaim of an entry whose replica is gone: refused too, the entry stays.
  const controller = new RegistrationController({ store, coordination: new LocalCoordination('cp-1'), group: () => undefined, signingKey: newSigningKey(), gracePeriodMs: 50, log: silentLogger });
  controller.start();
  await sleep(300);
  await controller.reclaim();
  await sleep(300);
  await controller.stop();
  assert.equal(await raw(NEWER_KEY), newerBytes, 'the newer object was never rewritten nor deleted');

  // An object of this format: a status write and an annotation change keep the unknown fields.
  const db = (await store.get({ kind: 'WorkloadEntry', namespace: 'ns1', name: 'db' })) as WorkloadEntry;
  const status = await store.write([{ op: 'updateStatus', ref: { kind: 'WorkloadEntry', namespace: 'ns1', name: 'db' }, status: { conditions: [{ type: 'Healthy', status: 'True' }] }, resourceVersion: db.metadata.resourceVersion ?? '' }]);
  assert.ok(status.ok, JSON.stringify(status));
  const again = (await store.get({ kind: 'WorkloadEntry', namespace: 'ns1', name: 'db' })) as WorkloadEntry;
  const annotated = await store.write([{ op: 'update', object: { ...again, metadata: { ...again.metadata, annotations: { team: 'b' } } } }]);
  assert.ok(annotated.ok, JSON.stringify(annotated));
  const stored = JSON.parse((await raw(KNOWN_KEY)) ?? '{}') as typeof known & { status?: unknown };
  assert.equal(stored.futureTopLevel, 'kept');
  assert.equal(stored.metadata.futureMetadata, 'kept');
  assert.deepEqual(stored.spec.futureSpec, { nested: true });
  assert.deepEqual(stored.metadata.annotations, { team: 'b' });
  assert.deepEqual(stored.status, { conditions: [{ type: 'Healthy', status: 'True' }] });
  assert.equal(stored[FORMAT_FIELD], STORED_FORMAT);
});
