/**
 * Loading many configuration files in worker threads (node:worker_threads). Each file is loaded on
 * its own with `loadConfig`, exactly as on the main thread, so objects and findings (file, line,
 * field, message) are the same; the results come back in the order of the files.
 *
 * Why (bench S1, 100k WorkloadEntries in 110 files, 23 MB): parsing and validating the folder is
 * ~3.3 s of CPU on one thread before anything can be served. Workers are opt-in (see `workers`:
 * on 2 vCPU they cost more than they save), started only for a large read (PARALLEL_MIN_BYTES) and
 * end with it: a small folder or a one-file change is loaded inline. If a worker fails, its files
 * are loaded inline: a worker problem can slow a load, never change its result.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadConfig, type LoadResult } from '../../model/config/load.js';

export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

/** Below this many bytes of text in one read, files are loaded inline. */
export const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;

export interface ParallelLoadOptions {
  /**
   * Worker threads to use. Default: MESHBRIDGE_PARSE_WORKERS (0 when unset: inline). Measured on
   * 2 vCPU (bench S1 100k, alternating with the same code loading inline, other work on the
   * machine): 2 workers cost +3.3 / +5.9 CPU s and +400 MiB peak RSS (1,094 / 1,049 → 1,488 /
   * 1,455 MiB: worker heaps and the cloned results) and served no sooner, so they are opt-in for
   * machines with idle cores.
   */
  readonly workers?: number;
  /** Below this many bytes, load inline (default PARALLEL_MIN_BYTES). */
  readonly minBytes?: number;
}

/** Counters (tests, debugging): files loaded by a worker, and files loaded inline after a worker failed. */
export const parallelLoadStats = { filesInWorkers: 0, filesAfterWorkerFailure: 0 };

/** Each file loaded on its own (`loadConfig([file])`), in the order given. */
export async function loadFiles(files: readonly SourceFile[], o: ParallelLoadOptions = {}): Promise<LoadResult[]> {
  const workers = workersFor(files.reduce((n, f) => n + f.text.length, 0), files.length, o);
  if (workers < 2) return files.map((f) => loadConfig([f]));
  const shares = shareOut(files, workers);
  const results = await Promise.all(shares.map((share) => loadInWorker(share.map((i) => files[i] as SourceFile))));
  const out: LoadResult[] = new Array<LoadResult>(files.length);
  shares.forEach((share, w) => share.forEach((fileIndex, k) => (out[fileIndex] = (results[w] as LoadResult[])[k] as LoadResult)));
  return out;
}

/** How many worker threads a read of `files` files and `bytes` bytes gets (below 2: load inline). */
export function workersFor(bytes: number, files: number, o: ParallelLoadOptions = {}): number {
  if (bytes < (o.minBytes ?? PARALLEL_MIN_BYTES)) return 0;
  return Math.min(o.workers ?? Math.min(workersFromEnvironment(), availableParallelism()), files);
}

/** MESHBRIDGE_PARSE_WORKERS: a count of worker threads (0, unset or not a number: inline). */
function workersFromEnvironment(): number {
  const n = Number(process.env['MESHBRIDGE_PARSE_WORKERS'] ?? '0');
  return Number.isInteger(n) && n > 0 ? Math.min(n, 8) : 0;
}

/** File indexes per worker, each share about the same number of bytes (largest files first). */
function shareOut(files: readonly SourceFile[], workers: number): number[][] {
  const shares = Array.from({ length: workers }, () => ({ bytes: 0, files: [] as number[] }));
  const bySize = files.map((f, i) => ({ i, bytes: f.text.length })).sort((a, b) => b.bytes - a.bytes || a.i - b.i);
  for (const f of bySize) {
    const least = shares.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    least.bytes += f.bytes;
    least.files.push(f.i);
  }
  return shares.map((s) => s.files.sort((a, b) => a - b)).filter((s) => s.length > 0);
}

/** One worker for `files`; on any worker failure the files are loaded inline instead. */
function loadInWorker(files: readonly SourceFile[]): Promise<LoadResult[]> {
  const inline = (): LoadResult[] => {
    parallelLoadStats.filesAfterWorkerFailure += files.length;
    return files.map((f) => loadConfig([f]));
  };
  return new Promise((resolve) => {
    let settled = false;
    /** Resolves once, with the first outcome (`results` is only run then: no inline load after success). */
    const settle = (results: () => LoadResult[]): void => {
      if (settled) return;
      settled = true;
      resolve(results());
    };
    let worker: Worker;
    try {
      worker = new Worker(new URL('./parse-worker.js', import.meta.url), { workerData: files });
    } catch {
      settle(inline);
      return;
    }
    worker.once('message', (results: LoadResult[]) => {
      const complete = Array.isArray(results) && results.length === files.length;
      if (complete) parallelLoadStats.filesInWorkers += files.length;
      settle(complete ? () => results : inline);
      void worker.terminate();
    });
    worker.once('error', () => settle(inline));
    worker.once('exit', () => settle(inline));
  });
}
