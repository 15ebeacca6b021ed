/**
 * `exportTo` (V-EXP-*, Istio `validateExportTo`): entries are `.`, `*`, a namespace name, and for
 * ServiceEntry also `~`; no duplicates (`.` counts as the own namespace); `*` and `~` stand alone.
 * An empty list means the mesh default (V-EXP-4).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import type { JsonObject, Problems } from './json.js';
import { childPath, quote, readStringList } from './json.js';
import { isDNS1123Label } from './names.js';

export interface ExportToOptions {
  /** ServiceEntry only: `~` (visible to no one) is allowed (V-SE-15). */
  readonly allowNone: boolean;
  /** DestinationRule with a workloadSelector: only the own namespace may be listed. */
  readonly destinationRuleWithSelector?: boolean;
}

export function checkExportTo(spec: JsonObject, namespace: string, options: ExportToOptions, out: Problems): void {
  const path: FieldPath = ['spec', 'exportTo'];
  const entries = readStringList(spec, 'exportTo', ['spec'], out);
  if (entries === undefined || entries.length === 0) return;
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (entry === undefined) return;
    const at = childPath(path, i);
    const key = entry === '.' ? namespace : entry;
    if (seen.has(key)) {
      const message =
        key !== entry
          ? `exportTo lists both "." and the own namespace ${quote(namespace)}, which are the same.`
          : `exportTo lists ${quote(entry)} more than once.`;
      out.push(error(at, message, 'V-EXP-2'));
      return;
    }
    const problem = entryProblem(key, options.allowNone);
    if (problem === undefined) seen.add(key);
    else out.push(error(at, problem, 'V-EXP-1'));
  });
  if (options.destinationRuleWithSelector === true && seen.size > 0) {
    if (!seen.has(namespace)) {
      out.push(error(path, 'A DestinationRule with a workloadSelector cannot be exported beyond its own namespace.'));
    } else if (seen.size > 1) {
      out.push(error(path, 'A DestinationRule with a workloadSelector cannot have several exportTo entries.'));
    }
  }
  if (seen.has('*') && entries.length > 1) {
    out.push(error(path, 'exportTo cannot combine "*" (everyone) with other entries.', 'V-EXP-3'));
  }
  if (seen.has('~') && entries.length > 1) {
    out.push(error(path, 'exportTo cannot combine "~" (no one) with other entries.', 'V-EXP-3'));
  }
}

function entryProblem(entry: string, allowNone: boolean): string | undefined {
  if (entry === '.' || entry === '*') return undefined;
  if (entry === '~') return allowNone ? undefined : 'exportTo "~" (no one) is only allowed on a ServiceEntry.';
  if (isDNS1123Label(entry)) return undefined;
  return `exportTo entry ${quote(entry)} is invalid: use ".", "*"${allowNone ? ', "~"' : ''} or a namespace name (an RFC-1123 label).`;
}
