/**
 * The Kubernetes cluster as the configuration store (`--store kube://`, issue 14), as istiod uses it:
 * the store port (model/config/store.ts) on Istio's CustomResourceDefinitions.
 *
 * Reading: a supervised informer (informer.ts) watches the CRDs; for each Istio kind meshbridge keeps
 * (networking.istio.io: ServiceEntry, WorkloadEntry, WorkloadGroup, DestinationRule, VirtualService;
 * security.istio.io: PeerAuthentication, AuthorizationPolicy) an informer starts on the CRD's
 * preferred served version (v1, else v1beta1, else v1alpha3) when the CRD appears, and stops (its
 * objects deleted) when it goes, so installing the CRDs after meshbridge works. Objects are decoded
 * and validated as files are (document.ts); an invalid one is reported as a problem and left out.
 * The store's revision is the highest resourceVersion seen (the API server's are etcd revisions);
 * `watch` delivers one `changes` event per informer event, and a `resync` first when the caller's
 * revision is not the current one.
 *
 * Writing (the lifecycle's WorkloadEntries and `apply`/`delete`): one request per op, no transaction
 * across objects (the API server has none; an op that fails stops the rest and names its index).
 * - create: POST; an auto-registered WorkloadEntry gets an ownerReference to its WorkloadGroup
 *   (`controller: true`, as Istio's autoregistration does); a status given with it is written next
 *   through `/status` (the API server drops `.status` on create).
 * - update: PUT of the object as read (fields meshbridge does not model, such as ownerReferences,
 *   are kept) with labels, annotations and spec replaced, at the op's resourceVersion or the one read.
 * - updateStatus: PUT to the `status` subresource with the resourceVersion.
 * - delete: DELETE with preconditions (uid and resourceVersion).
 * A 409 on an op that named a resourceVersion is a `Conflict` carrying the fresh object (the
 * lifecycle reads again and decides again, entry-writes.ts); without one the op is tried again on
 * the fresh object. `controls`, when given, restricts writes to WorkloadEntries whose
 * `istio.io/workloadController` names this control plane (a shared cluster's istiod keeps its own);
 * `fenceHolds` checks a leader's fence before a fenced write (the Lease, lease-election.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/log/logger.js';
import { silentLogger } from '../../lib/log/logger.js';
import { errorMessage } from '../../lib/errors.js';
import { fromDocument, toDocument } from '../../model/config/document.js';
import { describeRef, refKey, StoreUnavailableError, type Change, type ConfigStore, type Fence, type Listing, type ObjectRef, type StoredProblem, type StoreEvent, type StoreWatch, type WriteFailure, type WriteOp, type WriteOptions, type WriteResult } from '../../model/config/store.js';
import { duplicateRef, opRef, planWrite } from '../../model/config/store-writes.js';
import type { ConfigObject, Kind } from '../../model/config/types.js';
import { Informer, type BackoffPolicy, type KubeObject } from './informer.js';
import { KubeApiError, type KubeTransport } from './kube-transport.js';
import { withFields } from '../../lib/objects/with-fields.js';

/** The annotations the store reads on WorkloadEntries (the lifecycle's ANNOTATIONS). */
const CONTROLLER_ANNOTATION = 'istio.io/workloadController';
const GROUP_ANNOTATION = 'istio.io/autoRegistrationGroup';

/** Istio's kinds meshbridge keeps, by CRD group and plural. */
export const ISTIO_KINDS: Readonly<Partial<Record<Kind, { readonly group: string; readonly plural: string }>>> = {
  ServiceEntry: { group: 'networking.istio.io', plural: 'serviceentries' },
  WorkloadEntry: { group: 'networking.istio.io', plural: 'workloadentries' },
  WorkloadGroup: { group: 'networking.istio.io', plural: 'workloadgroups' },
  DestinationRule: { group: 'networking.istio.io', plural: 'destinationrules' },
  VirtualService: { group: 'networking.istio.io', plural: 'virtualservices' },
  PeerAuthentication: { group: 'security.istio.io', plural: 'peerauthentications' },
  AuthorizationPolicy: { group: 'security.istio.io', plural: 'authorizationpolicies' },
};

export const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** Version preference of the API server: GA, beta, alpha; higher numbers first. */
export function preferredVersion(versions: readonly string[]): string | undefined {
  const rank = (v: string): number[] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    return [m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  const cmp = (a: string, b: string): number => {
    const x = rank(a);
    const y = rank(b);
    return (x[0] ?? 0) - (y[0] ?? 0) || (x[1] ?? 0) - (y[1] ?? 0) || (x[2] ?? 0) - (y[2] ?? 0);
  };
  return [...versions].sort(cmp)[0];
}

/** One Istio kind the cluster serves, and its informer. */
interface ServedKind {
  readonly kind: Kind;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly informer: Informer;
}

export interface KubeStoreOptions {
  /** For logs (default `kube://<server>`). */
  readonly description?: string;
  /** How long `list` waits for the CRDs and every served kind to be listed once (default 30 s). */
  readonly syncTimeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** When given: may this control plane write a WorkloadEntry whose `istio.io/workloadController` is `controller`? */
  readonly controls?: (controller: string) => boolean;
  /** When given: whether a leader's fence still holds (checked before each fenced write). */
  readonly fenceHolds?: (fence: Fence) => Promise<boolean>;
  readonly log?: Logger;
}

type Raw = KubeObject & { metadata: KubeObject['metadata'] & { uid?: string; annotations?: Record<string, string>; labels?: Record<string, string> } };
type OpResult = { readonly ok: true; readonly object: ConfigObject | undefined; readonly revision: string } | { readonly ok: false; readonly failure: WriteFailure };

/** Attempts of an op without a resourceVersion whose object keeps changing under it. */
const MAX_ATTEMPTS = 20;

function failure(code: WriteFailure['code'], message: string, index: number, extra: Partial<WriteFailure> = {}): { ok: false; failure: WriteFailure } {
  return { ok: false, failure: { code, message, index, retryable: code === 'Unavailable', ...extra } };
}

function withoutResourceVersion(o: ConfigObject): ConfigObject {
  const { resourceVersion: _rv, ...metadata } = o.metadata;
  return withFields(o, { metadata });
}

function numericRv(rv: string | undefined): number {
  const n = Number(rv ?? '');
  return Number.isFinite(n) ? n : 0;
}

export class KubeStore implements ConfigStore {
  readonly description: string;
  private readonly crds: Informer;
  private readonly served = new Map<Kind, ServedKind>();
  private readonly objects = new Map<string, ConfigObject>();
  private readonly problems = new Map<string, StoredProblem>();
  private readonly orders = new Map<string, number>();
  /** Per deleted object: the resourceVersion this store deleted it at (older watch events are skipped). */
  private readonly tombstones = new Map<string, number>();
  private readonly watchers = new Set<(e: StoreEvent) => void>();
  private readonly stopping: Promise<void>[] = [];
  private revision = 0;
  private nextOrder = 0;
  private started = false;
  private readonly log: Logger;

  constructor(
    readonly transport: KubeTransport,
    private readonly o: KubeStoreOptions = {},
  ) {
    this.description = o.description ?? `kube://${transport.connection.server}`;
    this.log = o.log ?? silentLogger;
    this.crds = new Informer(transport, { name: 'customresourcedefinitions', path: CRD_PATH, ...(o.backoff ? { backoff: o.backoff } : {}) }, {
      add: (crd) => this.onCrd(crd, false),
      update: (crd) => this.onCrd(crd, false),
      delete: (crd) => this.onCrd(crd, true),
    });
  }

  /** Starts watching the CRDs (and through them the Istio kinds). Idempotent; `list` calls it. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.crds.start();
  }

  /** The Istio kinds the cluster serves now, with the version read. */
  servedKinds(): { kind: Kind; apiVersion: string; synced: boolean }[] {
    return [...this.served.values()].map((s) => ({ kind: s.kind, apiVersion: `${s.group}/${s.version}`, synced: s.informer.synced }));
  }

  private onCrd(crd: KubeObject, deleted: boolean): void {
    const spec = (crd.spec ?? {}) as { group?: unknown; names?: { kind?: unknown; plural?: unknown }; versions?: unknown };
    const kind = typeof spec.names?.kind === 'string' ? (spec.names.kind as Kind) : undefined;
    const known = kind !== undefined ? ISTIO_KINDS[kind] : undefined;
    if (kind === undefined || known === undefined || spec.group !== known.group || spec.names?.plural !== known.plural) return;
    const versions = Array.isArray(spec.versions)
      ? spec.versions.filter((v): v is { name: string; served: boolean } => typeof (v as { name?: unknown }).name === 'string' && (v as { served?: unknown }).served === true).map((v) => v.name)
      : [];
    const version = deleted ? undefined : preferredVersion(versions);
    const current = this.served.get(kind);
    if (current?.version === version) return;
    if (current) this.unserve(current);
    if (version === undefined) return;
    const path = `/apis/${known.group}/${version}/${known.plural}`;
    const informer = new Informer(this.transport, { name: `${known.plural}.${known.group}`, path, ...(this.o.backoff ? { backoff: this.o.backoff } : {}) }, {
      add: (obj) => this.onObject(kind, informer, obj, false),
      update: (obj) => this.onObject(kind, informer, obj, false),
      delete: (obj) => this.onObject(kind, informer, obj, true),
    });
    this.served.set(kind, { kind, group: known.group, version, plural: known.plural, informer });
    this.log.info('reading Istio resources from the cluster', { kind, apiVersion: `${known.group}/${version}` });
    informer.start();
  }

  /** The CRD went (or its version changed): its informer stops and its objects are deleted. */
  private unserve(s: ServedKind): void {
    this.served.delete(s.kind);
    this.stopping.push(s.informer.stop());
    const changes: Change[] = [];
    for (const [key, obj] of [...this.objects]) {
      if (obj.kind !== s.kind) continue;
      this.objects.delete(key);
      changes.push({ type: 'delete', key, revision: String(this.revision) });
    }
    for (const key of [...this.problems.keys()]) if (key.startsWith(`${s.kind}/`)) this.problems.delete(key);
    if (changes.length > 0) this.emit({ type: 'changes', revision: String(this.revision), changes });
  }

  private onObject(kind: Kind, informer: Informer, raw: KubeObject, deleted: boolean): void {
    if (this.served.get(kind)?.informer !== informer) return; // a late event of a stopped informer
    this.observe(kind, raw, deleted);
  }

  /**
   * An object as a watch delivered it, or as a write of this store got it back (so that a `list`
   * after a write sees it, as with etcd). A version older than the one held (the watch catching up
   * with a write) is skipped, and so is a version at or before this store's own delete of it.
   */
  private observe(kind: Kind, raw: KubeObject, deleted: boolean): void {
    const rv = numericRv(raw.metadata.resourceVersion);
    this.revision = Math.max(this.revision, rv);
    const key = refKey({ kind, namespace: raw.metadata.namespace ?? '', name: raw.metadata.name });
    const revision = String(this.revision);
    if (deleted) {
      this.problems.delete(key);
      this.tombstones.set(key, Math.max(rv, this.tombstones.get(key) ?? 0));
      if (this.objects.delete(key)) this.emit({ type: 'changes', revision, changes: [{ type: 'delete', key, revision }] });
      return;
    }
    const held = this.objects.get(key);
    if ((held && numericRv(held.metadata.resourceVersion) >= rv) || (this.tombstones.get(key) ?? -1) >= rv) return;
    this.tombstones.delete(key);
    const decoded = this.decode(kind, raw);
    if (!decoded.ok) {
      const problem = { key, message: decoded.message };
      this.problems.set(key, problem);
      this.emit({ type: 'problem', problem });
      return;
    }
    this.problems.delete(key);
    this.objects.set(key, decoded.object);
    this.emit({ type: 'changes', revision, changes: [{ type: 'put', object: decoded.object }] });
  }

  /** A stored object as the model's, validated as a file's would be. */
  private decode(kind: Kind, raw: KubeObject): { ok: true; object: ConfigObject } | { ok: false; message: string } {
    const key = refKey({ kind, namespace: raw.metadata.namespace ?? '', name: raw.metadata.name });
    let order = this.orders.get(key);
    if (order === undefined) {
      order = this.nextOrder++;
      this.orders.set(key, order);
    }
    const d = fromDocument(withFields(raw, { kind }), `kube:${key}`, { file: `kube:${key}`, line: 0, column: 0, order });
    if (d.ok) return d;
    return { ok: false, message: d.findings.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join('; ') };
  }

  private emit(e: StoreEvent): void {
    for (const w of [...this.watchers]) w(e);
  }

  private currentRevision(): string {
    let rv = Math.max(this.revision, numericRv(this.crds.status().resourceVersion));
    for (const s of this.served.values()) rv = Math.max(rv, numericRv(s.informer.status().resourceVersion));
    return String(rv);
  }

  /** Resolves when the CRDs and every served kind have been listed once; rejects after the sync timeout. */
  async synced(): Promise<void> {
    this.start();
    const timeoutMs = this.o.syncTimeoutMs ?? 30_000;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const pending = [this.crds, ...[...this.served.values()].map((s) => s.informer)].filter((i) => !i.synced);
      if (pending.length === 0) return;
      if (Date.now() >= until) {
        const why = pending.map((i) => `${i.options.name}${i.status().lastError ? ` (${i.status().lastError})` : ''}`).join(', ');
        throw new StoreUnavailableError(`${this.description}: not listed within ${timeoutMs} ms: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async list(): Promise<Listing> {
    await this.synced();
    return { objects: [...this.objects.values()], revision: this.currentRevision(), problems: [...this.problems.values()] };
  }

  /** The object's URL path (collection without a name). */
  private path(s: ServedKind, namespace: string, name?: string, sub?: string): string {
    return `/apis/${s.group}/${s.version}/namespaces/${encodeURIComponent(namespace)}/${s.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}${sub !== undefined ? `/${sub}` : ''}`;
  }

  /** The served kind of `kind`, waiting for the CRDs to be listed once. */
  private async servedKind(kind: Kind): Promise<ServedKind | undefined> {
    this.start();
    const until = Date.now() + (this.o.syncTimeoutMs ?? 30_000);
    while (!this.crds.synced && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.served.get(kind);
  }

  /** The stored object as the API server has it now; undefined when absent. Rejects with KubeApiError. */
  private async getRaw(s: ServedKind, ref: ObjectRef): Promise<Raw | undefined> {
    try {
      return (await this.transport.json('GET', this.path(s, ref.namespace, ref.name))) as Raw;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async get(ref: ObjectRef): Promise<ConfigObject | undefined> {
    const s = await this.servedKind(ref.kind);
    if (!s) return undefined;
    let raw: Raw | undefined;
    try {
      raw = await this.getRaw(s, ref);
    } catch (e) {
      throw new StoreUnavailableError(`reading ${describeRef(ref)} from ${this.description} failed: ${errorMessage(e)}`);
    }
    if (!raw) return undefined;
    const d = this.decode(ref.kind, raw);
    return d.ok ? d.object : undefined;
  }

  watch(fromRevision: string, listener: (event: StoreEvent) => void): StoreWatch {
    // Events are queued and delivered one at a time, after `watch` returns.
    const queue: StoreEvent[] = [];
    let flushing = false;
    let closed = false;
    const flush = (): void => {
      flushing = false;
      while (!closed && queue.length > 0) {
        const e = queue.shift();
        if (e) listener(e);
      }
    };
    const push = (e: StoreEvent): void => {
      queue.push(e);
      if (!flushing) {
        flushing = true;
        queueMicrotask(flush);
      }
    };
    this.start();
    if (fromRevision !== this.currentRevision()) push({ type: 'resync', revision: this.currentRevision(), objects: [...this.objects.values()] });
    this.watchers.add(push);
    return {
      close: () => {
        closed = true;
        this.watchers.delete(push);
        return Promise.resolve();
      },
    };
  }

  async write(ops: readonly WriteOp[], options: WriteOptions = {}): Promise<WriteResult> {
    const dup = duplicateRef(ops);
    if (dup) return { ok: false, failure: dup };
    if (options.fence && this.o.fenceHolds) {
      let holds: boolean;
      try {
        holds = await this.o.fenceHolds(options.fence);
      } catch (e) {
        return failure('Unavailable', `cannot read the leader Lease ${options.fence.key}: ${errorMessage(e)}`, 0);
      }
      if (!holds) return failure('Fenced', `not the leader any more (${options.fence.key} is held by another replica or expired)`, 0);
    }
    if (ops.length > 1) {
      const refused = await this.precheck(ops).catch((e: unknown) => failure('Unavailable', `${this.description} did not answer (${errorMessage(e)}); nothing was written`, 0));
      if (refused) return refused;
    }
    const objects: (ConfigObject | undefined)[] = [];
    let revision = this.currentRevision();
    for (const [i, op] of ops.entries()) {
      let r: OpResult;
      try {
        r = await this.writeOne(op, i);
      } catch (e) {
        r = failure('Unavailable', `${this.description} did not answer (${errorMessage(e)}); the write of ${describeRef(opRef(op))} may or may not have happened`, i);
      }
      if (!r.ok) return r;
      objects.push(r.object);
      revision = r.revision;
    }
    return { ok: true, revision, objects };
  }

  /**
   * Several ops are not one transaction on the API server: before the first request each op is
   * planned against the object as it is now (exists or not, resourceVersion, admission), so that the
   * refusals one can know in advance leave nothing half-written. Undefined when every op would pass.
   */
  private async precheck(ops: readonly WriteOp[]): Promise<{ ok: false; failure: WriteFailure } | undefined> {
    for (const [i, op] of ops.entries()) {
      const ref = opRef(op);
      const s = ISTIO_KINDS[ref.kind] ? await this.servedKind(ref.kind) : undefined;
      if (!s) continue; // writeOne words the refusal
      const raw = await this.getRaw(s, ref);
      const planned = planWrite(op, raw ? this.decodedOrUndefined(ref.kind, raw) : undefined, i, { now: new Date().toISOString(), newUid: randomUUID });
      if (!planned.ok) return planned;
    }
    return undefined;
  }

  private async writeOne(op: WriteOp, index: number): Promise<OpResult> {
    const ref = opRef(op);
    const known = ISTIO_KINDS[ref.kind];
    if (!known) return failure('ReadOnly', `${describeRef(ref)}: ${ref.kind} is not kept in Kubernetes by meshbridge (Pods, Services and Nodes are read from the cluster itself)`, index);
    const s = await this.servedKind(ref.kind);
    if (!s) return failure('Invalid', `${describeRef(ref)}: the cluster serves no ${known.plural}.${known.group} (install Istio's CustomResourceDefinitions)`, index);
    if (op.op === 'create') return this.create(s, op.object, index);
    const wanted = op.op === 'update' ? op.object.metadata.resourceVersion : op.resourceVersion;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const raw = await this.getRaw(s, ref);
      if (!raw) return failure('NotFound', `${describeRef(ref)} not found`, index);
      const decoded = this.decode(ref.kind, raw);
      if (!decoded.ok && op.op !== 'delete') return failure('Invalid', `the stored ${describeRef(ref)} is not a valid object (${decoded.message}); delete it first`, index);
      const current = decoded.ok ? decoded.object : undefined;
      const ctl = raw.metadata.annotations?.[CONTROLLER_ANNOTATION];
      if (ref.kind === 'WorkloadEntry' && ctl !== undefined && this.o.controls && !this.o.controls(ctl)) {
        return failure('ReadOnly', `${describeRef(ref)} is controlled by ${ctl}, not by this meshbridge control plane: left alone`, index);
      }
      // The request carries the op's resourceVersion (else the one read): the API server decides (409).
      const r = await this.send(s, op, { ...raw, metadata: { ...raw.metadata, ...(wanted !== undefined ? { resourceVersion: wanted } : {}) } }, current, index);
      if (r !== 'conflict') return r;
      if (wanted !== undefined) {
        const fresh = await this.getRaw(s, ref);
        return fresh ? this.conflict(ref, wanted, fresh, this.decodedOrUndefined(ref.kind, fresh), index) : failure('NotFound', `${describeRef(ref)} not found`, index);
      }
    }
    return failure('Unavailable', `${describeRef(ref)} kept changing during ${MAX_ATTEMPTS} attempts to write it`, index);
  }

  private decodedOrUndefined(kind: Kind, raw: KubeObject): ConfigObject | undefined {
    const d = this.decode(kind, raw);
    return d.ok ? d.object : undefined;
  }

  private conflict(ref: ObjectRef, wanted: string, raw: KubeObject, current: ConfigObject | undefined, index: number): OpResult {
    return failure(
      'Conflict',
      `${describeRef(ref)} has been modified: the write was for resourceVersion ${wanted}, the cluster has ${raw.metadata.resourceVersion ?? '?'}; get it again and reapply your change`,
      index,
      current ? { current } : {},
    );
  }

  /** One request of an update, a status update or a delete at the version read; 'conflict' on 409. */
  private async send(s: ServedKind, op: Exclude<WriteOp, { op: 'create' }>, raw: Raw, current: ConfigObject | undefined, index: number): Promise<OpResult | 'conflict'> {
    const ref = opRef(op);
    const rv = raw.metadata.resourceVersion;
    try {
      if (op.op === 'delete') {
        const preconditions = { ...(raw.metadata.uid !== undefined ? { uid: raw.metadata.uid } : {}), ...(rv !== undefined ? { resourceVersion: rv } : {}) };
        const res = (await this.transport.json('DELETE', this.path(s, ref.namespace, ref.name), {}, { apiVersion: 'v1', kind: 'DeleteOptions', preconditions })) as { metadata?: { resourceVersion?: string } };
        this.observe(s.kind, withFields(raw, { metadata: { ...raw.metadata, resourceVersion: res.metadata?.resourceVersion ?? rv ?? '0' } }), true);
        return { ok: true, object: undefined, revision: res.metadata?.resourceVersion ?? this.currentRevision() };
      }
      // The resourceVersion is the API server's to check (409), not the plan's: planned without it.
      const unconditional: WriteOp = op.op === 'update' ? { op: 'update', object: withoutResourceVersion(op.object) } : { op: 'updateStatus', ref: op.ref, status: op.status };
      const planned = planWrite(unconditional, current, index, { now: new Date().toISOString(), newUid: randomUUID });
      if (!planned.ok) return planned;
      // Nothing to change is no write, but only at the version the op named: a stale one is the API server's 409.
      if (!planned.next || (!planned.changed && current?.metadata.resourceVersion === rv)) return { ok: true, object: current, revision: rv ?? this.currentRevision() };
      const next = planned.next;
      const body: Raw =
        op.op === 'update'
          ? { ...raw, apiVersion: `${s.group}/${s.version}`, metadata: { ...raw.metadata, labels: { ...next.metadata.labels }, annotations: { ...next.metadata.annotations } }, spec: next.spec }
          : { ...raw, status: (next as { status?: unknown }).status };
      const stored = (await this.transport.json('PUT', this.path(s, ref.namespace, ref.name, op.op === 'updateStatus' ? 'status' : undefined), {}, body)) as Raw;
      return this.stored(s.kind, stored, index);
    } catch (e) {
      if (e instanceof KubeApiError) {
        if (e.status === 409) return 'conflict';
        if (e.status === 404) return failure('NotFound', `${describeRef(ref)} not found`, index);
        return this.refused(e, ref, index);
      }
      throw e;
    }
  }

  private stored(kind: Kind, raw: Raw, index: number): OpResult {
    if (this.served.has(kind)) this.observe(kind, raw, false);
    const d = this.decode(kind, raw);
    if (!d.ok) return failure('Invalid', `the cluster stored ${kind} ${raw.metadata.namespace ?? ''}/${raw.metadata.name} in a form meshbridge does not accept: ${d.message}`, index);
    return { ok: true, object: d.object, revision: raw.metadata.resourceVersion ?? this.currentRevision() };
  }

  /** A refusal other than a conflict: admission (422, 400), RBAC (401, 403), or the server in trouble. */
  private refused(e: KubeApiError, ref: ObjectRef, index: number): OpResult {
    if (e.status === 400 || e.status === 422) return failure('Invalid', `the API server refused ${describeRef(ref)}: ${e.message}`, index);
    if (e.status === 401 || e.status === 403) return failure('ReadOnly', `the API server does not let meshbridge write ${describeRef(ref)} (${e.message}): check the ClusterRole (docs/kubernetes.md)`, index);
    return failure('Unavailable', `the API server answered ${e.status} for ${describeRef(ref)}: ${e.message}; the write may or may not have happened`, index);
  }

  private async create(s: ServedKind, object: ConfigObject, index: number): Promise<OpResult> {
    const ref = opRef({ op: 'create', object });
    const planned = planWrite({ op: 'create', object }, undefined, index, { now: new Date().toISOString(), newUid: randomUUID });
    if (!planned.ok || !planned.next) return planned.ok ? failure('Invalid', `${describeRef(ref)}: nothing to create`, index) : planned;
    const doc = toDocument(planned.next, { resourceVersion: false });
    const { uid: _uid, creationTimestamp: _created, generation: _generation, ...metadata } = doc.metadata as Record<string, unknown>;
    const status = (planned.next as { status?: unknown }).status;
    const owners = await this.ownerReferences(object);
    const body = { apiVersion: `${s.group}/${s.version}`, kind: s.kind, metadata: { ...metadata, ...(owners.length > 0 ? { ownerReferences: owners } : {}) }, spec: doc.spec };
    let created: Raw;
    try {
      created = (await this.transport.json('POST', this.path(s, ref.namespace), {}, body)) as Raw;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 409) {
        const raw = await this.getRaw(s, ref);
        const current = raw ? this.decodedOrUndefined(ref.kind, raw) : undefined;
        return failure('AlreadyExists', `${describeRef(ref)} already exists`, index, current ? { current } : {});
      }
      if (e instanceof KubeApiError) return this.refused(e, ref, index);
      throw e;
    }
    if (status === undefined) return this.stored(s.kind, created, index);
    try {
      const withStatus = (await this.transport.json('PUT', this.path(s, ref.namespace, ref.name, 'status'), {}, { ...created, status })) as Raw;
      return this.stored(s.kind, withStatus, index);
    } catch (e) {
      // Created without its status: a writer came in between; the object stands, its status is the caller's to write again.
      this.log.warn('the status of a created object was not written', { object: describeRef(ref), error: errorMessage(e) });
      return this.stored(s.kind, created, index);
    }
  }

  /** An auto-registered WorkloadEntry is owned by its WorkloadGroup (controller: true), as Istio's autoregistration writes it. */
  private async ownerReferences(object: ConfigObject): Promise<{ apiVersion: string; kind: string; name: string; uid: string; controller: boolean }[]> {
    const group = object.kind === 'WorkloadEntry' ? object.metadata.annotations[GROUP_ANNOTATION] : undefined;
    if (group === undefined) return [];
    const s = this.served.get('WorkloadGroup');
    if (!s) return [];
    const raw = await this.getRaw(s, { kind: 'WorkloadGroup', namespace: object.metadata.namespace, name: group });
    const uid = raw?.metadata.uid;
    if (uid === undefined) return [];
    return [{ apiVersion: `${s.group}/${s.version}`, kind: 'WorkloadGroup', name: group, uid, controller: true }];
  }

  async close(): Promise<void> {
    this.watchers.clear();
    const informers = [this.crds, ...[...this.served.values()].map((s) => s.informer)];
    this.served.clear();
    await Promise.all([...informers.map((i) => i.stop()), ...this.stopping]);
  }
}
