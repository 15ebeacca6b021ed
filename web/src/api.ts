/**
 * The dashboard's only way to the server: JSON over `/api/v1` (docs/api.md). Response types come
 * from the server's `src/api/v1/types.ts` as types only (`import type`), never its code.
 */
import type { ApiError } from '../../src/api/v1/types.js';

/** A failed request: the HTTP status (0: no answer) and the server's `{"error"}` message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isApiError(x: unknown): x is ApiError {
  return typeof x === 'object' && x !== null && typeof (x as { error?: unknown }).error === 'string';
}

async function answer<T>(path: string, res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new ApiFailure(res.status, `${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new ApiFailure(res.status, isApiError(body) ? body.error : `${path}: HTTP ${res.status}`);
  return body as T;
}

async function send<T>(path: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiFailure(0, `cannot reach the control plane (${path}): ${e instanceof Error ? e.message : String(e)}`);
  }
  return answer<T>(path, res);
}

/** GET a JSON document of the API. */
export function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return send<T>(path, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
}

/** POST a JSON body; the answer's JSON (a 4xx/5xx is an ApiFailure carrying the server's message). */
export function postJson<T>(path: string, body: unknown): Promise<T> {
  return send<T>(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
}

/** A path segment, encoded (hosts and names go into API paths and into the page's URL). */
export const seg = (s: string): string => encodeURIComponent(s);
