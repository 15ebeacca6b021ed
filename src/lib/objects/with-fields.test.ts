import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFields } from './with-fields.js';

test('withFields equals the spread: base properties, then fields winning, in order', () => {
  const base = { a: 1, b: { c: 2 }, d: 'x' };
  const out = withFields(base, { d: 'y', e: true });
  assert.deepEqual(out, { ...base, d: 'y', e: true });
  assert.deepEqual(Object.keys(out), ['a', 'b', 'd', 'e']);
  assert.equal(out.b, base.b, 'shallow, as a spread');
  assert.notEqual(out, base);
  assert.deepEqual(base, { a: 1, b: { c: 2 }, d: 'x' }, 'the base is not changed');
});

test('withFields skips undefined bases of nothing and copies own enumerable properties only', () => {
  const proto = { inherited: 1 };
  const base = Object.create(proto) as { own?: number; inherited?: number };
  base.own = 2;
  assert.deepEqual(withFields(base, {}), { own: 2 });
});
