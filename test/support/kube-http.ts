/**
 * Plain-HTTP helpers for tests that talk to the fake Kubernetes API server (or any API server)
 * directly: JSON requests and a watch-stream reader that splits the chunked response into events.
 */
import { request } from 'node:http';

export interface KubeResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

/** One request; the body is sent as JSON unless it is a string. */
export async function kubeRequest(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<KubeResponse> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed };
}

export interface WatchEvent {
  readonly type: string;
  readonly object: { metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; [k: string]: unknown };
}

/** An open watch: events as they arrive, the HTTP status, and the end of the stream. */
export class WatchReader {
  readonly events: WatchEvent[] = [];
  status = 0;
  ended = false;
  private waiters: (() => void)[] = [];
  private readonly done: Promise<void>;
  private abort: (() => void) | undefined;

  constructor(base: string, path: string) {
    this.done = new Promise<void>((resolve) => {
      const req = request(`${base}${path}`, (res) => {
        this.status = res.statusCode ?? 0;
        this.wake();
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line !== '' && this.status === 200) this.events.push(JSON.parse(line) as WatchEvent);
          }
          this.wake();
        });
        const finish = (): void => {
          this.ended = true;
          this.wake();
          resolve();
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      });
      req.on('error', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
      this.abort = () => req.destroy();
      req.end();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves once the response head arrived (for the fake: the watch is registered and receives events). */
  async opened(timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.status === 0 && !this.ended) {
      const left = until - Date.now();
      if (left <= 0) throw new Error('the watch response did not start');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves once `count` events arrived (or rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 3000): Promise<WatchEvent[]> {
    const until = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (this.ended) throw new Error(`watch ended after ${this.events.length} of ${count} events: ${JSON.stringify(this.events)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${count} events, got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.events.slice(0, count);
  }

  /** Resolves when the server ends the stream. */
  async end(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('watch did not end')), timeoutMs);
    });
    try {
      await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.abort?.();
  }
}
