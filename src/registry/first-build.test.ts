/**
 * The registry's first build (a listing applied in one batch, where every derived event is new and
 * no output key repeats, so events are not merged) gives exactly what the other ways of reaching the
 * same inputs give: a registry built over already-filled inputs (no events at all), and the inputs
 * written one object at a time (the incremental path). Checked over generated configurations, also
 * after random changes, including hosts shared by several ServiceEntries (one output key from
 * several producers in one batch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Collection } from '../lib/krt/index.js';
import type { ConfigObject } from '../model/config/types.js';
import { buildRegistry, createInputs, inputObjects, replaceInputs, type Registry } from './registry.js';

let order = 0;

function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
}

function generate(rand: () => number, size: number, tag: string): ConfigObject[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const namespaces = ['ns1', 'ns2', 'ns3'];
  const apps = ['a', 'b', 'c', 'd'];
  const out: ConfigObject[] = [];
  for (let i = 0; i < size; i++) {
    const origin = { file: 'f.yaml', line: i + 1, column: 1, order: order++ };
    const namespace = pick(namespaces);
    if (rand() < 0.8) {
      const labels: Record<string, string> = { app: pick(apps) };
      if (rand() < 0.5) labels['version'] = pick(['v1', 'v2']);
      out.push({
        kind: 'WorkloadEntry',
        apiVersion: 'networking.istio.io/v1',
        metadata: { name: `we-${tag}-${i}`, namespace, labels: rand() < 0.3 ? { tier: pick(['x', 'y']) } : {}, annotations: {} },
        spec: { address: `127.1.${i % 250}.${Math.floor(rand() * 250)}`, labels, ...(rand() < 0.5 ? { locality: pick(['r1/z1', 'r1/z2', 'r2/z1']) } : {}), ...(rand() < 0.3 ? { weight: 1 + Math.floor(rand() * 5) } : {}) },
        origin,
      });
    } else {
      // Hosts are drawn from a small set, so several entries (of one or several namespaces) share one.
      const selector: Record<string, string> = { app: pick(apps) };
      if (rand() < 0.3) selector['version'] = pick(['v1', 'v2']);
      out.push({
        kind: 'ServiceEntry',
        apiVersion: 'networking.istio.io/v1',
        metadata: { name: `se-${tag}-${i}`, namespace, labels: {}, annotations: {} },
        spec: { hosts: [`h${Math.floor(rand() * 6)}.example.com`], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', location: 'MESH_INTERNAL', workloadSelector: { labels: selector } },
        origin,
      });
    }
  }
  return out;
}

const byKey = <T extends { key: string }>(items: readonly T[]): T[] => [...items].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));

function assertSameRegistry(got: Registry, want: Registry, what: string): void {
  assert.deepEqual(byKey(got.workloads.list()), byKey(want.workloads.list()), `${what}: workloads`);
  assert.deepEqual(byKey(got.bundles.list()), byKey(want.bundles.list()), `${what}: bundles`);
  assert.deepEqual(byKey(got.services.list()), byKey(want.services.list()), `${what}: services`);
  assert.deepEqual(byKey(got.allocations.list()), byKey(want.allocations.list()), `${what}: allocations`);
  for (const c of got.derived.values()) assert.equal(c.stats.errors, 0, `${what}: ${c.name} had no transformation error`);
}

/** Watches every derived collection; returns (and keeps filling) the batches that named a key twice. */
function batchesWithRepeatedKeys(registry: Registry): string[] {
  const out: string[] = [];
  const watch = <T>(c: Collection<T>): void => {
    c.subscribe((events) => {
      const keys = events.flatMap((e) => {
        const item = e.new ?? e.old;
        return item === undefined ? [] : [c.keyOf(item)];
      });
      if (new Set(keys).size !== keys.length) out.push(`${c.name}: ${keys.length} events, ${new Set(keys).size} keys`);
    });
  };
  for (const c of registry.derived.values()) watch(c);
  watch(registry.workloads);
  watch(registry.bundles);
  return out;
}

/** A registry built over inputs that already hold `objects`: every collection computed once, no events. */
function builtOver(objects: readonly ConfigObject[]): Registry {
  const inputs = createInputs();
  replaceInputs(inputs, objects);
  return buildRegistry(inputs);
}

test('first build in one batch = built over filled inputs = written one object at a time, on generated configurations and after changes', () => {
  for (let seed = 1; seed <= 8; seed++) {
    const rand = random(seed);
    const objects = generate(rand, 40 + Math.floor(rand() * 160), `s${seed}`);

    const batched = buildRegistry(createInputs());
    const repeated = batchesWithRepeatedKeys(batched);
    replaceInputs(batched.inputs, objects);
    assert.deepEqual(repeated, [], `seed ${seed}: every event batch names each key once`);

    const oneByOne = buildRegistry(createInputs());
    for (const o of objects) {
      if (o.kind === 'WorkloadEntry') oneByOne.inputs.WorkloadEntry.upsert(o);
      else if (o.kind === 'ServiceEntry') oneByOne.inputs.ServiceEntry.upsert(o);
    }

    const reference = builtOver(objects);
    assert.ok(reference.services.size > 0 && reference.workloads.size > 0, `seed ${seed}: a non-trivial mesh`);
    assertSameRegistry(batched, reference, `seed ${seed}, first build`);
    assertSameRegistry(oneByOne, reference, `seed ${seed}, one at a time`);

    // Later changes take the incremental path and still agree with a registry built afresh.
    let current = objects;
    for (let round = 0; round < 5; round++) {
      const next = current.filter(() => rand() > 0.15).concat(generate(rand, 10, `s${seed}r${round}`));
      replaceInputs(batched.inputs, next);
      current = inputObjects(batched.inputs);
      assertSameRegistry(batched, builtOver(next), `seed ${seed}, round ${round}`);
    }
  }
});
