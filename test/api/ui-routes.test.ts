/**
 * The dashboard's static route (`/ui`, src/api/ui-routes.ts) over a real HTTP server and a build
 * folder in a temp dir: content types, the cache policy of hashed assets, the redirect, methods,
 * a missing build, and path traversal: each attack is sent as raw bytes on the wire (no client
 * normalisation) and must be refused with its reason, never answered with the secret file beside
 * the build folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpApi } from '../../src/api/http-api.js';
import { contentTypeOf, uiPathSegments, uiRoutes } from '../../src/api/ui-routes.js';

interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** Sends `path` exactly as given (node:http does not normalise the request target). */
function raw(port: number, path: string, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serveFolder(t: { after(fn: () => Promise<void>): void }, root: string): Promise<number> {
  const api = new HttpApi(uiRoutes(root));
  const { port } = await api.start('127.0.0.1:0');
  t.after(() => api.stop());
  return port;
}

const SECRET = 'the secret beside the build folder';

function buildFolder(t: { after(fn: () => void): void }): string {
  const top = mkdtempSync(join(tmpdir(), 'mb-ui-'));
  t.after(() => rmSync(top, { recursive: true, force: true }));
  writeFileSync(join(top, 'secret.txt'), SECRET);
  const root = join(top, 'ui');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>meshbridge</title>');
  writeFileSync(join(root, 'assets', 'index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'index-AbC123.css'), 'body{}');
  writeFileSync(join(root, 'robots.txt'), 'User-agent: *');
  return root;
}

test('/ui/ serves index.html revalidated, hashed assets immutable, each with its content type and a same-origin-only CSP; /ui redirects', async (t) => {
  const port = await serveFolder(t, buildFolder(t));
  const index = await raw(port, '/ui/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.match(String(index.headers['content-security-policy']), /^default-src 'self'/);
  assert.equal(index.headers['x-content-type-options'], 'nosniff');
  assert.match(index.body, /<title>meshbridge<\/title>/);
  const js = await raw(port, '/ui/assets/index-AbC123.js');
  assert.deepEqual([js.status, js.headers['content-type'], js.headers['cache-control'], js.body], [200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable', 'console.log(1)']);
  const css = await raw(port, '/ui/assets/index-AbC123.css');
  assert.deepEqual([css.status, css.headers['content-type']], [200, 'text/css; charset=utf-8']);
  const robots = await raw(port, '/ui/robots.txt');
  assert.deepEqual([robots.status, robots.headers['cache-control']], [200, 'no-cache'], 'a file outside assets/ is not hashed: revalidated');
  const head = await raw(port, '/ui/assets/index-AbC123.js', 'HEAD');
  assert.deepEqual([head.status, head.body], [200, '']);
  const redirect = await raw(port, '/ui');
  assert.deepEqual([redirect.status, redirect.headers.location], [301, '/ui/']);
  const missing = await raw(port, '/ui/assets/nothing-here.js');
  assert.equal(missing.status, 404);
  assert.match(missing.body, /no such file in the dashboard: \/ui\/assets\/nothing-here\.js/);
  const post = await raw(port, '/ui/', 'POST');
  assert.deepEqual([post.status, post.headers.allow], [405, 'GET, HEAD']);
  assert.equal(contentTypeOf('x.PNG'), 'image/png');
  assert.equal(contentTypeOf('x.unknown'), 'application/octet-stream');
});

test('path traversal out of the build folder is refused with its reason (encoded separators and dot segments), the secret beside it never served', async (t) => {
  const port = await serveFolder(t, buildFolder(t));
  const attacks = [
    '/ui/..%2fsecret.txt',
    '/ui/..%2Fsecret.txt',
    '/ui/assets/..%2f..%2fsecret.txt',
    '/ui/%2e%2e%2fsecret.txt',
    '/ui/..%5csecret.txt',
    '/ui/assets/%2e%2e/%2e%2e/secret.txt',
    '/ui/assets/..%00/secret.txt',
    '/ui/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/ui/%E0%A4%A',
  ];
  for (const path of attacks) {
    const a = await raw(port, path);
    assert.doesNotMatch(a.body, new RegExp(SECRET), `${path} must not serve the file beside the build folder`);
    if (a.status === 400) assert.match((JSON.parse(a.body) as { error: string }).error, /^path traversal refused: /, path);
    else assert.equal(a.status, 404, `${path}: ${a.status} ${a.body}`);
  }
  // The ones a URL parser cannot normalise away reach the route and are refused by it, with the segment named.
  const refused = await raw(port, '/ui/assets/..%2f..%2fsecret.txt');
  assert.equal(refused.status, 400);
  assert.match(refused.body, /path traversal refused: the segment \\"..%2f..%2fsecret.txt\\" \(\\"..\/..\/secret.txt\\"\) may not be empty/);
  // Plain dot segments are resolved by the URL parser before routing: /ui/../secret.txt is /secret.txt, not a /ui route.
  assert.equal((await raw(port, '/ui/../secret.txt')).status, 404);
  assert.deepEqual(uiPathSegments('assets/a.js'), { segments: ['assets', 'a.js'] });
  assert.deepEqual(uiPathSegments(''), { segments: [] });
  assert.ok('refused' in uiPathSegments('a//b'), 'an empty segment inside the path');
});

test('a missing build answers 503 naming the command that builds it', async (t) => {
  const top = mkdtempSync(join(tmpdir(), 'mb-ui-'));
  t.after(() => rmSync(top, { recursive: true, force: true }));
  const port = await serveFolder(t, join(top, 'not-built'));
  const a = await raw(port, '/ui/');
  assert.equal(a.status, 503);
  assert.match(a.body, /the dashboard is not built \(.*not-built\/index\.html is missing\): run npm run build:ui/);
});
