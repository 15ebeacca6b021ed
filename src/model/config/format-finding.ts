/** One finding as a line for a terminal or a log: `file:line:col: severity: Kind ns/name field: message`. */
import type { Finding } from './load.js';

export type FindingReport = Omit<Finding, 'severity'>;

export function formatFinding(f: FindingReport, severity: 'error' | 'warning'): string {
  const what = f.kind !== '' ? `${f.kind} ${f.namespace !== '' ? `${f.namespace}/` : ''}${f.name}` : '';
  const field = f.field !== '' ? ` ${f.field}:` : '';
  return `${f.file}:${f.line}:${f.column}: ${severity}: ${what}${what !== '' ? `${field} ` : field ? `${field} ` : ''}${f.message}`;
}

