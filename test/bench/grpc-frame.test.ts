/**
 * The node:http2 floor (bench/floor/h2-floor.ts, grpc-frame.ts): its pre-framed responses are exactly
 * what encoding the whole DiscoveryResponse gives, its reader splits gRPC messages across and within
 * DATA chunks, and a real grpc-js client reads its pushes over one HTTP/2 connection per stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyPack, anyUnpack } from '@bufbuild/protobuf/wkt';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { ClusterLoadAssignmentSchema } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { frame, framedResponse, MessageReader } from '../../bench/floor/grpc-frame.js';
import { FloorCla, EDS_TYPE, SOTW_ADS_PATH } from '../../bench/floor/floor-cla.js';
import { h2Floor, responseBody } from '../../bench/floor/h2-floor.js';
import { floorEndpoint } from '../../bench/lib/floor.js';

const cla = create(ClusterLoadAssignmentSchema, {
  clusterName: 'outbound|8080||svc-0.ns-0.mesh',
  endpoints: [
    {
      lbEndpoints: [
        { hostIdentifier: { case: 'endpoint', value: { address: { address: { case: 'socketAddress', value: { address: '127.1.0.5', portSpecifier: { case: 'portValue', value: 8080 } } } } } }, loadBalancingWeight: 1 },
        { hostIdentifier: { case: 'endpoint', value: { address: { address: { case: 'socketAddress', value: { address: '127.1.0.6', portSpecifier: { case: 'portValue', value: 8080 } } } } } }, loadBalancingWeight: 1 },
      ],
    },
  ],
});

test('a pre-framed response is the 5-byte prefix and the bytes of the whole message with its nonce', () => {
  for (const nonce of ['1', '42', 'x'.repeat(200)]) {
    const whole = toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { versionInfo: '7', typeUrl: EDS_TYPE, resources: [anyPack(ClusterLoadAssignmentSchema, cla)], nonce }));
    const framed = framedResponse(responseBody(cla, '7'), nonce);
    assert.equal(framed[0], 0, 'not compressed');
    assert.equal(framed.readUInt32BE(1), whole.length, 'the length prefix is the message length');
    assert.deepEqual(new Uint8Array(framed.subarray(5)), whole, `byte-identical for a ${nonce.length}-byte nonce`);
  }
  assert.deepEqual([...frame(new Uint8Array([9, 8]))], [0, 0, 0, 0, 2, 9, 8]);
});

test('the reader returns whole messages whatever the DATA chunking, and refuses a compressed one', () => {
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array(300).fill(7);
  const c = new Uint8Array(0);
  const wire = Buffer.concat([frame(a), frame(b), frame(c)]);
  for (const size of [1, 2, 5, 6, 64, wire.length]) {
    const reader = new MessageReader();
    const got: Buffer[] = [];
    for (let at = 0; at < wire.length; at += size) got.push(...reader.push(wire.subarray(at, at + size)));
    assert.deepEqual(got.map((m) => [...m]), [[...a], [...b], [...c]], `chunks of ${size} bytes`);
    assert.equal(reader.buffered, 0);
  }
  const compressed = Buffer.from([1, 0, 0, 0, 1, 0]);
  assert.throws(() => new MessageReader().push(compressed), /compressed flag 1/);
});

test('the floor edits an endpoint the captured assignment holds, and says when it holds none', () => {
  const bytes = Buffer.from(toBinary(ClusterLoadAssignmentSchema, cla));
  assert.equal(floorEndpoint(bytes.toString('base64')), '127.1.0.5:8080');
  const held = new FloorCla(bytes);
  assert.equal(held.setWeight('127.1.0.6:8080', 9), 1);
  assert.equal(held.setWeight('127.1.0.0:8080', 9), 0, 'an endpoint the churn removed matches nothing');
  const empty = Buffer.from(toBinary(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, { clusterName: 'c' })));
  assert.throws(() => floorEndpoint(empty.toString('base64')), /no endpoint to change/);
});

test('a grpc-js client subscribed to the node:http2 floor receives each push with its own nonce and the changed weight', async () => {
  const floor = h2Floor(cla);
  const address = await floor.listen();
  const client = new Client(address, credentials.createInsecure());
  const identity = (b: Buffer): Buffer => b;
  const call = client.makeBidiStreamRequest(SOTW_ADS_PATH, identity, identity, new Metadata());
  const received: { nonce: string; version: string; weight: number | undefined }[] = [];
  const errors: string[] = [];
  call.on('error', (e: Error) => errors.push(e.message));
  const next = (): Promise<void> => new Promise((resolve) => call.once('data', () => resolve()));
  call.on('data', (b: Buffer) => {
    const res = fromBinary(DiscoveryResponseSchema, b);
    const any = res.resources[0];
    const got = any === undefined ? undefined : anyUnpack(any, ClusterLoadAssignmentSchema);
    received.push({ nonce: res.nonce, version: res.versionInfo, weight: got?.endpoints[0]?.lbEndpoints[0]?.loadBalancingWeight });
    // ACK, as the simulated proxies do.
    call.write(Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: EDS_TYPE, versionInfo: res.versionInfo, responseNonce: res.nonce }))));
  });
  try {
    const first = next();
    call.write(Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: EDS_TYPE, resourceNames: [cla.clusterName] }))));
    await first;
    const edited = new FloorCla(toBinary(ClusterLoadAssignmentSchema, cla));
    edited.setWeight('127.1.0.5:8080', 77);
    floor.encode(edited.message, '1');
    const pushed = next();
    assert.equal(floor.writeAll(), 1, 'one subscribed stream');
    await pushed;
    assert.deepEqual(received, [
      { nonce: '1', version: '0', weight: 1 },
      { nonce: '2', version: '1', weight: 77 },
    ]);
    assert.deepEqual(errors, [], 'the stream stayed healthy');
  } finally {
    call.cancel();
    client.close();
    floor.close();
  }
});
