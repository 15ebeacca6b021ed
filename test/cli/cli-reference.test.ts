/**
 * Issue 13: docs/cli.md is generated from the command definitions and cannot drift: this test fails
 * when the committed file differs from what the program generates (`npm run docs:cli` rewrites it).
 * The reference names every command, subcommand and flag the program has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { generateCliReference } from '../../src/cli/cli-reference.js';
import { runCli } from '../../src/cli/main.js';
import { PROJECT_ROOT } from '../support/paths.js';

test('docs/cli.md is what `npm run docs:cli` generates from the command definitions', async () => {
  const committed = readFileSync(join(PROJECT_ROOT, 'docs', 'cli.md'), 'utf8');
  assert.ok(committed === (await generateCliReference()), 'docs/cli.md is out of date: run `npm run docs:cli` and commit the result');
});

test('docs/cli.md names every command path and every flag', async () => {
  const committed = readFileSync(join(PROJECT_ROOT, 'docs', 'cli.md'), 'utf8');
  const missing: string[] = [];
  const walk = (c: Command, path: string): void => {
    if (path !== '' && !committed.includes(`\`meshbridge ${path}\``)) missing.push(path);
    // Table cells escape `|`.
    for (const o of c.options) if (!committed.includes(`\`${o.flags.replace(/\|/g, '\\|')}\``)) missing.push(`${path} ${o.flags}`);
    for (const s of c.commands) if (s.name() !== 'help') walk(s, path === '' ? s.name() : `${path} ${s.name()}`);
  };
  await runCli([], process.stdout, process.stderr, (program) => walk(program, ''));
  assert.deepEqual(missing, []);
  for (const c of ['proxy-config clusters', 'proxy-status', 'get', 'apply', 'version', 'completion', 'serve', 'workload entry configure']) assert.ok(committed.includes(`\`meshbridge ${c}\``), c);
});
