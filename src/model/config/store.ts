/**
 * The configuration store port (issue 6): one interface for every place configuration is kept —
 * a folder of YAML (sources/file), memory (sources/memory, the reference and the tests' store) and
 * etcd v3 (sources/etcd). Its consumers own it: the control plane reads through it (list + watch
 * into the registry), the lifecycle writes through it (registered WorkloadEntries, status), and the
 * CLI's `apply`/`get`/`delete` do both. It lives in `model/config` because all three consumers
 * already depend on model (and nothing else they share), and it is only types: no I/O here.
 *
 * Semantics follow the Kubernetes API server's, with etcd's revisions as resource versions:
 * - Every write bumps one store-wide revision; an object's `metadata.resourceVersion` is the
 *   revision of its last write (etcd: the key's mod_revision). Comparing two resource versions of
 *   one store is meaningful (numeric strings, increasing).
 * - Optimistic concurrency: a write that names a resource version succeeds only if the object is
 *   still at that version, else it fails with `Conflict` and the current object.
 * - `update` replaces labels, annotations and spec and keeps the stored status; `updateStatus`
 *   replaces only the status (the status subresource). `create` stores the object as given.
 *
 * One shared conformance suite (test/conformance/config-store.ts) checks every implementation.
 */
import type { Finding } from './load.js';
import type { ConfigObject, Kind } from './types.js';

/** Names one object. `namespace` is '' for cluster-scoped kinds. */
export interface ObjectRef {
  readonly kind: Kind;
  readonly namespace: string;
  readonly name: string;
}

/** A complete state, read at one revision. */
export interface Listing {
  readonly objects: readonly ConfigObject[];
  readonly revision: string;
  /** Stored values that are not valid objects (written around admission); they are left out. */
  readonly problems: readonly StoredProblem[];
  /** A store that reads configuration files (the file store): its last reading of them. */
  readonly files?: FilesReport;
}

/** One configuration file as a store read it: what is served from it, what is wrong with it on disk. */
export interface FileState {
  readonly path: string;
  /** The objects served from this file (its last good version). */
  readonly objects: readonly ConfigObject[];
  /** Findings of the file's current version on disk. */
  readonly findings: readonly Finding[];
  /** True when the version on disk was refused and an older version is served. */
  readonly rejected: boolean;
}

/**
 * One reading of a store's configuration files (the file store's folder reloads), for reports
 * (/ready, /debug/configz, logs, metrics): what it changed comes as the store's changes.
 */
export interface FilesReport {
  /** Every file read, in path order. */
  readonly files: readonly FileState[];
  /** Errors and warnings of the versions on disk. */
  readonly findings: readonly Finding[];
  /** Files whose new version was refused in this reading (they keep their last good version). */
  readonly rejected: readonly string[];
  /** Files whose objects changed in this reading (applied). */
  readonly applied: readonly string[];
  /** How many objects the files serve (distinct keys). */
  readonly objectCount: number;
  /**
   * Objects this reading touched that more than one file defines (the file sorting last wins), each
   * with its places `path:line` in path order.
   */
  readonly duplicates: readonly { readonly key: string; readonly places: readonly string[] }[];
}

export interface StoredProblem {
  /** `Kind/ns/name` (objectKey) when known, else the store's own key. */
  readonly key: string;
  readonly message: string;
}

export type Change =
  | { readonly type: 'put'; readonly object: ConfigObject }
  /** `key` is the objectKey; `revision` the revision that deleted it. */
  | { readonly type: 'delete'; readonly key: string; readonly revision: string };

/**
 * What a watch delivers, one event at a time, in revision order:
 * - `changes`: every change of one or more complete revisions after the last delivered one; a
 *   transaction is never split across events; no change is delivered twice. `revision` is the
 *   last revision covered.
 * - `resync`: the store cannot replay the changes the watcher missed (etcd compacted them, or a
 *   store without history): `objects` is the complete state at `revision`, replacing what the
 *   watcher had. Changes continue after `revision`.
 * - `connection`: the store became unreachable (the watcher keeps what it has) or reachable again;
 *   for reporting only — no change is lost either way.
 * - `problem`: a stored value could not be read as an object; its last good version is kept.
 * - `files`: a store that reads configuration files read them again (after the `changes` of that
 *   reading, if any); for reporting only.
 */
export type StoreEvent =
  | { readonly type: 'changes'; readonly revision: string; readonly changes: readonly Change[] }
  | { readonly type: 'resync'; readonly revision: string; readonly objects: readonly ConfigObject[] }
  | { readonly type: 'connection'; readonly connected: boolean; readonly message: string }
  | { readonly type: 'problem'; readonly problem: StoredProblem }
  | { readonly type: 'files'; readonly report: FilesReport };

export interface StoreWatch {
  /** Stops delivering; resolves when no more events will be delivered. */
  close(): Promise<void>;
}

/** One write of a transaction. */
export type WriteOp =
  | { readonly op: 'create'; readonly object: ConfigObject }
  /** Precondition: `object.metadata.resourceVersion`, when set. */
  | { readonly op: 'update'; readonly object: ConfigObject }
  | { readonly op: 'updateStatus'; readonly ref: ObjectRef; readonly status: unknown; readonly resourceVersion?: string }
  | { readonly op: 'delete'; readonly ref: ObjectRef; readonly resourceVersion?: string };

/**
 * Leadership proof for singleton work (issue 6 "fencing"): a write carrying a fence succeeds only
 * while the fence is still held (etcd: the election key still exists at this create revision).
 */
export interface Fence {
  readonly key: string;
  readonly revision: string;
}

export interface WriteOptions {
  readonly fence?: Fence;
}

export type WriteFailureCode =
  /** A resource version precondition did not hold. `current` is the stored object. */
  | 'Conflict'
  | 'NotFound'
  | 'AlreadyExists'
  /** The object may not be written through this store (the file store's folder objects). */
  | 'ReadOnly'
  /** Admission refused the object; `findings` says why. */
  | 'Invalid'
  /** The fence is no longer held: this process is not the leader any more. */
  | 'Fenced'
  /** The store could not be reached or did not answer: the write may or may not have happened. */
  | 'Unavailable';

export interface WriteFailure {
  readonly code: WriteFailureCode;
  /** One sentence, naming the object. */
  readonly message: string;
  /** Index of the op that failed, when one did. */
  readonly index?: number;
  readonly current?: ConfigObject;
  /** Field-path findings of an `Invalid` object (no file positions: the CLI adds them). */
  readonly findings?: readonly { readonly field: string; readonly message: string }[];
  /** True when trying again later may succeed without changing the request (Unavailable). */
  readonly retryable: boolean;
}

export type WriteResult =
  | {
      readonly ok: true;
      readonly revision: string;
      /** Per op, the object as stored after the write (undefined for deletes). */
      readonly objects: readonly (ConfigObject | undefined)[];
    }
  | { readonly ok: false; readonly failure: WriteFailure };

export interface ConfigStore {
  /** What this store is, for logs (`memory`, `file:///dir`, `etcd://h1:2379,h2:2379`). */
  readonly description: string;
  /** Every object of every kind, at one revision. Rejects with StoreUnavailableError. */
  list(): Promise<Listing>;
  /** One object, read linearizably (it reflects every write acknowledged before the call). Rejects with StoreUnavailableError. */
  get(ref: ObjectRef): Promise<ConfigObject | undefined>;
  /** Changes after `fromRevision` (see StoreEvent). The listener is never called concurrently. */
  watch(fromRevision: string, listener: (event: StoreEvent) => void): StoreWatch;
  /** All ops or none, atomically (etcd: one transaction). Ops name distinct objects. */
  write(ops: readonly WriteOp[], options?: WriteOptions): Promise<WriteResult>;
  close(): Promise<void>;
}

/** A read (`list`, `get`) that could not reach the store. Writes report it as an `Unavailable` value instead. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** A `--store` URL that names no store meshbridge has. */
export class StoreUrlError extends Error {
  override readonly name = 'StoreUrlError';
}

export function refOf(o: { readonly kind: Kind; readonly metadata: { readonly namespace: string; readonly name: string } }): ObjectRef {
  return { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
}

/** `Kind/ns/name` (cluster-scoped: `Kind/name`), the same key as `objectKey`. */
export function refKey(r: ObjectRef): string {
  return r.namespace === '' ? `${r.kind}/${r.name}` : `${r.kind}/${r.namespace}/${r.name}`;
}

/** `Kind ns/name` for messages. */
export function describeRef(r: ObjectRef): string {
  return `${r.kind} ${r.namespace === '' ? '' : `${r.namespace}/`}${r.name}`;
}
