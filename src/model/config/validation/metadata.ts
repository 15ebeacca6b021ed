/**
 * `metadata` checks common to every kind (the Kubernetes apiserver's rules) and the annotations
 * Istio's webhook refuses on user objects (V-META-1, V-META-2).
 */
import { error } from '../../../lib/result/problem.js';
import { checkLabelSyntax, capitalize } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { fieldOf, isJsonObject, quote, readRequiredString, readString, readStringMap, typeError, warnUnknownFields } from './json.js';
import { isKubeDNS1123Label, isKubeDNS1123Subdomain, labelKeyProblem } from './names.js';

export interface ResourceMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly annotations: ReadonlyMap<string, string>;
}

const METADATA = ['metadata'] as const;
/** The fields of Kubernetes' ObjectMeta (meta/v1). */
const OBJECT_META_FIELDS = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
];
/** Kubernetes limits all annotations of one object together to 256 KiB. */
const MAX_ANNOTATIONS_SIZE = 256 * 1024;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
const ALWAYS_REJECTED_ANNOTATIONS = [
  'internal.istio.io/webhook-always-reject',
  'internal.istio.io/parent-namespace',
  'internal.istio.io/parents',
] as const;

/**
 * Reads and checks `metadata`; missing parts come back as '' / 'default' / empty maps. For
 * cluster-scoped kinds (`namespaced: false`) metadata.namespace is ignored, as Kubernetes does.
 */
export function validateMetadata(resource: JsonObject, out: Problems, namespaced = true): ResourceMetadata {
  const empty: ResourceMetadata = { name: '', namespace: 'default', labels: new Map(), annotations: new Map() };
  const metadata = fieldOf(resource, 'metadata');
  if (metadata === undefined || metadata === null) {
    out.push(error(METADATA, 'metadata is required (with at least a name).'));
    return empty;
  }
  if (!isJsonObject(metadata)) {
    out.push(typeError(METADATA, 'an object (a mapping)', metadata));
    return empty;
  }
  warnUnknownFields(metadata, OBJECT_META_FIELDS, METADATA, out);
  const name = readName(metadata, out);
  const namespace = namespaced ? readNamespace(metadata, out) : ignoredNamespace(metadata, out);
  const labels = readStringMap(metadata, 'labels', METADATA, out) ?? new Map<string, string>();
  checkLabelSyntax(labels, [...METADATA, 'labels'], out, 'V-SUB-9', { kubernetesMetadata: true });
  const annotations = readStringMap(metadata, 'annotations', METADATA, out) ?? new Map<string, string>();
  checkAnnotationKeys(annotations, out);
  checkCreationTimestamp(metadata, out);
  return { name, namespace, labels, annotations };
}

function readName(metadata: JsonObject, out: Problems): string {
  const name = readRequiredString(metadata, 'name', METADATA, out, 'metadata.name is required.');
  if (name === undefined) return '';
  if (!isKubeDNS1123Subdomain(name)) {
    out.push(
      error([...METADATA, 'name'], `metadata.name ${quote(name)} is invalid: use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit (at most 253).`),
    );
  }
  return name;
}

function readNamespace(metadata: JsonObject, out: Problems): string {
  const namespace = readString(metadata, 'namespace', METADATA, out);
  if (namespace === undefined || namespace === '') return 'default';
  if (!isKubeDNS1123Label(namespace)) {
    out.push(
      error(
        [...METADATA, 'namespace'],
        `metadata.namespace ${quote(namespace)} is invalid: use lower-case letters, digits and "-", starting and ending with a letter or digit (at most 63).`,
      ),
    );
  }
  return namespace;
}

/** A cluster-scoped kind's namespace: only its type is checked; the value is not used. */
function ignoredNamespace(metadata: JsonObject, out: Problems): string {
  readString(metadata, 'namespace', METADATA, out);
  return 'default';
}

function checkAnnotationKeys(annotations: ReadonlyMap<string, string>, out: Problems): void {
  let size = 0;
  for (const [key, value] of annotations) {
    size += key.length + value.length;
    const problem = labelKeyProblem(key, { kubernetesMetadata: true });
    if (problem !== undefined) out.push(error([...METADATA, 'annotations', key], capitalize(problem.replace('label key', 'annotation key'))));
  }
  if (size > MAX_ANNOTATIONS_SIZE) {
    out.push(error([...METADATA, 'annotations'], `metadata.annotations are ${size} bytes in total; at most 262144 are allowed.`));
  }
}

function checkCreationTimestamp(metadata: JsonObject, out: Problems): void {
  // A YAML 1.1 parser turns an unquoted timestamp into a Date; that is fine as long as it is a real time.
  const raw = fieldOf(metadata, 'creationTimestamp');
  if (raw instanceof Date && !Number.isNaN(raw.getTime())) return;
  const value = readString(metadata, 'creationTimestamp', METADATA, out);
  if (value !== undefined && !(RFC3339.test(value) && !Number.isNaN(Date.parse(value)))) {
    out.push(error([...METADATA, 'creationTimestamp'], `metadata.creationTimestamp ${quote(value)} is not an RFC 3339 time such as "2024-01-02T15:04:05Z".`));
  }
}

/**
 * V-META-1 and V-META-2 for Istio kinds. `istio.io/dry-run` is refused on every kind except
 * AuthorizationPolicy, which checks it itself (it depends on the policy's action).
 */
export function checkIstioAnnotations(annotations: ReadonlyMap<string, string>, allowDryRun: boolean, out: Problems): void {
  if (!allowDryRun && annotations.has(DRY_RUN_ANNOTATION)) {
    out.push(
      error([...METADATA, 'annotations', DRY_RUN_ANNOTATION], `The annotation ${DRY_RUN_ANNOTATION} is only supported on AuthorizationPolicy; remove it.`, 'V-META-1'),
    );
  }
  for (const key of ALWAYS_REJECTED_ANNOTATIONS) {
    if (annotations.has(key)) {
      out.push(error([...METADATA, 'annotations', key], `The annotation ${key} is internal to Istio and may not be set by users.`, 'V-META-2'));
    }
  }
}
