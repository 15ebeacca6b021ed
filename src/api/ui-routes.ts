/**
 * The dashboard's static files under `/ui` on serve's HTTP port (docs/dashboard.md): the Vite build
 * of `web/` in `dist/ui/` (built by `npm install`/`prepare`, `npm run build` and `npm test`).
 * Contracts:
 * - `/ui` redirects to `/ui/`, which is `index.html`; any other path is a file of the build folder.
 * - Only GET and HEAD (405 otherwise). A path with an encoded `/`, `\`, NUL, `.` or `..` segment is
 *   refused (400, "path traversal refused") before the file system is touched; a resolved path is
 *   also checked to stay inside the build folder.
 * - Vite's content-hashed files (`assets/`) are cached for a year (`immutable`); everything else is
 *   revalidated (`no-cache`), so a new build shows at the next load.
 * - Every answer forbids other origins (Content-Security-Policy `default-src 'self'`): the
 *   dashboard makes no external request.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { json, type HttpHandler, type HttpResponse } from './http-api.js';

/** The build folder when running from dist/src/api/ (the Vite build writes dist/ui/). */
export const DEFAULT_UI_ROOT = fileURLToPath(new URL('../../ui/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type of a file name by its extension; unknown extensions are opaque bytes. */
export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';

const refuse = (status: number, message: string, headers: Readonly<Record<string, string>> = {}): HttpResponse => {
  const r = json({ error: message }, status);
  return { ...r, headers: { ...SECURITY_HEADERS, ...headers } };
};

/**
 * The decoded path segments of a request path under `/ui/`, or the reason it is refused. Each
 * segment is decoded once; a decoded segment may not be empty (except a trailing one), `.`, `..`,
 * or hold `/`, `\` or NUL (an encoded separator would climb out of the folder once joined).
 */
export function uiPathSegments(rest: string): { readonly segments: readonly string[] } | { readonly refused: string } {
  const raw = rest.split('/');
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const segments: string[] = [];
  for (const part of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return { refused: `path traversal refused: ${JSON.stringify(part)} is not a valid percent-encoded segment` };
    }
    if (decoded === '' || decoded === '.' || decoded === '..' || /[/\\\0]/.test(decoded)) {
      return { refused: `path traversal refused: the segment ${JSON.stringify(part)} (${JSON.stringify(decoded)}) may not be empty, "." or "..", nor hold "/", "\\" or NUL` };
    }
    segments.push(decoded);
  }
  return { segments };
}

/** The `/ui` and `/ui/*` routes over the build folder `root` (read at request time). */
export function uiRoutes(root: string = DEFAULT_UI_ROOT): Map<string, HttpHandler> {
  const base = resolve(root);
  const r = new Map<string, HttpHandler>();
  const redirect: HttpHandler = () => ({ status: 301, contentType: 'text/plain; charset=utf-8', body: 'see /ui/\n', headers: { ...SECURITY_HEADERS, location: '/ui/' } });
  const file: HttpHandler = async (url, request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, `${url.pathname} takes GET or HEAD, not ${request.method}`, { allow: 'GET, HEAD' });
    const parsed = uiPathSegments(url.pathname.slice('/ui/'.length));
    if ('refused' in parsed) return refuse(400, parsed.refused);
    const segments = parsed.segments.length > 0 ? parsed.segments : ['index.html'];
    const path = resolve(join(base, ...segments));
    if (!path.startsWith(base + sep)) return refuse(400, `path traversal refused: ${url.pathname} resolves outside the dashboard's folder`);
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      if (segments.length === 1 && segments[0] === 'index.html') return refuse(503, `the dashboard is not built (${join(base, 'index.html')} is missing): run npm run build:ui`);
      return refuse(404, `no such file in the dashboard: ${url.pathname}`);
    }
    const hashed = segments[0] === 'assets' && segments.length === 2;
    return { status: 200, contentType: contentTypeOf(path), body, headers: { ...SECURITY_HEADERS, 'cache-control': hashed ? IMMUTABLE : 'no-cache' } };
  };
  r.set('/ui', redirect);
  r.set('/ui/', file);
  r.set('/ui/*', file);
  return r;
}
