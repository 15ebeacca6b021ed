import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayeredCollection } from './layered-collection.js';
import { StaticCollection } from './static-collection.js';
import type { Event } from './collection.js';

interface Item {
  readonly key: string;
  readonly from: string;
}

test('a layered collection shows the first part holding a key; the lower part shows again when the upper copy goes, and shadowed changes emit nothing', () => {
  const store = new StaticCollection<Item>('store', (i) => i.key, [{ key: 'a', from: 'store' }]);
  const cluster = new StaticCollection<Item>('cluster', (i) => i.key, [{ key: 'a', from: 'cluster' }, { key: 'b', from: 'cluster' }]);
  const view = new LayeredCollection<Item>('view', [store, cluster], (i) => i.key);
  const events: Event<Item>[] = [];
  view.subscribe((e) => events.push(...e));
  assert.deepEqual(view.list().map((i) => `${i.key}:${i.from}`).sort(), ['a:store', 'b:cluster']);

  cluster.upsert({ key: 'a', from: 'cluster-2' });
  assert.deepEqual(events, [], 'a change under the store copy is shadowed');

  store.delete('a');
  assert.deepEqual(events, [{ old: { key: 'a', from: 'store' }, new: { key: 'a', from: 'cluster-2' } }]);
  events.length = 0;

  cluster.delete('b');
  cluster.upsert({ key: 'c', from: 'cluster' });
  assert.deepEqual(events, [{ old: { key: 'b', from: 'cluster' } }, { new: { key: 'c', from: 'cluster' } }]);
  assert.deepEqual(view.list().map((i) => `${i.key}:${i.from}`).sort(), ['a:cluster-2', 'c:cluster']);
});
