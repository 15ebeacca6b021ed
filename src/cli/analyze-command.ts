/**
 * `meshbridge analyze [PATH...] | --store URL [--failure-threshold Info|Warning|Error] [-o text|json|yaml]`
 * (issue 13): istioctl analyze's habits on meshbridge's configuration. Files are validated (schema
 * messages) and analysed together; a store's objects (valid by construction) are analysed as the
 * control plane serves them, registered WorkloadEntries included. Exit 1 when a message is at or
 * above the failure threshold (default Error), for CI.
 */
import { Option, type Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { STORE_OPTION } from './store-options.js';
import { analyze, ANALYSIS_LEVELS, atLeast, type AnalysisLevel, type AnalysisMessage } from '../app/analysis.js';
import { loadConfig, type SourceFile } from '../model/config/load.js';
import { parseWithPositions, type ParsedFile } from '../model/config/parse.js';
import type { FieldPath } from '../lib/result/problem.js';
import { readConfigFiles } from '../sources/file/read-files.js';
import { parseOutputFormat, printData, UsageError, type OutputFormat } from './output.js';
import { openCliStore } from './store-client.js';

export interface AnalyzeOptions {
  readonly paths: readonly string[];
  readonly store?: string;
  readonly failureThreshold: AnalysisLevel;
  readonly format: OutputFormat;
}

/** `Info`, `Warning` or `Error`, in any case (as istioctl's --failure-threshold). */
export function parseAnalysisLevel(v: string): AnalysisLevel {
  const level = ANALYSIS_LEVELS.find((l) => l.toLowerCase() === v.toLowerCase());
  if (level === undefined) throw new UsageError(`--failure-threshold takes ${ANALYSIS_LEVELS.join(', ')}, not ${JSON.stringify(v)}`);
  return level;
}

export async function runAnalyze(o: AnalyzeOptions, out: NodeJS.WritableStream): Promise<number> {
  if (o.paths.length === 0 && o.store === undefined) throw new UsageError('analyze needs PATH... or --store URL');
  if (o.paths.length > 0 && o.store !== undefined) throw new UsageError('analyze takes PATH... or --store URL, not both');
  let messages: AnalysisMessage[];
  if (o.store !== undefined) {
    const s = await openCliStore(o.store);
    try {
      messages = analyze({ objects: (await s.store.list()).objects });
    } finally {
      await s.close();
    }
  } else {
    const files = await readConfigFiles(o.paths);
    const loaded = loadConfig(files);
    messages = analyze({ objects: loaded.objects, findings: loaded.findings }).map(positionAtField(files));
  }
  if (o.format === 'text') out.write(formatAnalysisText(messages, o.store ?? o.paths.join(' ')));
  else printData(messages, o.format, out);
  return messages.some((m) => atLeast(m.level, o.failureThreshold)) ? 1 : 0;
}

/**
 * Analysis positions an object's message at the object; for files, point at the field named
 * instead (the resource starting at the message's line, the field's value in it).
 */
function positionAtField(files: readonly SourceFile[]): (m: AnalysisMessage) => AnalysisMessage {
  const parsed = new Map<string, ParsedFile>();
  return (m) => {
    if (m.field === '' || m.line <= 0) return m;
    const text = files.find((f) => f.path === m.file)?.text;
    if (text === undefined) return m;
    let file = parsed.get(m.file);
    if (file === undefined) {
      file = parseWithPositions(m.file, text);
      parsed.set(m.file, file);
    }
    const resource = file.resources.find((r) => r.locate([]).line === m.line);
    if (resource === undefined) return m;
    const at = resource.locate(parseFieldPath(m.field));
    return { ...m, line: at.line, column: at.column };
  };
}

/** `spec.http[0].route` → ['spec', 'http', 0, 'route'] (formatFieldPath's inverse). */
function parseFieldPath(field: string): FieldPath {
  return [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((x) => (x[2] !== undefined ? Number(x[2]) : (x[1] ?? '')));
}

/** istioctl's lines: `Error [IST0101] (VirtualService ns/name file:line) field: message`. */
function formatAnalysisText(messages: readonly AnalysisMessage[], target: string): string {
  if (messages.length === 0) return `\u2714 No validation issues found when analyzing ${target}.\n`;
  return messages
    .map((m) => {
      const where = [m.origin, m.line > 0 ? `${m.file}:${m.line}` : m.file].filter((x) => x !== '').join(' ');
      return `${m.level} [${m.code}] (${where}) ${m.field !== '' ? `${m.field}: ` : ''}${m.message}\n`;
    })
    .join('');
}

export function registerAnalyze(program: Command, ctx: CommandContext): void {
  program
    .command('analyze')
    .description('analyze configuration for mistakes across objects, as istioctl analyze (message codes and levels)')
    .argument('[path...]', 'files or folders (*.yaml, *.yml, *.json; recursive)')
    .option(STORE_OPTION, 'analyze the objects of a store instead: file://DIR or etcd://HOST:PORT[,HOST:PORT...]')
    .option('--failure-threshold <level>', 'exit 1 when a message is at this level or above: Info, Warning or Error', 'Error')
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (paths: string[], opts: { store?: string; failureThreshold: string; output: string }) => {
      ctx.setExitCode(
        await runAnalyze({ paths, ...(opts.store !== undefined ? { store: opts.store } : {}), failureThreshold: parseAnalysisLevel(opts.failureThreshold), format: parseOutputFormat(opts.output) }, ctx.out),
      );
    });
}
