/**
 * Part of the fake Kubernetes API server (TEST DOUBLE): `labelSelector` and `fieldSelector` as
 * kube-apiserver parses them (`k8s.io/apimachinery/pkg/labels` and `fields`). Label selectors support
 * `=`, `==`, `!=`, `in`, `notin`, `key` (exists) and `!key`; field selectors `=`, `==` and `!=` on the
 * fields each kind declares (every kind: `metadata.name`, `metadata.namespace`).
 */
import { badRequest, type JsonObject, type JsonValue } from './status.js';

export type ObjectPredicate = (obj: JsonObject) => boolean;

type LabelRequirement =
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'doesnotexist'; readonly key: string };

/** Splits on commas that are not inside parentheses (`a in (x,y),b`). */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, term: string): string {
  if (!LABEL_KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${term}"`);
  return key;
}

function checkValue(value: string, term: string): string {
  if (!LABEL_VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}" in "${term}"`);
  }
  return value;
}

function parseLabelTerm(term: string): LabelRequirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const [, key = '', op, list = ''] = set;
    const values = list.split(',').map((v) => checkValue(v.trim(), term));
    return { op: op === 'in' ? 'in' : 'notin', key: checkKey(key, term), values };
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (eq) {
    const [, key = '', op, value = ''] = eq;
    return { op: op === '!=' ? 'notin' : 'in', key: checkKey(key, term), values: [checkValue(value.trim(), term)] };
  }
  if (term.startsWith('!')) return { op: 'doesnotexist', key: checkKey(term.slice(1).trim(), term) };
  return { op: 'exists', key: checkKey(term, term) };
}

function labelsOf(obj: JsonObject): Record<string, string> {
  const labels = (obj.metadata as JsonObject | undefined)?.labels;
  return labels && typeof labels === 'object' && !Array.isArray(labels) ? (labels as Record<string, string>) : {};
}

/** Parses a `labelSelector` (400 BadRequest on a syntax error, as the real server answers). */
export function parseLabelSelector(selector: string | null): ObjectPredicate {
  if (selector === null || selector.trim() === '') return () => true;
  const reqs = splitTerms(selector).map(parseLabelTerm);
  return (obj) => {
    const labels = labelsOf(obj);
    return reqs.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case 'doesnotexist':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key] ?? '');
        case 'notin':
          return !has || !r.values.includes(labels[r.key] ?? '');
      }
    });
  };
}

/** Reads a dotted path (`status.phase`) as the string the field selector compares. */
export function fieldValue(obj: JsonObject, path: string): string {
  let cur: JsonValue | undefined = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return '';
    cur = cur[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : JSON.stringify(cur);
}

/**
 * Parses a `fieldSelector` against the fields the kind supports. An unknown field is a 400 BadRequest
 * worded like kube-apiserver's conversion error (`field label not supported: spec.foo`).
 */
export function parseFieldSelector(selector: string | null, supported: readonly string[]): ObjectPredicate {
  if (selector === null || selector.trim() === '') return () => true;
  const terms = splitTerms(selector).map((term) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, field = '', op, value = ''] = m;
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !supported.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return { field, negate: op === '!=', value: value.trim() };
  });
  return (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) !== t.negate);
}
