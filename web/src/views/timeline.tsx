/**
 * View 4: the health timeline per endpoint (filtered to a service or one endpoint): a strip of
 * states over time with flap marks, and the transitions with their reasons.
 */
import type { ApiEvent, EndpointTimeline, HealthEvent, HealthTransition, TimelineResponse, TimelineState } from '../../../src/api/v1/types.js';
import { recentEvents } from '../live.js';
import { Badge, Page, Time } from '../components.js';
import { useResource } from '../resource.js';
import { hrefOf } from '../route.js';

const CONNECTION_STATES: readonly TimelineState[] = ['connected', 'disconnected'];

/**
 * A strip: one segment per state from each transition to the next (the last one to now), and a
 * tick at each transition (marked as a flap when the endpoint is flapping).
 */
function Strip({ label, transitions, from, to, flapping }: { readonly label: string; readonly transitions: readonly HealthTransition[]; readonly from: number; readonly to: number; readonly flapping: boolean }) {
  if (transitions.length === 0) return null;
  const span = Math.max(1, to - from);
  const at = (t: number): number => ((t - from) / span) * 100;
  const segments = transitions.map((t, i) => {
    const start = Date.parse(t.at);
    const next = transitions[i + 1];
    const end = next !== undefined ? Date.parse(next.at) : to;
    return { state: t.to, left: at(start), width: Math.max(0.3, at(end) - at(start)), title: `${t.at}: ${t.from} → ${t.to} (${t.source}) ${t.reason}` };
  });
  return (
    <div class="strip-row">
      <span class="strip-label muted">{label}</span>
      <div class="strip" role="img" aria-label={`${label}: ${transitions.map((t) => t.to).join(' → ')}`}>
        {segments.map((x, i) => (
          <span key={i} class="segment" data-state={x.state} style={{ left: `${x.left}%`, width: `${x.width}%` }} title={x.title} />
        ))}
        {segments.map((x, i) => (
          <span key={`t${i}`} class={`tick${flapping ? ' flap' : ''}`} style={{ left: `${x.left}%` }} />
        ))}
      </div>
    </div>
  );
}

const isConnection = (state: TimelineState): boolean => CONNECTION_STATES.includes(state);

/**
 * The timeline with the live health events newer than its last transition appended (an event is
 * the transition the timeline records): they show at once, and the reload that follows confirms them.
 */
export function withLiveEvents(endpoints: readonly EndpointTimeline[], events: readonly ApiEvent[]): EndpointTimeline[] {
  return endpoints.map((e) => {
    const lastAt = Date.parse(e.transitions[e.transitions.length - 1]?.at ?? '') || 0;
    const fresh = events.filter((x): x is HealthEvent => x.type === 'health' && x.endpoint === e.endpoint && Date.parse(x.at) > lastAt);
    if (fresh.length === 0) return e;
    const health = fresh.filter((x) => !isConnection(x.to)).pop();
    const connection = fresh.filter((x) => isConnection(x.to)).pop();
    return {
      ...e,
      transitions: [...e.transitions, ...fresh.map(({ at, from, to, reason, source }) => ({ at, from, to, reason, source }))],
      health: health?.to ?? e.health,
      connection: connection !== undefined ? (connection.to === 'connected' ? 'connected' : 'disconnected') : e.connection,
      flapping: health?.flapping ?? e.flapping,
    };
  });
}

function EndpointRow({ e, from, to }: { readonly e: EndpointTimeline; readonly from: number; readonly to: number }) {
  return (
    <article class="card timeline" data-endpoint={e.endpoint} data-health={e.health}>
      <header>
        <h2>
          <a href={hrefOf({ view: 'timeline', endpoint: e.endpoint })}>{e.endpoint}</a>
        </h2>
        <span>{e.address}</span>
        <Badge state={e.health} />
        {e.connection !== null && <Badge state={e.connection} />}
        {e.flapping && <Badge state="flapping" title={`${e.flapCount} transitions within the flap window`} />}
      </header>
      <Strip label="health" transitions={e.transitions.filter((t) => !CONNECTION_STATES.includes(t.to))} from={from} to={to} flapping={e.flapping} />
      <Strip label="agent" transitions={e.transitions.filter((t) => CONNECTION_STATES.includes(t.to))} from={from} to={to} flapping={false} />
      <details open={e.transitions.length <= 6}>
        <summary>
          {e.transitions.length} transitions{e.dropped > 0 ? ` (${e.dropped} older dropped)` : ''}
        </summary>
        <ol class="transitions">
          {[...e.transitions].reverse().map((t, i) => (
            <li key={i} data-to={t.to}>
              <Time at={t.at} /> {t.from} → <strong>{t.to}</strong> <span class="muted">({t.source})</span> {t.reason}
            </li>
          ))}
        </ol>
      </details>
    </article>
  );
}

export function TimelineView({ service, endpoint }: { readonly service?: string | undefined; readonly endpoint?: string | undefined }) {
  const query = endpoint !== undefined ? `?endpoint=${encodeURIComponent(endpoint)}` : service !== undefined ? `?service=${encodeURIComponent(service)}` : '';
  const resource = useResource<TimelineResponse>(`/api/v1/timeline${query}`);
  const title = endpoint ?? service ?? 'all endpoints';
  return (
    <Page title={`Health timeline: ${title}`} resource={resource}>
      {(data) => {
        const endpoints = withLiveEvents(data.endpoints, recentEvents.value);
        const now = Date.now();
        const times = endpoints.flatMap((e) => e.transitions.map((t) => Date.parse(t.at)));
        const from = Math.min(now - 60_000, ...times);
        return (
          <>
            <p class="muted">
              From <Time at={new Date(from).toISOString()} /> to now. Flapping: {data.limits.flapThreshold} or more transitions within {data.limits.flapWindowSeconds} s.
              {(service !== undefined || endpoint !== undefined) && (
                <>
                  {' '}
                  <a href={hrefOf({ view: 'timeline' })}>All endpoints</a>
                </>
              )}
            </p>
            {endpoints.length === 0 && <p class="muted">No health transitions recorded yet.</p>}
            {endpoints.map((e) => (
              <EndpointRow key={e.endpoint} e={e} from={from} to={now} />
            ))}
          </>
        );
      }}
    </Page>
  );
}
