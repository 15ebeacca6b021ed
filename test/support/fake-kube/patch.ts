/**
 * Part of the fake Kubernetes API server (TEST DOUBLE): the patch formats kube-apiserver accepts.
 * - JSON patch (RFC 6902, `application/json-patch+json`), error texts as evanphx/json-patch words them;
 * - JSON merge patch (RFC 7386, `application/merge-patch+json`);
 * - strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds, driven by a
 *   table of merge keys (containers by `name`, conditions by `type`, …) with the directives kubectl
 *   sends: `$patch: replace|delete|merge`, `$setElementOrder/<field>`, `$deleteFromPrimitiveList/<field>`
 *   and `$retainKeys`;
 * - server-side apply's field sets (`fieldsV1`), lists atomic as for custom resources.
 */
import { badRequest, unprocessablePatch, type JsonObject, type JsonValue } from './status.js';

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}

export function clone<T extends JsonValue>(v: T): T {
  return structuredClone(v);
}

export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const ak = Object.keys(ao);
  return ak.length === Object.keys(bo).length && ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]));
}

// ---------------------------------------------------------------- JSON patch (RFC 6902)

interface JsonPatchOp {
  readonly op: string;
  readonly path: string;
  readonly from?: string;
  readonly value?: JsonValue;
  readonly hasValue: boolean;
}

/** Decodes the body; anything but a JSON array of objects is a 400, as `jsonpatch.DecodePatch` fails. */
export function decodeJsonPatch(body: string): JsonPatchOp[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return parsed.map((raw: unknown) => {
    if (!isObject(raw as JsonValue)) throw badRequest('json: cannot unmarshal non-object into Go value of type jsonpatch.Operation');
    const o = raw as JsonObject;
    return {
      op: typeof o.op === 'string' ? o.op : '',
      path: typeof o.path === 'string' ? o.path : '',
      ...(typeof o.from === 'string' ? { from: o.from } : {}),
      ...(Object.hasOwn(o, 'value') ? { value: o.value ?? null } : {}),
      hasValue: Object.hasOwn(o, 'value'),
    };
  });
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw unprocessablePatch(`add operation does not apply: doc is missing path: "${path}": missing value`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = JsonObject | JsonValue[];

/** The parent container and last key of a pointer, or undefined when a segment is missing. */
function parentOf(doc: JsonValue, parts: readonly string[]): { parent: Container; key: string } | undefined {
  let cur: JsonValue | undefined = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObject(cur)) cur = cur[part];
    else return undefined;
  }
  const key = parts[parts.length - 1];
  if (key === undefined || (!Array.isArray(cur) && !isObject(cur))) return undefined;
  return { parent: cur, key };
}

function getAt(doc: JsonValue, parts: readonly string[]): JsonValue | undefined {
  if (parts.length === 0) return doc;
  const p = parentOf(doc, parts);
  if (!p) return undefined;
  return Array.isArray(p.parent) ? p.parent[Number(p.key)] : p.parent[p.key];
}

function arrayIndex(arr: readonly JsonValue[], key: string, forInsert: boolean): number | undefined {
  if (forInsert && key === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) return undefined;
  const i = Number(key);
  return i < arr.length || (forInsert && i === arr.length) ? i : undefined;
}

function addAt(doc: JsonValue, path: string, value: JsonValue, opName: string): JsonValue {
  const parts = pointer(path);
  if (parts.length === 0) return value;
  const p = parentOf(doc, parts);
  if (!p) throw unprocessablePatch(`${opName} operation does not apply: doc is missing path: "${path}": missing value`);
  if (Array.isArray(p.parent)) {
    const i = arrayIndex(p.parent, p.key, true);
    if (i === undefined) throw unprocessablePatch(`Unable to access invalid index: ${p.key}: invalid index referenced`);
    p.parent.splice(i, 0, value);
  } else p.parent[p.key] = value;
  return doc;
}

function removeAt(doc: JsonValue, path: string, opName: string): JsonValue {
  const parts = pointer(path);
  const p = parentOf(doc, parts);
  const missing = (): never => {
    throw unprocessablePatch(`${opName} operation does not apply: doc is missing path: "${path}": missing value`);
  };
  if (!p) return missing();
  if (Array.isArray(p.parent)) {
    const i = arrayIndex(p.parent, p.key, false);
    if (i === undefined) return missing();
    p.parent.splice(i, 1);
  } else {
    if (!Object.hasOwn(p.parent, p.key)) return missing();
    delete p.parent[p.key];
  }
  return doc;
}

/** Applies RFC 6902 operations; an operation that cannot apply is a 422 (`NewGenericServerResponse`). */
export function applyJsonPatch(target: JsonObject, ops: readonly JsonPatchOp[]): JsonObject {
  let doc: JsonValue = clone(target);
  for (const op of ops) {
    const needValue = (): JsonValue => {
      if (!op.hasValue) throw unprocessablePatch(`${op.op} operation does not apply: missing value`);
      return clone(op.value ?? null);
    };
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, needValue(), 'add');
        break;
      case 'remove':
        doc = removeAt(doc, op.path, 'remove');
        break;
      case 'replace': {
        const value = needValue();
        if (getAt(doc, pointer(op.path)) === undefined) {
          throw unprocessablePatch(`replace operation does not apply: doc is missing key: ${op.path}: missing value`);
        }
        doc = op.path === '' ? value : addAt(removeAt(doc, op.path, 'replace'), op.path, value, 'replace');
        break;
      }
      case 'move':
      case 'copy': {
        const from = op.from ?? '';
        const value = getAt(doc, pointer(from));
        if (value === undefined) throw unprocessablePatch(`${op.op} operation does not apply: doc is missing from path: ${from}: missing value`);
        if (op.op === 'move') doc = removeAt(doc, from, 'move');
        doc = addAt(doc, op.path, clone(value), op.op);
        break;
      }
      case 'test': {
        const want = needValue();
        if (!jsonEqual(getAt(doc, pointer(op.path)), want)) throw unprocessablePatch(`testing value ${op.path} failed: test failed`);
        break;
      }
      default:
        throw unprocessablePatch(`Unexpected kind: ${op.op}`);
    }
  }
  if (!isObject(doc)) throw unprocessablePatch('the patched document is not an object');
  return doc;
}

// ---------------------------------------------------------------- JSON merge patch (RFC 7386)

export function parsePatchObject(body: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  if (!isObject(parsed as JsonValue)) throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
  return parsed as JsonObject;
}

export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---------------------------------------------------------------- strategic merge patch

/**
 * Patch metadata of a built-in kind: list fields (dotted path from the object root, list items not
 * counted) merged by a key, or primitive lists merged as sets. Lists not named here are replaced.
 */
export interface StrategicPatchMeta {
  readonly mergeKeys: Readonly<Record<string, string>>;
  readonly primitiveSets?: readonly string[];
}

export const COMMON_STRATEGIC_META: StrategicPatchMeta = {
  mergeKeys: { 'metadata.ownerReferences': 'uid' },
  primitiveSets: ['metadata.finalizers'],
};

function mergeKeyOf(meta: StrategicPatchMeta, path: string): string | undefined {
  return meta.mergeKeys[path] ?? COMMON_STRATEGIC_META.mergeKeys[path];
}

function isPrimitiveSet(meta: StrategicPatchMeta, path: string): boolean {
  return (meta.primitiveSets ?? []).includes(path) || (COMMON_STRATEGIC_META.primitiveSets ?? []).includes(path);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function orderBy(items: JsonValue[], order: JsonValue | undefined, key: string | undefined): JsonValue[] {
  if (!Array.isArray(order)) return items;
  const id = (v: JsonValue): JsonValue | undefined => (key !== undefined && isObject(v) ? v[key] : v);
  const wanted = order.map((o) => (key !== undefined && isObject(o) ? o[key] : o));
  const ranked = items.map((item, i) => {
    const at = wanted.findIndex((w) => jsonEqual(w, id(item)));
    return { item, rank: at === -1 ? wanted.length + i : at };
  });
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.item);
}

function mergeList(orig: JsonValue | undefined, patch: JsonValue[], meta: StrategicPatchMeta, path: string): JsonValue[] {
  const key = mergeKeyOf(meta, path);
  const base = Array.isArray(orig) ? clone(orig) : [];
  if (isPrimitiveSet(meta, path)) {
    for (const v of patch) if (!base.some((b) => jsonEqual(b, v))) base.push(clone(v));
    return base;
  }
  if (key === undefined) return patch.filter((p) => !(isObject(p) && p.$patch !== undefined)).map((p) => clone(p));
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p.$patch === 'replace')).map((p) => strip(p));
  }
  for (const item of patch) {
    if (!isObject(item)) continue;
    const at = base.findIndex((b) => isObject(b) && jsonEqual(b[key], item[key]));
    if (item.$patch === 'delete') {
      if (at !== -1) base.splice(at, 1);
      continue;
    }
    if (at === -1) base.push(strip(item));
    else base[at] = strategicMerge(base[at], item, meta, path);
  }
  return base;
}

/** Drops SMP directives from a value that has no original to merge into. */
function strip(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(strip);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$') && x !== null) out[k] = strip(x);
  return out;
}

/** Applies a strategic merge patch to `orig` (the object, or a sub-map at `path`). */
export function strategicMerge(orig: JsonValue | undefined, patch: JsonValue, meta: StrategicPatchMeta, path = ''): JsonValue {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') return strip(patch);
  const out: JsonObject = isObject(orig) ? clone(orig) : {};
  const orders: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/')) orders[k.slice('$setElementOrder/'.length)] = v;
    else if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(v)) out[field] = current.filter((c) => !v.some((d) => jsonEqual(c, d)));
    } else if (k.startsWith('$')) continue;
    else if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(out[k], v, meta, join(path, k));
    else if (isObject(v) && v.$patch === 'delete') delete out[k];
    else if (isObject(v)) out[k] = strategicMerge(out[k], v, meta, join(path, k));
    else out[k] = v;
  }
  for (const [field, order] of Object.entries(orders)) {
    const list = out[field];
    if (Array.isArray(list)) out[field] = orderBy(list, order, mergeKeyOf(meta, join(path, field)));
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

// ---------------------------------------------------------------- server-side apply field sets

/** A field path as JSON text of its segments (keys may contain dots and slashes). */
export type FieldPath = string;

/** Leaf paths of an applied configuration; lists are atomic (no `x-kubernetes-list-type`). */
export function leafPaths(v: JsonValue, prefix: readonly string[] = []): FieldPath[] {
  if (!isObject(v) || (Object.keys(v).length === 0 && prefix.length > 0)) return [JSON.stringify(prefix)];
  return Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...prefix, k]));
}

export function segments(p: FieldPath): string[] {
  return JSON.parse(p) as string[];
}

/** True when one path is the other or contains it. */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const x = segments(a);
  const y = segments(b);
  const n = Math.min(x.length, y.length);
  return x.slice(0, n).every((s, i) => s === y[i]);
}

export function valueAt(obj: JsonValue, path: FieldPath): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const s of segments(path)) cur = isObject(cur) ? cur[s] : undefined;
  return cur;
}

export function deleteAt(obj: JsonObject, path: FieldPath): void {
  const segs = segments(path);
  const last = segs.pop();
  let cur: JsonValue | undefined = obj;
  for (const s of segs) cur = isObject(cur) ? cur[s] : undefined;
  if (isObject(cur) && last !== undefined) delete cur[last];
}

/** `fieldsV1` as the real server writes it: `{"f:spec":{"f:address":{}}}`. */
export function toFieldsV1(paths: readonly FieldPath[]): JsonObject {
  const root: JsonObject = {};
  for (const p of paths) {
    let cur = root;
    for (const s of segments(p)) {
      const key = `f:${s}`;
      const next = cur[key];
      cur = isObject(next) ? next : (cur[key] = {});
    }
  }
  return root;
}

export function fromFieldsV1(f: JsonValue | undefined, prefix: readonly string[] = []): FieldPath[] {
  if (!isObject(f)) return [];
  const keys = Object.keys(f).filter((k) => k.startsWith('f:'));
  if (keys.length === 0) return prefix.length > 0 ? [JSON.stringify(prefix)] : [];
  return keys.flatMap((k) => fromFieldsV1(f[k], [...prefix, k.slice(2)]));
}

/** Deep merge for apply: maps merge, everything else (lists included) is replaced. */
export function applyMerge(target: JsonValue | undefined, config: JsonValue): JsonValue {
  if (!isObject(config)) return clone(config);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(config)) out[k] = applyMerge(out[k], v);
  return out;
}
