// End to end with a real proxyless client: @grpc/grpc-js-xds in a child process resolves
// xds:///svc.test:80 through our ADS server (hand-built LDS → RDS → CDS → EDS from the cache), calls
// real gRPC backends on loopback addresses, follows EDS changes, and NACKs a bad update, which the
// server records and does not resend, then rides through a control-plane restart (grpc-xds-notes §9).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '@bufbuild/protobuf';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { putResources } from '../support/resource-cache.js';
import { XdsServer } from '../../src/xds/server/xds-server.js';
import type { XdsEvent } from '../../src/xds/server/events.js';
import type { XdsResourceType } from '../../src/xds/types/resource-type.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';
import { startBackend, type Backend } from './fixtures/backends.js';
import { XdsClientChild } from './fixtures/client-process.js';
import { waitFor } from '../e2e/serve-process.js';
import { apiListener, edsCluster, endpoints, routeTo } from './fixtures/proxyless-resources.js';

const VIEW = 'grpc';
const HOST = 'svc.test:80';
/** The first event at index `from` or later that matches, polling until `timeoutMs`. */
function waitForEvent(events: XdsEvent[], from: number, pred: (e: XdsEvent) => boolean, timeoutMs: number, what: string): Promise<XdsEvent> {
  return waitFor(() => events.slice(from).find(pred), timeoutMs, what);
}

test('a grpc-js-xds client resolves through the ADS server, follows EDS, its NACK is recorded and parked, and it survives a control-plane restart', async (t) => {
  const cache = new ResourceCache();
  const server = new XdsServer({ source: cache });
  const events: XdsEvent[] = [];
  server.onEvent((e) => events.push(e));
  const bound = await server.start('127.0.0.1:0');
  const backends: Backend[] = [];
  t.after(async () => {
    await server.stop(1000);
    await Promise.all(backends.map((b) => b.stop()));
  });
  const b1 = await startBackend('b1', '127.0.0.2');
  const b2 = await startBackend('b2', '127.0.0.3');
  backends.push(b1, b2);

  putResources(cache, VIEW, LISTENER, apiListener(HOST, 'route-svc'));
  putResources(cache, VIEW, ROUTE, routeTo('route-svc', HOST, 'cluster-svc'));
  putResources(cache, VIEW, CLUSTER, edsCluster('cluster-svc', 'eds-svc'));
  putResources(cache, VIEW, ENDPOINT, endpoints('eds-svc', [b1]));

  const child = new XdsClientChild({
    target: `xds:///${HOST}`,
    xdsServer: bound.address,
    nodeId: 'proxyless~127.0.0.1~client-1.ns1~ns1.svc.cluster.local',
    metadata: { GENERATOR: 'grpc', NAMESPACE: 'ns1', LABELS: { app: 'client' } },
  });
  t.after(() => child.stop());
  await child.ready();

  // 1. Resolution through LDS → RDS → CDS → EDS, then a successful call.
  const first = await child.send({ op: 'call', count: 5, deadlineMs: 5000, waitForReady: true }, 15_000);
  assert.deepEqual(first.errors, []);
  assert.deepEqual(first.counts, { b1: 5 });
  const connect = events.find((e) => e.event === 'connect');
  assert.ok(connect?.event === 'connect');
  assert.equal(connect.stream.proxy.kind, 'grpc');
  assert.equal(connect.stream.proxy.namespace, 'ns1');
  assert.equal(connect.stream.proxy.ip, '127.0.0.1');
  assert.equal(connect.stream.view, VIEW);
  const acked = new Set(events.filter((e) => e.event === 'ack').map((e) => (e.event === 'ack' ? e.typeUrl : '')));
  assert.deepEqual([...acked].sort(), [CLUSTER, ENDPOINT, LISTENER, ROUTE].map((x) => x.typeUrl).sort());

  // 2. The ClusterLoadAssignment moves to the second backend: calls follow.
  putResources(cache, VIEW, ENDPOINT, endpoints('eds-svc', [b2]));
  const moved = await child.send({ op: 'until', backend: 'b2', timeoutMs: 3000 }, 5000);
  assert.equal(moved.reached, true, `calls did not move to b2: ${moved.last}`);
  t.diagnostic(`EDS push → first call on b2: ${moved.ms} ms (${moved.calls} calls)`);
  const after = await child.send({ op: 'call', count: 10, deadlineMs: 1000 }, 15_000);
  assert.deepEqual(after.counts, { b2: 10 });

  // 3. A CLA the client rejects (duplicate address): NACK recorded with the error, not resent.
  const mark = events.length;
  putResources(cache, VIEW, ENDPOINT, endpoints('eds-svc', [b2, b2]));
  const nackEvent = await waitForEvent(events, mark, (e) => e.event === 'nack', 3000, 'the NACK');
  assert.ok(nackEvent.event === 'nack');
  assert.equal(nackEvent.typeUrl, ENDPOINT.typeUrl);
  assert.match(nackEvent.error.message, /duplicate|address/i);
  t.diagnostic(`NACK error_detail: code ${nackEvent.error.code}, ${nackEvent.error.message}`);
  const badVersion = cache.current(VIEW, ENDPOINT.typeUrl)?.version;
  assert.equal(nackEvent.version, badVersion, 'the NACK is of the version we sent');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const edsResponses = events.slice(mark).filter((e) => e.event === 'response' && e.typeUrl === ENDPOINT.typeUrl);
  assert.equal(edsResponses.length, 1, 'the NACKed version is sent once, never again');
  const status = server.streams()[0]?.types.find((s) => s.typeUrl === ENDPOINT.typeUrl);
  assert.equal(status?.lastAnswer, 'nack');
  assert.equal(status?.nacked?.version, badVersion);

  // 4. The configuration changes again: sent, ACKed, and calls move back.
  const mark2 = events.length;
  putResources(cache, VIEW, ENDPOINT, endpoints('eds-svc', [b1]));
  await waitForEvent(events, mark2, (e) => e.event === 'ack' && e.typeUrl === ENDPOINT.typeUrl, 3000, 'the ACK');
  const back = await child.send({ op: 'until', backend: 'b1', timeoutMs: 3000 }, 5000);
  assert.equal(back.reached, true, `calls did not move back to b1: ${back.last}`);

  // 5. Control-plane restart on the same address with a fresh cache (new boot id): the client comes
  //    back with the versions it last accepted; every first request is answered anyway, with versions
  //    that cannot collide with the old ones, and calls follow the new state.
  const oldVersions = new Set(events.filter((e) => e.event === 'response').map((e) => (e.event === 'response' ? e.version : '')));
  await server.stop(1000);
  const cache2 = new ResourceCache();
  const server2 = new XdsServer({ source: cache2 });
  const events2: XdsEvent[] = [];
  server2.onEvent((e) => events2.push(e));
  t.after(() => server2.stop(1000));
  const restarted = Date.now();
  await server2.start(bound.address);
  const c2 = (m: Message, type: XdsResourceType): void =>
    cache2.setResources(VIEW, type, new Map([[type.nameOf(m), { version: '1', message: m }]]));
  c2(apiListener(HOST, 'route-svc'), LISTENER);
  c2(routeTo('route-svc', HOST, 'cluster-svc'), ROUTE);
  c2(edsCluster('cluster-svc', 'eds-svc'), CLUSTER);
  c2(endpoints('eds-svc', [b2]), ENDPOINT);
  const again = await child.send({ op: 'until', backend: 'b2', timeoutMs: 8000 }, 10_000);
  assert.equal(again.reached, true, `calls did not follow the restarted control plane: ${again.last}`);
  t.diagnostic(`control plane restart → first call on the new state: ${Date.now() - restarted} ms`);
  const initial = events2.filter((e) => e.event === 'request' && e.kind === 'initial');
  assert.ok(initial.some((e) => e.event === 'request' && e.versionInfo !== ''), 'the client resent the versions it had accepted');
  const newVersions = events2.filter((e) => e.event === 'response').map((e) => (e.event === 'response' ? e.version : ''));
  assert.ok(newVersions.length >= 4);
  assert.ok(newVersions.every((v) => !oldVersions.has(v)), 'no version is reused across restarts');
});
