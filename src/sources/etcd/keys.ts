/**
 * The etcd key layout and value encoding of the etcd store.
 *
 *   <prefix>config/<Kind>/<namespace>/<name>   a namespaced object (JSON document, no resourceVersion)
 *   <prefix>config/<Kind>/<name>               a cluster-scoped object (MeshConfig, MeshNetworks, Node)
 *   <prefix>system/...                         the control plane's own keys (replicas, leader, signing key)
 *
 * Objects sit under `config/` so one prefix watch sees every object and nothing else. The object's
 * resourceVersion is the key's mod_revision; its creation order (origin.order) is its
 * create_revision, so that ties of creationTimestamp break the same way on every replica.
 */
import type { IKeyValue } from 'etcd3';
import { fromDocument, toDocument } from '../../model/config/document.js';
import type { ObjectRef, StoredProblem } from '../../model/config/store.js';
import { CLUSTER_SCOPED_KINDS, KINDS, objectKey, type ConfigObject, type Kind } from '../../model/config/types.js';
import { errorMessage } from '../../lib/errors.js';

export const DEFAULT_PREFIX = '/meshbridge/';

export class KeyLayout {
  readonly config: string;
  readonly system: string;

  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    this.config = `${prefix}config/`;
    this.system = `${prefix}system/`;
  }

  keyOf(ref: ObjectRef): string {
    return ref.namespace === '' ? `${this.config}${ref.kind}/${ref.name}` : `${this.config}${ref.kind}/${ref.namespace}/${ref.name}`;
  }

  /** The object a key names, if it is an object key. */
  refOf(key: string): ObjectRef | undefined {
    if (!key.startsWith(this.config)) return undefined;
    const parts = key.slice(this.config.length).split('/');
    const kind = KINDS.find((k) => k === parts[0]);
    if (!kind) return undefined;
    const scoped = CLUSTER_SCOPED_KINDS.has(kind);
    if (scoped && parts.length === 2 && parts[1]) return { kind, namespace: '', name: parts[1] };
    if (!scoped && parts.length === 3 && parts[1] && parts[2]) return { kind, namespace: parts[1], name: parts[2] };
    return undefined;
  }

  /** `Kind/ns/name` of a key (objectKey), or the key itself when it names no object. */
  objectKeyOf(key: string): string {
    const ref = this.refOf(key);
    return ref ? objectKey({ kind: ref.kind, metadata: ref }) : key;
  }
}

/**
 * The stored format (rolling upgrades, docs/stores.md "Stored format"): every stored object carries
 * `meshbridgeFormat: N` at its top level (absent = 1, values written before the field existed).
 * A replica reads objects of any format as far as it understands them, and never rewrites or
 * deletes one of a format newer than its own (the write is refused, naming both formats): it could
 * not keep what it does not understand. Rewrites of objects it does understand keep every field it
 * does not know (encodeObject's `stored`), so a newer replica's additions survive an older one.
 */
export const STORED_FORMAT = 1;
export const FORMAT_FIELD = 'meshbridgeFormat';

/** The format of a stored JSON value (1 when it names none). */
export function storedFormat(value: unknown): number {
  const f = isPlainObject(value) ? value[FORMAT_FIELD] : undefined;
  return typeof f === 'number' && Number.isInteger(f) && f >= 1 ? f : 1;
}

/** What a rewrite starts from: the stored JSON value and the object this replica read from it. */
export interface StoredValue {
  readonly raw: Record<string, unknown>;
  readonly object: ConfigObject;
}

/**
 * The stored value of an object. With `stored` (a rewrite), only what changed between the object
 * read and `o` is changed in the stored JSON: fields this version does not know are kept.
 */
export function encodeObject(o: ConfigObject, stored?: StoredValue): string {
  const next = toDocument(o, { resourceVersion: false });
  if (stored === undefined) return JSON.stringify({ ...next, [FORMAT_FIELD]: STORED_FORMAT });
  const read = toDocument(stored.object, { resourceVersion: false });
  return JSON.stringify({ ...applyChanges(stored.raw, read, next), [FORMAT_FIELD]: storedFormat(stored.raw) });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * `raw` with the changes from `before` to `after` applied: keys set or removed where they differ,
 * objects compared key by key, anything else (arrays included) replaced whole. Keys of `raw` that
 * neither `before` nor `after` has (fields this version dropped when reading) stay as they are.
 */
function applyChanges(raw: Record<string, unknown>, before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[key];
    const a = after[key];
    if (!(key in after)) delete out[key];
    else if (isPlainObject(a) && isPlainObject(b) && isPlainObject(raw[key])) out[key] = applyChanges(raw[key], b, a);
    else if (JSON.stringify(a) !== JSON.stringify(b) || !(key in raw)) out[key] = a;
  }
  return out;
}

/** Refused: the problem, and for an invalid AuthorizationPolicy the deny-all substitute a listing keeps (model/config/fail-closed.ts). */
export type DecodedKv =
  | { readonly ok: true; readonly object: ConfigObject; readonly stored: StoredValue; readonly format: number }
  | { readonly ok: false; readonly problem: StoredProblem; readonly failClosed?: ConfigObject };

/** Decodes and validates a stored object; a value that is not a valid object is a problem, not an object. */
export function decodeKv(layout: KeyLayout, kv: IKeyValue): DecodedKv {
  const key = kv.key.toString();
  const ref = layout.refOf(key);
  const where = layout.objectKeyOf(key);
  if (!ref) return { ok: false, problem: { key, message: 'not an object key' } };
  let value: unknown;
  try {
    value = JSON.parse(kv.value.toString());
  } catch (e) {
    return { ok: false, problem: { key: where, message: `the stored value is not JSON: ${errorMessage(e)}` } };
  }
  const format = storedFormat(value);
  const document = isPlainObject(value) ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== FORMAT_FIELD)) : value;
  const decoded = fromDocument(document, `etcd:${key}`, { file: `etcd:${key}`, line: 0, column: 0, order: Number(kv.create_revision) });
  if (!decoded.ok) {
    const problem = { key: where, message: decoded.findings.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join('; ') };
    const substitute = decoded.failClosed;
    const named = substitute !== undefined && substitute.kind === ref.kind && substitute.metadata.namespace === ref.namespace && substitute.metadata.name === ref.name;
    return named ? { ok: false, problem, failClosed: { ...substitute, metadata: { ...substitute.metadata, resourceVersion: String(kv.mod_revision) } } as ConfigObject } : { ok: false, problem };
  }
  const o = decoded.object;
  if (o.kind !== ref.kind || o.metadata.namespace !== ref.namespace || o.metadata.name !== ref.name) {
    return { ok: false, problem: { key: where, message: `the stored object is ${objectKey(o)}, not the one its key names` } };
  }
  return { ok: true, object: { ...o, metadata: { ...o.metadata, resourceVersion: String(kv.mod_revision) } } as ConfigObject, stored: { raw: document as Record<string, unknown>, object: o }, format };
}

/**
 * Decodes every listed key-value: the valid objects, and a problem for each invalid one (an invalid
 * AuthorizationPolicy also keeps its deny-all substitute, so it denies rather than vanishes).
 */
export function decodeAll(layout: KeyLayout, kvs: readonly IKeyValue[]): { objects: ConfigObject[]; problems: StoredProblem[] } {
  const objects: ConfigObject[] = [];
  const problems: StoredProblem[] = [];
  for (const kv of kvs) {
    const d = decodeKv(layout, kv);
    if (d.ok) objects.push(d.object);
    else problems.push(d.problem);
    if (!d.ok && d.failClosed !== undefined) objects.push(d.failClosed);
  }
  return { objects, problems };
}

/** The smallest key after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] ?? 0xff) < 0xff) {
      const out = b.subarray(0, i + 1);
      out[i] = (out[i] ?? 0) + 1;
      return out;
    }
  }
  return Buffer.from([0]);
}

export const isKind = (s: string): s is Kind => (KINDS as readonly string[]).includes(s);
