/**
 * A problem found in an input value: where (a field path inside one resource), what, and how bad.
 * Expected failures are values (STYLE principle 4): validators return lists of problems, never throw.
 */
export type PathSegment = string | number;
export type FieldPath = readonly PathSegment[];

export type Severity = 'error' | 'warning';

export interface Problem {
  readonly severity: Severity;
  /** Path of the offending value inside the resource, e.g. ['spec', 'ports', 0, 'name']. */
  readonly path: FieldPath;
  /** One sentence a person understands. */
  readonly message: string;
  /** The rule of istio-semantics.md this problem implements, when there is one (e.g. 'V-SE-4'). */
  readonly rule?: string;
}

/** `spec.ports[0].name`; map keys are joined with dots (`spec.ports.http`), list indexes in brackets. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

export function error(path: FieldPath, message: string, rule?: string): Problem {
  return rule === undefined ? { severity: 'error', path, message } : { severity: 'error', path, message, rule };
}

export function warning(path: FieldPath, message: string, rule?: string): Problem {
  return rule === undefined ? { severity: 'warning', path, message } : { severity: 'warning', path, message, rule };
}
