/**
 * The agent's xDS proxy (agent-protocol.md §9): a real grpc-js-xds client whose bootstrap points at
 * the proxy gets its configuration from a real `serve` behind it; upstream statuses reach the
 * downstream unchanged; half-close and cancel are forwarded; the proxy survives an upstream restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata, Server, ServerCredentials, status, type ServerDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { insecureUpstream, isLoopbackHost, loopbackAddressProblem, passthroughAdsDefinition, XdsProxy } from '../../src/agent/xds-proxy.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, proxyless, serviceEntry, workloadEntry } from '../e2e/mesh.js';
import { cleanups, startServe, waitFor } from '../e2e/serve-process.js';

const HOST = 'xp.demo.test';

test('the proxy listens on loopback addresses only', async () => {
  assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('127.9.8.7') && isLoopbackHost('::1') && isLoopbackHost('localhost'));
  assert.ok(!isLoopbackHost('10.0.0.1') && !isLoopbackHost('0.0.0.0') && !isLoopbackHost('::') && !isLoopbackHost('example.com'));
  assert.equal(loopbackAddressProblem('127.0.0.1:15011'), undefined);
  assert.match(loopbackAddressProblem('0.0.0.0:15011') ?? '', /must be a loopback address/);
  assert.match(loopbackAddressProblem('127.0.0.1') ?? '', /HOST:PORT/);
  await assert.rejects(new XdsProxy({ upstream: insecureUpstream('127.0.0.1:1') }).start('0.0.0.0:0'), /loopback/);
});

/** A fake upstream ADS server whose behaviour per stream the test decides. */
async function fakeUpstream(onStream: (call: ServerDuplexStream<Buffer, Buffer>) => void): Promise<{ address: string; stop(): void }> {
  const server = new Server();
  server.addService(passthroughAdsDefinition, { StreamAggregatedResources: onStream, DeltaAggregatedResources: onStream });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

function rawStream(address: string, method: 'StreamAggregatedResources' | 'DeltaAggregatedResources', md = new Metadata()) {
  const client = new Client(address, credentials.createInsecure());
  const id = (b: Buffer): Buffer => b;
  const call = client.makeBidiStreamRequest(`/envoy.service.discovery.v3.AggregatedDiscoveryService/${method}`, id, id, md);
  const received: Buffer[] = [];
  call.on('data', (b: Buffer) => received.push(b));
  call.on('error', () => undefined);
  const statusP = new Promise<StatusObject>((resolve) => call.on('status', resolve));
  return { client, call, received, status: statusP };
}

test('bytes pass unchanged both ways; metadata is forwarded; half-close and upstream status reach the app', { timeout: 20_000 }, async (t) => {
  const seen: { bytes: Buffer[]; auth: unknown; ended: boolean } = { bytes: [], auth: undefined, ended: false };
  const up = await fakeUpstream((call) => {
    seen.auth = call.metadata.get('x-test')[0];
    call.on('data', (b: Buffer) => {
      seen.bytes.push(b);
      call.write(Buffer.concat([Buffer.from('echo:'), b]));
    });
    // Half-close from the app reaches the upstream, which then ends with an error status.
    call.on('end', () => {
      seen.ended = true;
      call.emit('error', { code: status.PERMISSION_DENIED, details: 'not for you' });
    });
  });
  t.after(() => up.stop());
  const proxy = new XdsProxy({ upstream: insecureUpstream(up.address) });
  const address = await proxy.start('127.0.0.1:0');
  t.after(() => proxy.stop());

  const md = new Metadata();
  md.set('x-test', 'hello');
  const s = rawStream(address, 'DeltaAggregatedResources', md);
  t.after(() => s.client.close());
  const payload = Buffer.from([0, 1, 2, 0xff, 0x16, 0x03]);
  s.call.write(payload);
  await waitFor(() => (s.received.length === 1 ? true : undefined), 10_000, 'the echoed message');
  assert.deepEqual(s.received[0], Buffer.concat([Buffer.from('echo:'), payload]));
  assert.deepEqual(seen.bytes, [payload]);
  assert.equal(seen.auth, 'hello');
  s.call.end();
  const st = await s.status;
  assert.ok(seen.ended, 'the half-close reached the upstream');
  assert.equal(st.code, status.PERMISSION_DENIED);
  assert.equal(st.details, 'not for you');
  await waitFor(() => (proxy.openStreams === 0 ? true : undefined), 5000, 'the proxied stream to be released');
});

test('an app that cancels cancels the upstream stream; an unreachable upstream ends the app stream UNAVAILABLE', { timeout: 30_000 }, async (t) => {
  let cancelled = false;
  let opened = 0;
  const up = await fakeUpstream((call) => {
    opened++;
    call.on('cancelled', () => (cancelled = true));
    call.on('error', () => undefined);
  });
  t.after(() => up.stop());
  const proxy = new XdsProxy({ upstream: insecureUpstream(up.address) });
  const address = await proxy.start('127.0.0.1:0');
  t.after(() => proxy.stop());
  const s = rawStream(address, 'StreamAggregatedResources');
  t.after(() => s.client.close());
  s.call.write(Buffer.from('x'));
  await waitFor(() => (opened === 1 ? true : undefined), 10_000, 'the upstream stream');
  s.call.cancel();
  await waitFor(() => (cancelled ? true : undefined), 10_000, 'the cancel to reach the upstream');

  const dead = new XdsProxy({ upstream: insecureUpstream('127.0.0.1:1') });
  const deadAddress = await dead.start('127.0.0.1:0');
  t.after(() => dead.stop());
  const d = rawStream(deadAddress, 'StreamAggregatedResources');
  t.after(() => d.client.close());
  d.call.write(Buffer.from('x'));
  assert.equal((await d.status).code, status.UNAVAILABLE);
});

test('a grpc-js-xds client configured through the proxy reaches its backend, and survives a control-plane restart', { timeout: 150_000 }, async (t) => {
  const own = cleanups(t);
  const dir = own(mkdtempSync(join(tmpdir(), 'mb-xds-proxy-')), (d) => rm(d, { recursive: true, force: true }));
  const [a, b] = await Promise.all([backend(own, 'a', '127.0.81.1'), backend(own, 'b', '127.0.82.1')]);
  const mesh = (version: string, be: typeof a) => docs(serviceEntry('xp', HOST, { app: 'xp' }), workloadEntry('xp-1', be, { app: 'xp', version }));
  const first = own(await startServe({ dir, files: { 'mesh.yaml': mesh('a', a) } }), (x) => x.stop());
  const proxy = own(new XdsProxy({ upstream: insecureUpstream(first.xds) }), (p) => p.stop());
  const proxyAddress = await proxy.start('127.0.0.1:0');
  const client = own(new XdsClientChild(proxyless(proxyAddress, HOST)), (x) => x.stop());
  await client.ready(45_000);
  const warm = await client.send({ op: 'call', count: 10, deadlineMs: 20_000, waitForReady: true }, 30_000);
  assert.deepEqual(warm.counts, { a: 10 }, JSON.stringify(warm.errors));
  // The control plane sees the app's own node through the proxy.
  const synced = await waitFor(async () => (await first.syncz()).find((p) => p.proxy.startsWith('proxyless~127.0.9.1~client')), 15_000, 'the client in syncz');
  assert.ok(synced);

  // The control plane restarts on the same address: the proxy ends the app's stream, the app reconnects
  // through the proxy, and a change made on the new control plane reaches it.
  assert.equal(await first.stop(), 0);
  const second = own(await startServe({ dir, xdsAddress: first.xds }), (x) => x.stop());
  await waitFor(async () => ((await second.syncz()).length === 1 ? true : undefined), 60_000, 'the client to reconnect through the proxy');
  second.write('mesh.yaml', mesh('b', b));
  const moved = await client.send({ op: 'until', backend: 'b', streak: 5, timeoutMs: 30_000 }, 40_000);
  assert.ok(moved.reached, `the change after the restart did not reach the client (last ${moved.last})`);
});
