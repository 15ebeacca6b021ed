/**
 * The config feed applies store change events delivered together as one batch (bench S1: the VIP
 * status writer's 10,000 writes after a 100k start recomputed the address allocation 10,000 times),
 * in order, and keeps the order against other events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { ConfigFeed } from './config-feed.js';
import { silentLogger } from '../lib/log/logger.js';
import { buildRegistry, createInputs } from '../registry/registry.js';
import { MemoryStore } from '../sources/memory/memory-store.js';
import { loadConfig } from '../model/config/load.js';
import type { ConfigObject } from '../model/config/types.js';

const ENTRIES = 200;

function serviceEntries(n: number): ConfigObject[] {
  const docs = Array.from({ length: n }, (_, i) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se-${i}, namespace: ns1}
spec: {hosts: [se-${i}.mesh.test], location: MESH_INTERNAL, resolution: DNS, ports: [{number: 80, name: http, protocol: HTTP}]}
`);
  const loaded = loadConfig([{ path: 'se.yaml', text: docs.join('---\n') }]);
  assert.deepEqual(loaded.findings.filter((f) => f.severity === 'error'), []);
  return loaded.objects;
}

async function started(): Promise<{ store: MemoryStore; feed: ConfigFeed; registry: ReturnType<typeof buildRegistry>; applied: number[] }> {
  const store = new MemoryStore();
  for (const object of serviceEntries(ENTRIES)) assert.ok((await store.write([{ op: 'create', object }])).ok);
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  const applied: number[] = [];
  const feed = new ConfigFeed(store, inputs, { log: silentLogger, onApplied: (n) => applied.push(n) });
  await feed.start();
  return { store, feed, registry, applied };
}

const statusOf = (i: number): unknown => ({ addresses: [{ host: `se-${i}.mesh.test`, value: `240.240.9.${i % 250}` }] });

test('change events delivered together are applied as one batch: the allocation is computed once, not once per write', async () => {
  const { store, feed, registry, applied } = await started();
  const allocation = registry.derived.get('registry/AllocationTable');
  assert.ok(allocation !== undefined);
  const before = allocation.stats.computations;
  // One write per entry, as the VIP status writer does after a start.
  for (let i = 0; i < ENTRIES; i++) {
    assert.ok((await store.write([{ op: 'updateStatus', ref: { kind: 'ServiceEntry', namespace: 'ns1', name: `se-${i}` }, status: statusOf(i) }])).ok);
  }
  await nextMacrotask();
  assert.equal(allocation.stats.computations - before, 1, 'one allocation for the whole burst');
  assert.deepEqual(applied, [ENTRIES], 'one application of every change');
  for (let i = 0; i < ENTRIES; i++) {
    assert.deepEqual(registry.inputs.ServiceEntry.get(`ServiceEntry/ns1/se-${i}`)?.status, statusOf(i), `se-${i} carries its status`);
  }
  assert.equal(feed.status().revision, String(ENTRIES + ENTRIES), 'the revision of the last change');
  assert.equal(feed.status().changesApplied, ENTRIES);
  await feed.stop();
});

test('a batch keeps the order of the changes: an object written then deleted in one burst is gone, one deleted then created is there', async () => {
  const { store, feed, registry } = await started();
  const [first, second] = serviceEntries(2);
  assert.ok(first !== undefined && second !== undefined);
  assert.ok((await store.write([{ op: 'updateStatus', ref: { kind: 'ServiceEntry', namespace: 'ns1', name: 'se-0' }, status: statusOf(0) }])).ok);
  assert.ok((await store.write([{ op: 'delete', ref: { kind: 'ServiceEntry', namespace: 'ns1', name: 'se-0' } }])).ok);
  assert.ok((await store.write([{ op: 'delete', ref: { kind: 'ServiceEntry', namespace: 'ns1', name: 'se-1' } }])).ok);
  assert.ok((await store.write([{ op: 'create', object: second }])).ok);
  await nextMacrotask();
  assert.equal(registry.inputs.ServiceEntry.get('ServiceEntry/ns1/se-0'), undefined, 'written then deleted: gone');
  assert.notEqual(registry.inputs.ServiceEntry.get('ServiceEntry/ns1/se-1'), undefined, 'deleted then created: there');
  await feed.stop();
});
