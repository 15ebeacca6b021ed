/**
 * The retry decorator of the store port (STYLE, sources/etcd): reads that could not reach the
 * store and writes that failed `Unavailable` are tried again with jittered backoff until a
 * deadline. Everything else passes through: a Conflict is the caller's to resolve.
 *
 * A write that failed `Unavailable` may have been applied. Retrying it is safe because:
 * - creates carry a uid chosen here before the first attempt, so a retry that finds the object
 *   already there with that uid knows its own earlier attempt landed (the transaction was atomic:
 *   all of it landed) and reports success;
 * - updates without a resourceVersion are idempotent;
 * - an update or delete with a resourceVersion that landed fails the retry with Conflict (or
 *   NotFound): the caller reads again, as after any conflict.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../lib/async/backoff.js';
import { refOf, StoreUnavailableError, type ConfigStore, type Listing, type ObjectRef, type StoreEvent, type StoreWatch, type WriteOp, type WriteOptions, type WriteResult } from '../../model/config/store.js';
import type { ConfigObject } from '../../model/config/types.js';

export interface RetryOptions {
  /** Give up after this long (default 15 s: longer than an etcd leader election under load). */
  readonly deadlineMs?: number;
  readonly baseMs?: number;
  readonly capMs?: number;
  /** Called before each retry (logs, metrics). */
  readonly onRetry?: (what: string, attempt: number, reason: string) => void;
}

export class RetryingStore implements ConfigStore {
  readonly description: string;

  constructor(
    readonly inner: ConfigStore,
    private readonly o: RetryOptions = {},
  ) {
    this.description = inner.description;
  }

  private backoff(): Backoff {
    return new Backoff({ baseMs: this.o.baseMs ?? 50, capMs: this.o.capMs ?? 1000 });
  }

  private async retryRead<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.o.deadlineMs ?? 15_000);
    const backoff = this.backoff();
    let first: Error | undefined;
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof StoreUnavailableError)) throw e;
        first ??= e; // later ones may only say that the client stopped trying a dead member
        if (Date.now() > deadline) throw new StoreUnavailableError(`${first.message} (retried for ${this.o.deadlineMs ?? 15_000} ms)`);
        this.o.onRetry?.(what, backoff.attempts + 1, e.message);
        await sleep(backoff.next());
      }
    }
  }

  list(): Promise<Listing> {
    return this.retryRead('list', () => this.inner.list());
  }

  get(ref: ObjectRef): Promise<ConfigObject | undefined> {
    return this.retryRead('get', () => this.inner.get(ref));
  }

  watch(fromRevision: string, listener: (event: StoreEvent) => void): StoreWatch {
    return this.inner.watch(fromRevision, listener); // the watch has its own reconnect state machine
  }

  async write(ops: readonly WriteOp[], options?: WriteOptions): Promise<WriteResult> {
    const withUids = ops.map((op) =>
      op.op === 'create' && op.object.metadata.uid === undefined ? { ...op, object: { ...op.object, metadata: { ...op.object.metadata, uid: randomUUID() } } as ConfigObject } : op,
    );
    const deadline = Date.now() + (this.o.deadlineMs ?? 15_000);
    const backoff = this.backoff();
    let retried = false;
    for (;;) {
      const r = await this.inner.write(withUids, options);
      if (r.ok) return r;
      if (retried && r.failure.code === 'AlreadyExists' && r.failure.index !== undefined) {
        const op = withUids[r.failure.index];
        if (op?.op === 'create' && r.failure.current?.metadata.uid === op.object.metadata.uid) return this.landed(withUids);
      }
      if (!r.failure.retryable || Date.now() > deadline) return r;
      retried = true;
      this.o.onRetry?.('write', backoff.attempts + 1, r.failure.message);
      await sleep(backoff.next());
    }
  }

  /** The earlier attempt of this transaction was applied: report it as the store holds it now. */
  private async landed(ops: readonly WriteOp[]): Promise<WriteResult> {
    const objects = await Promise.all(ops.map((op) => (op.op === 'delete' ? Promise.resolve(undefined) : this.get(op.op === 'create' || op.op === 'update' ? refOf(op.object) : op.ref))));
    const revision = objects.reduce((m, o) => Math.max(m, Number(o?.metadata.resourceVersion ?? 0)), 0);
    return { ok: true, revision: String(revision), objects };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
