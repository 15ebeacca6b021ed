/**
 * Objects as documents: the plain JSON form a store keeps and `get -o json` prints (Kubernetes
 * shape: apiVersion, kind, metadata, spec, status), and back, through the same validation and
 * decoding as files (load.ts), so that a store never serves what `validate` would refuse.
 */
import { describeFindings, loadResource, type Finding } from './load.js';
import type { ParsedResource } from './parse.js';
import type { ConfigObject, Origin } from './types.js';
import { withFields } from '../../lib/objects/with-fields.js';

export interface DocumentOptions {
  /** Include `metadata.resourceVersion` (printing: yes; storing: no, the store derives it). */
  readonly resourceVersion?: boolean;
}

/** The Kubernetes-shaped document of an object (no `origin`; empty maps and namespace left out). */
export function toDocument(o: ConfigObject, options: DocumentOptions = {}): Record<string, unknown> {
  const m = o.metadata;
  const metadata: Record<string, unknown> = { name: m.name };
  if (m.namespace !== '') metadata['namespace'] = m.namespace;
  if (Object.keys(m.labels).length > 0) metadata['labels'] = m.labels;
  if (Object.keys(m.annotations).length > 0) metadata['annotations'] = m.annotations;
  if (m.creationTimestamp !== undefined) metadata['creationTimestamp'] = m.creationTimestamp;
  if (m.uid !== undefined) metadata['uid'] = m.uid;
  if (m.generation !== undefined) metadata['generation'] = m.generation;
  if (options.resourceVersion !== false && m.resourceVersion !== undefined) metadata['resourceVersion'] = m.resourceVersion;
  const doc: Record<string, unknown> = { apiVersion: o.apiVersion, kind: o.kind, metadata, spec: o.spec };
  const status = (o as { status?: unknown }).status;
  if (status !== undefined) doc['status'] = status;
  return doc;
}

/** Refused: its errors, and for an invalid AuthorizationPolicy the substitute a reader keeps (fail-closed.ts), never admitted by a write. */
export type DecodeResult = { readonly ok: true; readonly object: ConfigObject } | { readonly ok: false; readonly findings: readonly Finding[]; readonly failClosed?: ConfigObject };

/**
 * Validates and decodes a stored document. `where` names it in findings (a store key); the
 * object's `origin` is `origin`. Warnings do not refuse an object; errors do.
 */
export function fromDocument(value: unknown, where: string, origin: Origin): DecodeResult {
  const parsed: ParsedResource = { file: where, value, docIndex: 0, locate: () => ({ line: 0, column: 0 }) };
  const r = loadResource(parsed, origin.order);
  if (!r.object) {
    const errors = r.findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) return r.failClosed ? { ok: false, findings: errors, failClosed: withFields(r.failClosed, { origin }) } : { ok: false, findings: errors };
    // No error, no object: a kind meshbridge does not keep (validate only warns about it).
    const kind = typeof (value as { kind?: unknown } | null)?.kind === 'string' ? String((value as { kind: string }).kind) : '';
    return { ok: false, findings: [{ severity: 'error', file: where, line: 0, column: 0, kind, namespace: '', name: '', field: 'kind', message: `kind ${JSON.stringify(kind)} is not one meshbridge keeps.` }] };
  }
  return { ok: true, object: withFields(r.object, { origin }) };
}

export { describeFindings };
