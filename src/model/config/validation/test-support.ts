/**
 * Helpers for the validation unit tests: building resources and describing problems. No Node APIs,
 * so the model folder stays pure; the tests do the asserting.
 */
import type { Problem } from '../../../lib/result/problem.js';
import { formatFieldPath } from '../../../lib/result/problem.js';

const API_VERSIONS: Readonly<Record<string, string>> = {
  ServiceEntry: 'networking.istio.io/v1',
  WorkloadEntry: 'networking.istio.io/v1',
  WorkloadGroup: 'networking.istio.io/v1',
  DestinationRule: 'networking.istio.io/v1',
  VirtualService: 'networking.istio.io/v1',
  PeerAuthentication: 'security.istio.io/v1',
  AuthorizationPolicy: 'security.istio.io/v1',
  Pod: 'v1',
  Service: 'v1',
  Node: 'v1',
  MeshConfig: 'meshbridge.io/v1alpha1',
  MeshNetworks: 'meshbridge.io/v1alpha1',
};

/** A resource of `kind` named "r" in namespace "ns1" with the given spec (and extra metadata). */
export function resource(kind: string, spec: unknown, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: API_VERSIONS[kind] ?? 'example.com/v1', kind, metadata: { name: 'r', namespace: 'ns1', ...metadata }, spec };
}

/** "error spec.hosts[0] V-SE-5" per problem: compact and easy to compare in assertion messages. */
export function summary(problems: readonly Problem[]): string[] {
  return problems.map((p) => `${p.severity} ${formatFieldPath(p.path)} ${p.rule ?? '-'}`);
}

export interface ProblemQuery {
  readonly severity?: 'error' | 'warning';
  /** Field path prefix, formatted as in findings (`spec.ports[0]`). */
  readonly at?: string;
  readonly rule?: string;
}

export function matching(problems: readonly Problem[], query: ProblemQuery): Problem[] {
  return problems.filter(
    (p) =>
      (query.severity === undefined || p.severity === query.severity) &&
      (query.at === undefined || formatFieldPath(p.path).startsWith(query.at)) &&
      (query.rule === undefined || p.rule === query.rule),
  );
}

export function errorsOf(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => p.severity === 'error');
}

export function warningsOf(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => p.severity === 'warning');
}

/** A readable listing for assertion messages. */
export function show(problems: readonly Problem[]): string {
  return problems.map((p) => `  ${p.severity} ${formatFieldPath(p.path)} [${p.rule ?? ''}] ${p.message}`).join('\n') || '  (none)';
}

/** Throws unless some problem matches. */
export function expectProblem(problems: readonly Problem[], query: ProblemQuery): void {
  if (matching(problems, query).length === 0) throw new Error(`expected a problem ${JSON.stringify(query)}, got:\n${show(problems)}`);
}

/** Throws if some problem matches. */
export function expectNoProblem(problems: readonly Problem[], query: ProblemQuery): void {
  const found = matching(problems, query);
  if (found.length > 0) throw new Error(`expected no problem ${JSON.stringify(query)}, got:\n${show(found)}`);
}

/** Throws if there is any error (warnings allowed). */
export function expectValid(problems: readonly Problem[]): void {
  expectNoProblem(problems, { severity: 'error' });
}

/** Throws if there is any problem at all. */
export function expectClean(problems: readonly Problem[]): void {
  if (problems.length > 0) throw new Error(`expected no problems, got:\n${show(problems)}`);
}
