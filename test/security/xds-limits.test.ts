/**
 * Issue 11 item 5, over real gRPC to a real ControlPlane: bounded requests.
 * - One stream asking LDS for 60,000 inbound listener names made serve build 59,999 Listeners and
 *   stalled every other client for 11-13 s: it is refused with RESOURCE_EXHAUSTED naming the limit
 *   and its value, nothing is built for it, and another client gets its update meanwhile.
 * - A node of 3.9 MB (metadata) is refused with its reason before anything is kept of it.
 * - Resource names per request, streams per identity and in total are bounded too.
 * Every refusal is counted in meshbridge_xds_limit_exceeded_total{limit}.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { credentials, status } from '@grpc/grpc-js';
import { CONTROL_PLANE_SERVER_NAME } from '../../src/agent/upstream.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { ENDPOINT, LISTENER } from '../../src/xds/types/resource-types.js';
import { metricValue, waitFor } from '../e2e/serve-process.js';
import { mint } from '../support/certs-and-ports.js';
import { A_CLUSTER, openAds, proxylessNode, serviceAYaml, startControlPlaneOn, workloadAYaml, type RunningControlPlane } from '../support/control-plane.js';
import { EdsWatcher } from '../support/xds-watchers.js';
import { RawAdsStream } from '../xds/fixtures/ads-client.js';

const CLUSTER = A_CLUSTER;
const SERVICE = serviceAYaml('ns1');
const entry = (address: string): string => workloadAYaml('ns1', address);

async function limitCount(cp: RunningControlPlane, limit: string): Promise<number> {
  return metricValue(await cp.cp.metrics.registry.metrics(), 'meshbridge_xds_limit_exceeded_total', { limit });
}

/** A control plane serving service a (its workload at 127.0.90.1) and another client watching it, served. */
async function servedWithOtherClient(t: TestContext, otherIp: string): Promise<{ cp: RunningControlPlane; other: EdsWatcher }> {
  const cp = await startControlPlaneOn({ 'service.yaml': SERVICE, 'vm.yaml': entry('127.0.90.1') });
  t.after(() => cp.stop());
  const other = new EdsWatcher(cp.xds, CLUSTER, 'ns1', otherIp);
  t.after(() => other.close());
  await waitFor(() => (other.latest().includes('127.0.90.1:80') ? true : undefined), 20_000, 'the other client is served');
  return { cp, other };
}

function inboundNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `xds.istio.io/grpc/lds/inbound/127.1.${Math.floor(i / 250)}.${(i % 250) + 1}:8080`);
}

test('60,000 inbound listener names on one stream: refused with the limit, nothing built, and another client is pushed its update meanwhile', { timeout: 60_000 }, async (t) => {
  const { cp, other } = await servedWithOtherClient(t, '127.0.0.96');

  const attacker = openAds(cp.xds, proxylessNode('ns1', '127.0.90.9', 'attacker'), LISTENER.typeUrl, inboundNames(60_000));
  t.after(() => attacker.close());
  writeFileSync(join(cp.dir, 'vm.yaml'), entry('127.0.90.2'));
  const ended = await attacker.ended;
  assert.equal(ended?.code, status.RESOURCE_EXHAUSTED);
  assert.equal(ended?.details, 'the stream subscribes to 60000 inbound listeners: over the limit inbound_listeners=100 (serve --max-inbound-listeners)');
  await waitFor(() => (other.latest().includes('127.0.90.2:80') ? true : undefined), 20_000, 'the other client receives its update');
  assert.equal(other.ended, undefined, 'the other client\'s stream is untouched');
  assert.ok(cp.cp.pipeline.viewSpecs().every((v) => (v.inboundRequests?.length ?? 0) === 0), 'no view was given any of the 60,000 inbound listeners');
  assert.equal(await limitCount(cp, 'inbound_listeners'), 1);

  // At the limit a server is served: its 100 listeners, while the other client still gets updates.
  const server = openAds(cp.xds, proxylessNode('ns1', '127.0.90.8', 'server'), LISTENER.typeUrl, inboundNames(100));
  t.after(() => server.close());
  const res = await server.next(20_000);
  assert.equal(res.resources.length, 100, 'a stream at the limit gets its listeners');
  writeFileSync(join(cp.dir, 'vm.yaml'), entry('127.0.90.3'));
  await waitFor(() => (other.latest().includes('127.0.90.3:80') ? true : undefined), 20_000, 'the other client receives the next update');
});

test('a stream sending costly requests back to back does not hold the others: another client receives its update while they are being handled', { timeout: 180_000 }, async (t) => {
  const { cp, other } = await servedWithOtherClient(t, '127.0.0.97');
  // Event-loop turns, counted by a callback that re-arms itself once per turn (server and test share
  // the process): each request of the flooder is recorded with the turn it was handled in.
  let turnNumber = 0;
  let counting = true;
  const countTurns = (): void => {
    turnNumber++;
    if (counting) setImmediate(countTurns);
  };
  setImmediate(countTurns);
  t.after(() => (counting = false));
  const handled: number[] = [];
  const stop = cp.cp.xds.onEvent((e) => {
    if (e.event === 'request' && e.proxyId.includes('~flooder.')) handled.push(turnNumber);
  });
  t.after(() => stop());
  // Every request is within the limits, and each moves the stream to a class of its own (100 new
  // inbound listeners generated and encoded).
  const requests = 120;
  const flooder = openAds(cp.xds, proxylessNode('ns1', '127.0.90.7', 'flooder'), LISTENER.typeUrl, inboundNames(100));
  t.after(() => flooder.close());
  for (let i = 1; i < requests; i++) flooder.send(create(DiscoveryRequestSchema, { typeUrl: LISTENER.typeUrl, resourceNames: inboundNames(100 + i).slice(i) }));
  writeFileSync(join(cp.dir, 'vm.yaml'), entry('127.0.90.4'));
  await waitFor(() => (other.latest().includes('127.0.90.4:80') ? true : undefined), 60_000, 'the other client receives its update');
  const handledWhenUpdated = handled.length;
  await waitFor(() => (handled.length === requests ? true : undefined), 120_000, 'every request of the flooder is handled in the end');
  assert.ok(handledWhenUpdated < requests, `the update arrived while the flooder's requests were being handled (${handledWhenUpdated} of ${requests} handled then)`);
  counting = false;
  const sharedTurns = handled.filter((turn, i) => i > 0 && handled[i - 1] === turn).length;
  assert.equal(sharedTurns, 0, 'every request of the flooder was handled in a turn of its own: other streams, pushes and I/O ran in between');
  assert.equal(flooder.error, undefined, 'requests within the limits are served');
});

test('a node of 3.9 MB (metadata) is refused with its reason, and no stream or view is kept for it', { timeout: 60_000 }, async (t) => {
  const cp = await startControlPlaneOn({ 'service.yaml': SERVICE });
  t.after(() => cp.stop());
  const node = proxylessNode('ns1', '127.0.90.10', 'fat');
  const fat = create(DiscoveryRequestSchema, { node: { id: node.id, metadata: { ...node.metadata, PADDING: 'x'.repeat(3_900_000) } }, typeUrl: ENDPOINT.typeUrl, resourceNames: [CLUSTER] });
  const streams = Array.from({ length: 5 }, () => {
    const s = new RawAdsStream<DiscoveryRequest, DiscoveryResponse>(cp.xds, adsServiceDefinition.StreamAggregatedResources, 30_000);
    s.send(fat);
    return s;
  });
  t.after(() => streams.forEach((s) => s.close()));
  for (const s of streams) {
    const ended = await s.ended;
    assert.equal(ended?.code, status.RESOURCE_EXHAUSTED);
    assert.match(ended?.details ?? '', /^the node \(id and metadata\) is 3900\d{3} bytes: over the limit node_metadata_bytes=131072 \(serve --max-node-bytes\)$/);
  }
  assert.deepEqual(cp.cp.xds.streams(), [], 'no stream is kept');
  assert.deepEqual(cp.cp.pipeline.viewSpecs(), [], 'no view is built');
  assert.equal(await limitCount(cp, 'node_metadata_bytes'), 5);
});

test('resource names per request: a request over --max-resource-names is refused with the limit', { timeout: 60_000 }, async (t) => {
  const cp = await startControlPlaneOn({ 'service.yaml': SERVICE }, { xdsLimits: { maxResourceNames: 1000 } });
  t.after(() => cp.stop());
  const names = Array.from({ length: 1001 }, (_, i) => `outbound|80||s${i}.example.com`);
  const stream = openAds(cp.xds, proxylessNode('ns1', '127.0.90.11'), ENDPOINT.typeUrl, names);
  t.after(() => stream.close());
  const ended = await stream.ended;
  assert.equal(ended?.code, status.RESOURCE_EXHAUSTED);
  assert.equal(ended?.details, 'the request names 1001 resources: over the limit resource_names=1000 (serve --max-resource-names)');
  const within = openAds(cp.xds, proxylessNode('ns1', '127.0.90.12'), ENDPOINT.typeUrl, names.slice(0, 1000));
  t.after(() => within.close());
  assert.ok(await within.next(20_000), 'a request at the limit is answered');
  assert.equal(await limitCount(cp, 'resource_names'), 1);
});

test('streams per identity and in total: refused with the limit over the secure port; a closed stream frees its place', { timeout: 60_000 }, async (t) => {
  const cp = await startControlPlaneOn({ 'service.yaml': SERVICE }, { secureXdsAddress: '127.0.0.1:0', xdsLimits: { maxStreamsPerIdentity: 2, maxStreams: 3 } });
  t.after(() => cp.stop());
  const secure = cp.xdsTls;
  assert.ok(secure !== undefined);
  const dir = mkdtempSync(join(tmpdir(), 'mb-limits-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const channelFor = async (sa: string): Promise<ConstructorParameters<typeof RawAdsStream>[4]> => {
    const certs = await mint(cp.cp.certificateAuthority(), `spiffe://cluster.local/ns/ns1/sa/${sa}`, join(dir, sa));
    const read = (f: string): Buffer => readFileSync(join(certs, f));
    return { credentials: credentials.createSsl(read('root-cert.pem'), read('key.pem'), read('cert-chain.pem')), options: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME } };
  };
  const channels = { sa1: await channelFor('sa1'), sa2: await channelFor('sa2'), sa3: await channelFor('sa3') };
  const open: RawAdsStream<DiscoveryRequest, DiscoveryResponse>[] = [];
  t.after(() => open.forEach((s) => s.close()));
  const connect = async (sa: keyof typeof channels, i: number): Promise<{ stream: RawAdsStream<DiscoveryRequest, DiscoveryResponse>; refused?: string }> => {
    const stream = new RawAdsStream<DiscoveryRequest, DiscoveryResponse>(secure, adsServiceDefinition.StreamAggregatedResources, 30_000, {}, channels[sa]);
    open.push(stream);
    stream.send(create(DiscoveryRequestSchema, { node: { ...proxylessNode('ns1', `127.0.91.${i}`, sa) }, typeUrl: ENDPOINT.typeUrl, resourceNames: [CLUSTER] }));
    const outcome = await Promise.race([stream.next(20_000).then(() => undefined), stream.ended]);
    return outcome === undefined ? { stream } : { stream, refused: `${outcome.code} ${outcome.details}` };
  };
  assert.equal((await connect('sa1', 1)).refused, undefined);
  assert.equal((await connect('sa1', 2)).refused, undefined);
  assert.equal((await connect('sa1', 3)).refused, `${status.RESOURCE_EXHAUSTED} this would be stream 3 of identity spiffe://cluster.local/ns/ns1/sa/sa1: over the limit streams_per_identity=2 (serve --max-streams-per-identity)`);
  const third = await connect('sa2', 4);
  assert.equal(third.refused, undefined, 'another identity is admitted');
  assert.equal((await connect('sa3', 5)).refused, `${status.RESOURCE_EXHAUSTED} this would be stream 4 of the server: over the limit streams=3 (serve --max-streams)`);
  third.stream.close();
  await waitFor(() => (cp.cp.xds.streams().length === 2 ? true : undefined), 10_000, 'the closed stream is gone');
  assert.equal((await connect('sa3', 6)).refused, undefined, 'a closed stream frees its place');
  assert.equal(await limitCount(cp, 'streams_per_identity'), 1);
  assert.equal(await limitCount(cp, 'streams'), 1);
});
