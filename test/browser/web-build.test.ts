/**
 * The dashboard's build and its contract with the server (docs/dashboard.md):
 * - web/src imports nothing of the server but the API's response types (`import type` from
 *   src/api/v1/types.ts): the JSON API is the only contract;
 * - the first load (index.html with the JS and CSS it references) stays under 100 kB gzip;
 * - the built page references only its own origin (no CDN, no external font).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PROJECT_ROOT } from '../support/paths.js';

const WEB_SRC = join(PROJECT_ROOT, 'web', 'src');
const UI_BUILD = join(PROJECT_ROOT, 'dist', 'ui');
const TYPES = join(PROJECT_ROOT, 'src', 'api', 'v1', 'types.ts');
const FIRST_LOAD_LIMIT_BYTES = 100 * 1024;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : /\.tsx?$/.test(name) ? [p] : [];
  });
}

test('web/src imports of anything outside web/ are type-only imports of src/api/v1/types.ts', () => {
  const files = sources(WEB_SRC);
  assert.ok(files.length > 5, 'the dashboard sources are there');
  const outside: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
      const [, , typeOnly, spec = ''] = m;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (!relative(join(PROJECT_ROOT, 'web'), target).startsWith('..')) continue;
      if (target === TYPES && typeOnly !== undefined) continue;
      outside.push(`${relative(PROJECT_ROOT, file)}: ${m[0].trim()}`);
    }
  }
  assert.deepEqual(outside, []);
});

test('the first load of the built dashboard is under 100 kB gzip and references only its own origin', () => {
  const indexFile = join(UI_BUILD, 'index.html');
  assert.ok(existsSync(indexFile), `the dashboard is built (${indexFile}): npm run build:ui`);
  const index = readFileSync(indexFile, 'utf8');
  const referenced = [...index.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
  const external = referenced.filter((u) => /^[a-z]+:/i.test(u) && !u.startsWith('data:'));
  assert.deepEqual(external, [], 'no external URL in index.html');
  const assets = referenced.filter((u) => u.startsWith('/ui/assets/'));
  assert.ok(assets.some((u) => u.endsWith('.js')), `index.html loads the app: ${referenced.join(', ')}`);
  let total = gzipSync(index).length;
  for (const a of assets) {
    const body = readFileSync(join(UI_BUILD, a.slice('/ui/'.length)));
    assert.doesNotMatch(body.toString('utf8'), /https?:\/\/(?!localhost|127\.|www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[^"'\s]*\.(?:woff2?|ttf|css|js)\b/i, `${a} loads nothing from another origin`);
    total += gzipSync(body).length;
  }
  process.stdout.write(`# dashboard first load: ${(total / 1024).toFixed(1)} kB gzip\n`);
  assert.ok(total < FIRST_LOAD_LIMIT_BYTES, `first load ${total} bytes gzip, over ${FIRST_LOAD_LIMIT_BYTES}`);
});
