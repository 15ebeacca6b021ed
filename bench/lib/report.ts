/**
 * Results: one JSON file per scenario run in bench/results/ (git-ignored), and one row per
 * (scenario, variant, mode) in docs/benchmarks.md, replaced on every run, with the exact command.
 */
import { cpus, totalmem, release } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const RESULTS = join(ROOT, 'bench', 'results');
export const DOCS = join(ROOT, 'docs', 'benchmarks.md');

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memGiB: number;
  readonly node: string;
  readonly kernel: string;
}

export function machine(): Machine {
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, kernel: release() };
}

export function machineShort(m: Machine = machine()): string {
  return `${m.cores} vCPU ${m.cpu.replace(/\(R\)|\(TM\)|CPU |@.*$/g, '').replace(/\s+/g, ' ').trim()}, ${m.memGiB} GiB, Node ${m.node}`;
}

export function writeResult(scenario: string, mode: string, data: unknown): string {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(RESULTS, `${scenario}-${mode}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

export interface Row {
  /** Unique within the scenario's table (first column). */
  readonly key: string;
  readonly cells: readonly string[];
}

/**
 * Replaces (or appends) rows in the table between `<!-- bench:ID -->` and `<!-- /bench:ID -->`.
 * Rows are kept sorted by key so quick and full runs sit together.
 */
export function updateDocs(id: string, header: readonly string[], rows: readonly Row[]): void {
  const text = existsSync(DOCS) ? readFileSync(DOCS, 'utf8') : '# Benchmarks\n';
  const open = `<!-- bench:${id} -->`;
  const close = `<!-- /bench:${id} -->`;
  let start = text.indexOf(open);
  let end = text.indexOf(close);
  let body = text;
  if (start < 0 || end < 0) {
    body = `${text.trimEnd()}\n\n${open}\n${close}\n`;
    start = body.indexOf(open);
    end = body.indexOf(close);
  }
  const existing = body.slice(start + open.length, end).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'));
  const byKey = new Map<string, string>();
  const headerLine = `| ${header.join(' | ')} |`;
  // Rows measured under another header (columns or what they mean changed) are dropped: they are not comparable.
  if (existing[0] === headerLine) {
    for (const line of existing.slice(1)) byKey.set(line.split(' | ')[0]?.slice(2) ?? '', line);
  }
  for (const r of rows) byKey.set(r.key, `| ${[r.key, ...r.cells].map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  const lines = [headerLine, `| ${header.map(() => '---').join(' | ')} |`, ...[...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, l]) => l)];
  writeFileSync(DOCS, `${body.slice(0, start + open.length)}\n${lines.join('\n')}\n${body.slice(end)}`);
}

export function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function met(ok: boolean): string {
  return ok ? '**yes**' : 'no';
}
