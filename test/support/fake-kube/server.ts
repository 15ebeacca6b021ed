/**
 * Part of the fake Kubernetes API server (TEST DOUBLE): the HTTP front end on `node:http`. Routes
 * (`/api/v1/...`, `/apis/<group>/<version>/...`, namespaced and all-namespaces, `/status`), list with
 * selectors and pagination, watch streams (chunked JSON lines, bookmarks, `timeoutSeconds`,
 * `sendInitialEvents`, 410 as an HTTP status or as an ERROR event), discovery, `/version`, bearer-token
 * auth, fault injection and a request log.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { clone, isObject } from './patch.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector, type ObjectPredicate } from './selectors.js';
import { badRequest, expired, injected, invalid, KubeError, notFound, type JsonObject, type JsonValue } from './status.js';
import { KubeStore, metaOf, present, type StoredEvent, type WriteOptions } from './store.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'discovery' | 'other';

/** One request as the fake saw it. `status` is 0 while a stalled request has no answer. */
export interface RequestRecord {
  /** Arrival, ms since the epoch. */
  readonly time: number;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly body: string;
  verb: Verb;
  /** `status` for `/status` requests. */
  subresource: string;
  status: number;
}

export interface FakeKubeOptions {
  /** Require `Authorization: Bearer <token>` (401 otherwise). */
  readonly token?: string;
  /** Events kept for watches (default 1000); older resourceVersions are expired (410). */
  readonly historyLimit?: number;
  /** How a watch from an expired resourceVersion is refused: 200 + ERROR event (the watch cache, default) or HTTP 410. */
  readonly expiredWatch?: 'event' | 'http';
  /** Send BOOKMARKs to watches that allow them every so often (default: only when the test calls `sendBookmarks`). */
  readonly bookmarkIntervalMs?: number;
  /**
   * Serve HTTPS with this certificate (its SANs must include `tlsServerName`, default `localhost`;
   * clients verify it with `caPem`). kubectl and client-go send bearer tokens only over TLS.
   */
  readonly tls?: { readonly certChain: string; readonly keyPem: string; readonly caPem: string; readonly serverName?: string };
}

interface FaultRule {
  remaining: number;
  readonly verbs: readonly Verb[];
  /** Only requests whose path starts with this. */
  readonly path: string;
  readonly action: { readonly kind: 'status'; readonly code: number; readonly retryAfterSeconds?: number } | { readonly kind: 'stall' };
}

/** An open watch response. */
class WatchStream {
  stalled = false;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    readonly res: ServerResponse,
    readonly type: ResourceType,
    readonly bookmarks: boolean,
  ) {}

  send(type: string, object: JsonObject): void {
    if (this.stalled || this.res.writableEnded) return;
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  bookmark(revision: number, annotations?: Record<string, string>): void {
    if (!this.bookmarks) return;
    const metadata: JsonObject = { resourceVersion: String(revision) };
    if (annotations) metadata.annotations = annotations;
    this.send('BOOKMARK', { kind: this.type.kind, apiVersion: apiVersionOf(this.type), metadata });
  }

  endAfter(seconds: number): void {
    this.timer = setTimeout(() => {
      if (!this.stalled) this.res.end();
    }, seconds * 1000);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

interface Route {
  readonly type: ResourceType;
  /** Undefined for all-namespaces requests and cluster-scoped kinds. */
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string;
  readonly watchPrefix: boolean;
}

const NOT_FOUND_PATH = (): KubeError => new KubeError(404, 'NotFound', 'the server could not find the requested resource', {});

function str(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

export class FakeKubeApiServer {
  readonly store: KubeStore;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<WatchStream>();
  private readonly log: RequestRecord[] = [];
  private readonly faults: FaultRule[] = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private portNumber = 0;
  /** How a watch from an expired resourceVersion is refused; tests may switch it. */
  expiredWatch: 'event' | 'http';
  /** The bearer token required (options.token; `rotateToken` changes it). */
  private token: string | undefined;

  private constructor(private readonly options: FakeKubeOptions) {
    this.store = new KubeStore(options.historyLimit ?? 1000);
    this.expiredWatch = options.expiredWatch ?? 'event';
    this.token = options.token;
  }

  /** From now on only `token` is accepted (a service account token rotated). */
  rotateToken(token: string): void {
    this.token = token;
  }

  /** Starts on 127.0.0.1 with an ephemeral port. */
  static async start(options: FakeKubeOptions = {}): Promise<FakeKubeApiServer> {
    const fake = new FakeKubeApiServer(options);
    await fake.listen(0);
    if (options.bookmarkIntervalMs !== undefined) fake.bookmarkTimer = setInterval(() => fake.sendBookmarks(), options.bookmarkIntervalMs);
    return fake;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.portNumber}`;
  }

  private async listen(port: number): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const tls = this.options.tls;
    const server: Server = tls ? createTlsServer({ cert: tls.certChain, key: tls.keyPem }, handler) : createServer(handler);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    this.portNumber = typeof addr === 'object' && addr ? addr.port : port;
    this.server = server;
  }

  // ------------------------------------------------------------ request log

  /** The requests so far, oldest first, optionally filtered. */
  requests(filter: (r: RequestRecord) => boolean = () => true): RequestRecord[] {
    return this.log.filter(filter);
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  /** The most requests (of those matching) that arrived within any one second. */
  maxRequestsPerSecond(filter: (r: RequestRecord) => boolean = () => true): number {
    const times = this.requests(filter).map((r) => r.time);
    let best = 0;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while ((times[end] ?? 0) - (times[start] ?? 0) >= 1000) start++;
      best = Math.max(best, end - start + 1);
    }
    return best;
  }

  // ------------------------------------------------------------ fault injection

  /**
   * The next `count` requests with one of `verbs` (default list and watch), on paths starting with `path`
   * (default all), are answered with `code` (500, 503, 429, 410).
   */
  failNext(count: number, code: number, o: { verbs?: readonly Verb[]; path?: string; retryAfterSeconds?: number } = {}): void {
    const action = o.retryAfterSeconds === undefined ? { kind: 'status' as const, code } : { kind: 'status' as const, code, retryAfterSeconds: o.retryAfterSeconds };
    this.faults.push({ remaining: count, verbs: o.verbs ?? ['list', 'watch'], path: o.path ?? '/', action });
  }

  /** The next `count` matching requests are accepted and never answered (until the server closes). */
  stallNext(count: number, verbs: readonly Verb[] = ['list', 'watch'], path = '/'): void {
    this.faults.push({ remaining: count, verbs, path, action: { kind: 'stall' } });
  }

  /** Open watches go half-open: they stay connected but never send anything again (not even their end). */
  stallWatches(): void {
    for (const w of this.watches) w.stalled = true;
  }

  /** Ends every open watch cleanly (as a watch timeout does). */
  endWatches(): void {
    for (const w of this.watches) w.res.end();
  }

  /** Destroys the sockets of every open watch (a connection reset). */
  destroyWatches(): void {
    for (const w of this.watches) w.res.socket?.destroy();
  }

  openWatches(): number {
    return this.watches.size;
  }

  /** A BOOKMARK at the current revision to every watch that allowed bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watches) w.bookmark(this.store.revision);
  }

  /** Compacts the history: every watch from an older resourceVersion now gets 410. */
  compact(): void {
    this.store.compact();
  }

  /**
   * Refuses connections: closes the listener and every open connection (an API server restart).
   * With `ms`, it listens again on the same port after that long.
   */
  async refuseConnections(ms?: number): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    }
    if (ms !== undefined) setTimeout(() => void this.acceptConnections(), ms);
  }

  /** Listens again on the same port after `refuseConnections`. */
  async acceptConnections(): Promise<void> {
    if (!this.server) await this.listen(this.portNumber);
  }

  async close(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    for (const w of this.watches) w.stop();
    await this.refuseConnections();
  }

  // ------------------------------------------------------------ kubeconfig

  /** Writes a kubeconfig (cluster, user with the token, context `fake`, namespace `default`) and returns its path. */
  writeKubeconfig(path: string, namespace = 'default'): string {
    const token = this.token;
    const tls = this.options.tls;
    const text = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${this.url}`,
      ...(tls
        ? [`    certificate-authority-data: ${Buffer.from(tls.caPem).toString('base64')}`, `    tls-server-name: ${tls.serverName ?? 'localhost'}`]
        : []),
      'users:',
      '- name: fake',
      token === undefined ? '  user: {}' : `  user:\n    token: ${token}`,
      'contexts:',
      '- name: fake',
      '  context:',
      '    cluster: fake',
      '    user: fake',
      `    namespace: ${namespace}`,
      'current-context: fake',
      '',
    ].join('\n');
    writeFileSync(path, text);
    return path;
  }

  // ------------------------------------------------------------ HTTP

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = Buffer.concat(chunks).toString('utf8');
      const record: RequestRecord = {
        time: Date.now(),
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers['content-type'] ?? '',
        body,
        verb: 'other',
        subresource: '',
        status: 0,
      };
      this.log.push(record);
      try {
        this.dispatch(req, res, url, record);
      } catch (e) {
        const err = e instanceof KubeError ? e : new KubeError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
        this.fail(res, record, err);
      }
    });
  }

  private send(res: ServerResponse, record: RequestRecord, code: number, body: JsonValue): void {
    record.status = code;
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, record: RequestRecord, err: KubeError): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err.details?.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.details.retryAfterSeconds));
    this.send(res, record, err.code, err.body());
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, url: URL, record: RequestRecord): void {
    const token = this.token;
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      throw new KubeError(401, 'Unauthorized', 'Unauthorized');
    }
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const method = record.method;
    if (url.pathname === '/openapi/v2' && method === 'GET') {
      this.openApiV2(req, res, record);
      return;
    }
    const discovery = this.discovery(parts);
    if (discovery !== undefined) {
      record.verb = 'discovery';
      if (method !== 'GET') throw new KubeError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      this.send(res, record, 200, discovery);
      return;
    }
    const route = this.route(parts);
    const q = url.searchParams;
    const watch = route.watchPrefix || q.get('watch') === 'true' || q.get('watch') === '1';
    record.subresource = route.subresource;
    record.verb = this.verbOf(method, route, watch);
    if (this.injectFault(res, record)) return;
    if (route.subresource !== '' && route.subresource !== 'status') throw NOT_FOUND_PATH();
    if (route.subresource === 'status' && !route.type.hasStatus) throw NOT_FOUND_PATH();
    const opts = this.writeOptions(q, route);
    const ns = route.namespace ?? '';
    switch (record.verb) {
      case 'watch':
        this.watch(req, res, record, route, q);
        return;
      case 'list':
        this.send(res, record, 200, this.list(route, q));
        return;
      case 'get': {
        const obj = this.store.get(route.type, ns, route.name ?? '');
        if (!obj) throw notFound({ group: route.type.group, resource: route.type.plural }, route.name ?? '');
        this.send(res, record, 200, present(route.type, obj));
        return;
      }
      case 'create':
        if (route.namespace === undefined && route.type.namespaced) throw NOT_FOUND_PATH();
        this.send(res, record, 201, present(route.type, this.store.create(route.type, ns, this.bodyObject(record), opts)));
        return;
      case 'update': {
        const r = this.store.update(route.type, ns, route.name ?? '', this.bodyObject(record), opts);
        this.send(res, record, r.created ? 201 : 200, present(route.type, r.object));
        return;
      }
      case 'patch': {
        const r = this.store.patch(route.type, ns, route.name ?? '', record.contentType, record.body, opts);
        this.send(res, record, r.created ? 201 : 200, present(route.type, r.object));
        return;
      }
      case 'delete': {
        const options = record.body.trim() === '' ? {} : this.bodyObject(record);
        this.send(res, record, 200, this.store.delete(route.type, ns, route.name ?? '', options, opts));
        return;
      }
      case 'deletecollection': {
        const items = this.matching(route, q).map((o) => this.store.delete(route.type, str(metaOf(o).namespace), str(metaOf(o).name), {}, opts));
        this.send(res, record, 200, { apiVersion: apiVersionOf(route.type), kind: route.type.listKind, metadata: { resourceVersion: String(this.store.revision) }, items });
        return;
      }
      case 'discovery':
      case 'other':
        throw new KubeError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  /**
   * `/openapi/v2` without definitions (the fake has no schemas): kubectl then skips client-side schema
   * validation and computes strategic merge patches from its compiled-in types, as it does for kinds a
   * server does not describe. Protobuf when asked for (an empty `Document` is zero bytes), else JSON.
   */
  private openApiV2(req: IncomingMessage, res: ServerResponse, record: RequestRecord): void {
    record.verb = 'discovery';
    record.status = 200;
    if ((req.headers.accept ?? '').includes('protobuf')) {
      res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'Content-Length': 0 });
      res.end();
      return;
    }
    this.send(res, record, 200, { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths: {}, definitions: {} });
  }

  private injectFault(res: ServerResponse, record: RequestRecord): boolean {
    const rule = this.faults.find((f) => f.remaining > 0 && f.verbs.includes(record.verb) && record.path.startsWith(f.path));
    if (!rule) return false;
    rule.remaining--;
    // A stalled request is left unanswered until the client gives up or the server closes.
    if (rule.action.kind === 'stall') return true;
    this.fail(res, record, injected(rule.action.code, rule.action.retryAfterSeconds));
    return true;
  }

  private verbOf(method: string, route: Route, watch: boolean): Verb {
    const named = route.name !== undefined;
    switch (method) {
      case 'GET':
        return watch ? 'watch' : named ? 'get' : 'list';
      case 'POST':
        return named ? 'other' : 'create';
      case 'PUT':
        return named ? 'update' : 'other';
      case 'PATCH':
        return named ? 'patch' : 'other';
      case 'DELETE':
        return named ? 'delete' : 'deletecollection';
      default:
        return 'other';
    }
  }

  private writeOptions(q: URLSearchParams, route: Route): WriteOptions {
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) throw badRequest(`Invalid dryRun value: ${dryRun.join(',')}; only "All" is supported`);
    const fieldManager = q.get('fieldManager');
    const force = q.get('force');
    return {
      dryRun: dryRun.length > 0,
      ...(route.subresource === 'status' ? { subresource: 'status' as const } : {}),
      ...(fieldManager !== null ? { fieldManager } : {}),
      ...(force !== null ? { force: force === 'true' || force === '1' } : {}),
    };
  }

  private bodyObject(record: RequestRecord): JsonObject {
    let parsed: unknown;
    try {
      parsed = /yaml/.test(record.contentType) ? parseYaml(record.body) : JSON.parse(record.body);
    } catch (e) {
      throw badRequest(`the object provided is unrecognized: ${(e as Error).message}`);
    }
    if (!isObject(parsed as JsonValue)) throw badRequest('the object provided is unrecognized: not an object');
    return parsed as JsonObject;
  }

  /** Discovery and fixed documents, or undefined when the path is a resource path. */
  private discovery(parts: readonly string[]): JsonValue | undefined {
    const reg = this.store.registry;
    const path = parts.join('/');
    if (path === 'version') {
      return {
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.0-meshbridge-fake',
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'go1.23.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    }
    if (path === 'healthz' || path === 'readyz' || path === 'livez') return 'ok';
    if (path === 'openapi/v3') return reg.openApiV3Root();
    if (parts[0] === 'openapi' && parts[1] === 'v3') {
      const doc = parts[2] === 'api' ? reg.openApiV3GroupVersion('', parts[3] ?? '') : reg.openApiV3GroupVersion(parts[3] ?? '', parts[4] ?? '');
      if (!doc) throw NOT_FOUND_PATH();
      return doc;
    }
    if (path === 'api') return reg.apiVersions(`127.0.0.1:${this.portNumber}`);
    if (path === 'api/v1') return reg.apiResourceList('', 'v1');
    if (path === 'apis') return reg.apiGroupList();
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = reg.apiGroup(parts[1] ?? '');
      if (!g) throw NOT_FOUND_PATH();
      return g;
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = reg.apiResourceList(parts[1] ?? '', parts[2] ?? '');
      if (!list) throw NOT_FOUND_PATH();
      return list;
    }
    if (parts[0] !== 'api' && parts[0] !== 'apis') throw NOT_FOUND_PATH();
    return undefined;
  }

  private route(parts: readonly string[]): Route {
    const reg = this.store.registry;
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      group = '';
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else {
      group = parts[1] ?? '';
      version = parts[2] ?? '';
      rest = parts.slice(3);
    }
    if (!reg.hasGroupVersion(group, version)) throw NOT_FOUND_PATH();
    const watchPrefix = rest[0] === 'watch';
    if (watchPrefix) rest = rest.slice(1);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && reg.get(group, version, rest[2] ?? '')?.namespaced === true) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural = '', name, subresource = '', ...extra] = rest;
    const type = reg.get(group, version, plural);
    if (!type || extra.length > 0) throw NOT_FOUND_PATH();
    if (type.namespaced && name !== undefined && namespace === undefined) throw NOT_FOUND_PATH();
    return { type, namespace: type.namespaced ? namespace : undefined, name, subresource, watchPrefix };
  }

  private predicate(route: Route, q: URLSearchParams): ObjectPredicate {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'), route.type.fields);
    const name = route.name;
    const ns = route.namespace;
    return (o) =>
      (ns === undefined || str(metaOf(o).namespace) === ns) && (name === undefined || str(metaOf(o).name) === name) && labels(o) && fields(o);
  }

  private matching(route: Route, q: URLSearchParams): JsonObject[] {
    const p = this.predicate(route, q);
    return this.store.list(route.type, route.namespace).filter(p);
  }

  /** LIST: the current state (any resourceVersion not newer than the current one), `limit` and `continue`. */
  private list(route: Route, q: URLSearchParams): JsonObject {
    const rv = q.get('resourceVersion') ?? '';
    if (rv !== '' && rv !== '0') {
      const n = Number(rv);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid resource version: ${rv}`);
      if (n > this.store.revision) {
        throw new KubeError(504, 'Timeout', `Too large resource version: ${n}, current: ${this.store.revision}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
    }
    let items = this.matching(route, q);
    let offset = 0;
    let listRev = this.store.revision;
    const token = q.get('continue');
    if (token !== null && token !== '') {
      let parsed: { rv?: number; offset?: number };
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { rv?: number; offset?: number };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      listRev = parsed.rv ?? 0;
      offset = parsed.offset ?? 0;
      if (listRev < this.store.compactedThrough) {
        throw new KubeError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
    }
    const metadata: JsonObject = { resourceVersion: String(listRev) };
    const limit = Number(q.get('limit') ?? '0');
    items = items.slice(offset);
    if (limit > 0 && items.length > limit) {
      metadata.continue = Buffer.from(JSON.stringify({ rv: listRev, offset: offset + limit })).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    return {
      apiVersion: apiVersionOf(route.type),
      kind: route.type.listKind,
      metadata,
      items: items.map((o) => present(route.type, o)),
    };
  }

  /** WATCH: replay from the event log (or synthetic ADDED), then live events, per the selectors. */
  private watch(req: IncomingMessage, res: ServerResponse, record: RequestRecord, route: Route, q: URLSearchParams): void {
    const matches = this.predicate(route, q);
    const rv = q.get('resourceVersion') ?? '';
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const initialParam = q.get('sendInitialEvents');
    const sendInitial = initialParam === 'true';
    if (sendInitial && (q.get('resourceVersionMatch') !== 'NotOlderThan' || !bookmarks)) {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
        {
          reason: 'FieldValueForbidden',
          field: 'resourceVersionMatch',
          message: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks to true',
        },
      ]);
    }
    const fromNow = rv === '' || rv === '0';
    let replay: StoredEvent[] = [];
    if (!fromNow && !sendInitial) {
      const n = Number(rv);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid resource version: ${rv}`);
      const events = this.store.eventsSince(route.type, n);
      if (events === 'expired') {
        if (this.expiredWatch === 'http') throw expired();
        record.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: expired().body() })}\n`);
        return;
      }
      replay = events;
    }
    record.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const stream = new WatchStream(res, route.type, bookmarks);
    const deliver = (e: StoredEvent): void => {
      const out = this.translate(route, e, matches);
      if (out) stream.send(out.type, out.object);
    };
    if ((fromNow && initialParam !== 'false') || sendInitial) {
      for (const o of this.store.list(route.type, route.namespace).filter(matches)) stream.send('ADDED', present(route.type, o));
    }
    if (sendInitial) stream.bookmark(this.store.revision, { 'k8s.io/initial-events-end': 'true' });
    for (const e of replay) deliver(e);
    const unsubscribe = this.store.subscribe(deliver);
    this.watches.add(stream);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (timeout > 0) stream.endAfter(timeout);
    res.on('close', () => {
      unsubscribe();
      stream.stop();
      this.watches.delete(stream);
    });
    req.on('error', () => undefined);
  }

  /** An event as this watcher sees it: selector transitions become ADDED or DELETED (with the old content), as the watch cache does. */
  private translate(route: Route, e: StoredEvent, matches: ObjectPredicate): { type: string; object: JsonObject } | undefined {
    if (e.resource !== `${route.type.group}/${route.type.plural}`) return undefined;
    const now = e.type !== 'DELETED' && matches(e.object);
    const before = e.prev !== undefined && matches(e.prev);
    const withRv = (o: JsonObject): JsonObject => {
      const c = clone(o);
      metaOf(c).resourceVersion = String(e.revision);
      return present(route.type, c);
    };
    switch (e.type) {
      case 'ADDED':
        return now ? { type: 'ADDED', object: withRv(e.object) } : undefined;
      case 'MODIFIED':
        if (now && before) return { type: 'MODIFIED', object: withRv(e.object) };
        if (now) return { type: 'ADDED', object: withRv(e.object) };
        return before && e.prev ? { type: 'DELETED', object: withRv(e.prev) } : undefined;
      case 'DELETED':
        return matches(e.object) ? { type: 'DELETED', object: withRv(e.object) } : undefined;
    }
  }
}
