/**
 * Where the control plane's own writes live with the file store (issue 4, "Where status lives"):
 * auto-registered WorkloadEntries, and status overlays (health conditions) of WorkloadEntries the
 * operator wrote. Never written into the operator's YAML. With a directory it is persisted as one
 * JSON document, written atomically (temp file + rename) shortly after each change, so it survives a
 * restart; without one it is in memory (tests).
 *
 * This is the `ConfigWriter` port of the lifecycle module (STYLE: ports owned by the consumer); the
 * etcd store implements the same shape later.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkloadEntry, WorkloadEntryStatus } from '../model/config/types.js';
import { objectKey } from '../model/config/types.js';

export interface WorkloadEntryWriter {
  /** Auto-registered entries, by `WorkloadEntry/<ns>/<name>`. */
  entry(key: string): WorkloadEntry | undefined;
  entries(): WorkloadEntry[];
  putEntry(entry: WorkloadEntry): void;
  deleteEntry(key: string): void;
  /** Status overlay of an operator-written entry (undefined removes it). */
  status(key: string): WorkloadEntryStatus | undefined;
  statuses(): ReadonlyMap<string, WorkloadEntryStatus>;
  putStatus(key: string, status: WorkloadEntryStatus | undefined): void;
  /** Called with the changed keys after every write. */
  subscribe(listener: (keys: readonly string[]) => void): () => void;
}

interface Persisted {
  readonly version: 1;
  readonly entries: WorkloadEntry[];
  readonly statuses: Record<string, WorkloadEntryStatus>;
}

export class StateStore implements WorkloadEntryWriter {
  private readonly registered = new Map<string, WorkloadEntry>();
  private readonly overlays = new Map<string, WorkloadEntryStatus>();
  private readonly listeners = new Set<(keys: readonly string[]) => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly file: string | undefined;
  private readonly dir: string | undefined;

  /** `dir` undefined: in memory only. Loads what a previous run persisted. */
  constructor(dir?: string, private readonly writeDelayMs = 20) {
    if (dir === undefined) return;
    this.dir = dir;
    this.file = join(dir, 'workloadentries.json');
    let text: string | undefined;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      const data = JSON.parse(text) as Persisted;
      for (const e of data.entries) this.registered.set(objectKey(e), e);
      for (const [k, s] of Object.entries(data.statuses)) this.overlays.set(k, s);
    }
  }

  entry(key: string): WorkloadEntry | undefined {
    return this.registered.get(key);
  }
  entries(): WorkloadEntry[] {
    return [...this.registered.values()];
  }
  putEntry(entry: WorkloadEntry): void {
    const key = objectKey(entry);
    this.registered.set(key, entry);
    this.changed([key]);
  }
  deleteEntry(key: string): void {
    if (this.registered.delete(key)) this.changed([key]);
  }
  status(key: string): WorkloadEntryStatus | undefined {
    return this.overlays.get(key);
  }
  statuses(): ReadonlyMap<string, WorkloadEntryStatus> {
    return this.overlays;
  }
  putStatus(key: string, status: WorkloadEntryStatus | undefined): void {
    if (status === undefined) {
      if (!this.overlays.delete(key)) return;
    } else this.overlays.set(key, status);
    this.changed([key]);
  }
  subscribe(listener: (keys: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes pending changes now (shutdown, tests). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.file === undefined) return;
    const data: Persisted = { version: 1, entries: this.entries(), statuses: Object.fromEntries(this.overlays) };
    if (this.dir !== undefined) mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.file);
  }

  private changed(keys: string[]): void {
    if (this.file !== undefined && this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.writeDelayMs);
    for (const l of [...this.listeners]) l(keys);
  }
}
