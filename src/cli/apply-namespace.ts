/**
 * `apply -n NS` (kubectl): objects whose document names no namespace go to NS; an object naming
 * another namespace is refused, as kubectl refuses it. Cluster-scoped kinds are left as they are.
 */
import type { Finding, SourceFile } from '../model/config/load.js';
import { parseConfigText } from '../model/config/parse.js';
import type { ConfigObject } from '../model/config/types.js';

/** `file:line` of every document that names `metadata.namespace`. */
function documentsNamingNamespace(files: readonly SourceFile[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    for (const r of parseConfigText(f.path, f.text).resources) {
      const meta = (r.value as { metadata?: { namespace?: unknown } } | null)?.metadata;
      if (typeof meta?.namespace === 'string' && meta.namespace !== '') out.add(`${r.file}:${r.locate([]).line}`);
    }
  }
  return out;
}

export function applyNamespace(objects: readonly ConfigObject[], files: readonly SourceFile[], namespace: string): { objects: ConfigObject[]; refused: Finding[] } {
  const named = documentsNamingNamespace(files);
  const refused: Finding[] = [];
  const placed = objects.map((o): ConfigObject => {
    if (o.metadata.namespace === '') return o; // cluster-scoped
    if (!named.has(`${o.origin.file}:${o.origin.line}`)) return { ...o, metadata: { ...o.metadata, namespace } };
    if (o.metadata.namespace !== namespace) {
      refused.push({
        severity: 'error', file: o.origin.file, line: o.origin.line, column: o.origin.column, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, field: 'metadata.namespace',
        message: `the namespace from the provided object "${o.metadata.namespace}" does not match the namespace "${namespace}": pass --namespace=${o.metadata.namespace} or remove the namespace from the object`,
      });
    }
    return o;
  });
  return { objects: placed, refused };
}
