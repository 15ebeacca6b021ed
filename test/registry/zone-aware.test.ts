/**
 * Rule L-11 (DestinationRule `loadBalancer.zoneAwareLbSetting`) through the `endpoints` report:
 * priorities by region only, the failover `to` region at 1, no outlier detection needed, and
 * `enabled: false` switching locality handling off. The tables are Istio's eds_test.go
 * TestEdsZoneAwareDestinationRule, loadbalancer_test.go TestApplyZoneAwareLoadBalancer and
 * tests/integration/pilot/zone_aware_lb_test.go (expectedDestinationHostPriorities and its cases).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterReport } from '../../src/status/endpoints-report.js';
import { cluster, destinationRule, endpoints, meshLocalityConfig, serviceEntry, workloadEntry, yamlDocs } from '../support/mesh.js';

const HOST = 'zoneaware.example.com';
const CLUSTER = `outbound|80||${HOST}`;

/** WorkloadEntries `address@locality` (optionally `address@locality@version`). */
function entries(...specs: readonly string[]): string[] {
  return specs.map((s, i) => {
    const [address = '', locality = '', version = 'v1'] = s.split('@');
    return workloadEntry(`we-${i}`, 'default', `address: ${address}\nlocality: ${locality}\nlabels: {app: zoneaware, version: ${version}}`);
  });
}

function rule(trafficPolicy: string, more = ''): string {
  return destinationRule('zone-aware', 'default', HOST, `trafficPolicy: ${trafficPolicy}\n${more}`);
}

const OUTLIER = 'outlierDetection: {interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}';

function view(docs: readonly string[], clientLocality: string, explain = false): ClusterReport {
  return cluster(endpoints(yamlDocs(serviceEntry('zoneaware', 'default', HOST), ...docs), { client: { namespace: 'default', locality: clientLocality }, explain }), CLUSTER);
}

/** address -> priority, as sent. */
function priorities(c: ClusterReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of c.localities) for (const e of g.endpoints) out[e.address] = g.priority;
  return out;
}

test('L-11: zone-aware priorities by region, failover region at 1, a third region at 2 (eds_test TestEdsZoneAwareDestinationRule)', () => {
  const dr = rule(`{${OUTLIER}, loadBalancer: {zoneAwareLbSetting: {enabled: true, failover: [{from: region1, to: region2}]}}}`);
  const c = view([...entries('10.0.1.1@region1/zone1/subzone1', '10.0.1.2@region1/zone2/subzone1', '10.0.2.1@region2/zone1/subzone1', '10.0.3.1@region3/zone1/subzone1'), dr], 'region1/zone1/subzone1');
  assert.deepEqual(priorities(c), { '10.0.1.1': 0, '10.0.1.2': 0, '10.0.2.1': 1, '10.0.3.1': 2 });
});

// loadbalancer_test.go buildFakeCluster: localities region1/zone1/subzone1 (twice), .../subzone2,
// .../subzone3, region1/zone2, region2, region3; proxy region1/zone1/subzone1. Istio's unit test
// applies the setting directly, so the rules here have no outlier detection: none is needed.
const FAKE_CLUSTER = entries(
  '10.1.0.1@region1/zone1/subzone1',
  '10.1.0.2@region1/zone1/subzone1',
  '10.1.0.3@region1/zone1/subzone2',
  '10.1.0.4@region1/zone1/subzone3',
  '10.1.0.5@region1/zone2',
  '10.1.0.6@region2',
  '10.1.0.7@region3',
);
const PROXY = 'region1/zone1/subzone1';

function fakeClusterPriorities(zoneAwareLbSetting: string): number[] {
  const p = priorities(view([...FAKE_CLUSTER, rule(`{loadBalancer: {zoneAwareLbSetting: ${zoneAwareLbSetting}}}`)], PROXY));
  return ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6', '10.1.0.7'].map((a) => p[a] ?? -1);
}

test('L-11: "zone-aware without explicit failover still region-buckets" -> [0,0,0,0,0,1,1] (TestApplyZoneAwareLoadBalancer)', () => {
  assert.deepEqual(fakeClusterPriorities('{enabled: true}'), [0, 0, 0, 0, 0, 1, 1]);
});

test('L-11: "zone-aware Failover keeps same-region endpoints at priority 0" -> [0,0,0,0,0,1,2] (TestApplyZoneAwareLoadBalancer)', () => {
  assert.deepEqual(fakeClusterPriorities('{failover: [{from: region1, to: region2}]}'), [0, 0, 0, 0, 0, 1, 2]);
});

test('L-11: "zone-aware Failover with no matching rule compacts to two priorities" -> [0,0,0,0,0,1,1] (TestApplyZoneAwareLoadBalancer)', () => {
  assert.deepEqual(fakeClusterPriorities('{failover: [{from: region9, to: region2}]}'), [0, 0, 0, 0, 0, 1, 1]);
});

test('L-11: only the first failover rule whose from is the client region counts', () => {
  assert.deepEqual(fakeClusterPriorities('{failover: [{from: region1, to: region3}, {from: region1, to: region2}]}'), [0, 0, 0, 0, 0, 2, 1]);
});

test('L-11: "zone-aware FailoverPriority delegates to label-based priority": label tiers first, regions inside each tier (TestApplyZoneAwareLoadBalancer)', () => {
  const dr = rule('{loadBalancer: {zoneAwareLbSetting: {failoverPriority: [version]}}}');
  const c = cluster(
    endpoints(yamlDocs(serviceEntry('zoneaware', 'default', HOST), ...entries('10.2.0.1@region1/zone1@v1', '10.2.0.2@region2/zone1@v1', '10.2.0.3@region1/zone2@v2', '10.2.0.4@region2/zone1@v2'), dr), {
      client: { namespace: 'default', locality: 'region1/zone1', labels: { version: 'v1' } },
    }),
    CLUSTER,
  );
  assert.deepEqual(priorities(c), { '10.2.0.1': 0, '10.2.0.2': 1, '10.2.0.3': 2, '10.2.0.4': 3 });
});

// tests/integration/pilot/zone_aware_lb_test.go: expectedDestinationHostPriorities gives the
// client's region 0 and any other region 1 (compacted: 0 when the client's region has none), and 0
// to everything when zone-aware is disabled. Local "region/zone/subzone", remote "notregion/...".
const LOCAL = 'region/zone/subzone';
const INTEGRATION_CASES: ReadonlyArray<{ name: string; workloads: readonly string[]; dr: 'enabled' | 'disabled' | 'absent' | 'enabled+outlier'; want: Record<string, number> }> = [
  { name: 'OneSourceEndpointOneDestinationEndpointSameLocality', workloads: ['10.3.0.1@region/zone/subzone'], dr: 'enabled', want: { '10.3.0.1': 0 } },
  {
    name: 'OneSourceEndpointTwoDestinationLocalitiesSameRegionOverflows',
    workloads: ['10.3.0.1@region/zone/subzone', '10.3.0.2@region/zone2/subzone'],
    dr: 'enabled',
    want: { '10.3.0.1': 0, '10.3.0.2': 0 },
  },
  {
    name: 'TwoSourceZonesTwoDestinationEndpointsDifferentSourceZones',
    workloads: ['10.3.0.1@region/zone3/subzone', '10.3.0.2@region/zone4/subzone'],
    dr: 'enabled',
    want: { '10.3.0.1': 0, '10.3.0.2': 0 },
  },
  {
    name: 'CrossRegionEndpointIgnoredWhileSameRegionHealthy',
    workloads: ['10.3.0.1@region/zone/subzone', '10.3.0.2@notregion/notzone/notsubzone'],
    dr: 'enabled',
    want: { '10.3.0.1': 0, '10.3.0.2': 1 },
  },
  {
    name: 'ZoneAwareDisabledCrossRegionEndpointEqualPriority',
    workloads: ['10.3.0.1@region/zone/subzone', '10.3.0.2@notregion/notzone/notsubzone'],
    dr: 'disabled',
    want: { '10.3.0.1': 0, '10.3.0.2': 0 },
  },
  {
    name: 'MeshDefaultLocalityLBCrossRegionEndpointEqualPriority',
    workloads: ['10.3.0.1@region/zone/subzone', '10.3.0.2@notregion/notzone/notsubzone'],
    dr: 'absent',
    want: { '10.3.0.1': 0, '10.3.0.2': 0 },
  },
  {
    name: 'CrossRegionEndpointIgnoredWhenSameRegionDifferentZoneAvailable',
    workloads: ['10.3.0.1@region/zone2/subzone', '10.3.0.2@notregion/notzone/notsubzone'],
    dr: 'enabled',
    want: { '10.3.0.1': 0, '10.3.0.2': 1 },
  },
  { name: 'CrossRegionEndpointUsedWhenSameRegionAbsent', workloads: ['10.3.0.2@notregion/notzone/notsubzone'], dr: 'enabled', want: { '10.3.0.2': 0 } },
  {
    name: 'CrossRegionEndpointUsedAfterSameRegionEjection',
    workloads: ['10.99.99.99@region/zone/subzone', '10.3.0.2@notregion/notzone/notsubzone'],
    dr: 'enabled+outlier',
    want: { '10.99.99.99': 0, '10.3.0.2': 1 },
  },
];

for (const c of INTEGRATION_CASES) {
  test(`L-11: ${c.name} -> ${JSON.stringify(c.want)} (zone_aware_lb_test.go)`, () => {
    const policies: Record<typeof c.dr, string | undefined> = {
      enabled: '{connectionPool: {tcp: {connectTimeout: 250ms}}, loadBalancer: {zoneAwareLbSetting: {enabled: true, minClusterSize: 1}}}',
      disabled: '{connectionPool: {tcp: {connectTimeout: 250ms}}, loadBalancer: {zoneAwareLbSetting: {enabled: false}}}',
      absent: '{connectionPool: {tcp: {connectTimeout: 250ms}}}',
      'enabled+outlier': `{connectionPool: {tcp: {connectTimeout: 250ms}}, outlierDetection: {interval: 1s, baseEjectionTime: 10m, maxEjectionPercent: 100}, loadBalancer: {zoneAwareLbSetting: {enabled: true, minClusterSize: 1}}}`,
    };
    const policy = policies[c.dr];
    const docs = [...entries(...c.workloads), ...(policy ? [rule(policy)] : [])];
    assert.deepEqual(priorities(view(docs, LOCAL)), c.want);
  });
}

test('L-11: zone-aware needs no outlier detection, unlike localityLbSetting failover (L-2)', () => {
  const workloads = entries('10.4.0.1@region1/zone1', '10.4.0.2@region2/zone1');
  assert.deepEqual(priorities(view([...workloads, rule('{loadBalancer: {localityLbSetting: {failover: [{from: region1, to: region2}]}}}')], 'region1/zone1')), {
    '10.4.0.1': 0,
    '10.4.0.2': 0,
  });
  assert.deepEqual(priorities(view([...workloads, rule('{loadBalancer: {zoneAwareLbSetting: {failover: [{from: region1, to: region2}]}}}')], 'region1/zone1')), {
    '10.4.0.1': 0,
    '10.4.0.2': 1,
  });
});

test('L-11: enabled: false switches locality handling off for the cluster, whatever the mesh localityLbSetting and outlier detection say', () => {
  const workloads = entries('10.5.0.1@region1/zone1/subzone1', '10.5.0.2@region1/zone2', '10.5.0.3@region2/zone1');
  const mesh = meshLocalityConfig('{failover: [{from: region1, to: region2}]}');
  const withMesh = priorities(view([mesh, ...workloads, rule(`{${OUTLIER}}`)], 'region1/zone1/subzone1'));
  assert.deepEqual(withMesh, { '10.5.0.1': 0, '10.5.0.2': 1, '10.5.0.3': 2 }, 'the mesh setting applies without a zone-aware rule');
  const off = priorities(view([mesh, ...workloads, rule(`{${OUTLIER}, loadBalancer: {zoneAwareLbSetting: {enabled: false}}}`)], 'region1/zone1/subzone1'));
  assert.deepEqual(off, { '10.5.0.1': 0, '10.5.0.2': 0, '10.5.0.3': 0 });
  const distribute = meshLocalityConfig("{distribute: [{from: 'region1/*', to: {'region1/*': 90, 'region2/*': 10}}]}");
  const weights = view([distribute, ...workloads, rule('{loadBalancer: {zoneAwareLbSetting: {enabled: false}}}')], 'region1/zone1/subzone1').localities.map((g) => g.weight);
  assert.deepEqual(weights, [1, 1, 1], 'no distribute weights either');
});

test('L-11: a port-level zoneAwareLbSetting applies to its port only; a subset setting to its subset', () => {
  const workloads = entries('10.6.0.1@region1/zone1', '10.6.0.2@region2/zone1@v2');
  const dr = rule(
    '{portLevelSettings: [{port: {number: 80}, loadBalancer: {zoneAwareLbSetting: {enabled: true}}}]}',
    'subsets: [{name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {zoneAwareLbSetting: {enabled: false}}}}]',
  );
  const r = endpoints(yamlDocs(serviceEntry('zoneaware', 'default', HOST), ...workloads, dr), { client: { namespace: 'default', locality: 'region1/zone1' } });
  assert.deepEqual(priorities(cluster(r, CLUSTER)), { '10.6.0.1': 0, '10.6.0.2': 1 });
  assert.deepEqual(priorities(cluster(r, `outbound|80|v2|${HOST}`)), { '10.6.0.2': 0 });
});

test('L-11: endpoints --explain says which setting decided, and from which object', () => {
  const workloads = entries('10.7.0.1@region1/zone1', '10.7.0.2@region2/zone1');
  const decided = (docs: readonly string[]) => view([...workloads, ...docs], 'region1/zone1', true).localityLb;
  assert.deepEqual(
    { ...decided([rule('{loadBalancer: {zoneAwareLbSetting: {enabled: true}}}')]), detail: undefined },
    { setting: 'zoneAwareLbSetting', source: 'DestinationRule/default/zone-aware', detail: undefined },
  );
  assert.match(decided([rule('{loadBalancer: {zoneAwareLbSetting: {enabled: false}}}')])?.detail ?? '', /enabled: false.*off/);
  assert.equal(decided([rule(`{${OUTLIER}, loadBalancer: {localityLbSetting: {enabled: true}}}`)])?.setting, 'localityLbSetting');
  assert.deepEqual({ ...decided([]), detail: undefined }, { setting: 'mesh', source: 'MeshConfig', detail: undefined });
  assert.match(decided([])?.detail ?? '', /no outlierDetection/);
  assert.equal(view(workloads, 'region1/zone1').localityLb, undefined, 'only with --explain');
});
