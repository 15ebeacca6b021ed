/**
 * The folder-of-YAML configuration source used by `serve`: reads files and folders, watches them,
 * and keeps the last good version of every file. A file whose new version has an error (syntax or
 * validation) keeps serving its previous objects; the errors are reported with their positions.
 *
 * Creation order: an object's `origin.order` is the sequence number of the first time its key was
 * seen (the initial load in path and document order), and stays the same across reloads, like a
 * Kubernetes creationTimestamp. Line and column changes alone do not change an object (see
 * `sameConfig`), so editing one document does not recompute the others of the file.
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
  readonly snapshot: ConfigSnapshot;
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

export class ConfigFolderSource {
  private readonly files = new Map<string, FileState & { stamp: Stamp }>();
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

  snapshot(): ConfigSnapshot {
    const files = [...this.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
    return {
      objects: files.flatMap((f) => f.objects),
      files: files.map(({ stamp: _stamp, ...f }) => f),
      findings: files.flatMap((f) => f.findings),
    };
  }

  private async reloadNow(): Promise<ReloadReport> {
    const initial = this.files.size === 0;
    const paths = await listConfigFiles(this.paths);
    const rejected: string[] = [];
    const applied: string[] = [];
    const present = new Set(paths);
    for (const gone of [...this.files.keys()].filter((p) => !present.has(p))) {
      this.files.delete(gone);
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
        this.files.set(path, { path, objects: prev?.objects ?? [], findings: loaded.findings, rejected: true, stamp });
        rejected.push(path);
        continue;
      }
      const previous = new Map((prev?.objects ?? []).map((o) => [objectKey(o), o]));
      const objects = loaded.objects.map((o) => this.stabilise(o, previous));
      this.files.set(path, { path, objects, findings: loaded.findings, rejected: false, stamp });
      applied.push(path);
    }
    return { snapshot: this.snapshot(), rejected, applied };
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
