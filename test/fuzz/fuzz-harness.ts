/**
 * Fuzz harness for issue 2 (nothing crashes on any input). Feeds 10,000 random mutations of the example mesh (wrong
 * types, missing fields, huge numbers, odd unicode, deep nesting, broken YAML) through loading,
 * validation, the registry and the endpoints report, and asserts that no exception escapes and
 * that every finding has a position. Deterministic: the seed is printed on failure.
 * Two test files run it, with structural and text mutations, in parallel.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfig, type SourceFile } from '../../src/model/config/load.js';
import { registryFromObjects } from '../../src/registry/offline-mesh.js';
import { endpointsReport } from '../../src/status/endpoints-report.js';
import { EXAMPLES } from '../support/paths.js';


/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const exampleFiles: SourceFile[] = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ path: join('examples', f), text: readFileSync(join(EXAMPLES, f), 'utf8') }));
/** Each example file loaded once: the other files of an iteration are taken from here. */
const loadedExamples = new Map(exampleFiles.map((f) => [f.path, loadConfig([f]).objects]));
const documents: unknown[] = exampleFiles.flatMap((f) => parseAllDocuments(f.text).map((d) => d.toJS() as unknown)).filter((d) => d !== null);

function deep(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { nested: v } : [v];
  return v;
}

const ODD_VALUES: unknown[] = [
  null, true, false, 0, -1, -80, 1.5, 65536, 4294967296, 2 ** 53 + 1, 1e300, -1e300, '', ' ', '80', 'true',
  '\u202etxet', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'ÄÖÜ-名前', '\u0000', 'a'.repeat(5000), '*', '*.', '..', 'unix://', 'unix:///', '1.1.1.1/33',
  '::', 'fe80::1%eth0', '256.1.1.1', 'http_1', [], [null], [1, 'a', {}], {}, { '': '' }, { a: { b: { c: null } } },
  deep(60), deep(400),
];

type Path = (string | number)[];

function paths(v: unknown, prefix: Path, out: Path[], depth: number): void {
  out.push(prefix);
  if (depth > 12 || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out, depth + 1));
  else for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out, depth + 1);
}

function setAt(root: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return remove ? {} : value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur: Record<string | number, unknown> = copy;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove) {
    if (Array.isArray(cur) && typeof last === 'number') cur.splice(last, 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

function structuralMutation(r: () => number, doc: unknown): unknown {
  let v = doc;
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const ps: Path[] = [];
    paths(v, [], ps, 0);
    const p = ps[Math.floor(r() * ps.length)] ?? [];
    const choice = r();
    if (choice < 0.3) v = setAt(v, p, undefined, true);
    else if (choice < 0.4) v = setAt(v, p, `${String(ODD_VALUES[Math.floor(r() * ODD_VALUES.length)])}`, false);
    else v = setAt(v, p, structuredClone(ODD_VALUES[Math.floor(r() * ODD_VALUES.length)]), false);
  }
  return v;
}

const BREAKERS = [':', '-', '\t', '{', '}', '[', ']', '"', "'", '&a', '*a', '!!binary', '\n', '  ', '---\n', '%', '@', '\u0000', '#'];

export function textMutation(r: () => number, text: string): string {
  let t = text;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const c = r();
    if (c < 0.35) t = t.slice(0, at) + (BREAKERS[Math.floor(r() * BREAKERS.length)] ?? '') + t.slice(at);
    else if (c < 0.6) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 20));
    else if (c < 0.75) t = t.slice(0, at);
    else {
      const lines = t.split('\n');
      const li = Math.floor(r() * lines.length);
      lines.splice(li, 0, lines[li] ?? '');
      t = lines.join('\n');
    }
  }
  return t;
}

export type MutationKind = 'structural' | 'text';

/** Runs `iterations` mutations of one kind; throws (assert) on the first escaped exception. */
export function runFuzz(kind: MutationKind, iterations: number, seed: number): { findings: number; objects: number } {
  const r = rng(seed);
  let findings = 0;
  let objects = 0;
  for (let i = 0; i < iterations; i++) {
    let file: SourceFile;
    if (kind === 'structural') {
      const doc = documents[Math.floor(r() * documents.length)];
      const mutated = structuralMutation(r, doc);
      const text = r() < 0.85 ? stringify(mutated, { aliasDuplicateObjects: false }) : JSON.stringify(mutated);
      file = { path: 'fuzz/mutated.yaml', text };
    } else {
      const f = exampleFiles[Math.floor(r() * exampleFiles.length)] ?? { path: 'x.yaml', text: '' };
      file = { path: f.path, text: textMutation(r, f.text) };
    }
    try {
      const loaded = loadConfig([file]);
      for (const f of loaded.findings) {
        findings++;
        assert.ok(f.file !== '' && f.line >= 1 && f.column >= 1, `finding without a position: ${JSON.stringify(f)}`);
        assert.ok(f.message.length > 0, 'finding without a message');
      }
      objects += loaded.objects.length;
      if (i % 4 === 0) {
        const others = [...loadedExamples].filter(([path]) => path !== file.path).flatMap(([, objs]) => objs);
        const registry = registryFromObjects([...others, ...loaded.objects]);
        endpointsReport(registry, { namespace: 'bookinfo', locality: 'us-east1/us-east1-b/rack-1', network: 'network-1' }, {}, true);
        for (const c of registry.derived.values()) {
          assert.equal(c.stats.errors, 0, `${c.name} failed on a validated object: ${c.stats.lastError ?? ''}`);
        }
      }
    } catch (e) {
      assert.fail(`${kind} iteration ${i} (seed ${seed}) threw: ${e instanceof Error ? e.stack : String(e)}\ninput ${file.path}:\n${file.text.slice(0, 2000)}`);
    }
  }
  return { findings, objects };
}
