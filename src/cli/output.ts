/** Output formatting shared by the commands: JSON, YAML, or text for a terminal. */
import { stringify } from 'yaml';

export type OutputFormat = 'text' | 'json' | 'yaml';

export function parseOutputFormat(s: string, allowed: readonly string[] = ['text', 'json', 'yaml']): OutputFormat {
  if (!allowed.includes(s)) throw new UsageError(`unknown output format ${JSON.stringify(s)}: use one of ${allowed.join(', ')}`);
  return s as OutputFormat;
}

export function printData(value: unknown, format: 'json' | 'yaml', out: NodeJS.WritableStream): void {
  out.write(format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 }));
}

/** A usage error: exit code 2 (cli-contract). */
export class UsageError extends Error {}

/** Pads columns for a text table. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** commander's accumulator for a repeatable option. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
