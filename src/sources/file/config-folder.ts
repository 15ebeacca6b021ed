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
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { loadConfig, type Finding, type LoadResult } from '../../model/config/load.js';
import { objectKey, type ConfigObject } from '../../model/config/types.js';
import type { FileState, FilesReport } from '../../model/config/store.js';
import { INVALID_ANNOTATION } from '../../model/config/fail-closed.js';
import { deepEqual } from '../../lib/krt/equal.js';
import { isConfigFileName, listConfigFiles } from './read-files.js';
import type { LastGoodVersions } from './last-good.js';
import { loadFiles, workersFor, type ParallelLoadOptions, type SourceFile } from './parallel-load.js';
import { withFields } from '../../lib/objects/with-fields.js';

export interface ConfigSnapshot {
  readonly objects: readonly ConfigObject[];
  readonly files: readonly FileState[];
  /** Errors and warnings of the versions on disk. */
  readonly findings: readonly Finding[];
}

/** A reload: what it changed, and the store port's report of the files (without its `files` and `findings`, which `snapshot` holds). */
export interface ReloadReport extends Omit<FilesReport, 'files' | 'findings'> {
  /** Everything served after this reload (`objects` is built on first read). */
  readonly snapshot: ConfigSnapshot;
  /**
   * What this reload changed in the served configuration, by objectKey: the new object, or
   * undefined when no file holds the key any more. An object served as before (the same instance,
   * or, moved to another file, equal by `sameConfig`) is absent: this is the one comparison of a
   * folder change on its way to the registry.
   */
  readonly changes: ReadonlyMap<string, ConfigObject | undefined>;
  /** How many files this reload looked at (every file when it listed the folders). */
  readonly examined: number;
}

interface Stamp {
  readonly mtimeMs: number;
  readonly size: number;
}

/** Objects equal but for where they were read from are the same configuration. */
export function sameConfig(a: ConfigObject, b: ConfigObject): boolean {
  return deepEqual(withFields(a, { origin: a.origin.order }), withFields(b, { origin: b.origin.order }));
}

interface FileEntry extends FileState {
  readonly stamp: Stamp;
  /** The served objects by key (the last document wins within a file). */
  readonly byKey: ReadonlyMap<string, ConfigObject>;
}

const NO_OBJECTS: ReadonlyMap<string, ConfigObject> = new Map();

/** A fail-closed substitute (fail-closed.ts) of a DENY or CUSTOM AuthorizationPolicy: one that denies. */
function isDenyingSubstitute(o: ConfigObject): boolean {
  return o.kind === 'AuthorizationPolicy' && o.metadata.annotations[INVALID_ANNOTATION] !== undefined && o.spec.action === 'DENY';
}

export class ConfigFolderSource {
  private readonly files = new Map<string, FileEntry>();
  /** objectKey → the paths of the files serving it, sorted (the last one wins). */
  private readonly holders = new Map<string, string[]>();
  private readonly firstSeen = new Map<string, number>();
  private nextOrder = 0;
  /** One non-recursive watcher per watched directory (and per parent of an explicit file). */
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  /** Paths the watchers reported since the last reload; `full` when they could not say. */
  private pending = { paths: new Set<string>(), full: false };
  private reloading: Promise<unknown> = Promise.resolve();

  /**
   * `lastGood`: where the last accepted version of each file is kept across restarts (the state
   * directory, last-good.ts). With it, a file that is invalid at the first load serves its kept
   * last good version (refused, as while running); without one, its valid objects.
   */
  constructor(
    private readonly paths: readonly string[],
    private readonly lastGood?: LastGoodVersions,
    /** When files are loaded in worker threads (parallel-load.ts; tests lower the threshold). */
    private readonly loadOptions: ParallelLoadOptions = {},
  ) {}

  /** Reads everything now. The first load serves the valid objects of every file. */
  async load(): Promise<ReloadReport> {
    return this.reload();
  }

  /**
   * Re-reads files whose size or modification time changed, files that appeared and files that
   * disappeared; with `only`, just those paths (files, or removed directories). Reloads are
   * serialised.
   */
  reload(only?: ReadonlySet<string>): Promise<ReloadReport> {
    const run = this.reloading.then(() => this.reloadNow(only));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /**
   * Watches the paths and calls `onReload` after each change (debounced by `debounceMs`). A reload
   * after a watch event re-reads only the paths the events named (a new or removed directory, or an
   * event without a name, re-lists everything). Measured cause (bench S2, 204 files, 10 changes/s):
   * statting every file on each change, and Node 20's recursive `fs.watch`, which re-reads a
   * directory's listing on every event in it, were 13% of the control plane's CPU.
   */
  watch(onReload: (r: ReloadReport) => void, onError: (e: unknown) => void, debounceMs = 50): void {
    const trigger = (): void => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        const { paths, full } = this.pending;
        this.pending = { paths: new Set(), full: false };
        this.reload(full ? undefined : paths).then(onReload, onError);
      }, debounceMs);
    };
    const onEvent = (path: string | null): void => {
      // A hidden entry is never read itself, but files may be links through it (a Kubernetes
      // ConfigMap volume swaps its `..data` link): re-list everything.
      if (path === null || skipped(basename(path))) this.pending.full = true;
      else {
        this.pending.paths.add(path);
        if (!this.files.has(path) && !isConfigFileName(path)) this.noticeDirectory(path, onDirEvent, onError);
      }
      trigger();
    };
    const onDirEvent = (dir: string, name: string | null): void => onEvent(name === null ? null : join(this.reportedDir(dir), name));
    for (const p of this.paths) {
      try {
        if (statSync(p).isDirectory()) {
          this.watchTree(p, onDirEvent, onError);
        } else {
          const file = resolve(p);
          this.watchDir(dirname(file), (dir, name) => {
            if (name === null || join(dir, name) === file) onEvent(p);
          }, onError, `${file}\u0000file`);
        }
      } catch (e) {
        onError(e);
      }
    }
  }

  /**
   * A named path that is no configuration file: a new directory is watched (and its files listed by
   * a full reload); a removed one stops being watched.
   */
  private noticeDirectory(path: string, onDirEvent: (dir: string, name: string | null) => void, onError: (e: unknown) => void): void {
    const abs = resolve(path);
    if (isDirectory(abs)) {
      if (this.watchers.has(abs)) return;
      this.watchTree(abs, onDirEvent, onError);
      this.pending.full = true;
      return;
    }
    for (const [dir, w] of this.watchers) {
      if (dir !== abs && !dir.startsWith(abs + sep)) continue;
      w.close();
      this.watchers.delete(dir);
    }
  }

  private watchTree(dir: string, onEvent: (dir: string, name: string | null) => void, onError: (e: unknown) => void): void {
    const abs = resolve(dir);
    if (this.watchers.has(abs)) return;
    this.watchDir(abs, onEvent, onError);
    let entries;
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return; // gone meanwhile: its parent's event re-reads
    }
    for (const e of entries) {
      if (skipped(e.name)) continue;
      if (e.isDirectory() || (e.isSymbolicLink() && isDirectory(join(abs, e.name)))) this.watchTree(join(abs, e.name), onEvent, onError);
    }
  }

  /** Watches one directory; `key` tells apart a watch of the same directory for an explicit file. */
  private watchDir(dir: string, onEvent: (dir: string, name: string | null) => void, onError: (e: unknown) => void, key = dir): void {
    if (this.watchers.has(key)) return;
    const w = watch(dir, (_event, name) => onEvent(dir, name === null ? null : String(name)));
    w.on('error', (e: NodeJS.ErrnoException) => {
      w.close();
      if (this.watchers.get(key) === w) this.watchers.delete(key);
      if (e.code !== 'ENOENT' && e.code !== 'EPERM') onError(e); // a removed directory ends its watch
    });
    this.watchers.set(key, w);
  }

  /** Events name paths as listing spells them: under the configured path as given (relative stays relative). */
  private reportedDir(dir: string): string {
    for (const p of this.paths) {
      const abs = resolve(p);
      if (dir === abs) return join(p, '.');
      if (dir.startsWith(abs + sep)) return join(p, dir.slice(abs.length + 1));
    }
    return dir;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
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
  served(key: string): ConfigObject | undefined {
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
    for (const key of prevByKey.keys()) if (!before.has(key)) before.set(key, this.served(key));
    for (const key of nextByKey.keys()) if (!before.has(key)) before.set(key, this.served(key));
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

  /** The files to look at for the changed `only` paths, or undefined when everything must be listed. */
  private async candidates(only: ReadonlySet<string>): Promise<{ paths: string[]; gone: string[] } | undefined> {
    const paths: string[] = [];
    const gone: string[] = [];
    for (const p of only) {
      if (this.files.has(p)) {
        paths.push(p);
        continue;
      }
      const st = await stat(p).catch(() => undefined);
      if (st?.isDirectory()) return undefined; // a new or moved directory: list it all
      if (st !== undefined) {
        if ((isConfigFileName(p) && this.underPaths(p)) || this.paths.includes(p)) paths.push(p);
        continue;
      }
      // Gone: a removed directory takes its files with it.
      const prefix = p + sep;
      for (const known of this.files.keys()) if (known.startsWith(prefix)) gone.push(known);
    }
    return { paths: [...new Set(paths)].sort(), gone };
  }

  /** Whether a file lies under a configured folder, outside hidden folders and node_modules. */
  private underPaths(p: string): boolean {
    for (const given of this.paths) {
      const root = join(given, '.');
      const rel = root === '.' ? (isAbsolute(p) || p.startsWith('..') ? undefined : p) : p.startsWith(root + sep) ? p.slice(root.length + 1) : undefined;
      if (rel === undefined) continue;
      const parts = rel.split(sep);
      if (parts.every((part) => !skipped(part))) return true;
    }
    return false;
  }

  private async reloadNow(only?: ReadonlySet<string>): Promise<ReloadReport> {
    const initial = this.files.size === 0;
    const hinted = only !== undefined && !initial ? await this.candidates(only) : undefined;
    const paths = hinted?.paths ?? (await listConfigFiles(this.paths));
    const rejected: string[] = [];
    const applied: string[] = [];
    const before = new Map<string, ConfigObject | undefined>();
    const present = new Set(paths);
    const gone = hinted?.gone ?? [...this.files.keys()].filter((p) => !present.has(p));
    for (const path of gone) {
      this.replaceFile(path, undefined, before);
      this.lastGood?.remove(path);
      applied.push(path);
    }
    // Stat every file first. When the changed files are large enough for worker threads
    // (parallel-load.ts, opt-in), they are read and loaded at once; otherwise each is read and
    // loaded as it is applied (one file's text at a time). Either way they are applied in path order.
    const steps: ({ path: string; gone: true } | { path: string; gone: false; stamp: Stamp; prev: FileEntry | undefined })[] = [];
    for (const path of paths) {
      let st;
      try {
        st = await stat(path);
      } catch {
        if (hinted !== undefined && this.files.has(path)) steps.push({ path, gone: true }); // named by an event and gone: removed
        continue; // (listing) removed between listing and reading: the next event reloads it
      }
      const stamp = { mtimeMs: st.mtimeMs, size: st.size };
      const prev = this.files.get(path);
      if (prev && prev.stamp.mtimeMs === stamp.mtimeMs && prev.stamp.size === stamp.size) continue;
      steps.push({ path, gone: false, stamp, prev });
    }
    const preloaded = await this.preload(steps.flatMap((s) => (s.gone ? [] : [s])));
    for (const step of steps) {
      const { path } = step;
      if (step.gone) {
        this.replaceFile(path, undefined, before);
        applied.push(path);
        continue;
      }
      const { stamp, prev } = step;
      const read = preloaded !== undefined ? preloaded.get(path) : await readAndLoad(path);
      if (read === undefined) continue; // unreadable now: the next event reloads it
      const { text, loaded } = read;
      const hasError = loaded.findings.some((f) => f.severity === 'error');
      if (hasError && (prev || !initial)) {
        // Refused: keep serving the last good version of this file (none if it is new).
        const objects = this.withNewDenials(prev?.objects ?? [], loaded.objects);
        const file = { path, objects, byKey: new Map(objects.map((o) => [objectKey(o), o])), findings: loaded.findings, rejected: true, stamp };
        if (objects === (prev?.objects ?? [])) this.files.set(path, file);
        else this.replaceFile(path, file, before);
        rejected.push(path);
        continue;
      }
      const keptVersion = hasError ? this.keptVersion(path) : undefined;
      if (keptVersion !== undefined) {
        // First load, invalid on disk: the last good version kept from an earlier run, refused as above.
        const kept = this.withNewDenials(keptVersion, loaded.objects);
        this.replaceFile(path, { path, objects: kept, byKey: new Map(kept.map((o) => [objectKey(o), o])), findings: loaded.findings, rejected: true, stamp }, before);
        rejected.push(path);
        continue;
      }
      const previous = prev?.byKey ?? NO_OBJECTS;
      const objects = loaded.objects.map((o) => this.stabilise(o, previous));
      const byKey = new Map(objects.map((o) => [objectKey(o), o]));
      this.replaceFile(path, { path, objects, byKey, findings: loaded.findings, rejected: false, stamp }, before);
      if (!hasError) this.lastGood?.put(path, text);
      applied.push(path);
    }
    const changes = new Map<string, ConfigObject | undefined>();
    for (const [key, was] of before) {
      const now = this.served(key);
      if (now === was) continue;
      // Within a file, stabilise kept the instance of an equal object; moved between files, compare.
      if (now !== undefined && was !== undefined && now.origin.file !== was.origin.file && sameConfig(was, now)) continue;
      changes.set(key, now);
    }
    const duplicates: { key: string; places: string[] }[] = [];
    for (const key of before.keys()) {
      const holders = this.holders.get(key);
      if (holders === undefined || holders.length < 2) continue;
      duplicates.push({ key, places: holders.map((p) => `${p}:${this.files.get(p)?.byKey.get(key)?.origin.line ?? 0}`) });
    }
    return { snapshot: this.snapshot(), changes, objectCount: this.holders.size, examined: paths.length, rejected, applied, duplicates };
  }

  /** Reads and loads `files` at once in worker threads when they are large enough (else undefined: inline). */
  private async preload(files: readonly { path: string; stamp: Stamp }[]): Promise<ReadonlyMap<string, LoadedFile> | undefined> {
    const bytes = files.reduce((n, f) => n + f.stamp.size, 0);
    if (workersFor(bytes, files.length, this.loadOptions) < 2) return undefined;
    const texts: SourceFile[] = [];
    for (const f of files) {
      const text = await readText(f.path);
      if (text !== undefined) texts.push({ path: f.path, text });
    }
    const results = await loadFiles(texts, this.loadOptions);
    return new Map(texts.map((f, i) => [f.path, { text: f.text, loaded: results[i] as LoadResult }]));
  }

  /**
   * `served` (a refused file's last good objects) plus the deny-all substitutes of DENY and CUSTOM
   * AuthorizationPolicies that are invalid in the refused version and not in `served` (issue 11: a
   * new DENY policy with an invalid rule denies rather than disappears). A policy that `served`
   * holds keeps its last good version; ALLOW substitutes are not added (a refused edit takes away no
   * traffic). Returns `served` itself when nothing is added.
   */
  private withNewDenials(served: readonly ConfigObject[], refusedVersion: readonly ConfigObject[]): readonly ConfigObject[] {
    const keys = new Set(served.map(objectKey));
    const denials = refusedVersion.filter((o) => isDenyingSubstitute(o) && !keys.has(objectKey(o)));
    return denials.length === 0 ? served : [...served, ...denials.map((o) => this.stabilise(o, NO_OBJECTS))];
  }

  /** The objects of the kept last good version of `path`, if one is kept and still valid. */
  private keptVersion(path: string): ConfigObject[] | undefined {
    const text = this.lastGood?.get(path);
    if (text === undefined) return undefined;
    const good = loadConfig([{ path, text }]);
    if (good.findings.some((f) => f.severity === 'error')) return undefined;
    return good.objects.map((o) => this.stabilise(o, NO_OBJECTS));
  }

  /** Gives the object its stable creation order, and keeps the previous instance when only its position moved. */
  private stabilise(o: ConfigObject, previous: ReadonlyMap<string, ConfigObject>): ConfigObject {
    const key = objectKey(o);
    let order = this.firstSeen.get(key);
    if (order === undefined) {
      order = this.nextOrder++;
      this.firstSeen.set(key, order);
    }
    const next: ConfigObject = withFields(o, { origin: withFields(o.origin, { order }) });
    const old = previous.get(key);
    return old && sameConfig(old, next) ? old : next;
  }
}

/** A file's text and what loading it gave. */
interface LoadedFile {
  readonly text: string;
  readonly loaded: LoadResult;
}

function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

/** Reads and loads one file on this thread (undefined when it cannot be read). */
async function readAndLoad(path: string): Promise<LoadedFile | undefined> {
  const text = await readText(path);
  return text === undefined ? undefined : { text, loaded: loadConfig([{ path, text }]) };
}

/** Hidden entries and node_modules are never read (as listConfigFiles). */
function skipped(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
