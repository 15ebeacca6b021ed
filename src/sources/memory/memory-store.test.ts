import { configStoreConformance } from '../../../test/conformance/config-store.js';
import { MemoryStore } from './memory-store.js';

configStoreConformance('memory', () => {
  const store = new MemoryStore();
  return Promise.resolve({
    store,
    other: store,
    seedsReadOnly: false,
    seed: async (objects) => {
      const r = await store.write(objects.map((object) => ({ op: 'create' as const, object })));
      if (!r.ok) throw new Error(r.failure.message);
    },
    forgetHistory: () => Promise.resolve(store.compact()),
    cleanup: () => store.close(),
  });
});
