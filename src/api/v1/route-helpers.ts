/** Small helpers shared by the `/api/v1` route tables. */
import { json, type HttpHandler, type HttpResponse } from '../http-api.js';
import type { ApiError } from './types.js';

export const apiError = (message: string, status: number): HttpResponse => json({ error: message } satisfies ApiError, status);

/** `{namespace}/{name}` after `prefix`, URL-decoded; undefined unless exactly two non-empty parts. */
export function namespacedName(url: URL, prefix: string): { readonly namespace: string; readonly name: string } | undefined {
  const parts = url.pathname.slice(prefix.length).split('/');
  if (parts.length !== 2 || parts.some((p) => p === '')) return undefined;
  try {
    const [namespace = '', name = ''] = parts.map((p) => decodeURIComponent(p));
    return { namespace, name };
  } catch {
    return undefined;
  }
}

/** Only `method` is allowed on the route (405 otherwise). */
export function only(method: string, handler: HttpHandler): HttpHandler {
  return (url, request) => (request.method === method ? handler(url, request) : apiError(`${url.pathname} takes ${method}, not ${request.method}`, 405));
}
