/**
 * A supervised list/watch informer for one Kubernetes collection, with what client-go's reflector
 * does and `@kubernetes/client-node`'s ListWatch does not (it stops for good on most errors and never
 * times out a watch):
 * - LIST, then WATCH from the list's resourceVersion with `allowWatchBookmarks=true` and
 *   `timeoutSeconds` random in [300, 600); a clean end re-watches from the last resourceVersion (bookmarks
 *   advance it) without listing;
 * - 410 Gone, as the HTTP status or as an ERROR event, relists and reconciles the cache against the new
 *   list: `delete` for objects gone, `add` for new ones, `update` for changed resourceVersions, nothing for
 *   the unchanged;
 * - every other failure (refused connection, 5xx, 429, a broken stream, a watch that ends within a
 *   second having delivered nothing) is retried after a jittered exponential backoff from 0.8 s to 30 s
 *   that resets only after 2 minutes without a failure (client-go's ExponentialBackoffManager), so an
 *   API server that answers a list and fails every watch still sees no request storm;
 * - a watchdog aborts a watch on which nothing (no response head, no event, no bookmark, no end)
 *   arrived for longer than the watch's own timeout plus a grace, i.e. a half-open connection, and
 *   re-watches;
 * - state for diagnostics: synced, last resourceVersion, lists, relists, restarts, last error.
 */
import type { IncomingMessage } from 'node:http';
import { apiError, KubeApiError, readAll, type KubeTransport, type Query } from './kube-transport.js';
import { errorMessage } from '../../lib/errors.js';

/** A Kubernetes object as the informer needs it. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly resourceVersion?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

/**
 * What an informer reports as it goes (metrics adapters listen here; every method is optional).
 * `reason` is a short, bounded word for a label: the Status reason (`InternalError`, `Expired`, …),
 * the socket error code (`ECONNREFUSED`, …), `Watchdog`, `ShortWatch` or `Unknown`.
 */
export interface InformerObserver {
  synced?(informer: string): void;
  relisted?(informer: string): void;
  restarted?(informer: string, reason: string): void;
  watchdogFired?(informer: string): void;
}

export interface InformerHandlers {
  add?(obj: KubeObject): void;
  update?(obj: KubeObject, old: KubeObject): void;
  delete?(obj: KubeObject): void;
  /** After the first successful list (once per informer). */
  synced?(): void;
  /**
   * Wraps the handler calls of one list or relist (its adds, updates and deletes), so that the
   * receiver can apply them as one batch. Must call `run` exactly once, synchronously.
   */
  batch?(run: () => void): void;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** client-go's reflector backoff: 800 ms doubling to 30 s. */
export const REFLECTOR_BACKOFF: BackoffPolicy = { initialMs: 800, maxMs: 30_000 };

/** The backoff starts again from its first step after this long without a failure (client-go: 2 min). */
export const BACKOFF_RESET_MS = 120_000;

/** A watch that ends cleanly sooner than this having delivered nothing counts as a failure (client-go). */
export const SHORT_WATCH_MS = 1000;

/**
 * The delay before retry number `failures` (1-based): `initialMs · 2^(failures-1)`, jittered up to
 * twice that (as wait.Jitter with factor 1), never above `maxMs`.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy = REFLECTOR_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, failures - 1));
  return Math.min(policy.maxMs, base * (1 + random()));
}

/** `timeoutSeconds` of a watch: random in [300, 600), as the reflector picks it. */
export function watchTimeoutSeconds(random: () => number = Math.random): number {
  return 300 + Math.floor(random() * 300);
}

export interface InformerOptions {
  /** A name for diagnostics (e.g. `pods`). */
  readonly name: string;
  /** Collection path, e.g. `/api/v1/pods` or `/apis/networking.istio.io/v1/workloadentries`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly backoff?: BackoffPolicy;
  /** Watch `timeoutSeconds` (default random in [300, 600)). */
  readonly watchTimeoutSeconds?: () => number;
  /** Silence on a watch after which it is considered half-open (default: its timeout + 30 s). */
  readonly watchdogMs?: number;
  readonly random?: () => number;
  /** Told of syncs, relists, restarts and watchdog fires (e.g. Prometheus metrics). */
  readonly observer?: InformerObserver;
}

export interface InformerState {
  readonly name: string;
  readonly synced: boolean;
  readonly resourceVersion: string;
  readonly lists: number;
  /** Lists after the first: after 410 Gone. */
  readonly relists: number;
  /** Retries after a failure. */
  readonly restarts: number;
  /** Watches aborted by the watchdog. */
  readonly watchdogFires: number;
  readonly lastError: string;
  /** The short reason of the last error ('' before any), as in the restarts metric's label. */
  readonly lastErrorReason: string;
  readonly objects: number;
}

type WatchOutcome = 'ended' | 'expired' | 'watchdog' | 'stopped';

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  /** Namespace ('' for cluster-scoped objects) → the cache keys of its objects. */
  private readonly byNamespace = new Map<string, Set<string>>();
  private rv = '';
  private needList = true;
  private stopped = false;
  private failures = 0;
  /** When the last failure happened (ms, monotonic): the backoff resets after BACKOFF_RESET_MS without one. */
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  /** Aborts every request when the informer stops. */
  private readonly stopping = new AbortController();
  /** The open watch response. */
  private current: IncomingMessage | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** Events (bookmarks included) delivered by the current watch. */
  private delivered = 0;
  private state = { synced: false, lists: 0, relists: 0, restarts: 0, watchdogFires: 0, lastError: '', lastErrorReason: '' };

  constructor(
    private readonly transport: KubeTransport,
    readonly options: InformerOptions,
    private readonly handlers: InformerHandlers = {},
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.current?.destroy();
    this.wake?.();
    await this.loop;
  }

  get synced(): boolean {
    return this.state.synced;
  }

  /** The cached objects (a copy of the list). */
  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  /** The cached objects of one namespace. */
  listIn(namespace: string): KubeObject[] {
    return [...(this.byNamespace.get(namespace) ?? [])].flatMap((key) => this.cache.get(key) ?? []);
  }

  /** The namespaces that hold cached objects ('' for cluster-scoped ones). */
  namespaces(): string[] {
    return [...this.byNamespace.keys()];
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  status(): InformerState {
    return { name: this.options.name, resourceVersion: this.rv, objects: this.cache.size, ...this.state };
  }

  private random(): number {
    return (this.options.random ?? Math.random)();
  }

  private selectors(): Query {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const listed = this.needList;
        if (listed) await this.relist();
        if (this.stopped) break;
        const outcome = await this.watch();
        if (outcome !== 'expired') continue;
        this.needList = true;
        // Expired again right after a list, nothing delivered in between: a server in a loop; back off before the next list.
        if (listed && this.delivered === 0) throw new KubeApiError(410, 'Expired', 'the watch expired right after a list');
      } catch (e) {
        if (this.stopped) break;
        await this.sleep(this.failed(e));
      }
    }
  }

  /** Records a failure and returns the delay before the next attempt. */
  private failed(e: unknown): number {
    const now = performance.now();
    if (now - this.lastFailureAt > BACKOFF_RESET_MS) this.failures = 0;
    this.lastFailureAt = now;
    this.failures++;
    this.state.restarts++;
    this.state.lastError = errorMessage(e);
    this.state.lastErrorReason = reasonOf(e);
    this.options.observer?.restarted?.(this.options.name, this.state.lastErrorReason);
    return backoffDelay(this.failures, this.options.backoff, () => this.random());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** LIST and reconcile the cache with it: the add/update/delete diff. */
  private async relist(): Promise<void> {
    const list = (await this.transport.json('GET', this.options.path, this.selectors(), undefined, 30_000, this.stopping.signal)) as {
      metadata?: { resourceVersion?: string };
      items?: KubeObject[];
    };
    const items = list.items ?? [];
    const reconcile = (): void => {
      const seen = new Set<string>();
      for (const item of items) {
        const key = keyOf(item);
        seen.add(key);
        this.apply('ADDED', item);
      }
      for (const [key, old] of [...this.cache]) {
        if (!seen.has(key)) {
          this.forget(key, old);
          this.handlers.delete?.(old);
        }
      }
    };
    if (this.handlers.batch) this.handlers.batch(reconcile);
    else reconcile();
    this.rv = list.metadata?.resourceVersion ?? '';
    this.needList = false;
    if (this.state.lists > 0) {
      this.state.relists++;
      this.options.observer?.relisted?.(this.options.name);
    }
    this.state.lists++;
    if (!this.state.synced) {
      this.state.synced = true;
      this.options.observer?.synced?.(this.options.name);
      this.handlers.synced?.();
    }
  }

  /** Puts an object into the cache and tells the handlers: add, or update when its resourceVersion changed. */
  private apply(type: 'ADDED' | 'MODIFIED', obj: KubeObject): void {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    const ns = obj.metadata.namespace ?? '';
    const keys = this.byNamespace.get(ns) ?? new Set<string>();
    this.byNamespace.set(ns, keys.add(key));
    if (!old) this.handlers.add?.(obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion || type === 'MODIFIED') this.handlers.update?.(obj, old);
  }

  private forget(key: string, obj: KubeObject): void {
    this.cache.delete(key);
    const ns = obj.metadata.namespace ?? '';
    const keys = this.byNamespace.get(ns);
    if (keys?.delete(key) === true && keys.size === 0) this.byNamespace.delete(ns);
  }

  /** One watch, until it ends, expires, goes silent or fails (throws). */
  private async watch(): Promise<WatchOutcome> {
    const timeout = (this.options.watchTimeoutSeconds ?? (() => watchTimeoutSeconds(() => this.random())))();
    const watchdogMs = this.options.watchdogMs ?? (timeout + 30) * 1000;
    this.delivered = 0;
    const query: Query = { ...this.selectors(), watch: 'true', resourceVersion: this.rv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeout) };
    const opened = performance.now();
    let res: IncomingMessage;
    // A request whose answer never starts is as half-open as a silent stream: the watchdog bounds it too
    // (until the head arrives only: aborting later would cut the stream).
    const headWait = new AbortController();
    const headTimer = setTimeout(() => headWait.abort(), watchdogMs);
    try {
      res = await this.transport.open('GET', this.options.path, query, undefined, AbortSignal.any([this.stopping.signal, headWait.signal]));
    } catch (e) {
      if (!this.stopped && headWait.signal.aborted) {
        this.watchdogFired();
        return 'watchdog';
      }
      throw e;
    } finally {
      clearTimeout(headTimer);
    }
    if (this.stopped) {
      res.destroy();
      return 'stopped';
    }
    const status = res.statusCode ?? 0;
    if (status === 410) {
      await readAll(res);
      return 'expired';
    }
    if (status !== 200) throw apiError(status, await readAll(res));
    this.current = res;
    let outcome: WatchOutcome;
    try {
      outcome = await this.consume(res, watchdogMs);
    } finally {
      this.current = undefined;
    }
    if (outcome === 'ended' && this.delivered === 0 && performance.now() - opened < SHORT_WATCH_MS) {
      // As client-go: a server that ends every watch at once would otherwise be asked again in a tight loop.
      throw new KubeApiError(0, 'ShortWatch', `the watch ended within ${SHORT_WATCH_MS} ms having delivered nothing`);
    }
    return outcome;
  }

  private watchdogFired(): void {
    this.state.watchdogFires++;
    this.options.observer?.watchdogFired?.(this.options.name);
  }

  private consume(res: IncomingMessage, watchdogMs: number): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve, reject) => {
      let buf = '';
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      /** `hangUp`: the stream is still open and must be aborted (watchdog, 410 event, bad event). */
      const finish = (outcome: WatchOutcome | Error, hangUp = false): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (hangUp) res.destroy();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.watchdogFired();
          finish('watchdog', true);
        }, watchdogMs);
      };
      arm();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        arm();
        buf += chunk;
        let nl: number;
        while (!settled && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === '') continue;
          try {
            const outcome = this.event(JSON.parse(line) as { type: string; object: KubeObject & { code?: number; message?: string; reason?: string } });
            if (outcome) finish(outcome, true);
          } catch (e) {
            finish(e instanceof Error ? e : new Error(String(e)), true);
          }
        }
      });
      res.on('end', () => finish(this.stopped ? 'stopped' : 'ended'));
      res.on('error', (e) => finish(this.stopped ? 'stopped' : e));
      res.on('close', () => finish(this.stopped ? 'stopped' : new Error('watch connection closed before the end of the stream')));
    });
  }

  /** Applies one watch event; 'expired' for a 410 ERROR event, throws for other ERROR events. */
  private event(e: { type: string; object: KubeObject & { code?: number; message?: string; reason?: string } }): WatchOutcome | undefined {
    const obj = e.object;
    switch (e.type) {
      case 'ERROR':
        if (obj.code === 410) return 'expired';
        throw new KubeApiError(obj.code ?? 0, obj.reason ?? '', obj.message ?? 'watch ERROR event');
      case 'BOOKMARK':
        break;
      case 'ADDED':
      case 'MODIFIED':
        this.apply(e.type, obj);
        break;
      case 'DELETED': {
        const key = keyOf(obj);
        const old = this.cache.get(key);
        this.forget(key, old ?? obj);
        this.handlers.delete?.(old ?? obj);
        break;
      }
      default:
        return undefined;
    }
    if (obj.metadata.resourceVersion !== undefined) this.rv = obj.metadata.resourceVersion;
    this.delivered++;
    return undefined;
  }
}

/** A short, bounded reason for a failure (a metric label): the Status reason, the socket error code, or `Unknown`. */
export function reasonOf(e: unknown): string {
  if (e instanceof KubeApiError) return e.reason !== '' ? e.reason : e.status > 0 ? `HTTP${e.status}` : 'Unknown';
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code)) return code;
  if (e instanceof Error && e.name === 'TimeoutError') return 'Timeout';
  return 'Unknown';
}

/**
 * The sync gate: resolves when every informer has listed once, or after `timeoutMs` with the ones
 * that have not (so a caller can serve what it has and say which sources are missing).
 */
export async function waitForSync(informers: readonly Informer[], timeoutMs: number, pollMs = 20): Promise<{ synced: boolean; pending: string[] }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pending = informers.filter((i) => !i.synced).map((i) => i.options.name);
    if (pending.length === 0) return { synced: true, pending };
    if (Date.now() >= until) return { synced: false, pending };
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, until - Date.now()))));
  }
}
