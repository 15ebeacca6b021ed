import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyOf, withFields } from './with-fields.js';

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

test('withFields keeps a key named __proto__ as the spread does (a data property, not the prototype)', () => {
  const hostile = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
  const out = withFields(hostile, { b: 2 }) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__', 'a', 'b']);
  assert.equal((out as { polluted?: unknown }).polluted, undefined);
  const copy = copyOf(hostile);
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.ok(Object.hasOwn(copy, '__proto__'));
});
