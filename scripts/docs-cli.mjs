#!/usr/bin/env node
// `npm run docs:cli`: writes docs/cli.md from the command definitions (src/cli/cli-reference.ts).
// test/cli/cli-reference.test.ts fails when the committed file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { generateCliReference } = await import(new URL('../dist/src/cli/cli-reference.js', import.meta.url).href);
const target = fileURLToPath(new URL('../docs/cli.md', import.meta.url));
writeFileSync(target, await generateCliReference());
process.stdout.write(`wrote ${target}\n`);
