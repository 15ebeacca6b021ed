/**
 * The probe methods of H-2 against real local servers on loopback addresses: an HTTP server, a TCP
 * listener, real processes (`true`, `false`, `sleep`) and a real grpc-js health server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { execCheck, probeCheck, tcpCheck } from '../../src/agent/probe-methods.js';
import { healthCheckMethod, type HealthCheckRequest, type HealthCheckResponse } from '../../src/agent/grpc-health.js';

function listen<S extends HttpServer | TcpServer>(server: S, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: HttpServer | TcpServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An HTTP server answering `/status/<code>`, recording the request path and headers. */
async function httpServer(host: string): Promise<{ port: number; seen: { url: string; headers: IncomingHttpHeaders }[]; server: HttpServer }> {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (req.url === '/hang') return; // never answers
    const code = Number(/^\/status\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 200);
    res.writeHead(code, code === 302 ? { location: '/elsewhere' } : {}).end('x');
  });
  return { port: await listen(server, host), seen, server };
}

test('H-2 httpGet: healthy iff 200 <= status < 400; default path "/", headers sent, scheme lower-cased', async () => {
  const s = await httpServer('127.0.0.1');
  try {
    const run = (path: string | undefined, extra: object = {}) =>
      probeCheck({ httpGet: { port: s.port, ...(path !== undefined ? { path } : {}), ...extra } }, '127.0.0.1')?.(1000);
    assert.deepEqual(await run('/status/200'), { healthy: true, message: '' });
    assert.deepEqual(await run('/status/302'), { healthy: true, message: '' }, '3xx counts as healthy, redirects are not followed');
    assert.deepEqual(await run('/status/399'), { healthy: true, message: '' });
    const r500 = await run('/status/500');
    assert.equal(r500?.healthy, false);
    assert.match(r500?.message ?? '', /statuscode: 500/);
    assert.equal((await run('/status/404'))?.healthy, false);
    assert.equal((await run('/status/199'))?.healthy, false, '1xx is not healthy');
    await run(undefined);
    assert.equal(s.seen.at(-1)?.url, '/', 'default path');
    await run('status/200', { scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'yes' }, { name: 'Host', value: 'svc.local' }] });
    assert.equal(s.seen.at(-1)?.url, '/status/200', 'a path without "/" gets one');
    assert.equal(s.seen.at(-1)?.headers['x-probe'], 'yes');
    assert.equal(s.seen.at(-1)?.headers.host, 'svc.local');
    const tls = await run('/status/200', { scheme: 'HTTPS' });
    assert.equal(tls?.healthy, false, 'HTTPS against a plain HTTP server fails the TLS handshake');
  } finally {
    await close(s.server);
  }
});

test('H-2 httpGet: the default host is the agent IP (a server on 127.0.0.3 only)', async () => {
  const s = await httpServer('127.0.0.3');
  try {
    assert.deepEqual(await probeCheck({ httpGet: { port: s.port } }, '127.0.0.3')?.(1000), { healthy: true, message: '' });
    const other = await probeCheck({ httpGet: { port: s.port } }, '127.0.0.4')?.(1000);
    assert.equal(other?.healthy, false);
    assert.match(other?.message ?? '', /ECONNREFUSED/);
    assert.deepEqual(await probeCheck({ httpGet: { port: s.port, host: '127.0.0.3' } }, '127.0.0.4')?.(1000), { healthy: true, message: '' }, 'an explicit host wins');
  } finally {
    await close(s.server);
  }
});

test('H-2 httpGet: a server that does not answer fails at the timeout', async () => {
  const s = await httpServer('127.0.0.1');
  try {
    const started = Date.now();
    const r = await probeCheck({ httpGet: { port: s.port, path: '/hang' } }, '127.0.0.1')?.(300);
    assert.equal(r?.healthy, false);
    assert.match(r?.message ?? '', /timed out after 0.3s/);
    assert.ok(Date.now() - started < 2000);
  } finally {
    await close(s.server);
  }
});

test('H-2 tcpSocket: healthy iff the connection opens', async () => {
  const server = createTcpServer((socket) => socket.destroy());
  const port = await listen(server, '127.0.0.1');
  try {
    assert.deepEqual(await probeCheck({ tcpSocket: { port } }, '127.0.0.1')?.(1000), { healthy: true, message: '' });
    assert.equal((await tcpCheck('127.0.0.5', port, 1000)).healthy, false, 'nothing listens on 127.0.0.5');
  } finally {
    await close(server);
  }
  const closed = await tcpCheck('127.0.0.1', port, 1000);
  assert.equal(closed.healthy, false);
  assert.match(closed.message, /ECONNREFUSED/);
});

test('H-2 exec: exit code 0 is healthy; another code, a missing program or the timeout is not', async () => {
  assert.deepEqual(await probeCheck({ exec: { command: ['true'] } }, '127.0.0.1')?.(1000), { healthy: true, message: '' });
  const f = await execCheck(['false'], 1000);
  assert.equal(f.healthy, false);
  assert.match(f.message, /exited with code 1/);
  const sh = await execCheck(['sh', '-c', 'echo not ready >&2; exit 3'], 1000);
  assert.match(sh.message, /exited with code 3: not ready/);
  assert.match((await execCheck(['/no/such/program'], 1000)).message, /ENOENT/);
  const started = Date.now();
  const slow = await execCheck(['sleep', '10'], 200);
  assert.match(slow.message, /timed out after 0.2s/);
  assert.ok(Date.now() - started < 2000, 'the process is killed at the timeout');
});

test('H-2 grpc: the standard health check, healthy iff SERVING', async () => {
  const statuses: Record<string, number> = { '': 1, 'svc.ready': 1, 'svc.down': 2 };
  const server = new Server();
  server.addService({ Check: healthCheckMethod }, {
    Check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, cb: sendUnaryData<HealthCheckResponse>) => {
      const s = statuses[call.request.service];
      if (s === undefined) cb({ code: status.NOT_FOUND, details: 'unknown service' });
      else cb(null, { status: s });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  try {
    const check = (service?: string) => probeCheck({ grpc: { port, ...(service !== undefined ? { service } : {}) } }, '127.0.0.1')?.(1000);
    assert.deepEqual(await check(), { healthy: true, message: '' });
    assert.deepEqual(await check('svc.ready'), { healthy: true, message: '' });
    const down = await check('svc.down');
    assert.equal(down?.healthy, false);
    assert.match(down?.message ?? '', /NOT_SERVING/);
    assert.match((await check('svc.other'))?.message ?? '', /unknown service/);
  } finally {
    server.forceShutdown();
  }
  const gone = await probeCheck({ grpc: { port } }, '127.0.0.1')?.(300);
  assert.equal(gone?.healthy, false, 'no server');
});
