/**
 * The store port's watch over etcd: the resilient prefix watch (prefix-watch.ts) on the objects'
 * prefix, its raw events decoded into objects. A stored value that is not a valid object is
 * reported as a `problem` and changes nothing (the watcher keeps its last good version), as the
 * file source keeps the last good version of a file.
 */
import type { Etcd3, IEvent } from 'etcd3';
import type { Change, StoreEvent } from '../../model/config/store.js';
import { decodeAll, decodeKv, type KeyLayout } from './keys.js';
import { PrefixWatch, type PrefixWatchEvent } from './prefix-watch.js';

export class EtcdConfigWatch {
  private readonly watch: PrefixWatch;
  private closed = false;

  constructor(
    client: Etcd3,
    private readonly layout: KeyLayout,
    fromRevision: number,
    private readonly listener: (e: StoreEvent) => void,
  ) {
    this.watch = new PrefixWatch(client, layout.config, fromRevision, (e) => this.onEvent(e));
  }

  start(): void {
    this.watch.start();
  }

  get state(): string {
    return this.watch.state;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watch.close();
  }

  private emit(e: StoreEvent): void {
    if (!this.closed) this.listener(e);
  }

  private onEvent(e: PrefixWatchEvent): void {
    switch (e.type) {
      case 'connection':
        this.emit({ type: 'connection', connected: e.connected, message: e.message });
        return;
      case 'resync': {
        const { objects, problems } = decodeAll(this.layout, e.kvs);
        for (const problem of problems) this.emit({ type: 'problem', problem });
        this.emit({ type: 'resync', revision: String(e.revision), objects });
        return;
      }
      case 'events':
        this.emit({ type: 'changes', revision: String(e.revision), changes: this.decode(e.events) });
        return;
    }
  }

  private decode(events: readonly IEvent[]): Change[] {
    const out: Change[] = [];
    for (const ev of events) {
      const key = ev.kv.key.toString();
      if (ev.type === 'Delete') {
        if (this.layout.refOf(key)) out.push({ type: 'delete', key: this.layout.objectKeyOf(key), revision: String(ev.kv.mod_revision) });
        continue;
      }
      const d = decodeKv(this.layout, ev.kv);
      if (d.ok) out.push({ type: 'put', object: d.object });
      else this.emit({ type: 'problem', problem: d.problem });
    }
    return out;
  }
}
