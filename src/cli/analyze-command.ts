/**
 * `meshbridge analyze [PATH...] | --store URL [--failure-threshold Info|Warning|Error] [-o text|json|yaml]`
 * (issue 13): istioctl analyze's habits on meshbridge's configuration. Files are validated (schema
 * messages) and analysed together; a store's objects (valid by construction) are analysed as the
 * control plane serves them, registered WorkloadEntries included. Exit 1 when a message is at or
 * above the failure threshold (default Error), for CI.
 */
import { analyze, ANALYSIS_LEVELS, atLeast, type AnalysisLevel, type AnalysisMessage } from '../app/analysis.js';
import { loadConfig } from '../model/config/load.js';
import { readConfigFiles } from '../sources/file/read-files.js';
import { printData, UsageError, type OutputFormat } from './output.js';
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
    const loaded = loadConfig(await readConfigFiles(o.paths));
    messages = analyze({ objects: loaded.objects, findings: loaded.findings });
  }
  if (o.format === 'text') out.write(formatAnalysisText(messages, o.store ?? o.paths.join(' ')));
  else printData(messages, o.format, out);
  return messages.some((m) => atLeast(m.level, o.failureThreshold)) ? 1 : 0;
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
