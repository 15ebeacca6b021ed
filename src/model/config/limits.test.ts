/**
 * Issue 11 item 3: one alias and size policy for every path that reads configuration — both YAML
 * readers of parse.ts, loadConfig (files, `validate`, `apply`) and fromDocument (store documents).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bombCorpus, jsonKeyAnchorBomb, REFUSALS } from '../../../test/fuzz/bomb-corpus.js';
import { fromDocument } from './document.js';
import { MAX_DEPTH, MAX_OBJECT_BYTES, nestingBoundedBy, objectLimitProblem, textNestingProblem, textNestingScan } from './limits.js';
import { loadConfig } from './load.js';
import { parseConfigText, parseWithPositions } from './parse.js';

test('the issue\'s bomb (anchors right after "key":) is refused by the plain reader path as by the full one: the alias limit', () => {
  const text = jsonKeyAnchorBomb(8);
  assert.ok(text.length < 1100, 'under about 1 KB');
  const plain = parseConfigText('bomb.yaml', text);
  const full = parseWithPositions('bomb.yaml', text);
  assert.deepEqual(plain.problems, full.problems, 'one alias policy: both paths give the same answer');
  assert.equal(plain.resources.length, 0);
  assert.match(plain.problems[0]?.message ?? '', /Excessive alias count.*maxAliasCount of 100/);
});

test('the plain reader never returns a value built from aliases: every anchor form goes to the full reader', () => {
  const forms = ['{"a":&x [1, 2], "b":*x}', 'a: &x {k: v}\nb: *x\n', '[&x {k: v}, *x]', '{a: &x [1], b: [*x]}', 'a:\n- &x {k: v}\n- *x\n', '"a":&x 1\n'];
  for (const text of forms) {
    assert.deepEqual(parseConfigText('f.yaml', text).resources.map((r) => r.value), parseWithPositions('f.yaml', text).resources.map((r) => r.value), text);
  }
});

test('every corpus file: loadConfig refuses it with a positioned finding naming the limit', () => {
  for (const f of bombCorpus()) {
    const started = performance.now();
    const loaded = loadConfig([{ path: f.name, text: f.text }]);
    const ms = performance.now() - started;
    const want = REFUSALS[f.name];
    if (want === undefined) {
      assert.deepEqual(loaded.findings.filter((x) => x.severity === 'error'), [], `${f.attack}: valid objects load`);
      assert.ok(loaded.objects.length > 0 || f.name.includes('empty'), f.attack);
    } else {
      const errors = loaded.findings.filter((x) => x.severity === 'error');
      assert.equal(loaded.objects.length, 0, `${f.attack}: nothing of it is kept`);
      assert.ok(errors.some((x) => x.message.includes(want) && x.file === f.name && x.line >= 1 && x.column >= 1), `${f.attack}: ${JSON.stringify(errors).slice(0, 500)}`);
    }
    // Generous bound for a loaded 2-core machine: the point is no exponential or quadratic blow-up.
    assert.ok(ms < 20_000, `${f.attack}: ${Math.round(ms)} ms`);
  }
});

/** An object of 10^levels leaves built from shared references, as aliases expand. */
function sharedBomb(levels: number): Record<string, unknown> {
  let node: unknown = 'lollollollollollollollollollol';
  for (let i = 0; i < levels; i++) {
    const next: Record<string, unknown> = {};
    for (let j = 0; j < 10; j++) next[`k${j}`] = node;
    node = next;
  }
  return node as Record<string, unknown>;
}

test('a store document built from shared nodes (10^9 leaves) is refused by size, with the field where counting stopped, in bounded time', () => {
  const doc = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'dag', namespace: 'default' }, spec: { host: 'a.default.svc.cluster.local', bomb: sharedBomb(9) } };
  const started = performance.now();
  const r = fromDocument(doc, '/registry/destinationrules/default/dag', { file: '', line: 0, column: 0, order: 0 });
  assert.ok(performance.now() - started < 5000, 'counting stops at the limit');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.findings.some((f) => f.field.startsWith('spec.bomb.k') && f.message.includes(`over ${MAX_OBJECT_BYTES} bytes`)), JSON.stringify(r));
});

test('depth: the path of the first value below the deepest level allowed; no recursion (1,000,000 levels)', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  const p = objectLimitProblem({ spec: deep });
  assert.equal(p?.path.length, MAX_DEPTH);
  assert.match(p?.message ?? '', /nested deeper than 64 levels/);
  assert.equal(objectLimitProblem({ spec: { a: [1, 'two', { b: null }] } }), undefined);
});

test('text nesting: flow brackets in quoted strings, comments and plain scalars do not count', () => {
  const brackets = '['.repeat(2000);
  assert.equal(textNestingProblem(`a: "${brackets}"\nb: '${brackets}'\n# ${brackets}\nc: x${brackets}\n`), undefined);
  assert.deepEqual(textNestingProblem(`a: ${brackets}`), { line: 1, column: 1003, message: 'the text is nested deeper than 1000 levels; it is not read (the limit per object is 64 levels)' });
});

test('text nesting: block levels count (each line indented one more), and the quick bound never hides what the scan finds (random texts)', () => {
  const stairs = Array.from({ length: 1002 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
  assert.deepEqual(textNestingProblem(stairs), { line: 1001, column: 1001, message: 'the text is nested deeper than 1000 levels; it is not read (the limit per object is 64 levels)' });
  let seed = 5;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const pieces = ['[', '{', ']', '}', '\n', ' ', '  ', '\t', 'a', ': ', '- ', ',', '"x"', "'y'", '# c', '\r'];
  let found = 0;
  for (let round = 0; round < 4000; round++) {
    const text = Array.from({ length: 5 + rand(60) }, () => pieces[rand(pieces.length)]).join('');
    const max = 1 + rand(8);
    const scanned = textNestingScan(text, max);
    if (scanned !== undefined) {
      found++;
      assert.equal(nestingBoundedBy(text, max), false, JSON.stringify(text));
    }
    assert.deepEqual(textNestingProblem(text, max), scanned, JSON.stringify(text));
  }
  assert.ok(found > 100, `the random texts pass the limit often enough (${found})`);
});
