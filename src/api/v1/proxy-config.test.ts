// /api/v1/proxies/{id}/config (issue 18 view 6): decoded from the bytes last sent on the stream —
// clusters → endpoints (a network gateway marked with the network it stands for), listeners with
// their route configurations, routes per virtual host, versions, and the last push diff.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testProxy } from '../../../test/support/proxy-identity.js';
import { apiListener, edsCluster, endpoints, routeTo } from '../../../test/xds/fixtures/proxyless-resources.js';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { encodeResource } from '../../xds/types/encoded-resource.js';
import type { XdsResourceType } from '../../xds/types/resource-type.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../xds/types/resource-types.js';
import type { StreamResources } from '../../xds/server/ads-stream.js';
import { proxyConfigView } from './proxy-config.js';
import type { PushDiff } from './types.js';

const CLUSTER_NAME = 'outbound|80||svc.test';
const sentOf = <D extends DescMessage>(type: XdsResourceType<D>, version: string, messages: MessageShape<D>[]) => ({ typeUrl: type.typeUrl, sent: { version, resources: messages.map((m) => encodeResource(type, m)) } });

test('clusters with their endpoints (gateway marked), listeners, routes and versions, as sent', () => {
  const proxy = { ...testProxy({ type: 'proxyless', ip: '127.0.70.1', name: 'client', namespace: 'demo' }), nodeType: 'proxyless', workloadName: 'client' };
  const s: StreamResources = {
    stream: { streamId: 's1', protocol: 'sotw', proxy, view: 'grpc|demo', peer: '127.0.70.1:1', connectedAt: 0 },
    types: [
      sentOf(LISTENER, 'v3', [apiListener('svc.test:80', 'svc.test:80')]),
      sentOf(ROUTE, 'v4', [routeTo('svc.test:80', 'svc.test', CLUSTER_NAME)]),
      sentOf(CLUSTER, 'v1', [edsCluster(CLUSTER_NAME, CLUSTER_NAME)]),
      sentOf(ENDPOINT, 'v2', [endpoints(CLUSTER_NAME, [{ host: '127.0.70.9', port: 15443 }, { host: '127.0.70.2', port: 80 }])]),
    ],
  };
  const lastPush: PushDiff = { versions: { EDS: ['v1', 'v2'] }, at: '2026-12-07T01:00:00.000Z', clusters: [], endpoints: [], routes: [], listeners: [] };
  const view = proxyConfigView(s, [{ network: 'net-2', address: '127.0.70.9', port: 15443, cluster: '', source: 'MeshNetworks/mesh-networks' }], lastPush);
  assert.deepEqual([view.id, view.name, view.view, view.versions], [proxy.id, 'client.demo', 'grpc|demo', { LDS: 'v3', RDS: 'v4', CDS: 'v1', EDS: 'v2' }]);
  assert.deepEqual(view.clusters, [
    {
      name: CLUSTER_NAME,
      discovery: 'EDS',
      endpoints: [
        { address: '127.0.70.2:80', locality: 'r1/z1', priority: 0, weight: 0, health: 'HEALTHY', gatewayFor: null },
        { address: '127.0.70.9:15443', locality: 'r1/z1', priority: 0, weight: 0, health: 'HEALTHY', gatewayFor: 'net-2' },
      ],
    },
  ]);
  assert.deepEqual(view.listeners, [{ name: 'svc.test:80', address: '', routeConfigurations: ['svc.test:80'] }]);
  assert.deepEqual(view.routes, [{ routeConfiguration: 'svc.test:80', virtualHost: 'vh-svc.test:80', domains: ['svc.test'], routes: [{ match: 'prefix ""', action: `cluster ${CLUSTER_NAME}` }] }]);
  assert.equal(view.diffFromPrevious, lastPush);
  assert.equal(proxyConfigView({ ...s, types: [] }, [], undefined).diffFromPrevious, null);
});
