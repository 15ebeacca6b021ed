/**
 * The etcd v3 implementation of the store port (model/config/store.ts). Key layout in keys.ts;
 * resourceVersion = mod_revision.
 *
 * Writes: read the objects, plan each op with the shared rules (store-writes.ts), then commit one
 * transaction whose compares say "every object is still as read" (mod_revision equal, or absent)
 * and, with a fence, "the fence key still exists at its create revision". A failed compare means
 * another writer came in between: ops with an explicit resourceVersion then fail with Conflict,
 * ops without one are planned again on the new state (an unconditional write over CAS).
 *
 * A commit whose answer is lost (a member killed mid-call) may or may not have been applied: the
 * write then fails `Unavailable`, and whoever retries decides (sources/etcd/retrying-store.ts
 * recognises its own creates by their uid). etcd3's own retry of calls that reached a member is
 * off (etcd-client.ts) so that a transaction is never re-sent behind the caller's back.
 */
import { etcdRefusal } from './etcd-url.js';
import { randomUUID } from 'node:crypto';
import type { Etcd3, ICompare, IKeyValue, IRequestOp } from 'etcd3';
import { describeRef, StoreUnavailableError, type ConfigStore, type Listing, type ObjectRef, type StoreEvent, type StoreWatch, type WriteFailure, type WriteOp, type WriteOptions, type WriteResult } from '../../model/config/store.js';
import { duplicateRef, opRef, planWrite, type PlannedWrite } from '../../model/config/store-writes.js';
import type { ConfigObject } from '../../model/config/types.js';
import { decodeAll, decodeKv, encodeObject, KeyLayout, STORED_FORMAT, type StoredValue } from './keys.js';
import { EtcdConfigWatch } from './etcd-config-watch.js';
import { listPrefix } from './prefix-watch.js';
import { errorMessage } from '../../lib/errors.js';

export interface EtcdStoreOptions {
  readonly prefix?: string;
  readonly description?: string;
  /** Attempts of a write whose objects keep changing under it (default 20). */
  readonly maxAttempts?: number;
}

function unavailable(e: unknown, description: string): WriteResult {
  const refused = etcdRefusal(e, description);
  if (refused !== undefined) throw refused;
  return {
    ok: false,
    failure: { code: 'Unavailable', message: `etcd did not answer (${errorMessage(e)}); the write may or may not have happened`, retryable: true },
  };
}

type Planned = Extract<PlannedWrite, { ok: true }>;

/** etcd's default `--max-txn-ops`: the most operations (compares, or puts and deletes) of one transaction. */
export const ETCD_DEFAULT_MAX_TXN_OPS = 128;

/**
 * The refusal of a change too large for one etcd transaction: every object of a write is one
 * compare and one put or delete of the same transaction (that is what makes it all or nothing).
 */
export function tooManyOperations(objects: number, operations: number): string {
  return (
    `etcd refused one transaction of ${objects} objects (${operations} operations): etcd allows at most --max-txn-ops operations ` +
    `per transaction (default ${ETCD_DEFAULT_MAX_TXN_OPS}), and an all-or-nothing change needs every object in one transaction. ` +
    `Raise the limit on every etcd member (etcd --max-txn-ops=${Math.max(operations, ETCD_DEFAULT_MAX_TXN_OPS * 2)}), or apply the objects in smaller parts (each part all or nothing on its own)`
  );
}

export class EtcdStore implements ConfigStore {
  readonly description: string;
  readonly layout: KeyLayout;
  private readonly watches = new Set<EtcdConfigWatch>();
  private readonly maxAttempts: number;

  constructor(
    readonly client: Etcd3,
    o: EtcdStoreOptions = {},
  ) {
    this.layout = new KeyLayout(o.prefix);
    this.description = o.description ?? 'etcd';
    this.maxAttempts = o.maxAttempts ?? 20;
  }

  async list(): Promise<Listing> {
    try {
      return await this.listNow();
    } catch (e) {
      throw etcdRefusal(e, this.description) ?? new StoreUnavailableError(`listing ${this.description} failed: ${errorMessage(e)}`);
    }
  }

  /** Lists (and decodes) every object; rejects with etcd's error. */
  async listNow(): Promise<Listing> {
    const listed = await listPrefix(this.client, this.layout.config);
    return { ...decodeAll(this.layout, listed.kvs), revision: String(listed.revision) };
  }

  async get(ref: ObjectRef): Promise<ConfigObject | undefined> {
    let kv: IKeyValue | undefined;
    try {
      kv = (await this.client.kv.range({ key: Buffer.from(this.layout.keyOf(ref)) })).kvs[0];
    } catch (e) {
      throw etcdRefusal(e, this.description) ?? new StoreUnavailableError(`reading ${describeRef(ref)} from ${this.description} failed: ${errorMessage(e)}`);
    }
    if (!kv) return undefined;
    const d = decodeKv(this.layout, kv);
    return d.ok ? d.object : undefined;
  }

  watch(fromRevision: string, listener: (event: StoreEvent) => void): StoreWatch {
    const w = new EtcdConfigWatch(this.client, this.layout, Number(fromRevision), listener);
    this.watches.add(w);
    w.start();
    return {
      close: async () => {
        this.watches.delete(w);
        await w.close();
      },
    };
  }

  async write(ops: readonly WriteOp[], options: WriteOptions = {}): Promise<WriteResult> {
    const dup = duplicateRef(ops);
    if (dup) return { ok: false, failure: dup };
    const keys = ops.map((op) => this.layout.keyOf(opRef(op)));
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      let current: (IKeyValue | undefined)[];
      try {
        current = await Promise.all(keys.map(async (k) => (await this.client.kv.range({ key: Buffer.from(k) })).kvs[0]));
      } catch (e) {
        return unavailable(e, this.description);
      }
      const planned: Planned[] = [];
      for (const [i, op] of ops.entries()) {
        const p = this.plan(op, current[i], i);
        if (!p.ok) return p;
        planned.push(p);
      }
      const changed = planned.map((p, i) => ({ p, i })).filter(({ p }) => p.changed);
      if (changed.length === 0 && !options.fence) return this.success(ops, keys, current);
      const compare: ICompare[] = keys.map((k, i) => {
        const kv = current[i];
        return kv
          ? { key: Buffer.from(k), target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }
          : { key: Buffer.from(k), target: 'Create', result: 'Equal', create_revision: 0 };
      });
      if (options.fence) compare.push({ key: Buffer.from(options.fence.key), target: 'Create', result: 'Equal', create_revision: options.fence.revision });
      const success: IRequestOp[] = changed.map(({ p, i }) =>
        p.next ? { request_put: { key: Buffer.from(keys[i] ?? ''), value: Buffer.from(encodeObject(p.next, this.storedValue(current[i]))) } } : { request_delete_range: { key: Buffer.from(keys[i] ?? '') } },
      );
      let res;
      try {
        res = await this.client.kv.txn({ compare, success, failure: options.fence ? [{ request_range: { key: Buffer.from(options.fence.key) } }] : [] });
      } catch (e) {
        if (/too many operations/i.test(errorMessage(e))) return { ok: false, failure: { code: 'Invalid', message: tooManyOperations(ops.length, compare.length), retryable: false } };
        if (/request is too large/i.test(errorMessage(e))) {
          return { ok: false, failure: { code: 'Invalid', message: `etcd refused the transaction of ${ops.length} objects: ${errorMessage(e)} (etcd's --max-request-bytes, default 1.5 MiB)`, retryable: false } };
        }
        return unavailable(e, this.description);
      }
      if (res.succeeded) return this.committed(ops, keys, planned, current, res.header.revision);
      const fence = res.responses[0]?.response_range.kvs[0];
      if (options.fence && fence?.create_revision !== String(options.fence.revision)) {
        return { ok: false, failure: { code: 'Fenced', message: `not the leader any more (${options.fence.key} is gone or held by another replica)`, retryable: false } };
      }
    }
    return { ok: false, failure: { code: 'Unavailable', message: `the objects kept changing during ${this.maxAttempts} attempts to write them`, retryable: true } };
    // (Only writes without a resourceVersion get here: with one, a change is a Conflict at once.)
  }

  /** What a rewrite of `kv` keeps (keys.ts encodeObject), when it is an object this replica read. */
  private storedValue(kv: IKeyValue | undefined): StoredValue | undefined {
    if (!kv) return undefined;
    const d = decodeKv(this.layout, kv);
    return d.ok ? d.stored : undefined;
  }

  private plan(op: WriteOp, kv: IKeyValue | undefined, i: number): PlannedWrite {
    let cur: ConfigObject | undefined;
    if (kv) {
      const d = decodeKv(this.layout, kv);
      if (d.ok && d.format > STORED_FORMAT) {
        const message =
          `${describeRef(opRef(op))} was stored by a newer meshbridge (stored format ${d.format}; this version writes format ${STORED_FORMAT}): ` +
          'it is served as far as this version understands it, and never rewritten or deleted by it; change it with the newer version';
        return { ok: false, failure: { code: 'Invalid', message, index: i, retryable: false } };
      }
      if (!d.ok && op.op !== 'delete') {
        const failure: WriteFailure = { code: 'Invalid', message: `the stored ${describeRef(opRef(op))} is not a valid object (${d.problem.message}); delete it first`, index: i, retryable: false };
        return { ok: false, failure };
      }
      cur = d.ok ? d.object : undefined;
      if (!cur && op.op === 'delete') return { ok: true, ref: opRef(op), next: undefined, changed: true };
    }
    return planWrite(op, cur, i, { now: new Date().toISOString(), newUid: randomUUID });
  }

  private success(ops: readonly WriteOp[], keys: readonly string[], current: readonly (IKeyValue | undefined)[]): WriteResult {
    const objects = current.map((kv) => {
      if (!kv) return undefined;
      const d = decodeKv(this.layout, kv);
      return d.ok ? d.object : undefined;
    });
    const revision = Math.max(0, ...current.map((kv) => Number(kv?.mod_revision ?? 0)));
    return { ok: true, revision: String(revision), objects: ops.map((op, i) => (op.op === 'delete' || !keys[i] ? undefined : objects[i])) };
  }

  private committed(ops: readonly WriteOp[], keys: readonly string[], planned: readonly Planned[], current: readonly (IKeyValue | undefined)[], revision: string): WriteResult {
    const objects = planned.map((p, i) => {
      if (!p.next) return undefined;
      const kv = current[i];
      if (!p.changed && kv) {
        const d = decodeKv(this.layout, kv);
        if (d.ok) return d.object;
      }
      const order = Number(kv?.create_revision ?? revision);
      return { ...p.next, metadata: { ...p.next.metadata, resourceVersion: revision }, origin: { file: `etcd:${keys[i] ?? ''}`, line: 0, column: 0, order } };
    });
    return { ok: true, revision, objects: ops.map((_op, i) => objects[i]) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.close()));
    this.watches.clear();
    this.client.close();
  }
}
