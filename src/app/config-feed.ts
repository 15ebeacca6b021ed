/**
 * The store → registry feed of `serve`: list once, then watch, and turn every change into the
 * matching input collection's put or delete (incremental: only changed objects are written; they
 * are not compared again, since every put of a store is a new revision its writer compared: the
 * file store's folder source, or the write rules of store-writes.ts). A listing and a resync (after
 * a compaction) replace all inputs, which compares and emits only the difference.
 *
 * While the store is unreachable the registry keeps the last configuration it had, and the feed
 * says so: `status()` (served as /debug/storez), a log line per transition, and the callback.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../lib/async/backoff.js';
import type { Logger } from '../lib/log/logger.js';
import type { Change, ConfigStore, FilesReport, StoreEvent, StoreWatch } from '../model/config/store.js';
import { isOfKind, objectKey, type ConfigObject, type Kind } from '../model/config/types.js';
import { replaceInputs, type KindInputs, type RegistryInputs } from '../registry/registry.js';
import type { FeedStatus } from '../status/feed-status.js';
import { errorMessage } from '../lib/errors.js';

export type { FeedStatus };


const kindOfKey = (key: string): Kind => key.split('/')[0] as Kind;

export interface ConfigFeedOptions {
  readonly log: Logger;
  /** After every applied batch (metrics). */
  readonly onApplied?: (changes: number) => void;
  readonly onConnection?: (connected: boolean) => void;
  /** Every reading of the store's configuration files (file stores), the listing's first. */
  readonly onFiles?: (report: FilesReport) => void;
}

export class ConfigFeed {
  private watch: StoreWatch | undefined;
  private state: FeedStatus;
  private stopped = false;

  constructor(
    private readonly store: ConfigStore,
    private readonly inputs: RegistryInputs,
    private readonly o: ConfigFeedOptions,
  ) {
    this.state = { store: store.description, connected: false, revision: '0', since: new Date().toISOString(), message: 'starting', changesApplied: 0, resyncs: 0, problems: [] };
  }

  status(): FeedStatus {
    return this.state;
  }

  /** Lists (retrying until the store answers) and starts watching. Resolves once the first listing is applied. */
  async start(): Promise<void> {
    const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
    for (;;) {
      try {
        const listing = await this.store.list();
        replaceInputs(this.inputs, listing.objects);
        this.state = { ...this.state, connected: true, revision: listing.revision, since: new Date().toISOString(), message: 'listed', problems: listing.problems.map((p) => `${p.key}: ${p.message}`) };
        for (const p of listing.problems) this.o.log.warn('a stored object is invalid and left out', { object: p.key, reason: p.message });
        if (listing.files !== undefined) this.o.onFiles?.(listing.files);
        if (this.stopped) return;
        this.watch = this.store.watch(listing.revision, (e) => this.onEvent(e));
        return;
      } catch (e) {
        if (this.stopped) return;
        const message = errorMessage(e);
        if (backoff.attempts === 0) this.o.log.warn('the configuration store is unreachable; retrying', { store: this.store.description, error: message });
        this.state = { ...this.state, message };
        await sleep(backoff.next());
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = undefined;
    await this.watch?.close();
  }

  /**
   * Change events delivered together (a store delivers what it queued since its last delivery) are
   * applied as one batch, in order, in a microtask after the delivery: measured cause (bench S1,
   * 10,000 ServiceEntries), the VIP status writer's 10,000 writes after start were delivered as
   * 10,000 events and each one recomputed the registry's address allocation over every entry
   * (quadratic: the control plane was busy for minutes after a 100k start). Any other event applies
   * the pending changes first, so the order of events is kept.
   */
  private pending: { changes: Change[]; revision: string } | undefined;

  private onEvent(e: StoreEvent): void {
    if (e.type === 'changes') {
      if (this.pending === undefined) {
        this.pending = { changes: [...e.changes], revision: e.revision };
        queueMicrotask(() => this.applyPending());
      } else {
        for (const c of e.changes) this.pending.changes.push(c);
        this.pending.revision = e.revision;
      }
      return;
    }
    this.applyPending();
    switch (e.type) {
      case 'resync':
        replaceInputs(this.inputs, e.objects);
        this.state = { ...this.state, revision: e.revision, resyncs: this.state.resyncs + 1 };
        this.o.log.info('configuration re-listed from the store', { revision: e.revision, objects: e.objects.length });
        this.o.onApplied?.(e.objects.length);
        return;
      case 'connection':
        this.state = { ...this.state, connected: e.connected, since: new Date().toISOString(), message: e.message };
        if (e.connected) this.o.log.info('the configuration store is reachable again', { store: this.store.description, detail: e.message });
        else this.o.log.warn(`the configuration store is unreachable: serving the last known configuration (revision ${this.state.revision})`, { store: this.store.description, detail: e.message });
        this.o.onConnection?.(e.connected);
        return;
      case 'problem':
        this.state = { ...this.state, problems: [...this.state.problems.slice(-99), `${e.problem.key}: ${e.problem.message}`] };
        this.o.log.warn('a stored object is invalid: keeping its last good version', { object: e.problem.key, reason: e.problem.message });
        return;
      case 'files':
        this.o.onFiles?.(e.report);
        return;
    }
  }

  private applyPending(): void {
    const batch = this.pending;
    if (batch === undefined) return;
    this.pending = undefined;
    this.apply(batch.changes);
    this.state = { ...this.state, revision: batch.revision, changesApplied: this.state.changesApplied + batch.changes.length };
    this.o.onApplied?.(batch.changes.length);
  }

  /** One batch: per kind, upserts and deletes in order (a key changed twice keeps its last change). */
  private apply(changes: readonly Change[]): void {
    const last = new Map<string, Change>();
    for (const c of changes) last.set(c.type === 'put' ? objectKey(c.object) : c.key, c);
    const byKind = new Map<Kind, { puts: ConfigObject[]; deletes: string[] }>();
    for (const c of last.values()) {
      const kind = c.type === 'put' ? c.object.kind : kindOfKey(c.key);
      const b = byKind.get(kind) ?? { puts: [], deletes: [] };
      if (c.type === 'put') b.puts.push(c.object);
      else b.deletes.push(c.key);
      byKind.set(kind, b);
    }
    const applyKind = <K extends Kind>(kind: K, b: { puts: ConfigObject[]; deletes: string[] }): void => {
      const kinds: KindInputs = this.inputs;
      const input = kinds[kind];
      if (b.deletes.length > 0) input.delete(...b.deletes);
      if (b.puts.length > 0) input.putChanged(...b.puts.filter(isOfKind(kind)));
    };
    for (const [kind, b] of byKind) applyKind(kind, b);
  }
}
