// Issue 7: the inbound listener names of xDS-enabled gRPC servers (names.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INBOUND_LISTENER_TEMPLATE, inboundListenerName, parseInboundListenerName } from './names.js';

test('inbound listener names: the template formatted with ip:port (IPv6 in brackets), parsed back; other names are not inbound', () => {
  assert.equal(INBOUND_LISTENER_TEMPLATE.replace('%s', '127.0.0.5:8080'), inboundListenerName('127.0.0.5', 8080));
  assert.equal(inboundListenerName('::1', 9000), 'xds.istio.io/grpc/lds/inbound/[::1]:9000');
  assert.deepEqual(parseInboundListenerName(inboundListenerName('127.0.0.5', 8080)), { ip: '127.0.0.5', port: 8080 });
  assert.deepEqual(parseInboundListenerName(inboundListenerName('::1', 9000)), { ip: '::1', port: 9000 });
  for (const bad of ['svc.ns.test:80', 'xds.istio.io/grpc/lds/inbound/host.example:80', 'xds.istio.io/grpc/lds/inbound/127.0.0.1:0', 'xds.istio.io/grpc/lds/inbound/127.0.0.1:70000', 'xds.istio.io/grpc/lds/inbound/127.0.0.1']) {
    assert.equal(parseInboundListenerName(bad), undefined, bad);
  }
});
