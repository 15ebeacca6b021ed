/**
 * The same object (kind, namespace, name) defined twice across the files read together: an error
 * at each later definition naming the first one (file and line), since otherwise the later one
 * silently replaces the earlier (issue 13).
 */
import type { Finding } from './load.js';
import { objectKey, type ConfigObject } from './types.js';

export function duplicateFindings(objects: readonly ConfigObject[]): Finding[] {
  const first = new Map<string, ConfigObject>();
  const out: Finding[] = [];
  for (const o of objects) {
    const key = objectKey(o);
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, o);
      continue;
    }
    out.push({
      severity: 'error',
      file: o.origin.file,
      line: o.origin.line,
      column: o.origin.column,
      kind: o.kind,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      field: '',
      message: `${key} is also defined at ${earlier.origin.file}:${earlier.origin.line}; define each object once (the later definition would silently replace the earlier).`,
    });
  }
  return out;
}
