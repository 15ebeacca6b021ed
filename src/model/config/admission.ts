/**
 * Admission of changed configuration files, as `apply` admits them (kubectl's strict field
 * validation): syntax and validation errors, unknown kinds, unknown fields and objects defined
 * twice refuse the change; warnings are kept for display. Pure: the files' texts in, findings out.
 */
import { duplicateFindings } from './duplicates.js';
import { loadConfig, type Finding, type SourceFile } from './load.js';
import type { ConfigObject } from './types.js';
import { UNKNOWN_KIND_RULE } from './validation/validate-resource.js';

export interface Admission {
  /** The valid objects, in load order (to be applied only when `refused` is empty: all or nothing). */
  readonly objects: ConfigObject[];
  /** Errors, positioned: any of them refuses the whole change. */
  readonly refused: Finding[];
  readonly warnings: Finding[];
}

export function admitConfig(files: readonly SourceFile[]): Admission {
  const loaded = loadConfig(files, { strict: true });
  const refused = loaded.findings
    .filter((f) => f.severity === 'error')
    .map((f) => (f.rule === UNKNOWN_KIND_RULE ? { ...f, message: `${f.message} apply stores only kinds meshbridge reads.` } : f));
  refused.push(...duplicateFindings(loaded.objects));
  return { objects: loaded.objects, refused, warnings: loaded.findings.filter((f) => f.severity === 'warning') };
}
