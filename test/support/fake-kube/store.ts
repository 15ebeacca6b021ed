/**
 * Part of the fake Kubernetes API server (TEST DOUBLE): the object store. One global revision counter
 * (etcd-like; every create, update, patch and delete bumps it, an object's `resourceVersion` is the
 * revision of its last write), a bounded event log for watches, and the write semantics of
 * kube-apiserver's generic registry: AlreadyExists, optimistic concurrency (409), unconditional PUT
 * refused for custom resources (422), the status subresource split, `generation` bumped on spec
 * changes only, no-op writes that do not bump the revision, delete preconditions, finalizers, and
 * CustomResourceDefinitions that add types when they are created.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import {
  applyJsonPatch,
  applyMerge,
  clone,
  decodeJsonPatch,
  deleteAt,
  fromFieldsV1,
  isObject,
  jsonEqual,
  leafPaths,
  mergePatch,
  overlaps,
  parsePatchObject,
  segments,
  strategicMerge,
  toFieldsV1,
  valueAt,
  type FieldPath,
} from './patch.js';
import { apiVersionOf, ResourceRegistry, typesFromCrd, type ResourceType } from './resources.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  KubeError,
  notFound,
  STALE_OBJECT,
  type GroupResource,
  type JsonObject,
  type JsonValue,
} from './status.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One entry of the event log. `object` carries `resourceVersion` = `revision`. */
export interface StoredEvent {
  readonly revision: number;
  readonly type: EventType;
  /** `group/plural`: objects are stored independently of the version they were written with. */
  readonly resource: string;
  readonly namespace: string;
  readonly object: JsonObject;
  /** The object before this event (MODIFIED and DELETED), for selector transitions. */
  readonly prev?: JsonObject;
}

export interface WriteOptions {
  readonly dryRun?: boolean;
  readonly subresource?: 'status';
  readonly fieldManager?: string;
  readonly force?: boolean;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const STATUS_UPDATE_MESSAGE = 'must be specified for an update';

export function metaOf(obj: JsonObject): JsonObject {
  const m = obj.metadata;
  if (isObject(m)) return m;
  const fresh: JsonObject = {};
  obj.metadata = fresh;
  return fresh;
}

function s(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function groupResource(t: ResourceType): GroupResource {
  return { group: t.group, resource: t.plural };
}

function resourceKey(t: ResourceType): string {
  return `${t.group}/${t.plural}`;
}

/** Everything but `metadata` and `status`: a change here bumps `generation`. */
function specPart(obj: JsonObject): JsonObject {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The object as clients see it: `apiVersion` of the requested version, `kind`, then the rest. */
export function present(t: ResourceType, obj: JsonObject): JsonObject {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { apiVersion: apiVersionOf(t), kind: t.kind, ...clone(rest) };
}

export class KubeStore {
  readonly registry = new ResourceRegistry();
  private rev = 0;
  private readonly objects = new Map<string, Map<string, JsonObject>>();
  private readonly log: StoredEvent[] = [];
  private compacted = 0;
  private readonly subscribers = new Set<(e: StoredEvent) => void>();
  private nextClusterIp = 10;

  /** @param historyLimit events kept for watches; older resourceVersions answer 410 Expired. */
  constructor(private historyLimit = 1000) {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
  }

  get revision(): number {
    return this.rev;
  }

  /** Highest revision whose event is no longer kept: a watch from below it gets 410. */
  get compactedThrough(): number {
    return this.compacted;
  }

  setHistoryLimit(n: number): void {
    this.historyLimit = n;
    this.trim();
  }

  /** Drops the whole event log, as an etcd compaction does: every older watch now gets 410. */
  compact(): void {
    this.log.length = 0;
    this.compacted = this.rev;
  }

  subscribe(fn: (e: StoredEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Events of a resource after `revision`, or 'expired' when the log no longer reaches back that far. */
  eventsSince(t: ResourceType, revision: number): StoredEvent[] | 'expired' {
    if (revision < this.compacted) return 'expired';
    const key = resourceKey(t);
    return this.log.filter((e) => e.revision > revision && e.resource === key);
  }

  private bucket(t: ResourceType): Map<string, JsonObject> {
    const key = resourceKey(t);
    let m = this.objects.get(key);
    if (!m) this.objects.set(key, (m = new Map<string, JsonObject>()));
    return m;
  }

  list(t: ResourceType, namespace?: string): JsonObject[] {
    const all = [...this.bucket(t).values()];
    const inNs = namespace === undefined ? all : all.filter((o) => s(metaOf(o).namespace) === namespace);
    return inNs.sort((a, b) => `${s(metaOf(a).namespace)}/${s(metaOf(a).name)}`.localeCompare(`${s(metaOf(b).namespace)}/${s(metaOf(b).name)}`));
  }

  get(t: ResourceType, namespace: string, name: string): JsonObject | undefined {
    return this.bucket(t).get(`${namespace}/${name}`);
  }

  private mustGet(t: ResourceType, namespace: string, name: string): JsonObject {
    const cur = this.get(t, namespace, name);
    if (!cur) throw notFound(groupResource(t), name);
    return cur;
  }

  private trim(): void {
    while (this.log.length > this.historyLimit) {
      const dropped = this.log.shift();
      if (dropped) this.compacted = dropped.revision;
    }
  }

  /** Stores a write: bumps the revision, stamps `resourceVersion`, logs and publishes the event. */
  private commit(t: ResourceType, type: EventType, obj: JsonObject, prev?: JsonObject): JsonObject {
    this.rev++;
    const meta = metaOf(obj);
    meta.resourceVersion = String(this.rev);
    const namespace = s(meta.namespace);
    const key = `${namespace}/${s(meta.name)}`;
    if (type === 'DELETED') this.bucket(t).delete(key);
    else this.bucket(t).set(key, obj);
    const event: StoredEvent = { revision: this.rev, type, resource: resourceKey(t), namespace, object: clone(obj), ...(prev ? { prev: clone(prev) } : {}) };
    this.log.push(event);
    this.trim();
    if (t.group === 'apiextensions.k8s.io' && t.plural === 'customresourcedefinitions') this.syncCrd(type, obj);
    for (const fn of [...this.subscribers]) fn(event);
    return obj;
  }

  /** The CRD's types appear in routes and discovery when it is created, and go (with their objects) when it is deleted. */
  private syncCrd(type: EventType, crd: JsonObject): void {
    const spec = isObject(crd.spec) ? crd.spec : {};
    const names = isObject(spec.names) ? spec.names : {};
    const group = s(spec.group);
    const plural = s(names.plural);
    this.registry.removeCrdTypes(group, plural);
    if (type !== 'DELETED') {
      for (const t of typesFromCrd(crd).types) this.registry.add(t);
      return;
    }
    const bucket = this.objects.get(`${group}/${plural}`);
    const sample: ResourceType | undefined = typesFromCrd(crd).types[0];
    if (!bucket || !sample) return;
    for (const obj of [...bucket.values()]) this.commit(sample, 'DELETED', clone(obj), obj);
  }

  /** The seed and test back door: creates or replaces an object as is (status included), one event. */
  seed(input: JsonObject): JsonObject {
    const t = this.typeOf(input);
    const obj = clone(input);
    const meta = metaOf(obj);
    const prev = this.get(t, s(meta.namespace), s(meta.name));
    meta.uid = prev ? s(metaOf(prev).uid) : s(meta.uid) || randomUUID();
    meta.creationTimestamp = prev ? s(metaOf(prev).creationTimestamp) : s(meta.creationTimestamp) || now();
    if (meta.generation === undefined) meta.generation = 1;
    this.defaults(t, obj, prev);
    return clone(this.commit(t, prev ? 'MODIFIED' : 'ADDED', obj, prev));
  }

  /** Removes an object by the test back door (no preconditions, no finalizers). */
  unseed(apiVersion: string, kind: string, namespace: string, name: string): void {
    const t = this.typeOf({ apiVersion, kind, metadata: { name, namespace } });
    const prev = this.get(t, namespace, name);
    if (prev) this.commit(t, 'DELETED', clone(prev), prev);
  }

  /** The served type of an object's `apiVersion` + `kind`. */
  typeOf(obj: JsonObject): ResourceType {
    const apiVersion = s(obj.apiVersion);
    const kind = s(obj.kind);
    const t = this.registry.all().find((x) => apiVersionOf(x) === apiVersion && x.kind === kind);
    if (!t) throw badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`);
    return t;
  }

  /** Server-side defaults of the kinds meshbridge reads (Service cluster IPs and port defaults; CRD status). */
  private defaults(t: ResourceType, obj: JsonObject, prev: JsonObject | undefined): void {
    if (t.group === '' && t.plural === 'services') {
      const spec = isObject(obj.spec) ? obj.spec : (obj.spec = {});
      spec.type = s(spec.type) || 'ClusterIP';
      if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
        const old = prev && isObject(prev.spec) ? prev.spec.clusterIP : undefined;
        spec.clusterIP = typeof old === 'string' ? old : `10.96.${Math.floor(this.nextClusterIp / 250)}.${(this.nextClusterIp++ % 250) + 1}`;
      }
      if (typeof spec.clusterIP === 'string' && spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
      spec.sessionAffinity = s(spec.sessionAffinity) || 'None';
      if (Array.isArray(spec.ports)) {
        for (const p of spec.ports.filter(isObject)) {
          p.protocol = s(p.protocol) || 'TCP';
          if (p.targetPort === undefined) p.targetPort = p.port ?? null;
        }
      }
    }
    if (t.group === 'apiextensions.k8s.io' && t.plural === 'customresourcedefinitions' && !prev) {
      const spec = isObject(obj.spec) ? obj.spec : {};
      const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : [];
      const time = now();
      obj.status = {
        conditions: ['NamesAccepted', 'Established'].map((type) => ({
          type,
          status: 'True',
          lastTransitionTime: time,
          reason: type === 'Established' ? 'InitialNamesAccepted' : 'NoConflicts',
          message: type === 'Established' ? 'the initial names have been accepted' : 'no conflicts found',
        })),
        acceptedNames: clone(isObject(spec.names) ? spec.names : {}),
        storedVersions: versions.filter((v) => v.storage === true).map((v) => s(v.name)),
      };
    }
  }

  /** What `PrepareForCreate` leaves of `.status` for kinds with a status subresource. */
  private initialStatus(t: ResourceType, obj: JsonObject): void {
    if (!t.hasStatus) return;
    if (t.group === '' && t.plural === 'pods') obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    else if (t.group === '' && t.plural === 'namespaces') obj.status = { phase: 'Active' };
    else if (t.group === '' && t.plural === 'services') obj.status = { loadBalancer: {} };
    else if (t.group === '' && t.plural === 'nodes') return;
    else delete obj.status;
  }

  private checkIdentity(t: ResourceType, body: JsonObject, namespace: string, name?: string): void {
    const apiVersion = s(body.apiVersion);
    if (apiVersion !== '' && apiVersion !== apiVersionOf(t)) {
      throw badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
    }
    const kind = s(body.kind);
    if (kind !== '' && kind !== t.kind) throw badRequest(`the kind in the data (${kind}) does not match the expected kind (${t.kind})`);
    const meta = metaOf(body);
    const bodyNs = s(meta.namespace);
    if (t.namespaced && bodyNs !== '' && bodyNs !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (name !== undefined && s(meta.name) !== '' && s(meta.name) !== name) {
      throw badRequest(`the name of the object (${s(meta.name)}) does not match the name on the URL (${name})`);
    }
  }

  private ensureNamespace(t: ResourceType, namespace: string): void {
    if (!t.namespaced) return;
    const nsType = this.registry.get('', 'v1', 'namespaces');
    if (nsType && !this.get(nsType, '', namespace)) throw notFound({ group: '', resource: 'namespaces' }, namespace);
  }

  /** POST to a collection. */
  create(t: ResourceType, namespace: string, input: JsonObject, o: WriteOptions = {}): JsonObject {
    const obj = clone(input);
    this.checkIdentity(t, obj, namespace);
    const meta = metaOf(obj);
    if (s(meta.name) === '' && s(meta.generateName) !== '') meta.name = `${s(meta.generateName)}${randomUUID().slice(0, 5)}`;
    const name = s(meta.name);
    if (name === '') {
      throw invalid(t, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    }
    if (!NAME_RE.test(name) || name.length > 253) {
      throw invalid(t, name, [
        {
          reason: 'FieldValueInvalid',
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        },
      ]);
    }
    if (t.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    this.ensureNamespace(t, namespace);
    if (this.get(t, t.namespaced ? namespace : '', name)) throw alreadyExists(groupResource(t), name);
    if (t.group === 'apiextensions.k8s.io' && t.plural === 'customresourcedefinitions') {
      const { problems } = typesFromCrd(obj);
      if (problems.length > 0) throw invalid(t, name, problems.map((p) => ({ reason: 'FieldValueInvalid', ...p })));
    }
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.resourceVersion;
    this.initialStatus(t, obj);
    this.defaults(t, obj, undefined);
    if (o.dryRun) return obj;
    return clone(this.commit(t, 'ADDED', obj));
  }

  /**
   * The update path shared by PUT and PATCH: preconditions on `resourceVersion` and `uid`, the status
   * split, `generation`, and no revision bump when nothing changed.
   */
  private writeUpdate(t: ResourceType, cur: JsonObject, next: JsonObject, o: WriteOptions, requireRv: boolean): JsonObject {
    const name = s(metaOf(cur).name);
    const meta = metaOf(next);
    const rv = s(meta.resourceVersion);
    if (rv === '' && requireRv && t.custom) {
      throw invalid(t, name, [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: `Invalid value: 0x0: ${STATUS_UPDATE_MESSAGE}` }]);
    }
    const curMeta = metaOf(cur);
    if (rv !== '' && rv !== s(curMeta.resourceVersion)) throw conflict(groupResource(t), name, STALE_OBJECT);
    const uid = s(meta.uid);
    if (uid !== '' && uid !== s(curMeta.uid)) {
      throw conflict(groupResource(t), name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${s(curMeta.uid)}`);
    }
    let result: JsonObject;
    if (o.subresource === 'status') {
      result = clone(cur);
      if (next.status === undefined) delete result.status;
      else result.status = clone(next.status);
      if (next.metadata !== undefined && isObject(next.metadata) && next.metadata.managedFields !== undefined) {
        metaOf(result).managedFields = clone(next.metadata.managedFields);
      }
    } else {
      result = clone(next);
      const m = metaOf(result);
      if (m.managedFields === undefined && curMeta.managedFields !== undefined) m.managedFields = clone(curMeta.managedFields);
      for (const k of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'namespace', 'name']) {
        if (curMeta[k] === undefined) delete m[k];
        else m[k] = clone(curMeta[k] ?? null);
      }
      if (t.hasStatus) {
        if (cur.status === undefined) delete result.status;
        else result.status = clone(cur.status);
      }
      if (!jsonEqual(specPart(result), specPart(cur))) m.generation = (typeof curMeta.generation === 'number' ? curMeta.generation : 0) + 1;
    }
    result.apiVersion = apiVersionOf(t);
    result.kind = t.kind;
    metaOf(result).resourceVersion = curMeta.resourceVersion ?? null;
    if (jsonEqual(result, cur)) return clone(cur);
    this.defaults(t, result, cur);
    if (o.dryRun) return result;
    const finalizers = metaOf(result).finalizers;
    if (metaOf(result).deletionTimestamp !== undefined && (!Array.isArray(finalizers) || finalizers.length === 0)) {
      return clone(this.commit(t, 'DELETED', result, cur));
    }
    return clone(this.commit(t, 'MODIFIED', result, cur));
  }

  /** PUT on an object or its `/status`. */
  update(t: ResourceType, namespace: string, name: string, input: JsonObject, o: WriteOptions = {}): { object: JsonObject; created: boolean } {
    this.checkIdentity(t, input, namespace, name);
    const cur = this.get(t, namespace, name);
    if (!cur) {
      if (!t.createOnUpdate || o.subresource) throw notFound(groupResource(t), name);
      return { object: this.create(t, namespace, { ...input, metadata: { ...metaOf(clone(input)), name } }, o), created: true };
    }
    return { object: this.writeUpdate(t, cur, clone(input), o, true), created: false };
  }

  /** PATCH on an object or its `/status`, dispatched on the Content-Type. */
  patch(
    t: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    body: string,
    o: WriteOptions = {},
  ): { object: JsonObject; created: boolean } {
    const type = contentType.split(';')[0]?.trim() ?? '';
    if (type === PATCH_TYPES.apply) return this.apply(t, namespace, name, body, o);
    const accepted = t.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, PATCH_TYPES.strategic];
    if (!accepted.includes(type as (typeof accepted)[number])) {
      throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
    }
    const cur = present(t, this.mustGet(t, namespace, name));
    let next: JsonObject;
    if (type === PATCH_TYPES.json) next = applyJsonPatch(cur, decodeJsonPatch(body));
    else if (type === PATCH_TYPES.merge) next = mergePatch(cur, parsePatchObject(body)) as JsonObject;
    else next = strategicMerge(cur, parsePatchObject(body), t.strategic) as JsonObject;
    return { object: this.writeUpdate(t, cur, next, o, false), created: false };
  }

  /**
   * Server-side apply (`application/apply-patch+yaml`): field ownership per manager in
   * `metadata.managedFields` (operation Apply), lists atomic, conflicts with other appliers → 409 unless
   * `force`, and fields the manager applied before but omits now are removed.
   */
  private apply(t: ResourceType, namespace: string, name: string, body: string, o: WriteOptions): { object: JsonObject; created: boolean } {
    const manager = o.fieldManager ?? '';
    if (manager === '') {
      throw invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', [
        { reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' },
      ]);
    }
    let config: unknown;
    try {
      config = parseYaml(body);
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!isObject(config as JsonValue)) throw badRequest('error decoding YAML: the apply configuration is not an object');
    const applied = config as JsonObject;
    this.checkIdentity(t, applied, namespace, name);
    if (s(applied.apiVersion) === '' || s(applied.kind) === '') {
      throw invalid(t, name, [{ reason: 'FieldValueRequired', field: 'apiVersion', message: 'Required value: apiVersion and kind must be set' }]);
    }
    const status = o.subresource === 'status';
    const scoped: JsonObject = status ? { status: applied.status ?? {} } : { ...applied };
    if (!status) {
      delete scoped.apiVersion;
      delete scoped.kind;
      if (t.hasStatus) delete scoped.status;
      const m = isObject(scoped.metadata) ? scoped.metadata : {};
      scoped.metadata = Object.fromEntries(Object.entries(m).filter(([k]) => ['labels', 'annotations', 'finalizers', 'ownerReferences'].includes(k)));
      if (Object.keys(scoped.metadata).length === 0) delete scoped.metadata;
    }
    const owned = leafPaths(scoped).filter((p) => segments(p).length > 0);
    const curStored = this.get(t, namespace, name);
    if (!curStored) {
      if (status) throw notFound(groupResource(t), name);
      const created = this.create(t, namespace, { ...applied, metadata: { ...metaOf(clone(applied)), name } }, { ...o, dryRun: true });
      metaOf(created).managedFields = [this.managedEntry(t, manager, owned, false)];
      return { object: o.dryRun ? created : clone(this.commit(t, 'ADDED', created)), created: true };
    }
    const cur = present(t, curStored);
    const sub = status ? 'status' : '';
    const entries = (Array.isArray(metaOf(cur).managedFields) ? metaOf(cur).managedFields : []) as JsonValue[];
    const others = entries.filter(isObject).filter((e) => !(s(e.manager) === manager && s(e.subresource) === sub));
    const conflicts: { manager: string; path: FieldPath }[] = [];
    for (const e of others) {
      if (s(e.operation) !== 'Apply' || s(e.subresource) !== sub) continue;
      for (const theirs of fromFieldsV1(e.fieldsV1)) {
        for (const mine of owned) {
          if (overlaps(theirs, mine) && !jsonEqual(valueAt(cur, mine), valueAt(scoped, mine))) conflicts.push({ manager: s(e.manager), path: mine });
        }
      }
    }
    let kept = others;
    if (conflicts.length > 0 && !o.force) {
      const causes = conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with "${c.manager}" using ${apiVersionOf(t)}`,
        field: `.${segments(c.path).join('.')}`,
      }));
      const n = causes.length;
      const lines = causes.map((c) => `- ${c.message}: ${c.field}`).join('\n');
      throw new KubeError(409, 'Conflict', `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${n === 1 ? `${causes[0]?.message ?? ''}: ${causes[0]?.field ?? ''}` : `\n${lines}`}`, {
        name,
        group: t.group,
        kind: t.plural,
        causes,
      });
    }
    if (o.force && conflicts.length > 0) {
      kept = others.map((e) => {
        const lost = conflicts.filter((c) => c.manager === s(e.manager)).map((c) => c.path);
        const rest = fromFieldsV1(e.fieldsV1).filter((p) => !lost.some((m) => overlaps(m, p)));
        return { ...e, fieldsV1: toFieldsV1(rest) };
      });
    }
    const mineBefore = entries.filter(isObject).find((e) => s(e.manager) === manager && s(e.subresource) === sub);
    const ownedByOthers = kept.flatMap((e) => fromFieldsV1(e.fieldsV1));
    let next = applyMerge(cur, scoped) as JsonObject;
    for (const p of fromFieldsV1(mineBefore?.fieldsV1)) {
      if (!owned.some((m) => overlaps(m, p)) && !ownedByOthers.some((q) => overlaps(q, p))) deleteAt(next, p);
    }
    next = clone(next);
    const entry = owned.length > 0 ? [this.managedEntry(t, manager, owned, status)] : [];
    metaOf(next).managedFields = [...kept.filter((e) => fromFieldsV1(e.fieldsV1).length > 0), ...entry];
    return { object: this.writeUpdate(t, cur, next, o, false), created: false };
  }

  private managedEntry(t: ResourceType, manager: string, paths: readonly FieldPath[], status: boolean): JsonObject {
    return {
      manager,
      operation: 'Apply',
      apiVersion: apiVersionOf(t),
      time: now(),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(paths),
      ...(status ? { subresource: 'status' } : {}),
    };
  }

  /**
   * DELETE with `DeleteOptions.preconditions` (409 on a mismatch). An object with finalizers only gets
   * `deletionTimestamp` (MODIFIED) and goes when its finalizers are removed; deleting a namespace
   * deletes what is in it.
   */
  delete(t: ResourceType, namespace: string, name: string, options: JsonObject, o: WriteOptions = {}): JsonObject {
    const cur = this.mustGet(t, namespace, name);
    const meta = metaOf(cur);
    const pre = isObject(options.preconditions) ? options.preconditions : {};
    const wantUid = s(pre.uid);
    const wantRv = s(pre.resourceVersion);
    if (wantUid !== '' && wantUid !== s(meta.uid)) {
      throw conflict(groupResource(t), name, `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${s(meta.uid)}`);
    }
    if (wantRv !== '' && wantRv !== s(meta.resourceVersion)) {
      throw conflict(
        groupResource(t),
        name,
        `Precondition failed: ResourceVersion in precondition: ${wantRv}, ResourceVersion in object meta: ${s(meta.resourceVersion)}`,
      );
    }
    if (o.dryRun) return present(t, cur);
    const finalizers = meta.finalizers;
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      if (meta.deletionTimestamp !== undefined) return present(t, cur);
      const marked = clone(cur);
      metaOf(marked).deletionTimestamp = now();
      metaOf(marked).deletionGracePeriodSeconds = 0;
      return present(t, this.commit(t, 'MODIFIED', marked, cur));
    }
    if (t.group === '' && t.plural === 'namespaces') {
      for (const other of this.registry.all().filter((x) => x.namespaced)) {
        for (const obj of this.list(other, name)) this.commit(other, 'DELETED', clone(obj), obj);
      }
    }
    const out = present(t, cur);
    this.commit(t, 'DELETED', clone(cur), cur);
    return out;
  }
}

