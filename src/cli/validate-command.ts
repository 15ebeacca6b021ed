/** `meshbridge validate PATH...` (cli-contract). */
import { Option, type Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { loadConfig, type Finding } from '../model/config/load.js';
import { duplicateFindings } from '../model/config/duplicates.js';
import { readConfigFiles } from '../sources/file/read-files.js';
import { parseOutputFormat, printData, type OutputFormat } from './output.js';
import { formatFinding, type FindingReport } from '../model/config/format-finding.js';

export interface ValidateReport {
  valid: boolean;
  resources: number;
  errors: FindingReport[];
  warnings: FindingReport[];
}


function report(f: Finding): FindingReport {
  const { severity: _severity, ...rest } = f;
  return rest;
}

/**
 * Validates files (cli-contract `validate`). Objects defined twice across the files are errors;
 * `strict` (`--strict`) makes unknown fields and unknown kinds errors too.
 */
export async function runValidate(paths: readonly string[], format: OutputFormat, out: NodeJS.WritableStream, strict = false): Promise<number> {
  const files = await readConfigFiles(paths);
  const result = loadConfig(files, { strict });
  const findings = [...result.findings, ...duplicateFindings(result.objects)];
  const errors = findings.filter((f) => f.severity === 'error').map(report);
  const warnings = findings.filter((f) => f.severity === 'warning').map(report);
  const value: ValidateReport = { valid: errors.length === 0, resources: result.resources, errors, warnings };
  if (format === 'text') out.write(formatValidateText(value, files.length));
  else printData(value, format, out);
  return errors.length > 0 ? 1 : 0;
}

function formatValidateText(r: ValidateReport, fileCount: number): string {
  const lines = [...r.errors.map((f) => formatFinding(f, 'error')), ...r.warnings.map((f) => formatFinding(f, 'warning'))];
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(
    `${r.valid ? 'valid' : 'invalid'}: ${plural(r.resources, 'resource')} in ${plural(fileCount, 'file')}, ${plural(r.errors.length, 'error')}, ${plural(r.warnings.length, 'warning')}`,
  );
  return `${lines.join('\n')}\n`;
}

export function registerValidate(program: Command, ctx: CommandContext): void {
  program
    .command('validate')
    .description('validate configuration files and folders')
    .argument('<path...>', 'files or folders (*.yaml, *.yml, *.json; recursive)')
    .option('--strict', 'unknown fields and unknown kinds are errors, not warnings (as `apply`)', false)
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (paths: string[], opts: { output: string; strict: boolean }) => {
      ctx.setExitCode(await runValidate(paths, parseOutputFormat(opts.output), ctx.out, opts.strict));
    });
}
