/** Small shared pieces of the views: states, badges, label lists, times, page frames. */
import type { ComponentChildren } from 'preact';
import type { Resource } from './resource.js';

/** A status word as a coloured badge (`data-state` drives the colour in style.css). */
export function Badge({ state, title }: { readonly state: string; readonly title?: string }) {
  return (
    <span class="badge" data-state={state.toLowerCase().replace(/\s+/g, '-')} title={title}>
      {state}
    </span>
  );
}

export function Labels({ labels }: { readonly labels: Readonly<Record<string, string>> | null }) {
  if (labels === null) return <span class="muted">none</span>;
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="labels">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}

/** An RFC 3339 time as local time, with the original as a tooltip; a dash for null. */
export function Time({ at }: { readonly at: string | null | undefined }) {
  if (at === null || at === undefined || at === '') return <span class="muted">–</span>;
  const d = new Date(at);
  return (
    <time dateTime={at} title={at}>
      {Number.isNaN(d.getTime()) ? at : d.toLocaleString()}
    </time>
  );
}

export function Banner({ kind, children }: { readonly kind: 'warning' | 'error' | 'info'; readonly children: ComponentChildren }) {
  return (
    <div class={`banner ${kind}`} role={kind === 'info' ? 'status' : 'alert'}>
      {children}
    </div>
  );
}

/** The "may be stale" banner of proxies, sources and the control plane. */
export function StaleBanner({ reasons }: { readonly reasons: readonly string[] }) {
  if (reasons.length === 0) return null;
  return (
    <Banner kind="warning">
      <strong>May be stale:</strong> {reasons.join('; ')}
    </Banner>
  );
}

/** A view's frame: its title, then a loading line, the error (keeping the last good data), or the content. */
export function Page<T>({ title, resource, children, actions }: { readonly title: ComponentChildren; readonly resource: Resource<T>; readonly children: (data: T) => ComponentChildren; readonly actions?: ComponentChildren }) {
  return (
    <section aria-labelledby="view-title">
      <header class="view-header">
        <h1 id="view-title">{title}</h1>
        {actions}
      </header>
      {resource.error !== undefined && <Banner kind="error">{resource.error}</Banner>}
      {resource.data === undefined ? resource.error === undefined && <p class="muted">Loading…</p> : children(resource.data)}
    </section>
  );
}

/** A short list or a muted "none". */
export function List({ items }: { readonly items: readonly string[] }) {
  return items.length === 0 ? <span class="muted">none</span> : <>{items.join(', ')}</>;
}

/** Seconds as a short duration (`12 ms`, `1.4 s`); a dash for null. */
export function seconds(s: number | null): string {
  if (s === null) return '–';
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`;
}
