/**
 * Live updates (docs/dashboard.md): Server-Sent Events from `/api/v1/events`, each a typed
 * `ApiEvent`; when the stream cannot be opened or keeps failing, JSON polling of
 * `/api/v1/events?since=ID` every POLL_MS. Every event (or a new batch) bumps `revision`, which the
 * views' resources watch to reload, so a health change shows without a page reload.
 */
import { signal } from '@preact/signals';
import type { ApiEvent, ApiEventType, EventsResponse } from '../../src/api/v1/types.js';
import { getJson } from './api.js';

export type LiveMode = 'connecting' | 'live' | 'polling' | 'offline';

/** How updates arrive now: SSE (`live`), polling, or nothing answers (`offline`). */
export const liveMode = signal<LiveMode>('connecting');
/** Bumped on every event batch: resources reload when it changes. */
export const revision = signal(0);
/** The most recent events, newest last (at most MAX_EVENTS). */
export const recentEvents = signal<readonly ApiEvent[]>([]);

const MAX_EVENTS = 200;
const POLL_MS = 250;
const EVENT_TYPES: readonly ApiEventType[] = ['health', 'proxy', 'config', 'push'];

let lastId = 0;
let instance: string | undefined;

function isApiEvent(x: unknown): x is ApiEvent {
  return typeof x === 'object' && x !== null && typeof (x as { id?: unknown }).id === 'number' && typeof (x as { type?: unknown }).type === 'string';
}

/** Takes new events (ignoring ids already seen), then asks the views to reload. */
function accept(events: readonly ApiEvent[]): void {
  const fresh = events.filter((e) => e.id > lastId);
  if (fresh.length > 0) {
    lastId = fresh[fresh.length - 1]?.id ?? lastId;
    recentEvents.value = [...recentEvents.value, ...fresh].slice(-MAX_EVENTS);
  }
  revision.value++;
}

/** The polling fallback; returns its stop function. */
function poll(): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const once = async (): Promise<void> => {
    try {
      const r = await getJson<EventsResponse>(`/api/v1/events?since=${lastId}`);
      if (instance !== undefined && r.instance !== instance) lastId = 0;
      instance = r.instance;
      liveMode.value = 'polling';
      if (r.truncated || r.events.length > 0) accept(r.events);
      lastId = Math.max(lastId, r.lastId);
    } catch {
      liveMode.value = 'offline';
    }
    if (!stopped) timer = setTimeout(() => void once(), POLL_MS);
  };
  void once();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Connects: SSE first; after FAILURES_BEFORE_POLLING failed attempts without a single event the
 * stream is given up for polling (e.g. a proxy in between that buffers the stream).
 */
export function startLive(): () => void {
  if (typeof EventSource === 'undefined') return poll();
  const FAILURES_BEFORE_POLLING = 2;
  let failures = 0;
  let stopPolling: (() => void) | undefined;
  const source = new EventSource('/api/v1/events');
  source.onopen = () => {
    failures = 0;
    liveMode.value = 'live';
    // Whatever happened while disconnected: reload.
    revision.value++;
  };
  const onEvent = (m: MessageEvent<string>): void => {
    try {
      const e = JSON.parse(m.data) as unknown;
      if (isApiEvent(e)) accept([e]);
    } catch {
      // A malformed event is skipped; the next one reloads anyway.
    }
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, onEvent);
  source.onmessage = onEvent;
  source.onerror = () => {
    failures++;
    if (source.readyState === EventSource.CLOSED || failures >= FAILURES_BEFORE_POLLING) {
      source.close();
      stopPolling ??= poll();
    } else liveMode.value = 'connecting';
  };
  return () => {
    source.close();
    stopPolling?.();
  };
}
