/**
 * The shared store conformance suite (test/conformance/config-store.ts) on `kube://`
 * (src/sources/kube/kube-store.ts), against the fake Kubernetes API server, the project's one TEST
 * DOUBLE (docs/kubernetes-fake.md): a fresh fake per case, two stores on it. What differs from etcd is
 * declared, not skipped: a write of several objects is not one transaction (each object at its own
 * revision, one watch event each), and only Istio's kinds are kept (no MeshConfig).
 */
import { configStoreConformance } from '../conformance/config-store.js';
import { ISTIO_KINDS, KubeStore } from '../../src/sources/kube/kube-store.js';
import { KubeTransport } from '../../src/sources/kube/kube-transport.js';
import { FakeKubeApiServer, ISTIO_CRDS } from '../support/fake-kube-apiserver.js';

configStoreConformance('kube', async () => {
  const kube = await FakeKubeApiServer.start();
  kube.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns1' } });
  for (const crd of ISTIO_CRDS) kube.store.seed(crd);
  const store = new KubeStore(new KubeTransport({ server: kube.url }));
  const other = new KubeStore(new KubeTransport({ server: kube.url }));
  return {
    store,
    other,
    seedsReadOnly: false,
    transactional: false,
    keeps: (kind) => kind in ISTIO_KINDS,
    seed: async (objects) => {
      const r = await other.write(objects.map((object) => ({ op: 'create' as const, object })));
      if (!r.ok) throw new Error(r.failure.message);
    },
    forgetHistory: () => {
      kube.compact();
      return Promise.resolve();
    },
    cleanup: async () => {
      await Promise.all([store.close(), other.close()]);
      await kube.close();
    },
  };
});
