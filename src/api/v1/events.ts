/**
 * `GET /api/v1/events` (docs/api.md): the live event log as Server-Sent Events, or as JSON with
 * `?since=ID` (the polling fallback).
 *
 * SSE: each event is `id: N`, `event: TYPE`, `data: JSON` (an ApiEvent). A client resuming with
 * `Last-Event-ID` (or `?lastEventId=`) first gets the events after that id still in the ring; when
 * some were dropped (or the id is from another serve process) it gets an `event: reset` whose data
 * is `{"instance", "lastId"}` instead: reload the views. A comment line `: heartbeat` is sent every
 * `heartbeatMs`. At most `maxClients` streams at once (503 beyond). Streams end when serve stops.
 */
import type { EventLog } from '../../status/event-log.js';
import { json, type HttpHandler, type HttpResponse, type HttpStreamResponse } from '../http-api.js';
import type { ApiError, ApiEvent, EventsResponse, EventsReset } from './types.js';

export interface EventStreamOptions {
  readonly log: EventLog;
  readonly instance: string;
  readonly maxClients?: number;
  readonly heartbeatMs?: number;
}

export const DEFAULT_MAX_SSE_CLIENTS = 32;
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** How long an EventSource waits before reconnecting. */
const RETRY_MS = 2000;

/** One SSE frame of an event. */
export function sseFrame(e: ApiEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** A non-negative integer id, or undefined when absent; an Error when malformed. */
function eventId(value: string | null | undefined, what: string): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new Error(`${what} must be a non-negative integer event id, not ${JSON.stringify(value.slice(0, 40))}`);
  return Number(value);
}

export class EventStreams {
  private clients = 0;
  readonly maxClients: number;
  private readonly heartbeatMs: number;

  constructor(private readonly o: EventStreamOptions) {
    this.maxClients = o.maxClients ?? DEFAULT_MAX_SSE_CLIENTS;
    this.heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** SSE clients connected now. */
  get connected(): number {
    return this.clients;
  }

  readonly handler: HttpHandler = (url, request) => {
    let since: number | undefined;
    let resume: number | undefined;
    try {
      since = eventId(url.searchParams.get('since'), 'since');
      resume = eventId(request.headers?.['last-event-id'] ?? url.searchParams.get('lastEventId'), 'Last-Event-ID');
    } catch (e) {
      return json({ error: e instanceof Error ? e.message : String(e) } satisfies ApiError, 400);
    }
    if (since !== undefined) return json(this.poll(since));
    return this.stream(resume);
  };

  private poll(since: number): EventsResponse {
    const s = this.o.log.since(since);
    // An id above the last one is from an earlier serve process: everything is new.
    const truncated = s.truncated || since > s.lastId;
    return { instance: this.o.instance, events: s.events, lastId: s.lastId, truncated };
  }

  private stream(resume: number | undefined): HttpResponse | HttpStreamResponse {
    if (this.clients >= this.maxClients) return json({ error: `too many event streams (at most ${this.maxClients}): poll with ?since=ID` } satisfies ApiError, 503);
    this.clients++;
    const log = this.o.log;
    return {
      contentType: 'text/event-stream; charset=utf-8',
      open: (w) => {
        w.write(`retry: ${RETRY_MS}\n: meshbridge events of ${this.o.instance}\n\n`);
        if (resume !== undefined) {
          const backlog = this.poll(resume);
          if (backlog.truncated) {
            const reset: EventsReset = { instance: this.o.instance, lastId: backlog.lastId };
            w.write(`event: reset\ndata: ${JSON.stringify(reset)}\n\n`);
          } else for (const e of backlog.events) w.write(sseFrame(e));
        }
        const unsubscribe = log.subscribe((e) => void w.write(sseFrame(e)));
        const heartbeat = setInterval(() => void w.write(': heartbeat\n\n'), this.heartbeatMs);
        heartbeat.unref();
        return () => {
          unsubscribe();
          clearInterval(heartbeat);
          this.clients--;
        };
      },
    };
  }
}
