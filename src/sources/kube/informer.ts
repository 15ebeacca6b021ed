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
 * - every other failure (refused connection, 5xx, 429, a broken stream) is retried after a jittered
 *   exponential backoff from 0.8 s to 30 s (reset by a successful list or a watch that delivered), so an
 *   API server in trouble sees no request storm;
 * - a watchdog aborts a watch on which nothing (no event, no bookmark, no end) arrived for longer than
 *   the watch's own timeout plus a grace, i.e. a half-open connection, and re-watches;
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

export interface InformerHandlers {
  add?(obj: KubeObject): void;
  update?(obj: KubeObject, old: KubeObject): void;
  delete?(obj: KubeObject): void;
  /** After the first successful list (once per informer). */
  synced?(): void;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** client-go's reflector backoff: 800 ms doubling to 30 s. */
export const REFLECTOR_BACKOFF: BackoffPolicy = { initialMs: 800, maxMs: 30_000 };

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
  readonly objects: number;
}

type WatchOutcome = 'ended' | 'expired' | 'watchdog' | 'stopped';

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private rv = '';
  private needList = true;
  private stopped = false;
  private failures = 0;
  /** Aborts every request when the informer stops. */
  private readonly stopping = new AbortController();
  /** The open watch response. */
  private current: IncomingMessage | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private state = { synced: false, lists: 0, relists: 0, restarts: 0, watchdogFires: 0, lastError: '' };

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
        if (this.needList) await this.relist();
        if (this.stopped) break;
        const outcome = await this.watch();
        if (outcome === 'expired') this.needList = true;
      } catch (e) {
        if (this.stopped) break;
        this.failures++;
        this.state.restarts++;
        this.state.lastError = errorMessage(e);
        await this.sleep(backoffDelay(this.failures, this.options.backoff, () => this.random()));
      }
    }
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
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      this.apply('ADDED', item);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.handlers.delete?.(old);
      }
    }
    this.rv = list.metadata?.resourceVersion ?? '';
    this.needList = false;
    this.failures = 0;
    if (this.state.lists > 0) this.state.relists++;
    this.state.lists++;
    if (!this.state.synced) {
      this.state.synced = true;
      this.handlers.synced?.();
    }
  }

  /** Puts an object into the cache and tells the handlers: add, or update when its resourceVersion changed. */
  private apply(type: 'ADDED' | 'MODIFIED', obj: KubeObject): void {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.handlers.add?.(obj);
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion || type === 'MODIFIED') this.handlers.update?.(obj, old);
  }

  /** One watch, until it ends, expires, goes silent or fails (throws). */
  private async watch(): Promise<WatchOutcome> {
    const timeout = (this.options.watchTimeoutSeconds ?? (() => watchTimeoutSeconds(() => this.random())))();
    const query: Query = { ...this.selectors(), watch: 'true', resourceVersion: this.rv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeout) };
    const res = await this.transport.open('GET', this.options.path, query, undefined, this.stopping.signal);
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
    try {
      return await this.consume(res, this.options.watchdogMs ?? (timeout + 30) * 1000);
    } finally {
      this.current = undefined;
    }
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
          this.state.watchdogFires++;
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
        this.cache.delete(key);
        this.handlers.delete?.(old ?? obj);
        break;
      }
      default:
        return undefined;
    }
    if (obj.metadata.resourceVersion !== undefined) this.rv = obj.metadata.resourceVersion;
    this.failures = 0;
    return undefined;
  }
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
