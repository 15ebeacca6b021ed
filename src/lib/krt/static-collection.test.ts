import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticCollection } from './static-collection.js';
import type { Event } from './collection.js';

interface Item {
  readonly key: string;
  readonly v: number;
}

/** The events replaceAll must emit: deletions, then additions and changes (last item of a key wins). */
function expected(before: ReadonlyMap<string, Item>, list: readonly Item[]): { deleted: string[]; upserted: Map<string, Item> } {
  const next = new Map<string, Item>();
  for (const i of list) next.set(i.key, i);
  const deleted = [...before.keys()].filter((k) => !next.has(k)).sort();
  const upserted = new Map<string, Item>();
  for (const [k, i] of next) {
    const old = before.get(k);
    if (old === undefined || old.v !== i.v) upserted.set(k, i);
  }
  return { deleted, upserted };
}

function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
}

test('replaceAll emits the minimal events whether a snapshot differs in one run of items or anywhere (fast path = full diff)', () => {
  const rand = rng(7);
  const c = new StaticCollection<Item>('items', (i) => i.key);
  let events: Event<Item>[] = [];
  c.subscribe((e) => events.push(...e));
  let list: Item[] = Array.from({ length: 200 }, (_, k) => ({ key: `k${k}`, v: 0 }));
  c.replaceAll(list);
  for (let round = 0; round < 400; round++) {
    const before = new Map(c.list().map((i) => [i.key, i]));
    const next = [...list];
    const op = Math.floor(rand() * 7);
    const at = Math.floor(rand() * next.length);
    if (op === 0) next[at] = { key: next[at]?.key ?? 'x', v: round }; // one item changed (a weight)
    else if (op === 1) next.splice(at, 1); // removed
    else if (op === 2) next.splice(at, 0, { key: `n${round}`, v: round }); // added
    else if (op === 3) next.splice(at, 0, { key: next[(at + 7) % next.length]?.key ?? 'x', v: round }); // a duplicate key
    else if (op === 4) next.splice(at, 2, { key: next[at]?.key ?? 'x', v: next[at]?.v ?? 0 }); // equal copy + removal
    else if (op === 5) for (let k = 0; k < 80; k++) next[Math.floor(rand() * next.length)] = { key: `r${Math.floor(rand() * 300)}`, v: round }; // many changes
    // op 6: the same snapshot again
    events = [];
    c.replaceAll(next);
    const want = expected(before, next);
    assert.deepEqual(events.filter((e) => e.new === undefined).map((e) => e.old?.key).sort(), want.deleted, `round ${round} op ${op}: deletions`);
    assert.deepEqual(new Map(events.filter((e) => e.new !== undefined).map((e) => [e.new?.key, e.new])), want.upserted, `round ${round} op ${op}: upserts`);
    assert.deepEqual(new Map(c.list().map((i) => [i.key, i])), new Map([...new Map(next.map((i) => [i.key, i]))]), `round ${round}: items`);
    list = next;
  }
});

test('replaceAll after upsert and delete compares with the current items, not the last snapshot', () => {
  const c = new StaticCollection<Item>('items', (i) => i.key);
  const a = { key: 'a', v: 1 };
  const b = { key: 'b', v: 1 };
  c.replaceAll([a, b]);
  c.delete('a');
  let events: Event<Item>[] = [];
  c.subscribe((e) => (events = [...e]));
  c.replaceAll([a, b]);
  assert.deepEqual(events, [{ new: a }]);
});

test('putChanged emits every item as given, without comparing (the writer compared)', () => {
  const a = { key: 'a', v: 1 };
  const c = new StaticCollection<Item>('items', (i) => i.key, [a]);
  let events: Event<Item>[] = [];
  c.subscribe((e) => (events = [...e]));
  const sameA = { key: 'a', v: 1 };
  const b = { key: 'b', v: 2 };
  c.putChanged(sameA, b);
  assert.deepEqual(events, [{ old: a, new: sameA }, { new: b }]);
  assert.equal(c.get('a'), sameA);
  c.upsert({ key: 'a', v: 1 });
  assert.deepEqual(events, [{ old: a, new: sameA }, { new: b }], 'upsert still compares: an equal item emits nothing');
});

test('an index finds exactly the items filed under a value, through one item per value, several, and back (random upserts and deletes against a model)', () => {
  const rand = rng(11);
  interface Tagged {
    readonly key: string;
    readonly tags: readonly string[];
  }
  const c = new StaticCollection<Tagged>('tagged', (i) => i.key);
  const byTag = c.index('tag', (i) => i.tags);
  const model = new Map<string, Tagged>();
  const tags = ['a', 'b', 'c', 'd'];
  for (let step = 0; step < 3000; step++) {
    const key = `k${Math.floor(rand() * 12)}`;
    if (rand() < 0.3) {
      c.delete(key);
      model.delete(key);
    } else {
      // Mostly one tag per item (one-item values), sometimes two, sometimes a repeated tag.
      const first = tags[Math.floor(rand() * tags.length)] as string;
      const more = rand() < 0.3 ? [tags[Math.floor(rand() * tags.length)] as string] : [];
      const item = { key, tags: [...new Set([first, ...more])] };
      c.upsert(item);
      model.set(key, item);
    }
    for (const tag of [...tags, 'none']) {
      const want = [...model.values()].filter((i) => i.tags.includes(tag)).map((i) => i.key).sort();
      const got = byTag.lookup(tag).map((i) => i.key).sort();
      assert.deepEqual(got, want, `step ${step}, tag ${tag}`);
    }
  }
  // Each found item is the current version of its key.
  for (const tag of tags) for (const i of byTag.lookup(tag)) assert.equal(i, model.get(i.key));
});
