/**
 * Invalid AuthorizationPolicies fail closed (issue 11): an AuthorizationPolicy that does not
 * validate, found where it cannot be refused any more (a configuration folder read at start, a
 * store listed after a restart, objects written around admission or valid under older, laxer
 * rules), is not left out — leaving out a DENY policy would allow what it denied. It is kept as a
 * substitute that denies:
 * - DENY, CUSTOM (meshbridge has no external authorizer), or an action that cannot be read: a DENY
 *   policy with one empty rule, which denies every request to the workloads it selects;
 * - ALLOW: an ALLOW policy without rules, which allows nothing (only other ALLOW policies can);
 * - AUDIT: nothing to enforce, so no substitute.
 * Its selection is the original's when that can be read (`selector.matchLabels` a map of strings,
 * `targetRef(s)` kept as they are), else the whole namespace. The substitute carries the
 * annotation `meshbridge.io/invalid` with the reason, so `get` and the registry show it for what
 * it is. Pure.
 */
import type { AuthorizationPolicy, Origin, StringMap } from './types.js';

export const INVALID_ANNOTATION = 'meshbridge.io/invalid';

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function stringMapOrUndefined(v: unknown): StringMap | undefined {
  const r = asRecord(v);
  if (r === undefined || !Object.values(r).every((x) => typeof x === 'string')) return undefined;
  return r as StringMap;
}

/**
 * The deny-all stand-in of an invalid document (see the module comment); undefined when it is not
 * an AuthorizationPolicy with a readable name, or needs none (AUDIT).
 */
export function failClosedSubstitute(raw: unknown, reason: string, origin: Origin): AuthorizationPolicy | undefined {
  const doc = asRecord(raw);
  if (doc?.['kind'] !== 'AuthorizationPolicy') return undefined;
  const meta = asRecord(doc['metadata']) ?? {};
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') return undefined;
  const namespace = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
  const spec = asRecord(doc['spec']) ?? {};
  const action = spec['action'] ?? 'ALLOW';
  if (action === 'AUDIT') return undefined;
  const matchLabels = stringMapOrUndefined(asRecord(spec['selector'])?.['matchLabels']);
  const targets = Object.fromEntries(['targetRef', 'targetRefs'].filter((k) => spec[k] !== undefined && spec[k] !== null).map((k) => [k, spec[k]]));
  return {
    kind: 'AuthorizationPolicy',
    apiVersion: typeof doc['apiVersion'] === 'string' ? doc['apiVersion'] : 'security.istio.io/v1',
    metadata: { name, namespace, labels: stringMapOrUndefined(meta['labels']) ?? {}, annotations: { ...stringMapOrUndefined(meta['annotations']), [INVALID_ANNOTATION]: reason } },
    spec: {
      ...targets,
      ...(matchLabels !== undefined && Object.keys(matchLabels).length > 0 ? { selector: { matchLabels } } : {}),
      ...(action === 'ALLOW' ? { action: 'ALLOW', rules: [] } : { action: 'DENY', rules: [{}] }),
    },
    origin,
  };
}
