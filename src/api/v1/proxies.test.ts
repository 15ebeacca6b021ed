// /api/v1/proxies (issue 18 view 5): per type SYNCED / STALE / NACKED / NOT SENT as /debug/syncz
// decides it, the last NACK and counters from the stream events, the client kind, and the
// "may be stale" reasons (a type not synced, the store disconnected, an informer not synced).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testProxy } from '../../../test/support/proxy-identity.js';
import type { FeedStatus } from '../../status/feed-status.js';
import { ProxyActivity } from '../../status/proxy-activity.js';
import type { StreamStatus } from '../../xds/server/events.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../xds/types/resource-types.js';
import { proxiesView, sourceStaleness } from './proxies.js';

const client = { ...testProxy({ type: 'proxyless', ip: '127.0.50.1', name: 'client', namespace: 'demo' }), nodeType: 'proxyless', workloadName: 'client' };
const stream: StreamStatus = {
  stream: { streamId: 's1', protocol: 'sotw', proxy: client, view: 'grpc|demo', peer: '127.0.50.1:4000', connectedAt: Date.parse('2026-12-07T01:00:00Z') },
  types: [
    { typeUrl: LISTENER.typeUrl, wildcard: false, names: ['a', 'b'], sent: { version: '3', nonce: '7' }, acked: { version: '3', nonce: '7' }, lastAnswer: 'ack', seenVersion: '3' },
    { typeUrl: ROUTE.typeUrl, wildcard: false, names: ['r'], sent: { version: '3', nonce: '8' }, acked: { version: '2', nonce: '5' }, lastAnswer: 'ack', seenVersion: '3' },
    { typeUrl: CLUSTER.typeUrl, wildcard: true, names: [], sent: { version: '4', nonce: '9' }, acked: { version: '3', nonce: '6' }, nacked: { version: '4', nonce: '9', error: { code: 3, message: 'cluster c: bad ring size' } }, lastAnswer: 'nack', seenVersion: '4' },
    { typeUrl: ENDPOINT.typeUrl, wildcard: false, names: ['c'] },
  ],
};
const connected: FeedStatus = { store: 'file:///x', connected: true, revision: '4', since: '2026-12-07T00:00:00Z', message: '', changesApplied: 3, resyncs: 0, problems: [] };

test('per type state, last NACK, counters and stale reasons of a connected proxy', () => {
  const activity = new ProxyActivity(() => Date.parse('2026-12-07T01:00:05Z'));
  activity.onEvent({ event: 'connect', stream: stream.stream });
  const base = { streamId: 's1', proxyId: client.id, typeUrl: CLUSTER.typeUrl };
  activity.onEvent({ ...base, event: 'response', version: '3', nonce: '6', resources: [], removed: [], bytes: 1 });
  activity.onEvent({ ...base, event: 'ack', version: '3', nonce: '6' });
  activity.onEvent({ ...base, event: 'response', version: '4', nonce: '9', resources: [], removed: [], bytes: 1 });
  activity.onEvent({ ...base, event: 'nack', version: '4', nonce: '9', error: { code: 3, message: 'cluster c: bad ring size' } });
  const current = (_view: string, typeUrl: string): string | undefined => (typeUrl === ENDPOINT.typeUrl ? undefined : typeUrl === CLUSTER.typeUrl ? '4' : '3');
  const { proxies, mayBeStale } = proxiesView({ instance: 'cp-1', streams: [stream], currentVersion: current, activity, clusterId: 'Kubernetes', staleSources: [] });
  assert.equal(mayBeStale, false);
  const [p] = proxies;
  assert.ok(p);
  assert.deepEqual([p.id, p.name, p.clientKind, p.namespace, p.cluster, p.ip, p.view, p.protocol, p.identity, p.connectedAt, p.instance], [client.id, 'client.demo', 'gRPC', 'demo', 'Kubernetes', '127.0.50.1', 'grpc|demo', 'sotw', null, '2026-12-07T01:00:00.000Z', 'cp-1']);
  assert.deepEqual(p.types.map((t) => [t.type, t.state, t.resources]), [['LDS', 'SYNCED', 2], ['RDS', 'STALE', 1], ['CDS', 'NACKED', 0], ['EDS', 'NOT SENT', 1]]);
  const cds = p.types[2];
  assert.deepEqual(cds?.lastNack, { version: '4', nonce: '9', message: 'cluster c: bad ring size', at: '2026-12-07T01:00:05.000Z' });
  assert.deepEqual(cds?.counters, { pushes: 2, acks: 1, nacks: 1 });
  assert.deepEqual([cds?.sent, cds?.acked, cds?.current], [{ version: '4', nonce: '9' }, { version: '3', nonce: '6' }, '4']);
  assert.deepEqual(p.counters, { pushes: 2, acks: 1, nacks: 1 });
  assert.equal(p.lastPushAt, '2026-12-07T01:00:05.000Z');
  assert.equal(p.mayBeStale, true);
  assert.deepEqual(p.staleReasons, ['RDS version 3 not ACKed yet', 'CDS was rejected (NACK): cluster c: bad ring size']);
  // A NACK from before the recorder (no event seen): still shown, without a time.
  const fresh = proxiesView({ instance: 'cp-1', streams: [stream], currentVersion: current, activity: new ProxyActivity(), clusterId: 'Kubernetes', staleSources: [] });
  assert.deepEqual(fresh.proxies[0]?.types[2]?.lastNack, { version: '4', nonce: '9', message: 'cluster c: bad ring size', at: null });
});

test('sources: a disconnected store or an informer not synced makes everything possibly stale', () => {
  assert.deepEqual(sourceStaleness(connected, undefined), []);
  const reasons = sourceStaleness(
    { ...connected, store: 'etcd://127.0.0.1:2379', connected: false, since: '2026-12-07T01:00:00Z', message: 'connection refused' },
    [{ name: 'pods', synced: false, resourceVersion: '', lists: 1, relists: 0, restarts: 2, watchdogFires: 0, lastError: 'HTTP 500', objects: 0 }],
  );
  assert.deepEqual(reasons, ['the store etcd://127.0.0.1:2379 is disconnected since 2026-12-07T01:00:00Z: connection refused', 'Kubernetes pods not fully read yet: HTTP 500']);
  const agent = { ...client, userAgent: 'meshbridge-agent/1.0', kind: 'envoy' as const };
  const view = proxiesView({ instance: 'cp-1', streams: [{ ...stream, stream: { ...stream.stream, proxy: agent } }], currentVersion: () => undefined, activity: new ProxyActivity(), clusterId: '', staleSources: reasons });
  assert.equal(view.mayBeStale, true);
  assert.equal(view.proxies[0]?.clientKind, 'agent');
  assert.deepEqual(view.proxies[0]?.staleReasons.slice(0, 2), reasons);
});
