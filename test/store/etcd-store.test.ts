/**
 * The store conformance suite against a real etcd (single node on a loopback port), each test
 * under its own key prefix, with a second client (its own connection) for concurrency.
 */
import { after, before } from 'node:test';
import { configStoreConformance } from '../conformance/config-store.js';
import { createEtcdClient } from '../../src/sources/etcd/etcd-client.js';
import { EtcdStore } from '../../src/sources/etcd/etcd-store.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';

let etcd: EtcdCluster;
let n = 0;

before(async () => {
  etcd = await startEtcd(1);
});
after(async () => {
  await etcd.stop();
});

configStoreConformance('etcd', () => {
  const prefix = `/mbtest-${process.pid}-${++n}/`;
  const store = new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }), { prefix, description: etcd.url });
  const other = new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }), { prefix, description: etcd.url });
  return Promise.resolve({
    store,
    other,
    seedsReadOnly: false,
    seed: async (objects) => {
      const r = await other.write(objects.map((object) => ({ op: 'create' as const, object })));
      if (!r.ok) throw new Error(r.failure.message);
    },
    forgetHistory: async () => {
      const rev = (await store.client.kv.range({ key: Buffer.from(prefix) })).header.revision;
      await store.client.kv.compact({ revision: rev, physical: true });
    },
    cleanup: async () => {
      await store.client.delete().prefix(prefix);
      await store.close();
      await other.close();
    },
  });
});
