/**
 * The plain reader of parseConfigText (js-yaml, no positions) must give exactly what the full
 * reader (`yaml`, with positions) gives: values, document indexes, positions of documents and of
 * fields, and the same problems. Compared on every YAML/JSON file of the repository and on edge
 * cases of YAML 1.2 core scalars and document markers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rng, textMutation } from '../../../test/fuzz/fuzz-harness.js';
import { parseConfigText, parseWithPositions, type ParsedFile } from './parse.js';

function comparable(p: ParsedFile): unknown {
  return {
    problems: p.problems,
    resources: p.resources.map((r) => ({
      value: r.value,
      docIndex: r.docIndex,
      itemIndex: r.itemIndex,
      at: r.locate([]),
      spec: r.locate(['spec']),
      deep: r.locate(['spec', 'ports', 0, 'number']),
      missing: r.locate(['metadata', 'nope', 'x']),
    })),
  };
}

function same(file: string, text: string): void {
  assert.deepEqual(comparable(parseConfigText(file, text)), comparable(parseWithPositions(file, text)), `${file}:\n${text.slice(0, 400)}`);
}

function configFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...configFiles(p));
    else if (/\.(ya?ml|json)$/i.test(name)) out.push(p);
  }
  return out;
}

test('plain reader = full reader on every YAML and JSON file of the repository', () => {
  const root = new URL('../../../../', import.meta.url).pathname;
  const files = ['examples', 'test', 'docs'].flatMap((d) => {
    try {
      return configFiles(join(root, d));
    } catch {
      return [];
    }
  });
  assert.ok(files.length > 5, `found ${files.length} files`);
  for (const f of files) same(f, readFileSync(f, 'utf8'));
});

test('plain reader = full reader on core scalars, markers, comments and errors', () => {
  const scalars = ['~', 'null', 'Null', 'NULL', 'nULL', '', 'true', 'True', 'TRUE', 'tRue', 'yes', 'no', 'on', 'off', 'y', '0o17', '017', '0x1F', '0X1F', '+12', '-0', '1_000', '0b101',
    '1.5', '.5', '5.', '1e3', '1E-3', '-.inf', '.Inf', '.NaN', '.nan', '1.0', '10:30', '2024-01-01', '2024-01-01T00:00:00Z', '12345678901234567890', '"quoted 5"', "'single'", 'a b  c', 'x # comment', '"esc\\t\\u00e9"'];
  for (const v of scalars) same('s.yaml', `apiVersion: v1\nkind: X\nmetadata: {name: a}\nspec:\n  v: ${v}\n  list: [${v === '' ? '' : v}]\n`);
  const texts = [
    'a: 1\n---\nb: 2\n', '---\na: 1\n', 'a: 1\n---\n', '# c\n---\na: 1\n', '# only comment\n', '', '---\n---\na: 1\n', '--- {a: 1}\n--- # x\nb: 2',
    '\n\n  \n# c\n---\n\n# d\na: 1\n---\n# e\n', 'a: 1\r\n---\r\nb: 2\r\n', 'a: 1\na: 2\n', 'a: [1, 2\n', 'kind: List\nitems: [{a: 1}, {b: 2}]\n', '[{"a": 1}]',
    '{"apiVersion": "v1", "kind": "X", "spec": {"ports": [{"number": 80}]}}', 'a: &x 1\nb: *x\n', '%YAML 1.2\n---\na: 1\n', 'a: 1\n...\n', '? [a]\n: 1\n', 'a: !!str 5\n', 'a: !custom 5\n',
    'spec:\n  text: |\n    ---\n    line\n  folded: >\n    a\n    b\n', 'a:\tb\n', 'a: b: c\n', '- a\n- b\n', 'just a string\n', '"---"\n', 'a: "x\n  y"\n', 'a: x\n  y\n', 'spec:\n  ports:\n  - number: 80\n    name: http\n',
    '  a: 1\n', '---\n  a: 1\n  b: 2\n', 'a: 1 # c\n#c\n---\n#c\nb: [1, {c: d}]\n', '---a: 1\n', '--- \na: 1\n',
  ];
  for (const t of texts) same('t.yaml', t);
});

test('plain reader = full reader on 3,000 text mutations of the examples', () => {
  const root = new URL('../../../../', import.meta.url).pathname;
  const examples = configFiles(join(root, 'examples')).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  const r = rng(Number(process.env.FUZZ_SEED ?? 5));
  let plain = 0;
  for (let i = 0; i < 3000; i++) {
    const f = examples[Math.floor(r() * examples.length)] ?? { path: 'x.yaml', text: '' };
    const text = textMutation(r, f.text);
    same(f.path, text);
    if (parseConfigText(f.path, text).problems.length === 0) plain++;
  }
  assert.ok(plain > 100, `mutations that still read cleanly: ${plain}`);
});
