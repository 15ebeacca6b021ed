// loadAssignment: what gRPC would NACK is not sent (found end to end, test/e2e/locality-weights.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_WEIGHT, type LocalityGroup, type SentEndpoint } from '../../registry/view/locality-groups.js';
import { loadAssignment } from './common.js';

function ep(address: string, weight = 1): SentEndpoint {
  return {
    address,
    port: 8080,
    weight,
    health: 'HEALTHY',
    tlsMode: null,
    source: `WorkloadEntry/ns/${address}`,
    network: '',
    locality: '',
    labels: {},
    serviceAccount: null,
    namespace: 'ns',
    workloadName: '',
  };
}

function group(locality: string, priority: number, endpoints: SentEndpoint[], weight = endpoints.reduce((s, e) => s + e.weight, 0)): LocalityGroup {
  return { locality, priority, weight, endpoints };
}

const summary = (groups: readonly LocalityGroup[], proxyless: boolean) =>
  loadAssignment('c', groups, { proxyless, clusterId: 'Kubernetes' }).endpoints.map((l) => ({
    locality: `${l.locality?.region}/${l.locality?.zone}/${l.locality?.subZone}`,
    priority: l.priority,
    weight: l.loadBalancingWeight,
    addresses: l.lbEndpoints.map((e) => (e.hostIdentifier.case === 'endpoint' && e.hostIdentifier.value.address?.address.case === 'socketAddress' ? e.hostIdentifier.value.address.address.value.address : '?')),
  }));

test('gRPC: locality strings that are one locality on the wire are sent as one group per priority', () => {
  const groups = [
    group('r1/z1/s1', 0, [ep('10.0.0.1')]),
    group('r1/z1/s1/rack-7', 0, [ep('10.0.0.2', 2)]),
    group('r1/z2', 1, [ep('10.0.0.3')]),
    group('r1/z2/', 1, [ep('10.0.0.4')]),
    group('r1/z1/s1/rack-8', 1, [ep('10.0.0.5')]),
  ];
  assert.deepEqual(summary(groups, true), [
    { locality: 'r1/z1/s1', priority: 0, weight: 3, addresses: ['10.0.0.1', '10.0.0.2'] },
    { locality: 'r1/z2/', priority: 1, weight: 2, addresses: ['10.0.0.3', '10.0.0.4'] },
    // Same locality, another priority: a separate group is fine for gRPC.
    { locality: 'r1/z1/s1', priority: 1, weight: 1, addresses: ['10.0.0.5'] },
  ]);
  // Only the proxyless output is merged: the Envoy generator's output keeps the groups as they are.
  assert.equal(summary(groups, false).length, 5);
});

test('locality weights of one priority are scaled to fit in uint32 only when they would overflow', () => {
  const heavy = [group('r1/z1', 0, [ep('10.0.0.1', MAX_WEIGHT)]), group('r1/z2', 0, [ep('10.0.0.2', MAX_WEIGHT)]), group('r1/z3', 0, [ep('10.0.0.3')]), group('r2/z1', 1, [ep('10.0.0.4', MAX_WEIGHT)])];
  for (const proxyless of [true, false]) {
    const out = summary(heavy, proxyless);
    const p0 = out.filter((g) => g.priority === 0).map((g) => g.weight ?? 0);
    assert.ok(p0.reduce((s, w) => s + w, 0) <= MAX_WEIGHT, `priority 0 sums to at most 2^32-1 (${p0.join('+')})`);
    assert.equal(p0[0], p0[1], 'proportions kept');
    assert.equal(p0[2], 1, 'a light locality keeps a weight of at least 1');
    assert.equal(out.find((g) => g.priority === 1)?.weight, MAX_WEIGHT, 'another priority is not touched');
  }
  const light = [group('r1/z1', 0, [ep('10.0.0.1', 3)]), group('r1/z2', 0, [ep('10.0.0.2', 1)])];
  assert.deepEqual(summary(light, true).map((g) => g.weight), [3, 1]);
});
