import { formatFieldPath, type Severity } from '../../lib/result/problem.js';
import { formatLimitPath, objectLimitProblem } from './limits.js';
import { parseConfigText, type ParsedResource } from './parse.js';
import { CLUSTER_SCOPED_KINDS, KINDS, type ConfigObject, type Kind, type ObjectMeta, type StringMap } from './types.js';
import { validateResource } from './validation/index.js';
import { failClosedSubstitute } from './fail-closed.js';
import { UNKNOWN_FIELD_RULE } from './validation/json.js';
import { UNKNOWN_KIND_RULE } from './validation/validate-resource.js';
import { errorMessage } from '../../lib/errors.js';

/** A validation or syntax finding, positioned (cli-contract `Finding`). */
export interface Finding {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly field: string;
  readonly message: string;
  readonly rule?: string;
}

export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

export interface LoadResult {
  /**
   * Objects that passed validation (warnings allowed), and the fail-closed substitutes of invalid
   * AuthorizationPolicies (fail-closed.ts: their error findings are reported all the same), in load order.
   */
  readonly objects: ConfigObject[];
  readonly findings: Finding[];
  /** Number of resources read (valid or not). */
  readonly resources: number;
}

/**
 * Parses, validates and decodes configuration files. Files are taken in path order, documents in
 * file order; that order is each object's `origin.order` (creation order where no
 * creationTimestamp is set). An object with an error is left out and reported; nothing throws.
 */
export interface LoadOptions {
  /**
   * Strict validation (`validate --strict`, `apply`: kubectl's default strict field validation):
   * unknown fields and unknown kinds are errors instead of warnings.
   */
  readonly strict?: boolean;
}

/** The rules that strict validation turns from warnings into errors. */
const STRICT_RULES: ReadonlySet<string> = new Set([UNKNOWN_FIELD_RULE, UNKNOWN_KIND_RULE]);

export function loadConfig(files: readonly SourceFile[], options: LoadOptions = {}): LoadResult {
  const objects: ConfigObject[] = [];
  const findings: Finding[] = [];
  let resources = 0;
  let order = 0;
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    const parsed = parseConfigText(f.path, f.text);
    for (const p of parsed.problems) {
      findings.push({ severity: 'error', file: p.file, line: p.line, column: p.column, kind: '', namespace: '', name: '', field: '', message: p.message });
    }
    for (const r of parsed.resources) {
      resources++;
      const result = loadResource(r, order++, options);
      findings.push(...result.findings);
      const object = result.object ?? result.failClosed;
      if (object) objects.push(object);
    }
  }
  return { objects, findings, resources };
}

/**
 * Validates and decodes one parsed resource. Every path (files, `apply`, store documents) comes
 * here: an object over the size or depth limit (limits.ts) is refused before anything else reads it.
 * An invalid AuthorizationPolicy has no `object` but a `failClosed` substitute (fail-closed.ts) for
 * readers that must not let it vanish.
 */
export function loadResource(r: ParsedResource, order: number, options: LoadOptions = {}): { object?: ConfigObject; failClosed?: ConfigObject; findings: Finding[] } {
  const id = identify(r.value);
  const limit = objectLimitProblem(r.value);
  if (limit !== undefined) {
    const pos = r.locate(limit.path);
    return { findings: [{ severity: 'error', file: r.file, line: pos.line, column: pos.column, ...id, field: formatLimitPath(limit.path), message: limit.message }] };
  }
  let problems;
  try {
    problems = validateResource(r.value);
  } catch (e) {
    // A validator bug must not take the process down with it: report it as a finding.
    problems = [{ severity: 'error' as const, path: [], message: `internal validation error: ${errorMessage(e)}` }];
  }
  const findings = problems.map((p): Finding => {
    const pos = r.locate(p.path);
    const severity = options.strict === true && p.rule !== undefined && STRICT_RULES.has(p.rule) ? 'error' : p.severity;
    const base = { severity, file: r.file, line: pos.line, column: pos.column, ...id, field: formatFieldPath(p.path), message: p.message };
    return p.rule === undefined ? base : { ...base, rule: p.rule };
  });
  const pos = r.locate([]);
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    const substitute = failClosedSubstitute(r.value, describeFindings(errors), { file: r.file, line: pos.line, column: pos.column, order });
    return substitute ? { findings, failClosed: substitute } : { findings };
  }
  const object = decode(r.value, { file: r.file, line: pos.line, column: pos.column, order });
  return object ? { object, findings } : { findings };
}

/** A one-line reason for a refused document. */
export function describeFindings(findings: readonly Pick<Finding, 'field' | 'message'>[]): string {
  return findings.map((f) => (f.field !== '' ? `${f.field}: ${f.message}` : f.message)).join('; ');
}

function identify(value: unknown): { kind: string; namespace: string; name: string } {
  const v = asRecord(value);
  const meta = asRecord(v.metadata);
  const kind = typeof v.kind === 'string' ? v.kind : '';
  const clusterScoped = (CLUSTER_SCOPED_KINDS as ReadonlySet<string>).has(kind);
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  return { kind, namespace: clusterScoped ? '' : ns, name: typeof meta.name === 'string' ? meta.name : '' };
}

/** Turns a validated document into a typed object; undefined for kinds meshbridge does not read. */
function decode(value: unknown, origin: ConfigObject['origin']): ConfigObject | undefined {
  const v = asRecord(value);
  const kind = v.kind;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) return undefined;
  const k = kind as Kind;
  const m = asRecord(v.metadata);
  const metadata: ObjectMeta = {
    name: typeof m.name === 'string' ? m.name : '',
    namespace: CLUSTER_SCOPED_KINDS.has(k) ? '' : typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default',
    labels: stringMap(m.labels),
    annotations: stringMap(m.annotations),
    ...optionalString('creationTimestamp', m.creationTimestamp),
    ...optionalString('resourceVersion', m.resourceVersion),
    ...optionalString('deletionTimestamp', m.deletionTimestamp),
    ...optionalString('uid', m.uid),
    ...(typeof m.generation === 'number' ? { generation: m.generation } : {}),
  };
  const obj = {
    kind: k,
    apiVersion: typeof v.apiVersion === 'string' ? v.apiVersion : '',
    metadata,
    spec: asRecord(v.spec),
    ...(v.status !== undefined && v.status !== null ? { status: asRecord(v.status) } : {}),
    origin,
  };
  // The shape of spec and status was checked by validateResource.
  return obj as unknown as ConfigObject;
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function stringMap(v: unknown): StringMap {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(asRecord(v))) if (typeof val === 'string') out[k] = val;
  return out;
}

function optionalString<K extends string>(key: K, v: unknown): { [P in K]?: string } {
  return (typeof v === 'string' ? { [key]: v } : {}) as { [P in K]?: string };
}
