/**
 * View 4: the health timeline per endpoint (filtered to a service or one endpoint): a strip of
 * states over time with flap marks, and the transitions with their reasons.
 */
import type { EndpointTimeline, TimelineResponse } from '../../../src/api/v1/types.js';
import { Badge, Page, Time } from '../components.js';
import { useResource } from '../resource.js';
import { hrefOf } from '../route.js';

/** The strip: one segment per state from each transition to the next (the last one to now). */
function Strip({ e, from, to }: { readonly e: EndpointTimeline; readonly from: number; readonly to: number }) {
  const span = Math.max(1, to - from);
  const segments = e.transitions.map((t, i) => {
    const start = Date.parse(t.at);
    const end = i + 1 < e.transitions.length ? Date.parse(e.transitions[i + 1]?.at ?? t.at) : to;
    return { state: t.to, left: ((start - from) / span) * 100, width: Math.max(0.5, ((end - start) / span) * 100), title: `${t.at}: ${t.from} → ${t.to} (${t.source}) ${t.reason}` };
  });
  return (
    <div class="strip" role="img" aria-label={`${e.endpoint}: ${e.transitions.map((t) => t.to).join(', ')}`}>
      {segments.map((s, i) => (
        <span key={i} class="segment" data-state={s.state} style={{ left: `${s.left}%`, width: `${s.width}%` }} title={s.title} />
      ))}
    </div>
  );
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
      <Strip e={e} from={from} to={to} />
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
        const now = Date.now();
        const times = data.endpoints.flatMap((e) => e.transitions.map((t) => Date.parse(t.at)));
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
            {data.endpoints.length === 0 && <p class="muted">No health transitions recorded yet.</p>}
            {data.endpoints.map((e) => (
              <EndpointRow key={e.endpoint} e={e} from={from} to={now} />
            ))}
          </>
        );
      }}
    </Page>
  );
}
