/**
 * Reading untrusted, already-parsed YAML/JSON values with field paths.
 *
 * Contract: every reader takes any value at all, never throws, and reports a wrong JSON type as an
 * error at the field's path. `null` and a missing key both mean "absent" (the Kubernetes apiserver
 * drops nulls of non-nullable fields, and protobuf JSON treats them as unset); a `null` *list item*
 * is not absent and callers report it. Keys are read as own properties only, so names such as
 * `constructor` or `__proto__` are never looked up on the prototype chain.
 */
import type { FieldPath, Problem } from '../../../lib/result/problem.js';
import { error, formatFieldPath, warning } from '../../../lib/result/problem.js';
import { didYouMean } from '../../../lib/text/suggest.js';

export type JsonObject = { readonly [key: string]: unknown };

/** Where problems are collected while one resource is validated. */
export type Problems = Problem[];

export const INT32_MAX = 2_147_483_647;
export const UINT32_MAX = 4_294_967_295;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of an own property, or undefined. */
export function fieldOf(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** True when the key is present with a non-null value (protobuf/CRD field presence). */
export function isPresent(obj: JsonObject, key: string): boolean {
  const value = fieldOf(obj, key);
  return value !== undefined && value !== null;
}

/** A string shown inside a message: JSON-quoted and cut to a readable length. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/** A short description of a value's JSON type (and the value when short), for type errors. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${quote(value, 40)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return `the boolean ${String(value)}`;
  if (typeof value === 'object') return 'an object';
  return `a value of type ${typeof value}`;
}

/** `spec.ports[0].number` for messages; the resource root is called "the resource". */
export function fieldName(path: FieldPath): string {
  return path.length === 0 ? 'the resource' : formatFieldPath(path);
}

export function typeError(path: FieldPath, expected: string, value: unknown): Problem {
  return error(path, `${fieldName(path)} must be ${expected}, not ${describeValue(value)}.`);
}

export function childPath(path: FieldPath, key: string | number): FieldPath {
  return [...path, key];
}

/** An object field; a wrong type is an error. Absent or null gives undefined. */
export function readObject(obj: JsonObject, key: string, path: FieldPath, out: Problems): JsonObject | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  if (isJsonObject(value)) return value;
  out.push(typeError(childPath(path, key), 'an object (a mapping)', value));
  return undefined;
}

export function readList(obj: JsonObject, key: string, path: FieldPath, out: Problems): readonly unknown[] | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value as readonly unknown[];
  out.push(typeError(childPath(path, key), 'a list', value));
  return undefined;
}

export function readString(obj: JsonObject, key: string, path: FieldPath, out: Problems): string | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  out.push(typeError(childPath(path, key), 'a string', value));
  return undefined;
}

/**
 * A string that must be present and non-empty: a missing, null or empty value is reported with
 * `missingMessage` (and `rule`); a wrong type as a type error. Returns the non-empty string or undefined.
 */
export function readRequiredString(
  obj: JsonObject,
  key: string,
  path: FieldPath,
  out: Problems,
  missingMessage: string,
  rule?: string,
): string | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null || value === '') {
    out.push(error(childPath(path, key), missingMessage, rule));
    return undefined;
  }
  return readString(obj, key, path, out);
}

export function readBoolean(obj: JsonObject, key: string, path: FieldPath, out: Problems): boolean | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  out.push(typeError(childPath(path, key), 'true or false', value));
  return undefined;
}

/**
 * A whole number. Strings (even "80") are errors, as the CRD schemas declare `type: integer`.
 * Returns undefined when absent or of the wrong type; range checks are the caller's (the message
 * depends on the rule), except that `bounds` gives a generic range check.
 */
export function readInteger(
  obj: JsonObject,
  key: string,
  path: FieldPath,
  out: Problems,
  bounds?: { readonly min: number; readonly max: number },
): number | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  return asInteger(value, childPath(path, key), out, bounds);
}

/** `value` as a whole number, or an error at `path`. */
export function asInteger(
  value: unknown,
  path: FieldPath,
  out: Problems,
  bounds?: { readonly min: number; readonly max: number },
): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else {
    out.push(typeError(path, 'a whole number', value));
    return undefined;
  }
  if (!Number.isFinite(n) || !Number.isInteger(n)) {
    out.push(error(path, `${fieldName(path)} must be a whole number, not ${String(value)}.`));
    return undefined;
  }
  if (bounds !== undefined && (n < bounds.min || n > bounds.max)) {
    out.push(error(path, `${fieldName(path)} must be between ${bounds.min} and ${bounds.max}, not ${String(value)}.`));
    return undefined;
  }
  return n;
}

/** A number (fractions allowed), e.g. a percentage. */
export function readNumber(obj: JsonObject, key: string, path: FieldPath, out: Problems): number | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  out.push(typeError(childPath(path, key), 'a number', value));
  return undefined;
}

/**
 * A list of strings. Items keep their index; an item of another type (null included) is an error
 * and is returned as undefined so that later checks can skip it.
 */
export function readStringList(
  obj: JsonObject,
  key: string,
  path: FieldPath,
  out: Problems,
): ReadonlyArray<string | undefined> | undefined {
  const list = readList(obj, key, path, out);
  if (list === undefined) return undefined;
  const listPath = childPath(path, key);
  return list.map((item, i) => {
    if (typeof item === 'string') return item;
    out.push(typeError(childPath(listPath, i), 'a string', item));
    return undefined;
  });
}

/**
 * A map from string to string (labels, annotations, selectors). Entries whose value is not a
 * string are reported (a YAML `version: 1` is a number and Kubernetes refuses it) and left out.
 */
export function readStringMap(
  obj: JsonObject,
  key: string,
  path: FieldPath,
  out: Problems,
): ReadonlyMap<string, string> | undefined {
  const map = readObject(obj, key, path, out);
  if (map === undefined) return undefined;
  return stringEntries(map, childPath(path, key), out);
}

export function stringEntries(map: JsonObject, path: FieldPath, out: Problems): ReadonlyMap<string, string> {
  const entries = new Map<string, string>();
  for (const [k, v] of Object.entries(map)) {
    if (typeof v === 'string') entries.set(k, v);
    else out.push(typeError(childPath(path, k), 'a string (quote it in YAML)', v));
  }
  return entries;
}

/** One of the exact strings of an enum (protobuf JSON names; numbers are refused, as by the CRDs). */
export function readEnum<T extends string>(
  obj: JsonObject,
  key: string,
  allowed: readonly T[],
  path: FieldPath,
  out: Problems,
  rule?: string,
): T | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  const at = childPath(path, key);
  const found = allowed.find((a) => a === value);
  if (found !== undefined) return found;
  const shown = typeof value === 'string' ? quote(value) : describeValue(value);
  out.push(error(at, `${fieldName(at)} must be one of ${allowed.join(', ')}, not ${shown}.`, rule));
  return undefined;
}

/** The rule id of an unknown field: a warning, an error under strict validation (load.ts). */
export const UNKNOWN_FIELD_RULE = 'V-UNKNOWN-FIELD';

/**
 * Warns about keys that the schema of this object does not define (the CRD would drop them), with
 * the closest known field as a suggestion (a typo such as `workloadSelecter` otherwise silently
 * empties a selector).
 */
export function warnUnknownFields(obj: JsonObject, known: readonly string[], path: FieldPath, out: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      out.push(warning(childPath(path, key), `unknown field ${quote(key)} in ${fieldName(path)}; it is ignored.${didYouMean(key, known)}`, UNKNOWN_FIELD_RULE));
    }
  }
}

/** Reports a list item that is not an object (null included); returns the object or undefined. */
export function asObjectItem(item: unknown, path: FieldPath, out: Problems, what: string): JsonObject | undefined {
  if (isJsonObject(item)) return item;
  if (item === null || item === undefined) out.push(error(path, `${what} ${fieldName(path)} must not be null.`));
  else out.push(typeError(path, 'an object (a mapping)', item));
  return undefined;
}

/** Reports a list with more items than a CRD allows. */
export function checkMaxItems(
  list: readonly unknown[] | undefined,
  max: number,
  path: FieldPath,
  out: Problems,
  rule?: string,
): void {
  if (list !== undefined && list.length > max) {
    out.push(error(path, `${fieldName(path)} has ${list.length} items; at most ${max} are allowed.`, rule));
  }
}

export function checkMaxLength(value: string | undefined, max: number, path: FieldPath, out: Problems, rule?: string): void {
  if (value !== undefined && value.length > max) {
    out.push(error(path, `${fieldName(path)} is ${value.length} characters long; at most ${max} are allowed.`, rule));
  }
}

/** `spec` as an object; absent or null means an empty spec, so that required fields get reported. */
export function readSpec(resource: JsonObject, out: Problems): JsonObject | undefined {
  const raw = fieldOf(resource, 'spec');
  if (raw === undefined || raw === null) return {};
  if (isJsonObject(raw)) return raw;
  out.push(typeError(['spec'], 'an object (a mapping)', raw));
  return undefined;
}
