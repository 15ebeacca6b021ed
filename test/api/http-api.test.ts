/** serve's HTTP router: exact and `/*` prefix routes, the request's method and body, the body limit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpApi, json, MAX_REQUEST_BODY_BYTES } from '../../src/api/http-api.js';

test('routes: exact path first, else the longest /* prefix; the handler gets the method and body; a body over the limit is a 413 that reaches the client', async (t) => {
  const api = new HttpApi(
    new Map([
      ['/a', (_u, r) => json({ route: 'exact', method: r.method, bytes: r.body.length })],
      ['/a/*', (u) => json({ route: 'a/*', path: u.pathname })],
      ['/a/b/*', (u) => json({ route: 'a/b/*', path: u.pathname })],
    ]),
  );
  const { port } = await api.start('127.0.0.1:0');
  t.after(() => api.stop());
  const call = async (path: string, init?: RequestInit): Promise<[number, unknown]> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, init);
    return [r.status, await r.json()];
  };
  assert.deepEqual(await call('/a', { method: 'POST', body: 'abc' }), [200, { route: 'exact', method: 'POST', bytes: 3 }]);
  assert.deepEqual(await call('/a/x'), [200, { route: 'a/*', path: '/a/x' }]);
  assert.deepEqual(await call('/a/b/y'), [200, { route: 'a/b/*', path: '/a/b/y' }]);
  assert.equal((await call('/a/'))[0], 404, 'a prefix route needs something after the prefix');
  assert.deepEqual(await call('/a', { method: 'POST', body: 'x'.repeat(MAX_REQUEST_BODY_BYTES + 1) }), [413, { error: `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes` }]);
});
