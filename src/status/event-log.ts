/**
 * The live event log of `serve` (`GET /api/v1/events`, docs/api.md): typed events (health, proxy,
 * config, push) with increasing ids, kept in a bounded ring for resuming (`Last-Event-ID`) and
 * polling (`?since=ID`), and handed synchronously to subscribers (the SSE clients) as they are
 * appended. Memory is bounded by `capacity` events. Pure apart from the injected clock.
 */
import type { ApiEvent } from '../api/v1/types.js';
import { withFields } from '../lib/objects/with-fields.js';
import { isoTime } from '../lib/time/iso-time.js';

/** An event as recorded: the log adds its id and time. */
export type NewEvent = ApiEvent extends infer E ? (E extends ApiEvent ? Omit<E, 'id' | 'at'> : never) : never;

export type EventListener = (event: ApiEvent) => void;

export interface EventsSince {
  readonly events: readonly ApiEvent[];
  readonly lastId: number;
  /** Some events after `since` were dropped from the ring. */
  readonly truncated: boolean;
}

export const DEFAULT_EVENT_CAPACITY = 1000;

export class EventLog {
  private readonly ring: ApiEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private nextId = 1;

  constructor(
    readonly capacity = DEFAULT_EVENT_CAPACITY,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`the event log's capacity must be a positive integer, not ${capacity}`);
  }

  /** The id of the last event appended (0: none yet). */
  get lastId(): number {
    return this.nextId - 1;
  }

  append(e: NewEvent): ApiEvent {
    const event: ApiEvent = withFields(e, { id: this.nextId++, at: isoTime(this.now()) });
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A failing subscriber (a broken connection) must not stop the others or the recorder.
      }
    }
    return event;
  }

  /** Events with an id above `since` that the ring still holds, oldest first. */
  since(since: number): EventsSince {
    const events = this.ring.filter((e) => e.id > since);
    const oldest = this.ring[0]?.id ?? this.nextId;
    return { events, lastId: this.lastId, truncated: since < this.lastId && since + 1 < oldest };
  }

  /** Receives every later event; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
