/** Pure pieces of the agent: backoff, renewal schedule, names (AR-2), settings file checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backoffDelayMs } from '../../src/lib/async/backoff.js';
import { BootstrapError, nodeId, readSettings, workloadEntryName } from '../../src/agent/bootstrap.js';
import { parseLocality } from '../../src/model/mesh/locality.js';
import { renewalDelayMs, tokenTimes } from '../../src/agent/token-renewal.js';
import { signToken } from '../../src/security/registration-token.js';

test('backoff: exponential with full jitter, base 200 ms, capped at 30 s', () => {
  assert.equal(backoffDelayMs(0, 200, 30_000, () => 0), 0);
  assert.equal(backoffDelayMs(0, 200, 30_000, () => 0.5), 100);
  assert.equal(backoffDelayMs(3, 200, 30_000, () => 0.5), 800);
  assert.equal(backoffDelayMs(20, 200, 30_000, () => 0.5), 15_000);
  assert.ok(backoffDelayMs(1000, 200, 30_000, () => 0.999_999) < 30_000);
});

test('§4: renewal is due at half the lifetime, moved by at most ±10% of it', () => {
  const token = signToken({ namespace: 'ns', group: 'g', serviceAccount: '', issuedAt: 1000, expiresAt: 3000 }, Buffer.alloc(32));
  assert.deepEqual(tokenTimes(token), { issuedAt: 1000, expiresAt: 3000 });
  assert.equal(renewalDelayMs(token, 1_000_000, () => 0.5), 1_000_000);
  assert.equal(renewalDelayMs(token, 1_000_000, () => 0), 800_000);
  assert.equal(renewalDelayMs(token, 1_000_000, () => 1), 1_200_000);
  assert.equal(renewalDelayMs(token, 5_000_000, () => 0.5), 0, 'overdue: at once');
  assert.equal(renewalDelayMs('not-a-token', 0, () => 0.5), undefined);
});

test('AR-2: the entry name is <group>-<ip, ":" as "-">[-<network>], keeping the last 253 characters', () => {
  assert.equal(workloadEntryName('svc1-vm', '10.0.0.1', ''), 'svc1-vm-10.0.0.1');
  assert.equal(workloadEntryName('svc1-vm', 'fd00::1', 'net-a'), 'svc1-vm-fd00--1-net-a');
  const long = workloadEntryName('g'.repeat(300), '10.0.0.1', 'n');
  assert.equal(long.length, 253);
  assert.ok(long.endsWith('g-10.0.0.1-n'));
  assert.equal(nodeId('sidecar', '10.0.0.1', 'svc1-vm-10.0.0.1', 'ns'), 'sidecar~10.0.0.1~svc1-vm-10.0.0.1.ns~ns.svc.cluster.local');
  assert.deepEqual(parseLocality('r/z'), { region: 'r', zone: 'z', subZone: '' });
});

test('the settings file is checked: one sentence naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-settings-'));
  assert.throws(() => readSettings(dir), (e: unknown) => e instanceof BootstrapError && /meshbridge-agent\.json: no such file or directory$/.test(e.message));
  writeFileSync(join(dir, 'meshbridge-agent.json'), JSON.stringify({ controlPlane: 'nohost', namespace: 'ns', group: 'g' }));
  assert.throws(() => readSettings(dir), /"controlPlane" must be HOST:PORT/);
  writeFileSync(join(dir, 'meshbridge-agent.json'), JSON.stringify({ controlPlane: '[::1]:15010', namespace: 'ns', group: 'g', ports: { http: '80' } }));
  assert.throws(() => readSettings(dir), /"ports" must be an object of numbers/);
  writeFileSync(join(dir, 'meshbridge-agent.json'), JSON.stringify({ controlPlane: '[::1]:15010', namespace: 'ns', group: 'g' }));
  assert.deepEqual(readSettings(dir), {
    controlPlane: '[::1]:15010', namespace: 'ns', group: 'g', serviceAccount: '', network: '', locality: '', labels: {}, ports: {}, trustDomain: 'cluster.local', clusterId: 'Kubernetes',
  });
});
