/**
 * The entry point: one resource, given as the plain value parsed from YAML or JSON, in; every
 * problem found, with field paths and rule ids, out. Pure and total: it never throws.
 */
import type { Problem } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import type { KindDefinition } from './kinds.js';
import { KINDS, formatApiVersion, parseApiVersion } from './kinds.js';
import type { JsonObject, Problems } from './json.js';
import { describeValue, isJsonObject, quote, readList, readRequiredString as readRequiredStringField, warnUnknownFields } from './json.js';
import { checkIstioAnnotations, validateMetadata } from './metadata.js';
import { didYouMean } from '../../../lib/text/suggest.js';
import type { ResourceContext, ValidationOptions } from './resource-context.js';
import { errorMessage } from '../../../lib/errors.js';

/** The top-level fields of a Kubernetes object. */
const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** The rule id of an unknown kind: a warning, an error under strict validation (load.ts). */
export const UNKNOWN_KIND_RULE = 'V-UNKNOWN-KIND';

/**
 * Validates one resource. Errors mean Istio (or the Kubernetes apiserver) would refuse it;
 * warnings are accepted-but-suspicious. An unknown kind is a single warning at `kind`.
 */
export function validateResource(raw: unknown, options: ValidationOptions = {}): Problem[] {
  const out: Problems = [];
  try {
    validateInto(raw, options, out);
  } catch (e: unknown) {
    // A bug, not an expected failure: keep the contract (never throw) but say so loudly.
    out.push(error([], `Internal validator error: ${errorMessage(e)}. Please report this.`));
  }
  return out;
}

function validateInto(raw: unknown, options: ValidationOptions, out: Problems, insideList = false): void {
  if (!isJsonObject(raw)) {
    out.push(error([], `A resource must be an object (a mapping) with apiVersion, kind and metadata, not ${describeValue(raw)}.`));
    return;
  }
  const apiVersion = readRequiredString(raw, 'apiVersion', out);
  const kind = readRequiredString(raw, 'kind', out);
  if (kind === undefined) {
    validateMetadata(raw, out);
    return;
  }
  if (kind === 'List' && apiVersion === 'v1') {
    if (insideList) out.push(error(['kind'], 'A List inside a List is not supported; list the resources directly.'));
    else validateListItems(raw, options, out);
    return;
  }
  const definition = KINDS.get(kind);
  if (definition === undefined) {
    const suggestion = didYouMean(kind, KINDS.keys());
    out.push(warning(['kind'], `Unknown kind ${quote(kind)}${apiVersion === undefined ? '' : ` (${apiVersion})`}; meshbridge does not validate or use it.${suggestion}`, UNKNOWN_KIND_RULE));
    return;
  }
  warnUnknownFields(raw, TOP_LEVEL_FIELDS, [], out);
  if (apiVersion !== undefined) checkApiVersion(apiVersion, kind, definition, out);
  const metadata = validateMetadata(raw, out, definition.namespaced);
  const context: ResourceContext = { kind, ...metadata, ipAutoAllocation: options.ipAutoAllocation ?? true };
  if (definition.family === 'istio') checkIstioAnnotations(metadata.annotations, kind === 'AuthorizationPolicy', out);
  definition.validate(raw, context, out);
}

function readRequiredString(raw: JsonObject, key: 'apiVersion' | 'kind', out: Problems): string | undefined {
  return readRequiredStringField(raw, key, [], out, `${key} is required.`);
}

/** A Kubernetes `kind: List` (as `kubectl get -o yaml` writes): every item, with paths under `items[i]`. */
function validateListItems(raw: JsonObject, options: ValidationOptions, out: Problems): void {
  const items = readList(raw, 'items', [], out) ?? [];
  items.forEach((item, i) => {
    const itemProblems: Problems = [];
    validateInto(item, options, itemProblems, true);
    for (const problem of itemProblems) out.push({ ...problem, path: ['items', i, ...problem.path] });
  });
}

function checkApiVersion(apiVersion: string, kind: string, definition: KindDefinition, out: Problems): void {
  const { group, version } = parseApiVersion(apiVersion);
  if (group === definition.group && definition.versions.includes(version)) return;
  const served = definition.versions.map((v) => formatApiVersion(definition.group, v)).join(', ');
  const reason = group === definition.group ? `version ${quote(version)} is not served` : `the API group ${quote(group === '' ? 'core' : group)} does not serve it`;
  out.push(error(['apiVersion'], `${kind} cannot be used with apiVersion ${quote(apiVersion)}: ${reason}; use ${served}.`));
}
