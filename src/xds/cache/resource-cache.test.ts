import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { ENDPOINT } from '../types/resource-types.js';
import type { XdsResourceType } from '../types/resource-type.js';
import { newBootId, ResourceCache, type ResourceInput } from './resource-cache.js';

function cla(name: string, priority = 0): ClusterLoadAssignment {
  return create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: [{ priority }] });
}

function inputs(...entries: [string, string, ClusterLoadAssignment][]): Map<string, ResourceInput<ClusterLoadAssignment>> {
  return new Map(entries.map(([name, version, message]) => [name, { version, message }]));
}

/** A second type of the same message (another type URL): stands for a type the class keeps in its own slot. */
const CLUSTER_STANDIN: XdsResourceType<typeof ClusterLoadAssignmentSchema> = { ...ENDPOINT, typeUrl: `${ENDPOINT.typeUrl}.standin`, shortName: 'EDS-standin' };

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a view has nothing until it is set; then a versioned snapshot with encoded resources', () => {
  const cache = new ResourceCache({ bootId: 'boot1' });
  assert.equal(cache.current('v', ENDPOINT.typeUrl), undefined);
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')]));
  const snap = cache.current('v', ENDPOINT.typeUrl);
  assert.equal(snap?.version, 'boot1.1');
  assert.equal(snap?.resources.get('a')?.any.typeUrl, ENDPOINT.typeUrl);
});

test('versions carry the boot id, so they differ across restarts', () => {
  assert.notEqual(newBootId(), newBootId());
  const before = new ResourceCache();
  const after = new ResourceCache();
  before.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')]));
  after.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')]));
  assert.notEqual(before.current('v', ENDPOINT.typeUrl)?.version, after.current('v', ENDPOINT.typeUrl)?.version);
});

test('each resource is encoded once per version: unchanged tokens keep the bytes and the snapshot', () => {
  const cache = new ResourceCache({ bootId: 'b' });
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')], ['b', '1', cla('b')]));
  const first = cache.current('v', ENDPOINT.typeUrl);
  // Fresh message objects with the same tokens: not encoded again, no new version.
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a', 5)], ['b', '1', cla('b')]));
  assert.equal(cache.current('v', ENDPOINT.typeUrl), first);
  // A new token for identical bytes is no change either.
  cache.setResources('v', ENDPOINT, inputs(['a', '2', cla('a')], ['b', '1', cla('b')]));
  assert.equal(cache.current('v', ENDPOINT.typeUrl), first);
  // A real change gives a new version and new bytes for that resource only.
  cache.setResources('v', ENDPOINT, inputs(['a', '3', cla('a', 1)], ['b', '1', cla('b')]));
  const next = cache.current('v', ENDPOINT.typeUrl);
  assert.equal(next?.version, 'b.2');
  assert.notEqual(next?.resources.get('a'), first?.resources.get('a'));
  assert.equal(next?.resources.get('b'), first?.resources.get('b'));
  // Removing a resource is a change.
  cache.setResources('v', ENDPOINT, inputs(['b', '1', cla('b')]));
  assert.equal(cache.current('v', ENDPOINT.typeUrl)?.version, 'b.3');
});

test('views that get the same message share its encoded bytes', () => {
  const cache = new ResourceCache();
  const shared = cla('a');
  cache.setResources('v1', ENDPOINT, inputs(['a', '1', shared]));
  cache.setResources('v2', ENDPOINT, inputs(['a', 'x', shared]));
  const r1 = cache.current('v1', ENDPOINT.typeUrl)?.resources.get('a');
  assert.ok(r1);
  assert.equal(cache.current('v2', ENDPOINT.typeUrl)?.resources.get('a'), r1);
});

test('a resource keyed under another name than its own is refused', () => {
  const cache = new ResourceCache();
  assert.throws(() => cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('b')])), /keyed "a" is named "b"/);
});

test('a watch is answered at most once, after a change, and can be cancelled', async () => {
  const cache = new ResourceCache({ bootId: 'b' });
  let fired = 0;
  cache.watch('v', ENDPOINT.typeUrl, undefined, () => fired++);
  await tick();
  assert.equal(fired, 0, 'nothing to answer yet');
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')]));
  cache.setResources('v', ENDPOINT, inputs(['a', '2', cla('a', 2)]));
  await tick();
  assert.equal(fired, 1, 'answered once for two changes');

  let immediate = 0;
  cache.watch('v', ENDPOINT.typeUrl, 'b.1', () => immediate++);
  assert.equal(immediate, 0, 'never called synchronously');
  await tick();
  assert.equal(immediate, 1, 'the version already differs: answered at once');

  let cancelled = 0;
  const cancel = cache.watch('v', ENDPOINT.typeUrl, 'b.2', () => cancelled++);
  cancel();
  cache.setResources('v', ENDPOINT, inputs(['a', '3', cla('a', 3)]));
  await tick();
  assert.equal(cancelled, 0);

  let other = 0;
  cache.watch('other-view', ENDPOINT.typeUrl, undefined, () => other++);
  cache.setResources('v', ENDPOINT, inputs(['a', '4', cla('a', 4)]));
  await tick();
  assert.equal(other, 0, 'a change in one view does not wake watches on another');
});

test('dropView forgets every type of the view', () => {
  const cache = new ResourceCache();
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')]));
  cache.setResources('w', ENDPOINT, inputs(['a', '1', cla('a')]));
  cache.dropView('v');
  assert.equal(cache.current('v', ENDPOINT.typeUrl), undefined);
  assert.ok(cache.current('w', ENDPOINT.typeUrl));
});

test('updateResources changes only the named resources; the previous snapshot stays as it was', () => {
  const cache = new ResourceCache({ bootId: 'b' });
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')], ['b', '1', cla('b')], ['c', '1', cla('c')]));
  const first = cache.current('v', ENDPOINT.typeUrl);
  cache.updateResources('v', ENDPOINT, inputs(['a', '2', cla('a', 1)], ['d', '1', cla('d')]), ['c']);
  const next = cache.current('v', ENDPOINT.typeUrl);
  assert.equal(next?.version, 'b.2');
  assert.deepEqual([...(next?.resources.keys() ?? [])].sort(), ['a', 'b', 'd']);
  assert.equal(next?.resources.size, 3);
  assert.equal(next?.resources.get('b'), first?.resources.get('b'));
  assert.notEqual(next?.resources.get('a'), first?.resources.get('a'));
  assert.equal(next?.resources.has('c'), false);
  assert.deepEqual([...(first?.resources.keys() ?? [])].sort(), ['a', 'b', 'c'], 'the old snapshot is immutable');
  // Unchanged tokens, identical bytes and unknown removals are no change.
  cache.updateResources('v', ENDPOINT, inputs(['a', '2', cla('a', 9)], ['b', '7', cla('b')]), ['zzz']);
  assert.equal(cache.current('v', ENDPOINT.typeUrl), next);
});

test('layered snapshots agree with a plain map over many updates', () => {
  const cache = new ResourceCache({ bootId: 'b' });
  const model = new Map<string, number>();
  const initial: [string, string, ClusterLoadAssignment][] = [];
  for (let i = 0; i < 300; i++) {
    initial.push([`r${i}`, '0', cla(`r${i}`)]);
    model.set(`r${i}`, 0);
  }
  cache.setResources('v', ENDPOINT, inputs(...initial));
  for (let step = 1; step <= 500; step++) {
    const name = `r${(step * 37) % 400}`;
    if (step % 5 === 0) {
      cache.updateResources('v', ENDPOINT, inputs(), [name]);
      model.delete(name);
    } else {
      cache.updateResources('v', ENDPOINT, inputs([name, String(step), cla(name, step % 3)]), []);
      model.set(name, step % 3);
    }
    const snap = cache.current('v', ENDPOINT.typeUrl);
    assert.equal(snap?.resources.size, model.size, `step ${step}: size`);
    if (step % 50 === 0) {
      assert.deepEqual([...(snap?.resources.keys() ?? [])].sort(), [...model.keys()].sort(), `step ${step}: names`);
      for (const [n, p] of model) assert.equal(snap?.resources.get(n)?.version, encodedVersion(n, p), `step ${step}: ${n}`);
      // Read again, enough for a heavily read snapshot to be flattened; later updates build on it.
      for (const n of model.keys()) assert.ok(snap?.resources.has(n));
      assert.deepEqual([...(snap?.resources.keys() ?? [])].sort(), [...model.keys()].sort(), `step ${step}: names after flattening`);
    }
  }
});

function encodedVersion(name: string, priority: number): string | undefined {
  const c = new ResourceCache();
  c.setResources('x', ENDPOINT, inputs([name, '1', cla(name, priority)]));
  return c.current('x', ENDPOINT.typeUrl)?.resources.get(name)?.version;
}

test('an aliased view reads its target, is woken by its changes, and by a change of alias', async () => {
  const cache = new ResourceCache({ bootId: 'b' });
  cache.setResources('class1', ENDPOINT, inputs(['a', '1', cla('a')]));
  cache.setResources('class2', ENDPOINT, inputs(['a', '1', cla('a', 2)]));
  cache.alias('v', 'class1');
  assert.equal(cache.current('v', ENDPOINT.typeUrl), cache.current('class1', ENDPOINT.typeUrl));
  let fired = 0;
  cache.watch('v', ENDPOINT.typeUrl, cache.current('v', ENDPOINT.typeUrl)?.version, () => fired++);
  cache.updateResources('class1', ENDPOINT, inputs(['a', '2', cla('a', 1)]), []);
  await tick();
  assert.equal(fired, 1, 'woken by the target');
  cache.watch('v', ENDPOINT.typeUrl, cache.current('v', ENDPOINT.typeUrl)?.version, () => fired++);
  cache.alias('v', 'class2');
  await tick();
  assert.equal(fired, 2, 'woken by the new alias');
  assert.equal(cache.current('v', ENDPOINT.typeUrl), cache.current('class2', ENDPOINT.typeUrl));
  cache.alias('v', undefined);
  assert.equal(cache.current('v', ENDPOINT.typeUrl), undefined);
});

test('a watch with an interest fires only for changes of those names (set or update), or a wholesale change', async () => {
  const cache = new ResourceCache({ bootId: 'b' });
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')], ['b', '1', cla('b')]));
  let fired = 0;
  cache.watch('v', ENDPOINT.typeUrl, cache.current('v', ENDPOINT.typeUrl)?.version, () => fired++, new Set(['a']));
  cache.updateResources('v', ENDPOINT, inputs(['b', '2', cla('b', 1)]), []);
  cache.setResources('v', ENDPOINT, inputs(['a', '1', cla('a')], ['b', '3', cla('b', 2)], ['c', '1', cla('c')]));
  await tick();
  assert.equal(fired, 0, 'b and c are not of interest');
  assert.deepEqual(cache.watchStats, { fired: 0, skipped: 2 });
  cache.setResources('v', ENDPOINT, inputs(['b', '3', cla('b', 2)], ['c', '1', cla('c')]));
  await tick();
  assert.equal(fired, 1, 'removing a fires');

  let aliased = 0;
  cache.setResources('w', ENDPOINT, inputs(['a', '9', cla('a', 9)]));
  cache.watch('v', ENDPOINT.typeUrl, cache.current('v', ENDPOINT.typeUrl)?.version, () => aliased++, new Set(['zzz']));
  cache.alias('v', 'w');
  await tick();
  assert.equal(aliased, 1, 'an alias replaces the view wholesale: every watch fires');
});

test('aliasType: one type of a class reads a shared slot, its views are woken by that slot, other types stay the class’s own', async () => {
  const cache = new ResourceCache({ bootId: 'b' });
  cache.setResources('shared', ENDPOINT, inputs(['a', '1', cla('a')]));
  cache.setResources('class1', ENDPOINT, inputs(['own', '1', cla('own')]));
  cache.setResources('class1', CLUSTER_STANDIN, inputs(['c', '1', cla('c')]));
  cache.alias('v', 'class1');
  let fired = 0;
  cache.watch('v', ENDPOINT.typeUrl, cache.current('v', ENDPOINT.typeUrl)?.version, () => fired++);
  cache.aliasType('class1', ENDPOINT.typeUrl, 'shared');
  await tick();
  assert.equal(fired, 1, 'the type alias changes the version the view reads: its watch fires');
  assert.equal(cache.current('v', ENDPOINT.typeUrl), cache.current('shared', ENDPOINT.typeUrl), 'the very same snapshot');
  assert.equal(cache.current('class1', ENDPOINT.typeUrl), cache.current('shared', ENDPOINT.typeUrl));
  assert.deepEqual([...(cache.current('v', CLUSTER_STANDIN.typeUrl)?.resources.keys() ?? [])], ['c'], 'other types: the class’s own slot');

  const interested: string[] = [];
  cache.watch('v', ENDPOINT.typeUrl, cache.current('v', ENDPOINT.typeUrl)?.version, () => interested.push('a'), new Set(['a']));
  cache.watch('v', CLUSTER_STANDIN.typeUrl, cache.current('v', CLUSTER_STANDIN.typeUrl)?.version, () => interested.push('cluster'));
  cache.updateResources('shared', ENDPOINT, inputs(['b', '1', cla('b')]), []);
  await tick();
  assert.deepEqual(interested, [], 'a change of names the watch does not hold, and of another type, wakes nothing');
  cache.updateResources('shared', ENDPOINT, inputs(['a', '2', cla('a', 3)]), []);
  await tick();
  assert.deepEqual(interested, ['a'], 'a change in the shared slot reaches the views of the class through both aliases');

  cache.dropView('class1');
  assert.equal(cache.current('v', ENDPOINT.typeUrl)?.resources.get('a')?.name, 'a', 'dropping the class keeps the shared slot');
  cache.aliasType('class1', ENDPOINT.typeUrl, undefined);
  assert.equal(cache.current('v', ENDPOINT.typeUrl), undefined, 'without the type alias the (dropped) class has nothing');
});
