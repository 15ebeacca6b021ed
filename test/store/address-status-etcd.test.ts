/**
 * Issue 17, VIP auto-allocation with two replicas on a real etcd: only the leader writes
 * `status.addresses` (compare-and-swap on the resourceVersion), both replicas read the same
 * addresses, and after the leader stops the next leader allocates for a new entry without moving
 * the first one's addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ControlPlane } from '../../src/app/control-plane.js';
import { runCli } from '../../src/cli/main.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { waitFor } from '../e2e/serve-process.js';
import { startEtcd } from '../support/etcd.js';

const serviceEntry = (name: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ns1}
spec: {hosts: [${name}.mesh.test], location: MESH_INTERNAL, resolution: DNS, ports: [{number: 80, name: http, protocol: HTTP}]}
`;

function replica(store: string, instance: string): ControlPlane {
  return new ControlPlane({ store, instance, xdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, sessionTtlSeconds: 2, debounceMs: 5 });
}

function statusOf(cp: ControlPlane, name: string): string[] | undefined {
  const addresses = cp.registry.inputs.ServiceEntry.get(`ServiceEntry/ns1/${name}`)?.status?.addresses;
  return addresses === undefined || addresses.length === 0 ? undefined : addresses.map((a) => `${a.host ?? ''}=${a.value}`);
}

async function apply(store: string, yaml: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mb-apply-'));
  try {
    writeFileSync(join(dir, 'se.yaml'), yaml);
    const err: string[] = [];
    const sink = (into: string[]) => new Writable({ write: (c: Buffer, _e, cb) => (into.push(c.toString()), cb()) });
    const code = await runCli(['apply', '-f', join(dir, 'se.yaml'), '--store', store], sink([]), sink(err));
    assert.equal(code, 0, err.join(''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('VIP allocation on etcd: the leader writes status, both replicas agree, the next leader keeps it and allocates the rest', { timeout: 90_000 }, async (t) => {
  const etcd = await startEtcd(1);
  t.after(() => etcd.stop());
  const a = replica(etcd.url, 'replica-a');
  await a.start();
  const b = replica(etcd.url, 'replica-b');
  await b.start();
  t.after(async () => {
    await a.stop().catch(() => undefined);
    await b.stop().catch(() => undefined);
  });

  await apply(etcd.url, serviceEntry('db'));
  const first = ['db.mesh.test=240.240.0.1', 'db.mesh.test=2001:2::1'];
  assert.deepEqual(await waitFor(() => statusOf(a, 'db'), 20_000, 'db status on replica a'), first);
  assert.deepEqual(await waitFor(() => statusOf(b, 'db'), 20_000, 'db status on replica b'), first);

  await a.stop();
  await apply(etcd.url, serviceEntry('api'));
  assert.deepEqual(await waitFor(() => statusOf(b, 'api'), 30_000, 'api status written by the next leader'), ['api.mesh.test=240.240.0.2', 'api.mesh.test=2001:2::2']);
  assert.deepEqual(statusOf(b, 'db'), first, 'db keeps its addresses');
});
