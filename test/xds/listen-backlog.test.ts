// The xDS ports' accept queue (src/xds/server/listen-backlog.ts): both transports listen with the
// kernel's largest accept queue (net.core.somaxconn), not Node's default of 511, which overflowed
// when 2,000 proxies connected at once (bench S2: `read ECONNRESET` on a few dozen connections).
// The queue length of a listening socket is what `ss -ltn` shows in its Send-Q column.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { listenOnAll } from '../../src/xds/server/listen-backlog.js';
import { XDS_TRANSPORTS } from '../../src/xds/server/transport-choice.js';
import { XdsServer } from '../../src/xds/server/xds-server.js';

const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());

/** The accept queue length of the socket listening on 127.0.0.1:`port` (ss's Send-Q). */
function acceptQueue(port: number): number {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes(`127.0.0.1:${port}`));
  assert.ok(line, `ss lists no listener on 127.0.0.1:${port}: ${out}`);
  return Number(line.trim().split(/\s+/)[2]);
}

for (const transport of XDS_TRANSPORTS) {
  test(`xDS port (${transport}): the accept queue is the kernel's largest (somaxconn ${somaxconn}), not Node's 511`, async (t) => {
    const server = new XdsServer({ source: new ResourceCache(), transport });
    const bound = await server.start('127.0.0.1:0');
    t.after(() => server.stop(100));
    assert.equal(acceptQueue(bound.port), somaxconn);
  });
}

test('listenOnAll: every address a name resolves to, on one port; a port in use is refused with EADDRINUSE', async (t) => {
  const { servers, port } = await listenOnAll('localhost', 0, () => createServer());
  t.after(() => servers.forEach((s) => s.close()));
  assert.ok(servers.length >= 1);
  for (const s of servers) assert.equal((s.address() as { port: number }).port, port);
  assert.ok(servers.some((s) => (s.address() as { address: string }).address === '127.0.0.1'), 'localhost includes 127.0.0.1');
  await assert.rejects(listenOnAll('127.0.0.1', port, () => createServer()), { code: 'EADDRINUSE' });
});
