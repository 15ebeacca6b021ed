/**
 * A minimal Kubernetes REST transport on node:http/https: JSON requests and watch streams (chunked
 * JSON lines), a bearer token, a CA or `insecure-skip-tls-verify`, client certificates. No timeouts on
 * streams here: the informer owns the watch deadline (`timeoutSeconds`) and the watchdog.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';

export interface KubeConnection {
  /** `https://host:port` or `http://host:port`. */
  readonly server: string;
  readonly token?: string;
  /**
   * Where `token` was read from (the service account's mounted token, a kubeconfig `tokenFile`): it
   * rotates, so the transport reads it again once it is older than the refresh period (1 minute,
   * as client-go's cached file token source); until the file can be read again the last token is used.
   */
  readonly tokenFile?: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly ca?: string;
  readonly insecureSkipTlsVerify?: boolean;
  /** The name the server's certificate must carry when it differs from the URL's host (kubeconfig `tls-server-name`). */
  readonly tlsServerName?: string;
  readonly clientCert?: string;
  readonly clientKey?: string;
}

/** A non-2xx answer, with the Status body's reason and message when there is one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Readonly<Record<string, string | undefined>>;

/** How often a `tokenFile` is read again (client-go: every minute). */
export const TOKEN_REFRESH_MS = 60_000;

export interface KubeTransportOptions {
  /** Default TOKEN_REFRESH_MS. */
  readonly tokenRefreshMs?: number;
}

export class KubeTransport {
  private token: string | undefined;
  private tokenReadAt: number;

  constructor(
    readonly connection: KubeConnection,
    private readonly options: KubeTransportOptions = {},
  ) {
    this.token = connection.token;
    this.tokenReadAt = performance.now();
  }

  /** The bearer token to send now: the file's content when it is due to be read again. */
  private bearer(): string | undefined {
    const file = this.connection.tokenFile;
    if (file !== undefined && performance.now() - this.tokenReadAt >= (this.options.tokenRefreshMs ?? TOKEN_REFRESH_MS)) {
      this.tokenReadAt = performance.now();
      try {
        const token = readFileSync(file, 'utf8').trim();
        if (token !== '') this.token = token;
      } catch {
        // Mid-rotation or briefly missing: the last token is still valid for a while; read again next time.
      }
    }
    return this.token;
  }

  private url(path: string, query: Query): URL {
    const url = new URL(path, this.connection.server);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  /** Opens a request and resolves with the response head; `signal` aborts it. */
  open(method: string, path: string, query: Query, body?: unknown, signal?: AbortSignal, contentType = 'application/json'): Promise<IncomingMessage> {
    const url = this.url(path, query);
    const c = this.connection;
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.bearer();
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      // Node sends a DELETE body neither chunked nor sized unless told its length.
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const tls = url.protocol === 'https:';
    const options = {
      method,
      headers,
      ...(signal ? { signal } : {}),
      ...(tls
        ? {
            ...(c.ca !== undefined ? { ca: c.ca } : {}),
            ...(c.clientCert !== undefined ? { cert: c.clientCert } : {}),
            ...(c.clientKey !== undefined ? { key: c.clientKey } : {}),
            ...(c.tlsServerName !== undefined ? { servername: c.tlsServerName } : {}),
            rejectUnauthorized: c.insecureSkipTlsVerify !== true,
          }
        : {}),
    };
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (tls ? httpsRequest : httpRequest)(url, options, (res) => {
        // Aborting after the head arrived destroys the response too; its error is the reader's to see.
        req.on('error', () => undefined);
        resolve(res);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A JSON request; non-2xx answers reject with KubeApiError. `timeoutMs` bounds the whole exchange; `signal` aborts it. */
  async json(method: string, path: string, query: Query = {}, body?: unknown, timeoutMs = 30_000, signal?: AbortSignal): Promise<unknown> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const res = await this.open(method, path, query, body, signal ? AbortSignal.any([deadline, signal]) : deadline);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, text);
    return JSON.parse(text) as unknown;
  }
}

export async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The error for a non-2xx answer, worded from its Status body when it has one. */
export function apiError(status: number, text: string): KubeApiError {
  try {
    const s = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof s.message === 'string') return new KubeApiError(status, typeof s.reason === 'string' ? s.reason : '', s.message);
  } catch {
    // not a Status body
  }
  return new KubeApiError(status, '', `HTTP ${status}: ${text.slice(0, 200)}`);
}
