/**
 * The folder-of-YAML configuration source used by `serve`: reads files and folders, watches them,
 * and keeps the last good version of every file. A file whose new version has an error (syntax or
 * validation) keeps serving its previous objects; the errors are reported with their positions.
 *
 * Creation order: an object's `origin.order` is the sequence number of the first time its key was
 * seen (the initial load in path and document order), and stays the same across reloads, like a
 * Kubernetes creationTimestamp. Line and column changes alone do not change an object (see
 * `sameConfig`), so editing one document does not recompute the others of the file.
 *
 * Incremental: every reload reports `changes`, the objects of the merged configuration that it
 * added, replaced or removed (by key), computed from the changed files only. Measured cause (bench
 * S4, 110k objects): flattening and diffing every object of every file on each one-file change
 * made the cost of a change grow with the mesh. When two files hold the same key, the file that
 * sorts last by path wins (as if every file were read in path order), and within a file the last
 * document.
 */
import { stat, readFile } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { loadConfig, type Finding } from '../../model/config/load.js';
import { objectKey, type ConfigObject } from '../../model/config/types.js';
import { deepEqual } from '../../lib/krt/equal.js';
import { listConfigFiles } from './read-files.js';

export interface FileState {
  readonly path: string;
  /** The objects served from this file (its last good version). */
  readonly objects: readonly ConfigObject[];
  /** Findings of the file's current version on disk. */
  readonly findings: readonly Finding[];
  /** True when the version on disk was refused and an older version is served. */
  readonly rejected: boolean;
}

export interface ConfigSnapshot {
  readonly objects: readonly ConfigObject[];
  readonly files: readonly FileState[];
  /** Errors and warnings of the versions on disk. */
  readonly findings: readonly Finding[];
}

export interface ReloadReport {
  /** Everything served after this reload (`objects` is built on first read). */
  readonly snapshot: ConfigSnapshot;
  /**
   * What this reload changed in the served configuration, by objectKey: the new object, or
   * undefined when no file holds the key any more. An object kept as the same instance is absent.
   */
  readonly changes: ReadonlyMap<string, ConfigObject | undefined>;
  /** How many objects are served (distinct keys). */
  readonly objectCount: number;
  /** Files whose new version was refused in this reload. */
  readonly rejected: readonly string[];
  /** Files whose objects changed in this reload (applied). */
  readonly applied: readonly string[];
}

interface Stamp {
  readonly mtimeMs: number;
  readonly size: number;
}

/** Objects equal but for where they were read from are the same configuration. */
export function sameConfig(a: ConfigObject, b: ConfigObject): boolean {
  return deepEqual({ ...a, origin: a.origin.order }, { ...b, origin: b.origin.order });
}

interface FileEntry extends FileState {
  readonly stamp: Stamp;
  /** The served objects by key (the last document wins within a file). */
  readonly byKey: ReadonlyMap<string, ConfigObject>;
}

const NO_OBJECTS: ReadonlyMap<string, ConfigObject> = new Map();

export class ConfigFolderSource {
  private readonly files = new Map<string, FileEntry>();
  /** objectKey → the paths of the files serving it, sorted (the last one wins). */
  private readonly holders = new Map<string, string[]>();
  private readonly firstSeen = new Map<string, number>();
  private nextOrder = 0;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(private readonly paths: readonly string[]) {}

  /** Reads everything now. The first load serves the valid objects of every file. */
  async load(): Promise<ReloadReport> {
    return this.reload();
  }

  /**
   * Re-reads files whose size or modification time changed, files that appeared and files that
   * disappeared. Reloads are serialised.
   */
  reload(): Promise<ReloadReport> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Watches the paths and calls `onReload` after each change (debounced by `debounceMs`). */
  watch(onReload: (r: ReloadReport) => void, onError: (e: unknown) => void, debounceMs = 50): void {
    const trigger = (): void => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.reload().then(onReload, onError);
      }, debounceMs);
    };
    for (const p of this.paths) {
      try {
        this.watchers.push(watch(p, { recursive: true }, trigger));
      } catch (e) {
        onError(e);
      }
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** What is served now; `objects` (every object of every file, in path order) is built on first read. */
  snapshot(): ConfigSnapshot {
    const entries = [...this.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
    const files = entries.map((f): FileState => ({ path: f.path, objects: f.objects, findings: f.findings, rejected: f.rejected }));
    let objects: readonly ConfigObject[] | undefined;
    return {
      get objects() {
        return (objects ??= entries.flatMap((f) => f.objects));
      },
      files,
      findings: entries.flatMap((f) => f.findings),
    };
  }

  /** The object served under `key` (the file sorting last by path wins), if any. */
  private winner(key: string): ConfigObject | undefined {
    const paths = this.holders.get(key);
    const path = paths?.[paths.length - 1];
    return path === undefined ? undefined : this.files.get(path)?.byKey.get(key);
  }

  /**
   * Replaces one file's entry (undefined: the file is gone) and keeps `holders` in step. `before`
   * receives, for every key the file held or holds, the object served before this reload.
   */
  private replaceFile(path: string, next: FileEntry | undefined, before: Map<string, ConfigObject | undefined>): void {
    const prevByKey = this.files.get(path)?.byKey ?? NO_OBJECTS;
    const nextByKey = next?.byKey ?? NO_OBJECTS;
    for (const key of prevByKey.keys()) if (!before.has(key)) before.set(key, this.winner(key));
    for (const key of nextByKey.keys()) if (!before.has(key)) before.set(key, this.winner(key));
    if (next === undefined) this.files.delete(path);
    else this.files.set(path, next);
    for (const key of prevByKey.keys()) {
      if (nextByKey.has(key)) continue;
      const paths = this.holders.get(key);
      if (paths === undefined) continue;
      const at = paths.indexOf(path);
      if (at >= 0) paths.splice(at, 1);
      if (paths.length === 0) this.holders.delete(key);
    }
    for (const key of nextByKey.keys()) {
      if (prevByKey.has(key)) continue;
      const paths = this.holders.get(key);
      if (paths === undefined) {
        this.holders.set(key, [path]);
        continue;
      }
      let at = paths.length;
      while (at > 0 && (paths[at - 1] as string) > path) at--;
      paths.splice(at, 0, path);
    }
  }

  private async reloadNow(): Promise<ReloadReport> {
    const initial = this.files.size === 0;
    const paths = await listConfigFiles(this.paths);
    const rejected: string[] = [];
    const applied: string[] = [];
    const present = new Set(paths);
    const before = new Map<string, ConfigObject | undefined>();
    for (const gone of [...this.files.keys()].filter((p) => !present.has(p))) {
      this.replaceFile(gone, undefined, before);
      applied.push(gone);
    }
    for (const path of paths) {
      let st;
      try {
        st = await stat(path);
      } catch {
        continue; // removed between listing and reading: the next event reloads it
      }
      const stamp = { mtimeMs: st.mtimeMs, size: st.size };
      const prev = this.files.get(path);
      if (prev && prev.stamp.mtimeMs === stamp.mtimeMs && prev.stamp.size === stamp.size) continue;
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const loaded = loadConfig([{ path, text }]);
      const hasError = loaded.findings.some((f) => f.severity === 'error');
      if (hasError && (prev || !initial)) {
        // Refused: keep serving the last good version of this file (none if it is new).
        this.files.set(path, { path, objects: prev?.objects ?? [], byKey: prev?.byKey ?? NO_OBJECTS, findings: loaded.findings, rejected: true, stamp });
        rejected.push(path);
        continue;
      }
      const previous = prev?.byKey ?? NO_OBJECTS;
      const objects = loaded.objects.map((o) => this.stabilise(o, previous));
      const byKey = new Map(objects.map((o) => [objectKey(o), o]));
      this.replaceFile(path, { path, objects, byKey, findings: loaded.findings, rejected: false, stamp }, before);
      applied.push(path);
    }
    const changes = new Map<string, ConfigObject | undefined>();
    for (const [key, was] of before) {
      const now = this.winner(key);
      if (now !== was) changes.set(key, now);
    }
    return { snapshot: this.snapshot(), changes, objectCount: this.holders.size, rejected, applied };
  }

  /** Gives the object its stable creation order, and keeps the previous instance when only its position moved. */
  private stabilise(o: ConfigObject, previous: ReadonlyMap<string, ConfigObject>): ConfigObject {
    const key = objectKey(o);
    let order = this.firstSeen.get(key);
    if (order === undefined) {
      order = this.nextOrder++;
      this.firstSeen.set(key, order);
    }
    const next = { ...o, origin: { ...o.origin, order } } as ConfigObject;
    const old = previous.get(key);
    return old && sameConfig(old, next) ? old : next;
  }
}
