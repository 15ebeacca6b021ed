/**
 * kubectl's label selectors (`-l`): requirements separated by commas, all of which must hold:
 * `k=v` / `k==v`, `k!=v` (also true when k is absent), `k` (exists), `!k` (absent),
 * `k in (a,b)`, `k notin (a,b)` (also true when k is absent).
 */
import { UsageError } from './output.js';

export type Requirement =
  | { readonly op: 'in'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists'; readonly key: string }
  | { readonly op: '!exists'; readonly key: string };

export type Selector = readonly Requirement[];

/** A label key (optional DNS prefix and `/`) and a label value (possibly empty), as Kubernetes allows them. */
const KEY = '[A-Za-z0-9][A-Za-z0-9._/-]*';
const VALUE = '[A-Za-z0-9._-]*';

/** Splits at commas outside parentheses. */
function requirementsText(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

export function parseSelector(text: string): Selector {
  return requirementsText(text).map((r): Requirement => {
    const set = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(((?:\\s*${VALUE}\\s*,)*\\s*${VALUE}\\s*)\\)$`).exec(r);
    if (set) return { op: set[2] === 'in' ? 'in' : 'notin', key: set[1] ?? '', values: (set[3] ?? '').split(',').map((v) => v.trim()) };
    const neq = new RegExp(`^(${KEY})\\s*!=\\s*(${VALUE})$`).exec(r);
    if (neq) return { op: 'notin', key: neq[1] ?? '', values: [neq[2] ?? ''] };
    const eq = new RegExp(`^(${KEY})\\s*==?\\s*(${VALUE})$`).exec(r);
    if (eq) return { op: 'in', key: eq[1] ?? '', values: [eq[2] ?? ''] };
    const absent = new RegExp(`^!\\s*(${KEY})$`).exec(r);
    if (absent) return { op: '!exists', key: absent[1] ?? '' };
    if (new RegExp(`^${KEY}$`).test(r)) return { op: 'exists', key: r };
    throw new UsageError(`-l ${JSON.stringify(text)}: cannot read ${JSON.stringify(r)}; use k=v, k!=v, k, !k, k in (a,b) or k notin (a,b)`);
  });
}

export function matchesSelector(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const value = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
    switch (r.op) {
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
    }
  });
}
