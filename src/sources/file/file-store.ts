/**
 * The file store: the operator's folder of YAML plus the control plane's state directory, behind
 * the store port (model/config/store.ts). The default store of `serve`.
 *
 * - Objects from the folder are read-only through the store: the control plane never rewrites the
 *   operator's YAML (an update or delete is refused `ReadOnly`, naming the file). Their status can
 *   be written: it is kept in the state directory as an overlay, and served on the object.
 * - Objects created through the store (auto-registered WorkloadEntries) live in the state
 *   directory, and are fully writable. The folder wins a name clash.
 * - Folder changes arrive as store changes (the folder source keeps the last good version of each
 *   file, and compares; see config-folder.ts), so a watcher sees folder edits and writes alike;
 *   each reload's report of the files (findings, refused files) follows its changes as a `files`
 *   event, and a listing carries the last one. The last good
 *   versions are kept in the state directory too (last-good.ts): a restart serves them for files
 *   that are invalid on disk.
 * - One process writes the state directory (the `serve` that owns it): the state file is written
 *   atomically (temp file + rename) shortly after each change and read once at start.
 */
import { readFileSync } from 'node:fs';
import { makePrivateDir, PRIVATE_FILE, writeFileAtomic } from '../../lib/fs/modes.js';
import { join } from 'node:path';
import { fromDocument, toDocument } from '../../model/config/document.js';
import { describeRef, refKey, type FilesReport, type Listing, type WriteOp, type WriteResult } from '../../model/config/store.js';
import { opRef } from '../../model/config/store-writes.js';
import { objectKey, type ConfigObject } from '../../model/config/types.js';
import { MemoryStore, type DirectChange } from '../memory/memory-store.js';
import { ConfigFolderSource, type ReloadReport } from './config-folder.js';
import { lastGoodVersionsIn } from './last-good.js';

export interface FileStoreOptions {
  readonly paths: readonly string[];
  /** undefined: state in memory only (tests). */
  readonly stateDir?: string;
  readonly onError?: (e: unknown) => void;
  readonly writeDelayMs?: number;
  /** Never write the state directory (a reader beside the `serve` that owns it: `get`). */
  readonly readOnly?: boolean;
}

interface PersistedV2 {
  readonly version: 2;
  readonly revision: number;
  readonly objects: readonly unknown[];
  /** Status overlays of folder objects, by objectKey; null clears the file's own status. */
  readonly statuses: Readonly<Record<string, unknown>>;
}

interface PersistedV1 {
  readonly version: 1;
  readonly entries: readonly unknown[];
  readonly statuses: Readonly<Record<string, unknown>>;
}

export class FileStore extends MemoryStore {
  readonly source: ConfigFolderSource;
  private readonly overlays = new Map<string, { status: unknown }>();
  /**
   * Keys of the objects created through the store (not from the folder): what the state file
   * holds. Kept up to date so that writing the state file after a folder change costs the state,
   * not the folder (measured cause: filtering 110k folder objects on every change, bench S4).
   */
  private readonly ownKeys = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private readonly file: string | undefined;
  private lastReport: ReloadReport | undefined;
  private lastFiles: FilesReport | undefined;
  private started = false;

  constructor(private readonly o: FileStoreOptions) {
    super({ description: `file://${o.paths.join(',')}`, originFile: o.stateDir !== undefined ? join(o.stateDir, 'state.json') : 'state' });
    this.source = new ConfigFolderSource(o.paths, o.stateDir !== undefined ? lastGoodVersionsIn(o.stateDir, o.readOnly === true) : undefined);
    this.file = o.stateDir !== undefined ? join(o.stateDir, 'state.json') : undefined;
  }

  /** Reads the state directory and the folder; with `watchDebounceMs`, keeps watching the folder. */
  async start(watchDebounceMs?: number): Promise<ReloadReport> {
    if (!this.started) {
      this.started = true;
      this.loadState();
    }
    const first = await this.reload();
    if (watchDebounceMs !== undefined) {
      this.source.watch(
        (r) => this.applyReload(r),
        (e) => this.o.onError?.(e),
        watchDebounceMs,
      );
    }
    return first;
  }

  /** Re-reads changed files now (tests; the watch does it by itself). */
  async reload(): Promise<ReloadReport> {
    const r = await this.source.reload();
    this.applyReload(r);
    return r;
  }

  /** The last folder reload (files, findings, refused files). */
  get lastReload(): ReloadReport | undefined {
    return this.lastReport;
  }

  override async list(): Promise<Listing> {
    const listing = await super.list();
    return this.lastFiles !== undefined ? { ...listing, files: this.lastFiles } : listing;
  }

  /**
   * Applies the reload's changes as they are (the folder source compared them): the cost follows
   * the changed files, not the folder's size. Then tells watchers what the reload read.
   */
  private applyReload(r: ReloadReport): void {
    this.lastReport = r;
    const changes: DirectChange[] = [];
    for (const [key, o] of r.changes) {
      if (o === undefined) {
        changes.push({ key, next: undefined });
        this.overlays.delete(key);
        continue;
      }
      this.ownKeys.delete(key); // the folder wins a name clash
      changes.push({ key, next: this.withOverlay(key, o) });
    }
    if (changes.length > 0) {
      this.applyDirect(changes);
      this.persistSoon(true);
    }
    const { snapshot, changes: _changes, examined: _examined, ...rest } = r;
    this.lastFiles = { ...rest, files: snapshot.files, findings: snapshot.findings };
    this.tell({ type: 'files', report: this.lastFiles });
  }

  /** The folder object served under `key`, if the folder holds one. */
  private fromFolder(key: string): ConfigObject | undefined {
    return this.source.served(key);
  }

  private withOverlay(key: string, o: ConfigObject): ConfigObject {
    const overlay = this.overlays.get(key);
    if (!overlay) return o;
    const { status: _s, ...rest } = o as ConfigObject & { status?: unknown };
    return (overlay.status === undefined ? rest : { ...rest, status: overlay.status }) as ConfigObject;
  }

  protected override refuse(op: WriteOp, index: number): WriteResult | undefined {
    const key = refKey(opRef(op));
    const from = this.fromFolder(key);
    if (!from || op.op === 'updateStatus' || op.op === 'create') return undefined;
    return {
      ok: false,
      failure: {
        code: 'ReadOnly',
        message: `${describeRef(opRef(op))} comes from ${from.origin.file}: the file store does not rewrite the operator's files (edit the file, or use an etcd store)`,
        index,
        retryable: false,
      },
    };
  }

  protected override writeNow(ops: readonly WriteOp[]): WriteResult {
    const r = super.writeNow(ops);
    if (!r.ok) return r;
    for (const op of ops) {
      const key = refKey(opRef(op));
      if (this.fromFolder(key) !== undefined) {
        if (op.op === 'updateStatus') this.overlays.set(key, { status: op.status });
      } else if (this.objects.has(key)) this.ownKeys.add(key);
      else this.ownKeys.delete(key);
    }
    this.persistSoon();
    return r;
  }

  private loadState(): void {
    if (this.file === undefined || this.o.stateDir === undefined) return;
    const read = (f: string): string | undefined => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return undefined;
      }
    };
    const text = read(this.file) ?? read(join(this.o.stateDir, 'workloadentries.json'));
    if (text === undefined) return;
    const data = JSON.parse(text) as PersistedV2 | PersistedV1;
    const docs = data.version === 2 ? data.objects : data.entries;
    if (data.version === 2) this.revision = data.revision;
    const changes: DirectChange[] = [];
    for (const [i, raw] of docs.entries()) {
      const { origin: _origin, ...doc } = raw as Record<string, unknown>; // v1 kept whole objects
      const d = fromDocument(doc, this.file, { file: this.file, line: 0, column: 0, order: this.revision + i });
      const object = d.ok ? d.object : d.failClosed; // an invalid AuthorizationPolicy denies rather than vanishes
      if (object !== undefined) changes.push({ key: objectKey(object), next: object });
    }
    for (const [k, s] of Object.entries(data.statuses)) this.overlays.set(k, { status: s === null ? undefined : s });
    if (changes.length > 0) this.applyDirect(changes);
    for (const c of changes) this.ownKeys.add(c.key);
  }

  /**
   * Schedules a write of the state file. Store writes are written within `writeDelayMs`; folder
   * changes, which only move the revision (the folder is read again at start), within a second:
   * measured cause (bench S2, 10 changes/s), rewriting and renaming the state file on every folder
   * change was ~4% of the control plane's CPU.
   */
  private persistSoon(folderOnly = false): void {
    if (this.file === undefined || this.o.readOnly === true) return;
    const delay = folderOnly ? Math.max(1000, this.o.writeDelayMs ?? 20) : (this.o.writeDelayMs ?? 20);
    const due = Date.now() + delay;
    if (this.timer !== undefined && this.timerDue <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.flush(), delay);
  }

  /** Writes the state file now (shutdown, tests); never before `start` read it (a refused start touches nothing). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.started || this.file === undefined || this.o.stateDir === undefined || this.o.readOnly === true) return;
    const objects = [...this.ownKeys].flatMap((k) => {
      const o = this.objects.get(k);
      return o !== undefined && this.fromFolder(k) === undefined ? [toDocument(o)] : [];
    });
    const statuses: Record<string, unknown> = {};
    for (const [k, v] of this.overlays) if (this.fromFolder(k) !== undefined) statuses[k] = v.status ?? null;
    const data: PersistedV2 = { version: 2, revision: this.revision, objects, statuses };
    makePrivateDir(this.o.stateDir);
    writeFileAtomic(this.file, JSON.stringify(data), PRIVATE_FILE);
  }

  override async close(): Promise<void> {
    this.source.close();
    this.flush();
    await super.close();
  }
}

