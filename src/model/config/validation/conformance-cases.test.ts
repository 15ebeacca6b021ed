/**
 * Runs the shared conformance suite's `validate` cases (VAL-*) directly against validateResource,
 * checking expectations the way ../shared/conformance/README.md describes. Registers no test when
 * the shared folder is absent (set MESHBRIDGE_CONFORMANCE_CASES to point elsewhere).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { formatFieldPath } from '../../../lib/result/problem.js';
import { validateResource } from './index.js';

interface Matcher {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly fieldPrefix?: string | readonly string[];
}

interface Expect {
  readonly valid: boolean;
  readonly errors?: readonly Matcher[];
  readonly warnings?: readonly Matcher[];
  readonly noWarnings?: boolean;
}

interface Step {
  readonly name: string;
  readonly config?: string | readonly string[];
  readonly expect: Expect;
}

interface CaseFile {
  readonly id: string;
  readonly title: string;
  readonly rules?: readonly string[];
  readonly command: string;
  readonly config?: string | readonly string[];
  readonly expect?: Expect;
  readonly steps?: readonly Step[];
}

interface Finding {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly field: string;
  readonly message: string;
}

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function casesDir(): string {
  return process.env.MESHBRIDGE_CONFORMANCE_CASES ?? join(projectRoot(), '..', 'shared', 'conformance', 'cases');
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

/** Every resource of the files (multi-document YAML, `kind: List` expanded), validated. */
function validateFiles(folder: string, files: readonly string[]): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  for (const file of files) {
    const documents = parseAllDocuments(readFileSync(join(folder, file), 'utf8'));
    const resources: unknown[] = [];
    for (const document of Array.isArray(documents) ? documents : [documents]) {
      assert.equal(document.errors.length, 0, `YAML errors in ${file}`);
      const value: unknown = document.toJS();
      if (value === null || value === undefined) continue;
      const items = record(value).kind === 'List' ? record(value).items : undefined;
      resources.push(...(Array.isArray(items) ? (items as unknown[]) : [value]));
    }
    for (const resource of resources) {
      const meta = record(record(resource).metadata);
      const who = { kind: str(record(resource).kind, ''), name: str(meta.name, ''), namespace: str(meta.namespace, 'default') };
      for (const problem of validateResource(resource)) {
        const finding = { ...who, field: formatFieldPath(problem.path), message: problem.message };
        (problem.severity === 'error' ? errors : warnings).push(finding);
      }
    }
  }
  return { errors, warnings };
}

function satisfies(finding: Finding, matcher: Matcher): boolean {
  if (finding.kind !== matcher.kind || finding.name !== matcher.name) return false;
  if (matcher.namespace !== undefined && finding.namespace !== matcher.namespace) return false;
  if (matcher.fieldPrefix === undefined) return true;
  const prefixes = typeof matcher.fieldPrefix === 'string' ? [matcher.fieldPrefix] : matcher.fieldPrefix;
  return prefixes.some((p) => finding.field.startsWith(p));
}

/** True when every matcher can take a different finding (a small backtracking matching). */
function allMatched(matchers: readonly Matcher[], findings: readonly Finding[], used: ReadonlySet<number> = new Set()): boolean {
  const [first, ...rest] = matchers;
  if (first === undefined) return true;
  return findings.some((f, i) => !used.has(i) && satisfies(f, first) && allMatched(rest, findings, new Set([...used, i])));
}

function show(findings: readonly Finding[]): string {
  return findings.map((f) => `  ${f.kind}/${f.name} ${f.field}: ${f.message}`).join('\n') || '  (none)';
}

function check(folder: string, files: readonly string[], expect: Expect): void {
  const { errors, warnings } = validateFiles(folder, files);
  const report = `errors:\n${show(errors)}\nwarnings:\n${show(warnings)}`;
  assert.equal(errors.length === 0, expect.valid, `valid should be ${String(expect.valid)}\n${report}`);
  assert.ok(allMatched(expect.errors ?? [], errors), `error matchers not satisfied: ${JSON.stringify(expect.errors)}\n${report}`);
  assert.ok(allMatched(expect.warnings ?? [], warnings), `warning matchers not satisfied: ${JSON.stringify(expect.warnings)}\n${report}`);
  if (expect.noWarnings === true) assert.equal(warnings.length, 0, `no warnings expected\n${report}`);
}

function fileList(config: string | readonly string[] | undefined): readonly string[] {
  if (config === undefined) return ['config.yaml'];
  return typeof config === 'string' ? [config] : config;
}

const root = casesDir();
const caseFolders = existsSync(root) ? readdirSync(root).filter((name) => name.startsWith('VAL-')).sort() : [];

for (const folder of caseFolders) {
  const path = join(root, folder);
  const spec = JSON.parse(readFileSync(join(path, 'case.json'), 'utf8')) as CaseFile;
  if (spec.command !== 'validate') continue;
  const label = `${spec.id} (${(spec.rules ?? []).join(', ')}): ${spec.title}`;
  const steps: readonly Step[] = spec.steps ?? (spec.expect === undefined ? [] : [{ name: 'single step', expect: spec.expect }]);
  for (const step of steps) {
    test(`${label} / ${step.name}`, () => {
      check(path, fileList(step.config ?? spec.config), step.expect);
    });
  }
}
