/**
 * Part of the fake Kubernetes API server (TEST DOUBLE): the resource types it serves — the built-in
 * kinds meshbridge reads or writes, and the kinds that CustomResourceDefinitions add — and the
 * discovery documents (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`) built from them.
 */
import { isObject, type StrategicPatchMeta } from './patch.js';
import type { JsonObject, JsonValue } from './status.js';

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  /** URL segment: `pods`. */
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Has the `/status` subresource: writes to the object ignore `.status`, `/status` writes only it. */
  readonly hasStatus: boolean;
  /** Defined by a CRD: no strategic merge patch (415), no unconditional PUT (422). */
  readonly custom: boolean;
  /** PUT on a missing object creates it (leases, endpointslices), else 404. */
  readonly createOnUpdate: boolean;
  /** Field selectors beyond `metadata.name` and `metadata.namespace`. */
  readonly fields: readonly string[];
  readonly strategic: StrategicPatchMeta;
}

export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/** `group/version/plural`, the registry key of a type. */
export function typeKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

/** Kubernetes version priority: GA before beta before alpha, higher numbers first (`v1`, `v1beta1`, `v1alpha3`). */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  const x = rank(a);
  const y = rank(b);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || a.localeCompare(b);
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(t: Partial<ResourceType> & Pick<ResourceType, 'version' | 'plural' | 'kind'>): ResourceType {
  return {
    group: '',
    singular: t.kind.toLowerCase(),
    listKind: `${t.kind}List`,
    namespaced: true,
    shortNames: [],
    hasStatus: false,
    custom: false,
    createOnUpdate: false,
    fields: [],
    strategic: { mergeKeys: {} },
    ...t,
  };
}

const CONTAINER_KEYS = (prefix: string): Record<string, string> => ({
  [prefix]: 'name',
  [`${prefix}.ports`]: 'containerPort',
  [`${prefix}.env`]: 'name',
  [`${prefix}.volumeMounts`]: 'mountPath',
});

/** Built-in kinds, with the merge keys that matter for strategic merge patch (from the Go struct tags). */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin({
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    hasStatus: true,
    fields: ['status.phase'],
    strategic: { mergeKeys: { 'status.conditions': 'type' }, primitiveSets: [] },
  }),
  builtin({
    version: 'v1',
    plural: 'services',
    kind: 'Service',
    shortNames: ['svc'],
    hasStatus: true,
    fields: ['spec.clusterIP', 'spec.type'],
    strategic: { mergeKeys: { 'spec.ports': 'port', 'status.conditions': 'type' } },
  }),
  builtin({
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    hasStatus: true,
    fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
    strategic: {
      mergeKeys: {
        ...CONTAINER_KEYS('spec.containers'),
        ...CONTAINER_KEYS('spec.initContainers'),
        'spec.volumes': 'name',
        'spec.imagePullSecrets': 'name',
        'status.conditions': 'type',
        'status.podIPs': 'ip',
      },
    },
  }),
  builtin({
    version: 'v1',
    plural: 'nodes',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    hasStatus: true,
    fields: ['spec.unschedulable'],
    strategic: { mergeKeys: { 'spec.taints': 'key', 'status.conditions': 'type', 'status.addresses': 'type' } },
  }),
  builtin({ version: 'v1', plural: 'secrets', kind: 'Secret', fields: ['type'] }),
  builtin({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', createOnUpdate: true, fields: ['addressType'] }),
  builtin({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', createOnUpdate: true }),
  builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    hasStatus: true,
    strategic: { mergeKeys: { 'status.conditions': 'type' } },
  }),
];

function str(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

/** The resource types a CRD serves (one per served version), or a list of what is wrong with it. */
export function typesFromCrd(crd: JsonObject): { types: ResourceType[]; problems: { field: string; message: string }[] } {
  const spec = isObject(crd.spec) ? crd.spec : {};
  const names = isObject(spec.names) ? spec.names : {};
  const group = str(spec.group);
  const plural = str(names.plural);
  const kind = str(names.kind);
  const problems: { field: string; message: string }[] = [];
  const name = str(isObject(crd.metadata) ? crd.metadata.name : undefined);
  if (group === '') problems.push({ field: 'spec.group', message: 'Required value' });
  if (plural === '') problems.push({ field: 'spec.names.plural', message: 'Required value' });
  if (kind === '') problems.push({ field: 'spec.names.kind', message: 'Required value' });
  if (group !== '' && plural !== '' && name !== `${plural}.${group}`) {
    problems.push({ field: 'metadata.name', message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` });
  }
  const scope = str(spec.scope);
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    problems.push({ field: 'spec.scope', message: `Unsupported value: "${scope}": supported values: "Cluster", "Namespaced"` });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : [];
  if (versions.length === 0) problems.push({ field: 'spec.versions', message: 'Invalid value: null: must have exactly one version marked as storage version' });
  const types = versions
    .filter((v) => v.served === true)
    .map((v) => ({
      group,
      version: str(v.name),
      plural,
      singular: str(names.singular) || kind.toLowerCase(),
      kind,
      listKind: str(names.listKind) || `${kind}List`,
      namespaced: scope === 'Namespaced',
      shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(str) : [],
      hasStatus: isObject(v.subresources) && isObject(v.subresources.status),
      custom: true,
      createOnUpdate: false,
      fields: [],
      strategic: { mergeKeys: {} },
    }));
  return { types, problems };
}

/** Serves the types and answers discovery; CRD types come and go with their CRD objects. */
export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();

  constructor() {
    for (const t of BUILTIN_TYPES) this.add(t);
  }

  add(t: ResourceType): void {
    this.types.set(typeKey(t.group, t.version, t.plural), t);
  }

  removeCrdTypes(group: string, plural: string): void {
    for (const [k, t] of this.types) if (t.custom && t.group === group && t.plural === plural) this.types.delete(k);
  }

  get(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(typeKey(group, version, plural));
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.all().some((t) => t.group === group && t.version === version);
  }

  /** `/api` */
  apiVersions(serverAddress: string): JsonObject {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }

  private groupDoc(group: string): JsonObject {
    const versions = [...new Set(this.all().filter((t) => t.group === group).map((t) => t.version))].sort(compareVersions);
    const entries = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
    return { name: group, versions: entries, preferredVersion: entries[0] ?? {} };
  }

  /** `/apis` */
  apiGroupList(): JsonObject {
    const groups = [...new Set(this.all().map((t) => t.group))].filter((g) => g !== '').sort();
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => this.groupDoc(g)) };
  }

  /** `/apis/<group>`, undefined when no type has that group. */
  apiGroup(group: string): JsonObject | undefined {
    if (!this.all().some((t) => t.group === group)) return undefined;
    return { kind: 'APIGroup', apiVersion: 'v1', ...this.groupDoc(group) };
  }

  /** `/api/v1` or `/apis/<group>/<version>`, with `<plural>/status` entries for status subresources. */
  apiResourceList(group: string, version: string): JsonObject | undefined {
    const types = this.all().filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    const resources: JsonObject[] = [];
    for (const t of types.sort((a, b) => a.plural.localeCompare(b.plural))) {
      const entry: JsonObject = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: VERBS };
      if (t.shortNames.length > 0) entry.shortNames = [...t.shortNames];
      resources.push(entry);
      if (t.hasStatus) {
        resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
  }

  /**
   * `/openapi/v3`: the index of group-version documents. Only what kubectl reads to decide that the
   * server validates fields itself (the `fieldValidation` parameter of each kind's PATCH); no schemas.
   */
  openApiV3Root(): JsonObject {
    const gvs = [...new Set(this.all().map((t) => (t.group === '' ? `api/${t.version}` : `apis/${t.group}/${t.version}`)))].sort();
    return { paths: Object.fromEntries(gvs.map((gv) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=${gv.length}` }])) };
  }

  /** `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`, undefined when not served. */
  openApiV3GroupVersion(group: string, version: string): JsonObject | undefined {
    const types = this.all().filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    const prefix = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const paths: JsonObject = {};
    for (const t of types) {
      const path = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}/{name}` : `${prefix}/${t.plural}/{name}`;
      paths[path] = {
        patch: {
          operationId: `patch${t.kind}`,
          'x-kubernetes-group-version-kind': { group, version, kind: t.kind },
          'x-kubernetes-action': 'patch',
          parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' } })),
          responses: { '200': { description: 'OK' } },
        },
      };
    }
    return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths };
  }
}
