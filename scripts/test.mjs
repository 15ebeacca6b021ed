#!/usr/bin/env node
// `npm test`: everything a reviewer needs, in one command.
//   0. generate src/gen (scripts/gen-xds.mjs), 1. typecheck + build (tsc -b; the dashboard: tsc -p web, vite build into
//   dist/ui, which serve's /ui and test/browser use), 2. type-aware lint and the architecture lint
//   (dependency-cruiser: no import cycles, the README's layer order), 3. the shared conformance suite when
//   ../shared is beside the project, 4. unit and end-to-end tests with Node's test runner.
// Arguments naming project paths select test files (`npm test -- test/e2e src/xds`); the other arguments are
// passed to `node --test` (e.g. `npm test -- --test-name-pattern=EDS`). SKIP_LINT=1 and SKIP_CONFORMANCE=1
// skip steps 2 and 3; TEST_CONCURRENCY sets how many test files run at once.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Arguments naming a file or folder under src/, test/ or dist/ (`test/e2e`, `src/xds/cache/resource-cache.test.ts`)
// select the test files under it; the others are passed to `node --test`.
const isSelector = (arg) => !arg.startsWith('-') && /^(src|test|dist)(\/|$)/.test(relative(root, resolve(root, arg))) && existsSync(resolve(root, arg));
const selectors = process.argv.slice(2).filter(isSelector).map((arg) => relative(root, resolve(root, arg)).replace(/^dist\//, '').replace(/\.[jt]s$/, ''));
const args = process.argv.slice(2).filter((arg) => !isSelector(arg));
// How many test files run at once (TEST_CONCURRENCY overrides).
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write(`TEST_CONCURRENCY must be a positive integer, not ${JSON.stringify(process.env.TEST_CONCURRENCY)}\n`);
  process.exit(2);
}

function step(title, cmd, cmdArgs) {
  process.stdout.write(`\n== ${title}: ${cmd} ${cmdArgs.join(' ')}\n`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stdout.write(`\n== ${title} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}

function testFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    // Only compiled tests whose TypeScript source still exists (dist/ may hold stale output).
    else if (name.endsWith('.test.js') && existsSync(join(root, relative(join(root, 'dist'), p)).replace(/\.js$/, '.ts'))) out.push(relative(root, p));
  }
  return out.sort();
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const eslint = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
// src/gen is generated, not committed: make sure it exists (a no-op when it is up to date).
step('generate xDS types', process.execPath, [join(root, 'scripts', 'gen-xds.mjs')]);
step('typecheck and build', process.execPath, [tsc, '-b']);
step('typecheck the dashboard', process.execPath, [tsc, '-p', join(root, 'web', 'tsconfig.json')]);
step('build the dashboard', process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(root, 'web', 'vite.config.ts'), '--logLevel', 'warn']);
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
if (!process.env.SKIP_LINT) {
  step('lint', process.execPath, [eslint, '.']);
  step('architecture lint (no import cycles, layer order)', process.execPath, [depcruise, '--config', '.dependency-cruiser.cjs', 'src', 'test', 'bench']);
}
const conformance = join(root, '..', 'shared', 'conformance', 'run.mjs');
if (existsSync(conformance) && !process.env.SKIP_CONFORMANCE) {
  step('shared conformance suite', process.execPath, [conformance, '--project', '.', '--jobs', '2', join(root, '..', 'shared', 'conformance', 'cases')]);
}
const selected = (file) => {
  const source = relative(join(root, 'dist'), join(root, file)).replace(/\.js$/, '');
  return selectors.length === 0 || selectors.some((s) => source === s || source.startsWith(`${s}/`));
};
const files = [...testFiles(join(root, 'dist', 'src')), ...testFiles(join(root, 'dist', 'test'))].filter(selected);
if (files.length === 0) {
  process.stdout.write(`\n== no test file under ${selectors.join(', ')}\n`);
  process.exit(1);
}
// `node --test` runs the files in path order (it sorts them), `concurrency` at a time.
step('unit and end-to-end tests', process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...args, ...files]);
