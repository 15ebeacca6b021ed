/**
 * Issue 16 item 3: the health of an operator-written (not auto-registered), health-checked entry
 * is decided once per entry, by its owner — the replica its agent connected to last (the entry's
 * `Connected` condition names it) — and by the leader when the owner's session is gone. Two
 * replicas (two controllers on one store): the agent moves from cp-1 to cp-2; cp-1's disconnect
 * (after the grace period) and a late report on its old stream change nothing; cp-2 decides. When
 * cp-2 dies, the leader (cp-1) clears the health after the grace period.
 *
 * Before: every replica decided for itself, so the old replica cleared Healthy a grace period
 * after the agent left it, though the agent was connected and healthy on the other one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkloadEntry } from '../model/config/types.js';
import { silentLogger } from '../lib/log/logger.js';
import { MemoryStore } from '../sources/memory/memory-store.js';
import { newSigningKey } from '../security/registration-token.js';
import { testProxy } from '../../test/support/proxy-identity.js';
import { Peers } from '../../test/support/peers.js';
import { conditionOf } from './entry-writes.js';
import { operatorEntryOwner, RegistrationController } from './registration-controller.js';

const GRACE_MS = 60;
const KEY = 'WorkloadEntry/ns1/db-vm';

const operatorEntry: WorkloadEntry = {
  kind: 'WorkloadEntry',
  apiVersion: 'networking.istio.io/v1',
  metadata: { name: 'db-vm', namespace: 'ns1', labels: { app: 'db' }, annotations: { 'proxy.istio.io/health-checks-enabled': 'true' } },
  spec: { address: '10.0.3.1' },
  origin: { file: 'operator.yaml', line: 1, column: 1, order: 0 },
};

const agentNode = () => testProxy({ type: 'sidecar', ip: '10.0.3.1', name: 'db-vm', namespace: 'ns1', labels: {}, metadata: { MESHBRIDGE_AGENT: 'true', WORKLOAD_ENTRY: 'db-vm' } });

test('an operator-written entry\'s health is decided by the replica its agent is connected to, else the leader', { timeout: 20_000 }, async () => {
  const store = new MemoryStore();
  assert.ok((await store.write([{ op: 'create', object: operatorEntry }])).ok);
  const peers = new Peers();
  peers.leader = 'cp-1';
  const replica = (instance: string) => new RegistrationController({ store, coordination: peers.coordination(instance), group: () => undefined, signingKey: newSigningKey(), gracePeriodMs: GRACE_MS, log: silentLogger });
  const cp1 = replica('cp-1');
  const cp2 = replica('cp-2');
  const entry = () => store.current(KEY) as WorkloadEntry;
  const healthy = () => conditionOf(entry(), 'Healthy')?.status;
  try {
    cp1.onConnect('s1', agentNode());
    cp1.onHealth('s1', true, '');
    await cp1.idle();
    assert.equal(operatorEntryOwner(entry()), 'cp-1');
    assert.equal(healthy(), 'True');

    // The agent moves to cp-2 (its old stream on cp-1 not closed yet) and reports healthy there.
    await sleep(5);
    cp2.onConnect('s2', agentNode());
    cp2.onHealth('s2', true, '');
    await cp2.idle();
    assert.equal(operatorEntryOwner(entry()), 'cp-2', 'the replica of the latest connection owns it');
    // A late report on the old stream is not cp-1's to write any more.
    cp1.onHealth('s1', false, 'stale');
    await cp1.idle();
    assert.equal(healthy(), 'True', 'the old replica\'s report is ignored');
    // cp-1 sees the old stream close; a grace period later it does not clear the health.
    cp1.onDisconnect('s1');
    await sleep(GRACE_MS * 3);
    await cp1.idle();
    assert.equal(healthy(), 'True', 'the old replica does not decide after the agent left it');
    assert.equal(conditionOf(entry(), 'Connected')?.status, 'True');
    // The owner decides: an unhealthy report from cp-2 is written.
    cp2.onHealth('s2', false, 'probe failed');
    await cp2.idle();
    assert.equal(healthy(), 'False');

    // cp-2 dies (its session goes, its stream never says goodbye): the leader decides after the grace period.
    peers.live.delete('cp-2');
    await cp2.stop();
    await cp1.reclaim();
    await sleep(GRACE_MS * 3);
    await cp1.idle();
    assert.equal(conditionOf(entry(), 'Healthy'), undefined, 'the leader cleared the dead owner\'s health');
    assert.deepEqual([conditionOf(entry(), 'Connected')?.status, conditionOf(entry(), 'Connected')?.message], ['False', 'control plane cp-2 is gone']);
    assert.equal(store.current(KEY) !== undefined, true, 'an operator\'s entry is never deleted');
  } finally {
    await cp1.stop();
    await cp2.stop();
  }
});
