/**
 * Issue 11 §7: the agent's local xDS proxy does not lend the registration token to other local users.
 * The attack: another user, who never read the token, connects to the proxy's loopback port with a
 * node asking to auto-register into the agent's WorkloadGroup; the proxy used to forward it upstream
 * with the agent's `authorization: Bearer <token>`, and the control plane registered it. Now every
 * stream must present the agent's local secret (node metadata MESHBRIDGE_LOCAL_SECRET, found only in
 * the agent's 0600 gRPC bootstrap): without it, or with another value, the stream ends
 * UNAUTHENTICATED with the reason and nothing reaches the control plane. An app with the bootstrap's
 * node is forwarded with the secret removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import type { JsonObject } from '@bufbuild/protobuf';
import { Client, credentials, Metadata, status, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { Agent } from '../../src/agent/agent.js';
import { insecureUpstream, LOCAL_SECRET_METADATA, XdsProxy } from '../../src/agent/xds-proxy.js';
import { agentFixture, LogLines, oneStream, runUntilEnd } from './harness.js';

test('a local client without the agent\'s secret cannot use the xDS proxy (and so not the token); one with it is forwarded without the secret', { timeout: 30_000 }, async (t) => {
  const { cp, settings, dir, token } = await agentFixture(t);
  const logs = new LogLines();
  const agent = new Agent({ bootstrapDir: dir, settings, ip: '127.0.0.1', log: logs.log, settleMs: 100, xdsProxyAddress: '127.0.0.1:0' });
  await runUntilEnd(t, agent);
  await logs.waitFor(/^registered as /, 10_000);
  const proxy = agent.xdsProxyAddress ?? '';

  // The bootstrap holding the secret is the agent user's alone.
  assert.equal(statSync(agent.grpcBootstrapPath).mode & 0o777, 0o600);
  const bootstrap = JSON.parse(readFileSync(agent.grpcBootstrapPath, 'utf8')) as { node: { id: string; metadata: JsonObject } };
  const secret = bootstrap.node.metadata[LOCAL_SECRET_METADATA];
  assert.ok(typeof secret === 'string' && secret.length >= 43);

  // The attack: a node that asks to be registered into the agent's group, without the secret, then with a guessed one.
  const evil = (metadata: JsonObject) => ({
    id: 'sidecar~127.0.0.66~evil.vm-demo~vm-demo.svc.cluster.local',
    metadata: { AUTO_REGISTER_GROUP: settings.group, NAMESPACE: settings.namespace, INSTANCE_IPS: '127.0.0.66', ...metadata },
  });
  for (const method of ['StreamAggregatedResources', 'DeltaAggregatedResources'] as const) {
    const without = oneStream(proxy, method, evil({}));
    const st = await without.status;
    without.close();
    assert.equal(st.code, status.UNAUTHENTICATED);
    assert.match(st.details, /^xDS proxy: refused: this client did not present the agent's local secret \(node metadata MESHBRIDGE_LOCAL_SECRET, which the agent writes into the gRPC bootstrap of its local apps \(grpc-bootstrap\.json, mode 0600\)\)$/);
    const guessed = oneStream(proxy, method, evil({ [LOCAL_SECRET_METADATA]: 'x'.repeat(43) }));
    const st2 = await guessed.status;
    guessed.close();
    assert.equal(st2.code, status.UNAUTHENTICATED);
    assert.match(st2.details, /^xDS proxy: refused: this client's local secret is not the agent's/);
  }
  assert.equal(cp.admitted.filter((a) => a.proxy.id.includes('evil')).length, 0, 'nothing of the attacker reached the control plane');
  assert.ok(logs.lines.some((l) => l.startsWith('xDS proxy: refused: this client did not present')), 'the refusal is logged');

  // The agent's own app: its bootstrap's node, secret included. It reaches the control plane with
  // the agent's credential, and without the secret.
  const app = oneStream(proxy, 'StreamAggregatedResources', bootstrap.node);
  t.after(() => app.close());
  const admitted = await (async () => {
    for (let i = 0; i < 250; i++) {
      const a = cp.admitted.find((x) => x.proxy.id === bootstrap.node.id);
      if (a !== undefined) return a;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  })();
  assert.ok(admitted, 'the app was forwarded');
  assert.equal(admitted.proxy.metadata[LOCAL_SECRET_METADATA], undefined, 'the secret is not forwarded');
  assert.equal(admitted.metadata['authorization'], `Bearer ${token}`);
});

test('with a local secret, a stream whose first message is no request, or that half-closes first, is refused; stop ends a waiting stream', { timeout: 20_000 }, async (t) => {
  let upstreamAsked = 0;
  const proxy = new XdsProxy({ upstream: () => (upstreamAsked++, insecureUpstream('127.0.0.1:1')()), localSecret: 's'.repeat(43) });
  const address = await proxy.start('127.0.0.1:0');
  t.after(() => proxy.stop());
  const open = (): { call: ClientDuplexStream<Buffer, Buffer>; status: Promise<StatusObject>; client: Client } => {
    const client = new Client(address, credentials.createInsecure());
    const id = (b: Buffer): Buffer => b;
    const call = client.makeBidiStreamRequest('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', id, id, new Metadata());
    call.on('error', () => undefined);
    t.after(() => client.close());
    return { call, client, status: new Promise<StatusObject>((resolve) => call.on('status', resolve)) };
  };
  const garbage = open();
  garbage.call.write(Buffer.from([0xff, 0xff, 0xff]));
  assert.deepEqual(await garbage.status.then((s) => [s.code, s.details]), [status.UNAUTHENTICATED, 'xDS proxy: refused: the first message is not a discovery request']);
  const halfClosed = open();
  halfClosed.call.end();
  assert.deepEqual(await halfClosed.status.then((s) => [s.code, s.details]), [status.UNAUTHENTICATED, 'xDS proxy: refused: the stream ended before its first request']);
  const waiting = open();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(proxy.openStreams, 1, 'the waiting stream is counted');
  await proxy.stop();
  assert.equal((await waiting.status).code, status.UNAVAILABLE);
  assert.equal(upstreamAsked, 0, 'no upstream call for a stream that was not admitted');
});
