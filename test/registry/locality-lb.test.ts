/**
 * Rules L-* (locality priorities and weights relative to the client), through the `endpoints`
 * report and the pure functions (loadbalancer_test.go TestApplyLocalitySetting, eds_test.go).
 *
 * Not covered here: L-8 (`locality_weighted_lb_config` is a cluster field the report does not show);
 * the `zoneAwareLbSetting` branch of L-1 and L-11 are in zone-aware.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, endpoints, meshLocalityConfig, workloadEntry, yamlDocs, type ReportOptions } from '../support/mesh.js';
import { lbPriority, localityMatches } from '../../src/registry/view/locality-lb.js';
import { parseLocality } from '../../src/model/mesh/locality.js';
import type { ClusterReport } from '../../src/status/endpoints-report.js';

const LOC = 'outbound|80||loc.example.com';
const CLIENT: ReportOptions = { client: { namespace: 'ns1', locality: 'region1/zone1/subzone1' } };

const entry = (annotations = '') => `
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata:
    name: loc
    namespace: ns1
    ${annotations ? `annotations: ${annotations}` : ''}
  spec:
    hosts: [loc.example.com]
    location: MESH_INTERNAL
    ports: [{number: 80, name: http, protocol: HTTP}]
    resolution: STATIC
    workloadSelector:
      labels: {app: loc}
`;

/** The LOC objects: e1..e5 in region1/zone1/subzone1, .../subzone2, region1/zone2, region2, region3. */
const e = (n: number, locality: string, extra = '') =>
  workloadEntry(`e${n}`, 'ns1', `address: 10.0.0.${n}\nlocality: ${locality}\nlabels: {app: loc${extra}}`);
const FIVE = [
  e(1, 'region1/zone1/subzone1'),
  e(2, 'region1/zone1/subzone2'),
  e(3, 'region1/zone2/subzone1'),
  e(4, 'region2/zone1/subzone1'),
  e(5, 'region3/zone1/subzone1'),
];

function dr(trafficPolicy: string): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: loc, namespace: ns1}
    spec:
      host: loc.example.com
      trafficPolicy: ${trafficPolicy}
  `;
}
const OUTLIER = '{outlierDetection: {interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}}';

const meshConfig = meshLocalityConfig;

/** `locality priority weight: addresses` per group, in the order sent. */
function groups(c: ClusterReport): string[] {
  return c.localities.map((g) => `${g.locality} p${g.priority} w${g.weight}: ${g.endpoints.map((x) => x.address).join(',')}`);
}
function priorities(c: ClusterReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of c.localities) for (const x of g.endpoints) out[x.address] = g.priority;
  return out;
}

test('L-2: without outlier detection every group stays at priority 0, although locality LB is enabled', () => {
  const c = cluster(endpoints(yamlDocs(entry(), ...FIVE), CLIENT), LOC);
  assert.deepEqual(Object.values(priorities(c)), [0, 0, 0, 0, 0]);
});

test('L-2, L-4, L-6: with outlier detection, default failover: same subzone 0, zone 1, region 2, other regions 3 (compacted)', () => {
  const c = cluster(endpoints(yamlDocs(entry(), ...FIVE, dr(OUTLIER)), CLIENT), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 1, '10.0.0.3': 2, '10.0.0.4': 3, '10.0.0.5': 3 });
});

test('L-4: lbPriority compares region, zone and subzone exactly; an empty client locality equals empty parts', () => {
  const me = parseLocality('region1/zone1/subzone1');
  assert.equal(lbPriority(me, parseLocality('region1/zone1/subzone1')), 0);
  assert.equal(lbPriority(me, parseLocality('region1/zone1/subzone2')), 1);
  assert.equal(lbPriority(me, parseLocality('region1/zone2/subzone1')), 2);
  assert.equal(lbPriority(me, parseLocality('region2/zone1/subzone1')), 3);
  assert.equal(lbPriority(me, parseLocality('Region1/zone1/subzone1')), 3);
  assert.equal(lbPriority(parseLocality(''), parseLocality('')), 0);
  assert.equal(lbPriority(parseLocality(''), parseLocality('region1')), 3);
});

test('L-4: a client without locality: only endpoints without locality are local', () => {
  const c = cluster(endpoints(yamlDocs(entry(), e(1, 'region1/zone1/subzone1'), workloadEntry('bare', 'ns1', 'address: 10.0.0.9\nlabels: {app: loc}'), dr(OUTLIER))), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.9': 0, '10.0.0.1': 1 });
});

test('L-5: a failover rule (region1 -> region2) keeps region2 at 3 and pushes other regions to 4 ("Failover: all priorities")', () => {
  const setting = meshConfig('{failover: [{from: region1, to: region2}]}');
  const c = cluster(endpoints(yamlDocs(setting, entry(), ...FIVE, e(6, 'region2'), dr(OUTLIER)), CLIENT), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 1, '10.0.0.3': 2, '10.0.0.4': 3, '10.0.0.6': 3, '10.0.0.5': 4 });
});

test('L-5: only the first failover rule whose from is the client region counts', () => {
  const setting = meshConfig('{failover: [{from: region1, to: region3}, {from: region1, to: region2}]}');
  const c = cluster(endpoints(yamlDocs(setting, entry(), e(4, 'region2/zone1/subzone1'), e(5, 'region3/zone1/subzone1'), dr(OUTLIER)), CLIENT), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.5': 0, '10.0.0.4': 1 });
});

test('L-5, L-6: an endpoint without locality fails over like a foreign region ("priorities with some nil localities")', () => {
  const setting = meshConfig('{failover: [{from: region1, to: region2}]}');
  const c = cluster(
    endpoints(yamlDocs(setting, entry(), e(2, 'region1/zone1/subzone2'), workloadEntry('bare', 'ns1', 'address: 10.0.0.9\nlabels: {app: loc}'), e(4, 'region2/zone1/subzone2'), dr(OUTLIER)), CLIENT),
    LOC,
  );
  assert.deepEqual(priorities(c), { '10.0.0.9': 2, '10.0.0.2': 0, '10.0.0.4': 1 });
});

test('L-6: priorities are made contiguous from 0 ("priorities with gaps": raw {1,3} -> {0,1})', () => {
  const c = cluster(endpoints(yamlDocs(entry(), e(2, 'region1/zone1/subzone2'), e(4, 'region2/zone1/subzone2'), dr(OUTLIER)), CLIENT), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.2': 0, '10.0.0.4': 1 });
});

test('L-1: a DestinationRule localityLbSetting with enabled: false turns locality LB off, outlier detection or not', () => {
  const c = cluster(
    endpoints(yamlDocs(entry(), ...FIVE, dr('{outlierDetection: {interval: 1s}, loadBalancer: {localityLbSetting: {enabled: false}}}')), CLIENT),
    LOC,
  );
  assert.deepEqual(Object.values(priorities(c)), [0, 0, 0, 0, 0]);
});

test('L-1: a mesh localityLbSetting with enabled: false turns failover off; a DestinationRule setting replaces the mesh one', () => {
  const off = meshConfig('{enabled: false}');
  assert.deepEqual(Object.values(priorities(cluster(endpoints(yamlDocs(off, entry(), ...FIVE, dr(OUTLIER)), CLIENT), LOC))), [0, 0, 0, 0, 0]);
  const replaced = cluster(
    endpoints(
      yamlDocs(off, entry(), ...FIVE, dr('{outlierDetection: {interval: 1s}, loadBalancer: {localityLbSetting: {enabled: true}}}')),
      CLIENT,
    ),
    LOC,
  );
  assert.deepEqual(priorities(replaced), { '10.0.0.1': 0, '10.0.0.2': 1, '10.0.0.3': 2, '10.0.0.4': 3, '10.0.0.5': 3 });
});

test('L-1, L-2: the port-level and subset policies decide (outlier detection only on the subset enables failover there)', () => {
  const c = endpoints(
    yamlDocs(
      entry(),
      e(1, 'region1/zone1/subzone1', ', version: v1'),
      e(4, 'region2/zone1/subzone1', ', version: v1'),
      `
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: {name: loc, namespace: ns1}
      spec:
        host: loc.example.com
        subsets:
        - name: v1
          labels: {version: v1}
          trafficPolicy: {outlierDetection: {interval: 1s}}
      `,
    ),
    CLIENT,
  );
  assert.deepEqual(priorities(cluster(c, LOC)), { '10.0.0.1': 0, '10.0.0.4': 0 });
  assert.deepEqual(priorities(cluster(c, 'outbound|80|v1|loc.example.com')), { '10.0.0.1': 0, '10.0.0.4': 1 });
});

test('L-3: distribute shares each percentage between the matched groups by weight (LOC-06), unmatched groups are emptied', () => {
  const c = cluster(
    endpoints(
      yamlDocs(
        entry(),
        e(1, 'region1/zone1/subzone1'),
        e(2, 'region1/zone1/subzone2'),
        e(4, 'region2/zone1/subzone1'),
        e(5, 'region3/zone1/subzone1'),
        dr('{loadBalancer: {localityLbSetting: {distribute: [{from: "region1/zone1/*", to: {"region1/zone1/*": 80, "region2/*": 20}}]}}}'),
      ),
      CLIENT,
    ),
    LOC,
  );
  assert.deepEqual(groups(c), [
    'region1/zone1/subzone1 p0 w40: 10.0.0.1',
    'region1/zone1/subzone2 p0 w40: 10.0.0.2',
    'region2/zone1/subzone1 p0 w20: 10.0.0.4',
    'region3/zone1/subzone1 p0 w1: ',
  ]);
});

test('L-3: "distribution between subzones": two groups of one locality share 80% as 40 and 40; the weights round up', () => {
  // Two groups with the same parsed locality: the exact strings differ (E-ATTR-4 drops a fourth part).
  const c = cluster(
    endpoints(
      yamlDocs(
        meshConfig('{distribute: [{from: region1/zone1/subzone1, to: {"region1/zone1/subzone1": 80, "region1/zone1/subzone2": 15, "region1/zone1/subzone3": 5}}]}'),
        entry(),
        e(1, 'region1/zone1/subzone1'),
        e(2, 'region1/zone1/subzone1/rack-b'),
        e(3, 'region1/zone1/subzone2'),
        e(4, 'region1/zone1/subzone3'),
        e(5, 'region1/zone2'),
        e(6, 'region2'),
      ),
      CLIENT,
    ),
    LOC,
  );
  assert.deepEqual(
    c.localities.map((g) => [g.locality, g.endpoints.length > 0 ? g.weight : 0]),
    [
      ['region1/zone1/subzone1', 40],
      ['region1/zone1/subzone1/rack-b', 40],
      ['region1/zone1/subzone2', 15],
      ['region1/zone1/subzone3', 5],
      ['region1/zone2', 0],
      ['region2', 0],
    ],
  );
  const thirds = cluster(
    endpoints(yamlDocs(meshConfig('{distribute: [{from: "*", to: {"region1/*": 100}}]}'), entry(), e(1, 'region1/a'), e(2, 'region1/b'), e(3, 'region1/c')), CLIENT),
    LOC,
  );
  // 100 / 3 rounds up (distribute weights must add up to 100: Istio's validation).
  assert.deepEqual(thirds.localities.map((g) => g.weight), [34, 34, 34]);
});

test('L-3: distribute applies without outlier detection, and no failover priorities are assigned with it', () => {
  const c = cluster(
    endpoints(yamlDocs(entry(), ...FIVE, dr(`{outlierDetection: {interval: 1s}, loadBalancer: {localityLbSetting: {distribute: [{from: "region1/*", to: {"*": 100}}]}}}`)), CLIENT),
    LOC,
  );
  assert.deepEqual(Object.values(priorities(c)), [0, 0, 0, 0, 0]);
  assert.deepEqual(c.localities.map((g) => g.weight), [20, 20, 20, 20, 20]);
});

test('L-3: no distribute rule matching the client leaves the groups as they are', () => {
  const c = cluster(endpoints(yamlDocs(entry(), ...FIVE, dr('{loadBalancer: {localityLbSetting: {distribute: [{from: "region9/*", to: {"region1/*": 100}}]}}}')), CLIENT), LOC);
  assert.deepEqual(c.localities.map((g) => [g.weight, g.endpoints.length]), [[1, 1], [1, 1], [1, 1], [1, 1], [1, 1]]);
});

test('L-3: locality patterns: "*" matches anything, empty zone/subzone are wildcards, an empty region matches only an empty region', () => {
  const l = parseLocality('region1/zone1/subzone1');
  assert.equal(localityMatches(l, '*'), true);
  assert.equal(localityMatches(l, 'region1'), true);
  assert.equal(localityMatches(l, 'region1/*'), true);
  assert.equal(localityMatches(l, 'region1/zone1/*'), true);
  assert.equal(localityMatches(l, 'region1/zone2'), false);
  assert.equal(localityMatches(l, ''), false);
  assert.equal(localityMatches(parseLocality(''), ''), true);
  assert.equal(localityMatches(l, '*/zone1'), true);
});

test('L-7: failoverPriority splits groups by how many leading labels match the client ("match all labels")', () => {
  const setting = meshConfig('{failoverPriority: [key, tier, team]}');
  const c = cluster(
    endpoints(
      yamlDocs(
        setting,
        entry(),
        e(1, 'region1/zone1/subzone1'),
        e(2, 'region1/zone1/subzone1', ', key: value, tier: gold, team: a'),
        e(3, 'region2/zone2/subzone2', ', key: value'),
        e(4, 'region2/zone2/subzone2', ', key: value, tier: gold'),
        dr(OUTLIER),
      ),
      { client: { namespace: 'ns1', locality: 'region1/zone1/subzone1', labels: { key: 'value', tier: 'gold', team: 'a' } } },
    ),
    LOC,
  );
  assert.deepEqual(groups(c), [
    'region1/zone1/subzone1 p0 w1: 10.0.0.2',
    'region1/zone1/subzone1 p3 w1: 10.0.0.1',
    'region2/zone2/subzone2 p1 w1: 10.0.0.4',
    'region2/zone2/subzone2 p2 w1: 10.0.0.3',
  ]);
});

test('L-7: "key=value" entries override the client value; a label both sides lack matches', () => {
  const setting = meshConfig('{failoverPriority: ["tier=silver", missing, team]}');
  const c = cluster(
    endpoints(
      yamlDocs(setting, entry(), e(1, 'r', ', tier: gold, team: a'), e(2, 'r', ', tier: silver, team: a'), e(3, 'r', ', tier: silver, team: b'), dr(OUTLIER)),
      { client: { namespace: 'ns1', locality: 'r', labels: { tier: 'gold', team: 'a' } } },
    ),
    LOC,
  );
  assert.deepEqual(priorities(c), { '10.0.0.2': 0, '10.0.0.3': 1, '10.0.0.1': 2 });
});

test('L-7: the client topology labels come from its locality and network (proxy labels are augmented)', () => {
  const setting = meshConfig('{failoverPriority: [topology.kubernetes.io/region, topology.kubernetes.io/zone]}');
  const c = cluster(endpoints(yamlDocs(setting, entry(), ...FIVE, dr(OUTLIER)), CLIENT), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 0, '10.0.0.3': 1, '10.0.0.4': 2, '10.0.0.5': 2 });
});

test('L-7: with a leading network key, another network is not fatal: it ranks after every same-network endpoint', () => {
  const setting = meshConfig('{failoverPriority: [topology.istio.io/network, topology.kubernetes.io/region]}');
  const we = (n: number, network: string, locality: string) =>
    workloadEntry(`e${n}`, 'ns1', `address: 10.0.0.${n}\nnetwork: ${network}\nlocality: ${locality}\nlabels: {app: loc}`);
  const c = cluster(
    endpoints(yamlDocs(setting, entry(), we(1, 'n1', 'r1'), we(2, 'n1', 'r2'), we(3, 'n2', 'r1'), we(4, 'n2', 'r2'), dr(OUTLIER)), {
      client: { namespace: 'ns1', locality: 'r1', network: 'n1' },
    }),
    LOC,
  );
  assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.3': 2, '10.0.0.2': 1, '10.0.0.4': 3 });
});

test('L-7: failoverPriority with failover rules: locality failover is applied on top (label priority x 5 + locality priority)', () => {
  const setting = meshConfig('{failoverPriority: [key], failover: [{from: region1, to: region2}]}');
  const c = cluster(
    endpoints(
      yamlDocs(
        setting,
        entry(),
        e(1, 'region1/zone1/subzone1'),
        e(2, 'region1/zone2/subzone2', ', key: value'),
        e(3, 'region2/zone2/subzone2'),
        e(4, 'region3/zone3/subzone3'),
        e(5, 'region2/zone2/subzone2', ', key: value'),
        e(6, 'region3/zone3/subzone3', ', key: value'),
        dr(OUTLIER),
      ),
      { client: { namespace: 'ns1', locality: 'region1/zone1/subzone1', labels: { key: 'value' } } },
    ),
    LOC,
  );
  // key matches: region1/zone2 (2), region2 (3), region3 (4); then key mismatches: region1/zone1 (0), region2 (3), region3 (4)
  assert.deepEqual(priorities(c), { '10.0.0.2': 0, '10.0.0.5': 1, '10.0.0.6': 2, '10.0.0.1': 3, '10.0.0.3': 4, '10.0.0.4': 5 });
});

test('L-7: failoverPriority needs failover to be enabled (outlier detection)', () => {
  const setting = meshConfig('{failoverPriority: [key]}');
  const c = cluster(endpoints(yamlDocs(setting, entry(), e(1, 'r', ', key: a'), e(2, 'r', ', key: b')), { client: { namespace: 'ns1', labels: { key: 'a' } } }), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 0 });
});

test('L-9, S-7: traffic distribution PreferClose forces failover on [network, region, zone] without outlier detection', () => {
  for (const value of ['PreferClose', 'prefersamezone']) {
    const c = cluster(endpoints(yamlDocs(entry(`{networking.istio.io/traffic-distribution: ${value}}`), ...FIVE), CLIENT), LOC);
    assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 0, '10.0.0.3': 1, '10.0.0.4': 2, '10.0.0.5': 2 }, value);
  }
});

test('L-9: PreferSameNode adds the subzone (and node) to the priority keys', () => {
  // kubernetes.io/hostname is missing on the client and the entries: equal (""), so it matches
  const c = cluster(endpoints(yamlDocs(entry('{networking.istio.io/traffic-distribution: PreferSameNode}'), ...FIVE), CLIENT), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 1, '10.0.0.3': 2, '10.0.0.4': 3, '10.0.0.5': 3 });
});

test('L-1, L-9: a DestinationRule locality setting beats the traffic distribution preference', () => {
  const c = cluster(
    endpoints(yamlDocs(entry('{networking.istio.io/traffic-distribution: PreferClose}'), ...FIVE, dr('{loadBalancer: {localityLbSetting: {enabled: false}}}')), CLIENT),
    LOC,
  );
  assert.deepEqual(Object.values(priorities(c)), [0, 0, 0, 0, 0]);
});

test('L-10: a client whose IP is a WorkloadEntry address takes its locality (and the flag, when given, wins)', () => {
  const config = yamlDocs(entry(), ...FIVE, dr(OUTLIER));
  const byIp = cluster(endpoints(config, { client: { namespace: 'ns1', ip: '10.0.0.4' } }), LOC);
  assert.deepEqual(priorities(byIp), { '10.0.0.4': 0, '10.0.0.1': 1, '10.0.0.2': 1, '10.0.0.3': 1, '10.0.0.5': 1 });
  const flag = cluster(endpoints(config, { client: { namespace: 'ns1', ip: '10.0.0.4', locality: 'region3/zone1/subzone1' } }), LOC);
  assert.equal(priorities(flag)['10.0.0.5'], 0);
});

test('L-10: without a locality option, topology labels of the client give its locality', () => {
  const c = cluster(
    endpoints(yamlDocs(entry(), ...FIVE, dr(OUTLIER)), {
      client: { namespace: 'ns1', labels: { 'topology.kubernetes.io/region': 'region2', 'topology.kubernetes.io/zone': 'zone1', 'topology.istio.io/subzone': 'subzone1' } },
    }),
    LOC,
  );
  assert.equal(priorities(c)['10.0.0.4'], 0);
});

test('L-10: a client at an inline ServiceEntry endpoint takes its locality, explicit or from the label (TestLocality)', () => {
  const vmEntry = (endpoint: string) => `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: service-entry, namespace: ns1}
    spec:
      hosts: [service.namespace.svc.cluster.local]
      ports: [{name: http, number: 80, protocol: http}]
      resolution: STATIC
      endpoints: [${endpoint}]
  `;
  for (const endpoint of ['{address: 1.2.3.4, locality: r/z/s}', '{address: 1.2.3.4, labels: {istio-locality: r.z.s}}']) {
    const c = cluster(
      endpoints(yamlDocs(vmEntry(endpoint), entry(), e(1, 'r/z/s'), e(2, 'r/z/other'), dr(OUTLIER)), { client: { namespace: 'ns1', ip: '1.2.3.4' } }),
      LOC,
    );
    assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 1 }, endpoint);
  }
});

test('L-10: a client at a pod IP takes the pod locality (pod label, else its node)', () => {
  const node = `
    apiVersion: v1
    kind: Node
    metadata: {name: node-1, labels: {topology.kubernetes.io/region: r, topology.kubernetes.io/zone: z, topology.istio.io/subzone: s}}
  `;
  const podOnNode = `
    apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: ns1, labels: {app: client}}
    spec: {nodeName: node-1, containers: [{name: app}]}
    status: {podIP: 10.9.9.9, phase: Running, conditions: [{type: Ready, status: "True"}]}
  `;
  const c = cluster(endpoints(yamlDocs(node, podOnNode, entry(), e(1, 'r/z/s'), e(2, 'r/z/other'), dr(OUTLIER)), { client: { namespace: 'ns1', ip: '10.9.9.9' } }), LOC);
  assert.deepEqual(priorities(c), { '10.0.0.1': 0, '10.0.0.2': 1 });
});
