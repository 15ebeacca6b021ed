/**
 * Issue 2, "incremental by construction": in a mesh of 10,000 WorkloadEntries and 1,000
 * ServiceEntries, changing one entry's weight recomputes only the services that select it, and
 * adding an unrelated entry recomputes none. Proven with the derived collections' counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceEntry, WorkloadEntry } from '../../src/model/config/types.js';
import { buildRegistry, createInputs } from '../../src/registry/registry.js';

const SERVICES = 1000;
const ENTRIES = 10_000;

let order = 0;
function serviceEntry(i: number): ServiceEntry {
  return {
    kind: 'ServiceEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name: `svc-${i}`, namespace: 'mesh', labels: {}, annotations: {} },
    spec: {
      hosts: [`svc-${i}.example.com`],
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      resolution: 'STATIC',
      location: 'MESH_INTERNAL',
      workloadSelector: { labels: { app: `svc-${i}` } },
    },
    origin: { file: 'generated', line: 1, column: 1, order: order++ },
  };
}
function workloadEntry(j: number, app: string, weight?: number): WorkloadEntry {
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name: `we-${j}`, namespace: 'mesh', labels: {}, annotations: {} },
    spec: { address: `10.${Math.floor(j / 65536) % 256}.${Math.floor(j / 256) % 256}.${j % 256}`, labels: { app }, ...(weight ? { weight } : {}) },
    origin: { file: 'generated', line: 1, column: 1, order: order++ },
  };
}

function computations(registry: ReturnType<typeof buildRegistry>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, c] of registry.derived) out[name] = c.stats.computations;
  return out;
}
function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

test('incrementality: one weight change recomputes only the services selecting the entry; an unrelated entry recomputes none', () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  inputs.ServiceEntry.upsert(...Array.from({ length: SERVICES }, (_, i) => serviceEntry(i)));
  inputs.WorkloadEntry.upsert(...Array.from({ length: ENTRIES }, (_, j) => workloadEntry(j, `svc-${j % SERVICES}`)));
  assert.equal(registry.services.size, SERVICES);
  assert.equal(registry.services.get('mesh/svc-7.example.com')?.endpoints.length, ENTRIES / SERVICES);

  // Change the weight of one entry selected by exactly one ServiceEntry (svc-7).
  let before = computations(registry);
  inputs.WorkloadEntry.upsert(workloadEntry(7, 'svc-7', 5));
  assert.deepEqual(delta(before, computations(registry)), {
    'registry/EntryWorkloads': 1,
    'registry/ServiceEntryBundles': 1,
    'registry/ServiceKeys': 1,
    'registry/Services': 1,
  });
  const changed = registry.services.get('mesh/svc-7.example.com')?.endpoints.find((e) => e.source === 'WorkloadEntry/mesh/we-7');
  assert.equal(changed?.weight, 5);

  // Add an entry no ServiceEntry selects: only its own workload is computed.
  before = computations(registry);
  inputs.WorkloadEntry.upsert(workloadEntry(ENTRIES + 1, 'unrelated'));
  assert.deepEqual(delta(before, computations(registry)), { 'registry/EntryWorkloads': 1 });

  // Moving an entry between services recomputes exactly the two services involved.
  before = computations(registry);
  inputs.WorkloadEntry.upsert(workloadEntry(8, 'svc-9'));
  const d = delta(before, computations(registry));
  assert.equal(d['registry/ServiceEntryBundles'], 2);
  assert.equal(d['registry/Services'], 2);
});
