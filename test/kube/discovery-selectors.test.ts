/**
 * MeshConfig `discoverySelectors` (Istio's semantics): the selector rules (matchLabels and
 * matchExpressions ANDed, selectors ORed, `{}` selects all, none = every namespace), their
 * validation, and the cluster source against the fake Kubernetes API server (the project's one TEST
 * DOUBLE): only discovered namespaces' pods are read, a namespace label change or a MeshConfig change
 * adds or removes a namespace's objects at once, and the collections are still listed cluster-wide.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../src/lib/log/logger.js';
import { validateResource } from '../../src/model/config/validation/index.js';
import { startClusterSource } from '../../src/sources/kube/cluster-source.js';
import { DiscoveryFilter, labelSelectorMatches } from '../../src/sources/kube/discovery-filter.js';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver.js';
import { kubeNamespace, kubePod, seedable } from '../support/kube-objects.js';
import { objectsFrom, registryFrom } from '../support/mesh.js';

let kube: FakeKubeApiServer;
before(async () => {
  kube = await FakeKubeApiServer.start();
});
after(async () => {
  await kube.close();
});

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await sleep(10);
  }
}

test('a label selector: matchLabels and every matchExpressions operator ANDed; {} selects everything', () => {
  const labels = { team: 'a', tier: 'gold' };
  assert.equal(labelSelectorMatches({}, labels), true);
  assert.equal(labelSelectorMatches({ matchLabels: { team: 'a' } }, labels), true);
  assert.equal(labelSelectorMatches({ matchLabels: { team: 'a', tier: 'silver' } }, labels), false);
  assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }, labels), true);
  assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, labels), false);
  assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['x'] }] }, labels), true, 'NotIn holds for a missing label');
  assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'team', operator: 'Exists' }] }, labels), true);
  assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, labels), false);
  assert.equal(labelSelectorMatches({ matchLabels: { team: 'a' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels), false, 'ANDed');
});

test('discovery: no selectors discover every namespace (also unread ones); selectors are ORed; changes name the namespaces that entered or left', () => {
  const filter = new DiscoveryFilter();
  assert.equal(filter.discovers('never-read'), true);
  assert.deepEqual(filter.namespace('a', { mesh: 'on' }), { entered: [], left: [] });
  assert.deepEqual(filter.namespace('b', {}), { entered: [], left: [] });
  const change = filter.setSelectors([{ matchLabels: { mesh: 'on' } }, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] }], ['a', 'b', 'no-object']);
  assert.deepEqual(change, { entered: [], left: ['b', 'no-object'] });
  assert.equal(filter.discovers('a'), true);
  assert.equal(filter.discovers('no-object'), false, 'with selectors, a namespace never read is not discovered');
  assert.deepEqual(filter.namespace('b', { tier: 'gold' }), { entered: ['b'], left: [] }, 'the second selector matches: ORed');
  assert.deepEqual(filter.namespace('b', undefined), { entered: [], left: ['b'] }, 'a deleted namespace leaves');
  assert.deepEqual(filter.setSelectors([], ['a', 'no-object']), { entered: ['no-object'], left: [] });
});

test('MeshConfig discoverySelectors are validated with the field and what is wrong', () => {
  const problems = (discoverySelectors: unknown) =>
    validateResource({ apiVersion: 'meshbridge.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec: { discoverySelectors } }).map((p) => `${p.severity} ${p.path.join('.')}: ${p.message}`);
  assert.deepEqual(problems([{ matchLabels: { a: 'b' } }, { matchExpressions: [{ key: 'k', operator: 'Exists' }] }, {}]), []);
  const bad = problems([{ matchExpressions: [{ key: 'k', operator: 'Equals', values: ['x'] }, { key: 'k', operator: 'In' }, { key: '', operator: 'Exists', values: ['x'] }] }, 'team=a']);
  assert.ok(bad.some((p) => /error spec\.discoverySelectors\.0\.matchExpressions\.0\.operator: operator "Equals" is not one of In, NotIn, Exists, DoesNotExist/.test(p)), bad.join('\n'));
  assert.ok(bad.some((p) => /error spec\.discoverySelectors\.0\.matchExpressions\.1\.values: values must not be empty when operator is In/.test(p)), bad.join('\n'));
  assert.ok(bad.some((p) => /error spec\.discoverySelectors\.0\.matchExpressions\.2\.key: key must be a label key/.test(p)), bad.join('\n'));
  assert.ok(bad.some((p) => /error spec\.discoverySelectors\.0\.matchExpressions\.2\.values: values must be empty when operator is Exists/.test(p)), bad.join('\n'));
  assert.ok(bad.some((p) => /error spec\.discoverySelectors\.1: .*must be a label selector/.test(p)), bad.join('\n'));
});

const meshConfig = (selectors: string): string => `apiVersion: meshbridge.io/v1alpha1
kind: MeshConfig
metadata: {name: mesh}
spec:
  discoverySelectors: ${selectors}
`;

test('the cluster source reads only the discovered namespaces\' pods; a namespace label change or a MeshConfig change adds or removes them at once', async () => {
  kube.store.seed(seedable(kubeNamespace('team-a', { mesh: 'on' })));
  kube.store.seed(seedable(kubeNamespace('team-b', {})));
  kube.store.seed(seedable(kubePod('pa', { ns: 'team-a', ip: '10.9.0.1' })));
  kube.store.seed(seedable(kubePod('pb', { ns: 'team-b', ip: '10.9.0.2' })));
  const registry = registryFrom(meshConfig(`[{matchLabels: {mesh: "on"}}, {matchExpressions: [{key: tier, operator: In, values: [gold]}]}]`));
  const has = (ns: string, name: string): boolean => registry.workloads.get(`Pod/${ns}/${name}`) !== undefined;
  kube.clearRequests();
  const source = await startClusterSource({ kubeconfig: kube.writeKubeconfig(join(mkdtempSync(join(tmpdir(), 'mb-disc-')), 'kubeconfig')) }, registry, silent);
  try {
    assert.equal(has('team-a', 'pa'), true, 'team-a is selected by matchLabels');
    assert.equal(has('team-b', 'pb'), false, 'team-b is selected by no selector');
    assert.ok(
      kube.requests((r) => r.verb === 'list' && r.path.endsWith('/pods')).every((r) => r.path === '/api/v1/pods'),
      'pods are still listed cluster-wide: a namespace entering discovery needs no new list',
    );

    kube.store.seed(seedable(kubeNamespace('team-b', { tier: 'gold' })));
    await until(() => has('team-b', 'pb'), 'team-b labelled tier=gold enters');
    kube.store.seed(seedable(kubeNamespace('team-b', { tier: 'silver' })));
    await until(() => !has('team-b', 'pb'), 'team-b relabelled leaves');
    kube.store.seed(seedable(kubePod('pb2', { ns: 'team-b', ip: '10.9.0.3' })));
    await sleep(200);
    assert.equal(has('team-b', 'pb2'), false, 'a new pod in an undiscovered namespace is not read');

    registry.inputs.MeshConfig.upsert(...objectsFrom(meshConfig('[]')).filter((o) => o.kind === 'MeshConfig'));
    await until(() => has('team-b', 'pb') && has('team-b', 'pb2'), 'no selectors: every namespace');
    registry.inputs.MeshConfig.upsert(...objectsFrom(meshConfig(`[{matchLabels: {tier: silver}}]`)).filter((o) => o.kind === 'MeshConfig'));
    await until(() => !has('team-a', 'pa') && has('team-b', 'pb'), 'new selectors: team-a leaves');
  } finally {
    await source.stop();
    for (const [ns, name] of [['team-a', 'pa'], ['team-b', 'pb'], ['team-b', 'pb2']] as const) kube.store.unseed('v1', 'Pod', ns, name);
  }
});
