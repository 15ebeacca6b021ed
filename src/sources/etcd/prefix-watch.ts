/**
 * A resilient etcd prefix watch with an explicit reconnect state machine (issue 6, "watch
 * resilience"). etcd3's own watcher reconnects by itself, but it resumes from the revision in the
 * last response header, which etcd sets past the events it sent when it splits a long catch-up
 * into batches (mvcc syncWatchers, `Revision: curRev` with `moreRev`): resuming from it can skip
 * changes. So this watch owns its revision — the mod_revision of the last event it delivered — and
 * its reconnects:
 *
 *   connecting ──connected──▶ watching
 *       ▲                         │ disconnected (stream error, member gone)
 *       │ after backoff           ▼
 *       └──────────────────── backoff ◀── list failed
 *                                 ▲
 *   watching / connecting ──canceled by etcd (compacted)──▶ relisting ──listed──▶ connecting
 *
 * - Resume: a new etcd watcher from `revision + 1`. etcd never splits one revision over two
 *   responses, so dropping every event at or below `revision` removes exactly the replayed ones:
 *   no change is lost or delivered twice.
 * - Compaction: etcd cancels a watch whose start revision it no longer has. The watch then lists
 *   the prefix (one revision) and delivers a `resync`, and watches on from that revision.
 * - Unreachable: one `connection: false` event when the stream breaks, one `connection: true`
 *   when it is back; the consumer keeps what it has in between.
 */
import type { Etcd3, IEvent, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { Backoff } from '../../lib/async/backoff.js';
import { prefixEnd } from './keys.js';
import { errorMessage } from '../../lib/errors.js';

export type PrefixWatchEvent =
  /** The events of one or more complete revisions after the last delivered one, in order. */
  | { readonly type: 'events'; readonly revision: number; readonly events: readonly IEvent[] }
  /** Everything under the prefix at `revision` (after a compaction). */
  | { readonly type: 'resync'; readonly revision: number; readonly kvs: readonly IKeyValue[] }
  | { readonly type: 'connection'; readonly connected: boolean; readonly message: string };

export type PrefixWatchState = 'idle' | 'connecting' | 'watching' | 'backoff' | 'relisting' | 'closed';

export interface PrefixWatchOptions {
  readonly backoff?: Backoff;
  /** Called on every state change (tests, debug). */
  readonly onState?: (state: PrefixWatchState, detail: string) => void;
}

/** Lists a prefix at one revision, paging so that no response exceeds gRPC's message size. */
export async function listPrefix(client: Etcd3, prefix: string, pageSize = 500): Promise<{ revision: number; kvs: IKeyValue[] }> {
  const end = prefixEnd(prefix);
  let key = Buffer.from(prefix);
  let revision: string | undefined;
  const kvs: IKeyValue[] = [];
  for (;;) {
    const res = await client.kv.range({ key, range_end: end, limit: pageSize, ...(revision !== undefined ? { revision } : {}) });
    revision ??= res.header.revision;
    kvs.push(...res.kvs);
    const last = res.kvs[res.kvs.length - 1];
    if (!res.more || !last) break;
    key = Buffer.concat([last.key, Buffer.from([0])]);
  }
  return { revision: Number(revision), kvs };
}

export class PrefixWatch {
  private stateName: PrefixWatchState = 'idle';
  private watcher: Watcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reportedDown = false;
  private readonly backoff: Backoff;
  /** Incremented on every new etcd watcher: events of an abandoned watcher are ignored. */
  private generation = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    /** The last revision the consumer has (a listing's revision). */
    private revision: number,
    private readonly listener: (e: PrefixWatchEvent) => void,
    private readonly o: PrefixWatchOptions = {},
  ) {
    this.backoff = o.backoff ?? new Backoff({ baseMs: 50, capMs: 2000 });
  }

  get state(): PrefixWatchState {
    return this.stateName;
  }

  /** The revision of the last change delivered. */
  get lastRevision(): number {
    return this.revision;
  }

  start(): this {
    if (this.stateName === 'idle') this.connect();
    return this;
  }

  async close(): Promise<void> {
    this.to('closed', 'closed');
    if (this.timer) clearTimeout(this.timer);
    this.generation++;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drop(), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }

  private to(state: PrefixWatchState, detail: string): void {
    if (this.stateName === 'closed') return;
    this.stateName = state;
    this.o.onState?.(state, detail);
  }

  private connect(): void {
    if (this.stateName === 'closed') return;
    this.to('connecting', `from revision ${this.revision + 1}`);
    const gen = ++this.generation;
    const w = this.client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(this.revision + 1))
      .watcher();
    this.watcher = w;
    w.on('connected', () => {
      if (gen !== this.generation) return;
      this.to('watching', `from revision ${this.revision + 1}`);
      this.backoff.reset();
      if (this.reportedDown) {
        this.reportedDown = false;
        this.listener({ type: 'connection', connected: true, message: `watching again from revision ${this.revision + 1}` });
      }
    });
    w.on('data', (res: IWatchResponse) => {
      if (gen === this.generation) this.onData(res);
    });
    w.on('disconnected', (e: Error) => {
      if (gen === this.generation) this.broken(`etcd unreachable: ${e.message}`, false);
    });
    w.on('error', (e: Error) => {
      // etcd canceled the watch: its start revision was compacted (or it refused the watch). etcd3
      // has already detached it (and etcd would not answer a cancel for it).
      if (this.watcher === w) this.watcher = undefined;
      if (gen === this.generation) this.broken(`watch canceled by etcd (${e.message}); listing again`, true);
    });
  }

  private onData(res: IWatchResponse): void {
    const fresh = res.events.filter((ev) => Number(ev.kv.mod_revision) > this.revision);
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1];
    this.revision = Math.max(this.revision, Number(last?.kv.mod_revision ?? this.revision));
    this.listener({ type: 'events', revision: this.revision, events: fresh });
  }

  private broken(message: string, relist: boolean): void {
    if (this.stateName === 'closed' || this.stateName === 'backoff' || this.stateName === 'relisting') return;
    this.generation++;
    void this.drop();
    if (relist) {
      void this.relist();
      return;
    }
    this.down(message);
    this.retryLater(false);
  }

  private down(message: string): void {
    if (this.reportedDown) return;
    this.reportedDown = true;
    this.listener({ type: 'connection', connected: false, message });
  }

  private retryLater(relist: boolean): void {
    if (this.stateName === 'closed') return;
    const delay = this.backoff.next();
    this.to('backoff', `${relist ? 'listing' : 'watching'} again in ${delay} ms`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (relist) void this.relist();
      else this.connect();
    }, delay);
  }

  private async relist(): Promise<void> {
    if (this.stateName === 'closed') return;
    this.to('relisting', `after revision ${this.revision}`);
    let listed: { revision: number; kvs: IKeyValue[] };
    try {
      listed = await listPrefix(this.client, this.prefix);
    } catch (e) {
      this.down(`etcd unreachable: ${errorMessage(e)}`);
      this.retryLater(true);
      return;
    }
    if (this.stateName !== 'relisting') return; // closed meanwhile
    this.revision = listed.revision;
    this.listener({ type: 'resync', revision: listed.revision, kvs: listed.kvs });
    this.connect();
  }

  private async drop(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (!w) return;
    w.removeAllListeners('data');
    // Detaching never rejects for a watcher that is not connected; a connected one is canceled.
    await w.cancel().catch(() => undefined);
  }
}
