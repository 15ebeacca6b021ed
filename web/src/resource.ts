/**
 * A view's data: GET a path of the API, again whenever `revision` moves (a live event) or the path
 * changes. The last answer stays on screen while the next one loads (no flicker on every event);
 * an answer for another path is never shown.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, getJson } from './api.js';
import { revision } from './live.js';

export interface Resource<T> {
  readonly data: T | undefined;
  /** The last request's failure (the last good data is kept). */
  readonly error: string | undefined;
  readonly status: number | undefined;
}

interface Loaded<T> extends Resource<T> {
  readonly path: string | undefined;
}

export function useResource<T>(path: string | undefined): Resource<T> {
  const [state, setState] = useState<Loaded<T>>({ path: undefined, data: undefined, error: undefined, status: undefined });
  const rev = revision.value;
  useEffect(() => {
    if (path === undefined) return undefined;
    const abort = new AbortController();
    getJson<T>(path, abort.signal).then(
      (data) => setState({ path, data, error: undefined, status: 200 }),
      (e: unknown) => {
        if (abort.signal.aborted) return;
        const failure = { error: e instanceof Error ? e.message : String(e), status: e instanceof ApiFailure ? e.status : undefined };
        setState((s) => ({ path, data: s.path === path ? s.data : undefined, ...failure }));
      },
    );
    return () => abort.abort();
  }, [path, rev]);
  return state.path === path ? state : { data: undefined, error: undefined, status: undefined };
}
