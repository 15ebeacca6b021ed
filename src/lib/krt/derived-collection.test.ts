import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticCollection } from './static-collection.js';
import { derive, deriveMany, singleton } from './derived-collection.js';
import { JoinCollection } from './join-collection.js';

interface Pet { name: string; ns: string; kind: string }
interface Owner { name: string; ns: string; wants: string }

function fixture() {
  const pets = new StaticCollection<Pet>('pets', (p) => `${p.ns}/${p.name}`);
  const owners = new StaticCollection<Owner>('owners', (o) => `${o.ns}/${o.name}`);
  const byNs = pets.index('ns', (p) => [p.ns]);
  const homes = derive(
    'homes',
    owners,
    (ctx, o) => ({
      key: `${o.ns}/${o.name}`,
      pets: ctx.fetch(pets, { index: byNs, value: o.ns, filter: (p) => p.kind === o.wants }).map((p) => p.name).sort(),
    }),
    (h) => h.key,
  );
  return { pets, owners, homes };
}

test('derived items follow their inputs and fetched items', () => {
  const { pets, owners, homes } = fixture();
  owners.upsert({ name: 'ann', ns: 'a', wants: 'cat' });
  pets.upsert({ name: 'tom', ns: 'a', kind: 'cat' }, { name: 'rex', ns: 'a', kind: 'dog' });
  assert.deepEqual(homes.get('a/ann')?.pets, ['tom']);
  pets.upsert({ name: 'rex', ns: 'a', kind: 'cat' });
  assert.deepEqual(homes.get('a/ann')?.pets, ['rex', 'tom']);
  pets.delete('a/tom');
  assert.deepEqual(homes.get('a/ann')?.pets, ['rex']);
  owners.delete('a/ann');
  assert.equal(homes.get('a/ann'), undefined);
});

test('only transformations whose fetch matches the changed item run again', () => {
  const { pets, owners, homes } = fixture();
  owners.upsert({ name: 'ann', ns: 'a', wants: 'cat' }, { name: 'bob', ns: 'a', wants: 'dog' }, { name: 'cy', ns: 'b', wants: 'cat' });
  const before = homes.stats.computations;
  pets.upsert({ name: 'tom', ns: 'a', kind: 'cat' });
  assert.equal(homes.stats.computations - before, 1, 'only ann (namespace a, wants cat) recomputes');
  const events: unknown[] = [];
  homes.subscribe((e) => events.push(...e));
  pets.upsert({ name: 'fish', ns: 'c', kind: 'fish' });
  assert.equal(homes.stats.computations - before, 1, 'an unrelated item recomputes nothing');
  assert.equal(events.length, 0);
});

test('an unchanged recomputation emits no event', () => {
  const { pets, owners, homes } = fixture();
  owners.upsert({ name: 'ann', ns: 'a', wants: 'cat' });
  pets.upsert({ name: 'tom', ns: 'a', kind: 'cat' });
  let n = 0;
  homes.subscribe((e) => (n += e.length));
  pets.upsert({ name: 'tom', ns: 'a', kind: 'cat' });
  owners.upsert({ name: 'ann', ns: 'a', wants: 'cat' });
  assert.equal(n, 0);
});

test('several producers of one key: the item lives until the last producer is gone', () => {
  const words = new StaticCollection<{ id: string; tags: string[] }>('words', (w) => w.id);
  const tags = deriveMany('tags', words, (_ctx, w) => w.tags.map((t) => ({ tag: t })), (t) => t.tag);
  words.upsert({ id: '1', tags: ['x', 'y'] }, { id: '2', tags: ['y'] });
  assert.deepEqual(tags.list().map((t) => t.tag).sort(), ['x', 'y']);
  words.delete('1');
  assert.deepEqual(tags.list().map((t) => t.tag), ['y']);
  words.delete('2');
  assert.equal(tags.size, 0);
});

test('singleton and join', () => {
  const a = new StaticCollection<{ k: string }>('a', (x) => x.k);
  const b = new StaticCollection<{ k: string }>('b', (x) => x.k);
  const ab = new JoinCollection('ab', [a, b], (x) => x.k);
  const count = singleton('count', (ctx) => ctx.fetch(ab).length);
  a.upsert({ k: 'a1' });
  b.upsert({ k: 'b1' }, { k: 'b2' });
  assert.equal(count.value(), 3);
  b.replaceAll([{ k: 'b1' }]);
  assert.equal(count.value(), 2);
});

test('a transformation that throws keeps the last good output and is counted', () => {
  const nums = new StaticCollection<{ id: string; n: number }>('nums', (x) => x.id);
  const roots = derive('roots', nums, (_ctx, x) => {
    if (x.n < 0) throw new Error('negative');
    return { id: x.id, root: Math.sqrt(x.n) };
  }, (r) => r.id);
  nums.upsert({ id: 'a', n: 4 });
  nums.upsert({ id: 'a', n: -1 });
  assert.equal(roots.get('a')?.root, 2);
  assert.equal(roots.stats.errors, 1);
  assert.match(roots.stats.lastError ?? '', /a: negative/);
});
