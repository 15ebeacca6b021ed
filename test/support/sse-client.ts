/**
 * A Server-Sent Events client for tests (what a browser's EventSource does, on fetch): reads one
 * text/event-stream response, parses its frames (`id`, `event`, `data`, comments) and stamps each
 * with the local time it arrived.
 */
import type { ReadableStreamReadResult } from 'node:stream/web';

export interface SseFrame {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
  /** Comment lines (`: ...`) of the frame. */
  readonly comments: readonly string[];
  /** Date.now() when the frame was complete. */
  readonly receivedAt: number;
}

export interface SseClient {
  readonly status: number;
  readonly contentType: string;
  readonly frames: SseFrame[];
  /** The first frame (already received or later) matching `match`; rejects after `timeoutMs`. */
  next(match: (f: SseFrame) => boolean, timeoutMs: number, what: string): Promise<SseFrame>;
  /** Resolves when the server ends the stream ('end') or the connection fails ('error'). */
  readonly ended: Promise<'end' | 'error'>;
  close(): void;
}

function parseFrame(block: string, receivedAt: number): SseFrame {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  const comments: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) comments.push(line.slice(1).trim());
    else {
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
  }
  return { ...(id !== undefined ? { id } : {}), event, data: data.join('\n'), comments, receivedAt };
}

export async function openSse(url: string, headers: Readonly<Record<string, string>> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  const reader = res.body?.getReader();
  const ended = (async (): Promise<'end' | 'error'> => {
    if (reader === undefined) return 'end';
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const chunk: ReadableStreamReadResult<Uint8Array> = await reader.read();
        if (chunk.done) return 'end';
        buffer += decoder.decode(chunk.value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          frames.push(parseFrame(buffer.slice(0, cut), Date.now()));
          buffer = buffer.slice(cut + 2);
          for (const w of waiters) w();
        }
      }
    } catch {
      return 'error';
    } finally {
      for (const w of waiters) w();
    }
  })();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    frames,
    ended,
    close: () => abort.abort(),
    next: (match, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const f = frames.find(match);
          if (f === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(f);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no SSE frame ${what} within ${timeoutMs} ms; got ${JSON.stringify(frames.map((f) => f.event))}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      }),
  };
}
