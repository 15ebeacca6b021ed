/**
 * Issue 17, VIP auto-allocation through a real `ControlPlane` on the file store: the allocated
 * addresses are written to `status.addresses` (kept in the state folder for folder objects), stay
 * where they are across a restart even when an "older" entry appears that would otherwise take the
 * first address (the warm-up), are cleared (`[]`) when an entry stops qualifying, and never written
 * for an entry with the opt-out label.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '../../src/app/control-plane.js';
import { silentLogger, type Logger } from '../../src/lib/log/logger.js';
import { waitFor } from '../e2e/serve-process.js';

const serviceEntry = (name: string, resolution = 'DNS', labels = '{}') => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ns1, labels: ${labels}}
spec: {hosts: [${name}.mesh.test], location: MESH_INTERNAL, resolution: ${resolution}, ports: [{number: 80, name: http, protocol: HTTP}]}
`;

async function startOn(dir: string, logger: Logger = silentLogger): Promise<ControlPlane> {
  const cp = new ControlPlane({ configPaths: [dir], xdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger, stateDir: `${dir}.state`, debounceMs: 10, watchDebounceMs: 20 });
  await cp.start();
  return cp;
}

function statusOf(cp: ControlPlane, name: string): string[] | undefined {
  return cp.registry.inputs.ServiceEntry.get(`ServiceEntry/ns1/${name}`)?.status?.addresses?.map((a) => `${a.host ?? ''}=${a.value}`);
}

test('VIP allocation: written to status, stable across a restart, cleared when no longer qualifying, not for the opt-out label', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-vip-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.state`, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'b.yaml'), serviceEntry('db'));
  writeFileSync(join(dir, 'c.yaml'), serviceEntry('optout', 'DNS', '{networking.istio.io/enable-autoallocate-ip: "false"}'));
  let cp = await startOn(dir);
  try {
    assert.deepEqual(await waitFor(() => statusOf(cp, 'db'), 10_000, 'db status'), ['db.mesh.test=240.240.0.1', 'db.mesh.test=2001:2::1']);
    await sleep(200);
    assert.equal(statusOf(cp, 'optout'), undefined, 'the opt-out label: no status written');
  } finally {
    await cp.stop();
  }

  // A new entry in a file read first (so older by folder order) must not take db's addresses.
  writeFileSync(join(dir, 'a.yaml'), serviceEntry('api'));
  cp = await startOn(dir);
  try {
    assert.deepEqual(statusOf(cp, 'db'), ['db.mesh.test=240.240.0.1', 'db.mesh.test=2001:2::1'], 'kept from the state folder at once');
    assert.deepEqual(await waitFor(() => statusOf(cp, 'api'), 10_000, 'api status'), ['api.mesh.test=240.240.0.2', 'api.mesh.test=2001:2::2']);
    assert.deepEqual(cp.registry.services.list().find((s) => s.host === 'db.mesh.test')?.addresses, ['240.240.0.1', '2001:2::1']);

    // db stops qualifying (resolution NONE): its status addresses are cleared.
    writeFileSync(join(dir, 'b.yaml'), serviceEntry('db', 'NONE'));
    assert.deepEqual(await waitFor(() => (statusOf(cp, 'db')?.length === 0 ? [] : undefined), 10_000, 'db status cleared'), []);
  } finally {
    await cp.stop();
  }
});

test('VIP allocation at start: served at once, written to status only after the start delay, 20 writes logged one by one and the rest in one line', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-vip-many-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.state`, { recursive: true, force: true });
  });
  const names = Array.from({ length: 300 }, (_, i) => `svc${String(i).padStart(3, '0')}`);
  writeFileSync(join(dir, 'entries.yaml'), names.map((n) => serviceEntry(n)).join('---\n'));
  const lines: { message: string; fields: Record<string, unknown> | undefined }[] = [];
  const record = (message: string, fields?: Record<string, unknown>): void => void lines.push({ message, fields });
  const startedAt = Date.now();
  const cp = await startOn(dir, { info: record, warn: record, error: record });
  try {
    // The allocation is served from the registry at once; the status write waits (1 s after start).
    assert.deepEqual(cp.registry.services.list().find((s) => s.host === 'svc000.mesh.test')?.addresses, ['240.240.0.1', '2001:2::1']);
    assert.equal(statusOf(cp, 'svc000'), undefined, 'no status written right after start');
    const first = await waitFor(() => statusOf(cp, 'svc000'), 10_000, 'svc000 status');
    assert.ok(Date.now() - startedAt >= 1000, 'the first write came after the start delay');
    assert.deepEqual(first, ['svc000.mesh.test=240.240.0.1', 'svc000.mesh.test=2001:2::1']);
    await waitFor(() => (names.every((n) => statusOf(cp, n)?.length === 2) ? true : undefined), 10_000, 'every status written');
    const summary = await waitFor(() => lines.find((l) => l.message.startsWith('ServiceEntry addresses written')), 10_000, 'summary line');
    assert.deepEqual(summary.fields, { entries: 300, allocated: 300, released: 0, notLoggedOneByOne: 280 });
    const oneByOne = lines.filter((l) => l.message === 'ServiceEntry addresses allocated');
    assert.equal(oneByOne.length, 20);
    assert.deepEqual(oneByOne[0]?.fields, { serviceEntry: 'ns1/svc000', addresses: ['svc000.mesh.test=240.240.0.1', 'svc000.mesh.test=2001:2::1'] });
  } finally {
    await cp.stop();
  }
});
