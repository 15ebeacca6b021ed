/**
 * Issue 16 item 2: agents that fail over. The bootstrap's `controlPlane` may list several
 * `HOST:PORT` (or name a host with several addresses); the agent starts at a random one and moves
 * to the next when its stream ends, and so does its local xDS proxy's upstream. Single-address
 * bootstraps keep working; a bad list is refused naming the file, the field and the bad entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import { Agent } from '../../src/agent/agent.js';
import { BootstrapError, readSettings } from '../../src/agent/bootstrap.js';
import { ControlPlaneTargets, firstControlPlane, parseControlPlane, resolveControlPlane, systemResolver } from '../../src/agent/control-plane-targets.js';
import { LOCAL_SECRET_METADATA } from '../../src/agent/xds-proxy.js';
import { waitFor } from '../e2e/serve-process.js';
import { bootstrapDir, LogLines, oneStream, runUntilEnd, settingsFor, startControlPlane } from './harness.js';

test('controlPlane: one HOST:PORT or a comma-separated list; anything else is refused naming the entry', () => {
  assert.deepEqual(parseControlPlane('127.0.0.1:15012'), ['127.0.0.1:15012']);
  assert.deepEqual(parseControlPlane('cp1.example:15012, cp2.example:15012,[::1]:15012'), ['cp1.example:15012', 'cp2.example:15012', '[::1]:15012']);
  assert.equal(firstControlPlane('a.example:1,b.example:2'), 'a.example:1');
  for (const [bad, entry] of [['a:1,,b:2', ''], ['a:1,b', 'b'], ['a:99999', 'a:99999'], ['a:0', 'a:0'], ['http://a:1', 'http://a:1']] as const) {
    const problem = parseControlPlane(bad);
    assert.equal(typeof problem, 'string', bad);
    assert.ok(String(problem).includes(`${JSON.stringify(entry)} is not HOST:PORT`), String(problem));
  }
  // In a bootstrap: the file and the field are named; an old single-address bootstrap still reads.
  const { dir } = bootstrapDir(settingsFor('127.0.0.1:15012'));
  assert.equal(readSettings(dir).controlPlane, '127.0.0.1:15012');
  const file = join(dir, 'meshbridge-agent.json');
  writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), controlPlane: '127.0.0.1:15012,cp2' }));
  assert.throws(() => readSettings(dir), (e: unknown) => e instanceof BootstrapError && e.message.startsWith(`${file}: "controlPlane" must be HOST:PORT or a comma-separated list of them`) && e.message.includes('"cp2" is not HOST:PORT'));
});

test('a host name stands for all its addresses (localhost through the system resolver); IP literals as they are; an unresolvable name is kept for gRPC', async () => {
  const local = await resolveControlPlane(['localhost:15012', '127.0.0.9:1', '[::1]:2'], systemResolver);
  assert.ok(local.includes('127.0.0.1:15012'), JSON.stringify(local));
  assert.deepEqual(local.slice(-2), ['127.0.0.9:1', '[::1]:2']);
  const failing = await resolveControlPlane(['cp.unresolvable.test:3'], () => Promise.reject(new Error('ENOTFOUND')));
  assert.deepEqual(failing, ['cp.unresolvable.test:3']);
});

test('the rotation: a random start, the next address on failure, stale reports ignored, names resolved again after a full turn', async () => {
  const answers = [['127.0.0.1', '127.0.0.2', '127.0.0.3'], ['127.0.0.4']];
  let lookups = 0;
  const targets = new ControlPlaneTargets(['cp.test:15012'], () => 0.5, () => Promise.resolve(answers[lookups++] ?? []));
  assert.equal(targets.current(), 'cp.test:15012', 'before resolution: the name itself');
  await targets.resolve();
  assert.deepEqual(targets.addresses, ['127.0.0.1:15012', '127.0.0.2:15012', '127.0.0.3:15012']);
  assert.equal(targets.current(), '127.0.0.2:15012', 'random start (0.5 of 3 addresses)');
  assert.equal(targets.failed('127.0.0.2:15012'), '127.0.0.3:15012');
  assert.equal(targets.failed('127.0.0.2:15012'), '127.0.0.3:15012', 'a second report about the old address does not move on again');
  assert.equal(targets.failed('127.0.0.3:15012'), '127.0.0.1:15012', 'wraps around');
  assert.equal(lookups, 1);
  targets.failed('127.0.0.1:15012'); // a full turn: resolved again
  await waitFor(() => (targets.addresses.length === 1 ? true : undefined), 2000, 'the names resolved again');
  assert.equal(lookups, 2);
  assert.equal(targets.current(), '127.0.0.4:15012');
});

test('a real agent given two control planes: its ADS stream and its xDS proxy\'s upstream move to the other when the one in use goes', { timeout: 30_000 }, async (t) => {
  const first = await startControlPlane();
  const second = await startControlPlane();
  t.after(() => Promise.all([first.stop(0), second.stop(0)]));
  const settings = settingsFor(`${first.address},${second.address}`);
  const { dir } = bootstrapDir(settings);
  const logs = new LogLines();
  // random() = 0: the first address first (and no backoff delay).
  const agent = new Agent({ bootstrapDir: dir, settings, ip: '127.0.0.1', log: logs.log, settleMs: 100, connectTimeoutMs: 1000, backoffBaseMs: 50, backoffCapMs: 200, random: () => 0, xdsProxyAddress: '127.0.0.1:0' });
  await runUntilEnd(t, agent);
  await logs.waitFor(new RegExp(`^connected to ${first.address}$`), 10_000);
  await first.waitFor('connect', (e) => e.stream.proxy.id.startsWith('sidecar~'), 10_000);

  // A local app's stream through the proxy goes to the address in use.
  const bootstrap = JSON.parse(readFileSync(agent.grpcBootstrapPath, 'utf8')) as { node: { id: string; metadata: JsonObject } };
  assert.equal(bootstrap.node.metadata[LOCAL_SECRET_METADATA] !== undefined, true);
  const app = oneStream(agent.xdsProxyAddress ?? '', 'StreamAggregatedResources', bootstrap.node);
  t.after(() => app.close());
  await first.waitFor('connect', (e) => e.stream.proxy.id.startsWith('proxyless~'), 10_000);

  // The control plane in use goes: the agent reconnects to the other one, registered there.
  const mark = logs.lines.length;
  await first.stop(0);
  await logs.waitFor(new RegExp(`^disconnected: .*\\(next: ${second.address}\\)$`), 10_000, mark);
  await logs.waitFor(new RegExp(`^connected to ${second.address}$`), 10_000, mark);
  await second.waitFor('connect', (e) => e.stream.proxy.id.startsWith('sidecar~'), 10_000);
  // The app's stream ended UNAVAILABLE (its client reconnects); its next stream reaches the other one.
  assert.equal((await app.status).code, status.UNAVAILABLE);
  const again = oneStream(agent.xdsProxyAddress ?? '', 'StreamAggregatedResources', bootstrap.node);
  t.after(() => again.close());
  await second.waitFor('connect', (e) => e.stream.proxy.id.startsWith('proxyless~'), 10_000);
});
