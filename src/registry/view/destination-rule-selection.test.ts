/**
 * Rules DRS-1 .. DRS-6 (which DestinationRule a client gets), through the `endpoints` report: the
 * subsets a client receives clusters for say which (merged) rule applied. The tables are Istio's
 * push_context_test.go TestSetDestinationRuleWithExportTo (the rules and the 16 cases, rendered as
 * YAML) and TestSetDestinationRuleMerging (its index facts, seen from clients).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, clusterNames, destinationRule, endpoints, sent, serviceEntry, workloadEntry, yamlDocs } from '../../../test/support/mesh.js';

/** A STATIC ServiceEntry for `host` in `namespace`, port 80 (no endpoints needed: EDS clusters are always sent). */
function entry(host: string, namespace: string): string {
  return serviceEntry('se', namespace, host, { app: 'a' });
}

/** A DestinationRule with subsets named `subsets` (no labels), and `exportTo` when given. */
function rule(name: string, namespace: string, host: string, subsets: readonly string[], exportTo?: readonly string[]): string {
  const exported = exportTo ? `exportTo: [${exportTo.map((e) => `"${e}"`).join(', ')}]\n` : '';
  return destinationRule(name, namespace, host, `${exported}subsets: [${subsets.map((s) => `{name: ${s}}`).join(', ')}]`);
}

/** The subset names the client gets clusters for, for `host` port 80, in the order the rule lists them. */
function subsetsSeen(config: string, clientNamespace: string, host: string): string[] {
  const r = endpoints(config, { client: { namespace: clientNamespace }, host });
  return r.clusters.filter((c) => c.subset !== '').map((c) => c.subset);
}

// ---- push_context_test.go TestSetDestinationRuleWithExportTo (L3071-3370) ----
// Two inputs of Istio's table do not pass validation (Istio's unit test skips it) and are adapted
// with the same meaning for the lookup: rule3's exportTo [test1, test2, "*"] is ["*"] (V-EXP-3),
// and the namespace "newNS" is "newns" (namespace names are RFC-1123 labels).

const TESTHOST = 'httpbin.org';
const WITH_EXPORT_TO_RULES = [
  rule('rule1', 'test1', TESTHOST, ['subset1', 'subset2'], ['.', 'ns1']),
  rule('rule2', 'test2', TESTHOST, ['subset3', 'subset4'], ['test2', 'ns1', 'test1', 'newns']),
  rule('rule3', 'test3', TESTHOST, ['subset5', 'subset6'], ['*']),
  rule('rule4-local', 'test4', TESTHOST, ['subset15', 'subset16'], ['test4']),
  rule('rule4', 'istio-system', TESTHOST, ['subset7', 'subset8']),
  rule('rule1', 'istio-system', TESTHOST, ['subset9', 'subset10'], ['.']),
  rule('rule2', 'istio-system', '*.org', ['subset11', 'subset12'], ['.']),
  rule('rule3', 'istio-system', '*.app.org', ['subset13', 'subset14'], ['.']),
  rule('rule5', 'test5', 'api.test.com', ['subset5-0', 'subset5-1'], ['istio-system']),
  rule('rule6', 'test6', 'api.test.com', ['subset6-0', 'subset6-1'], ['istio-system']),
];

const WITH_EXPORT_TO_CASES: ReadonlyArray<{ rules: string; proxyNs: string; serviceNs: string; host: string; want: readonly string[] }> = [
  { rules: 'DRS-1', proxyNs: 'test1', serviceNs: 'test1', host: TESTHOST, want: ['subset1', 'subset2'] },
  { rules: 'DRS-1', proxyNs: 'test1', serviceNs: 'test2', host: TESTHOST, want: ['subset1', 'subset2'] },
  { rules: 'DRS-1', proxyNs: 'test2', serviceNs: 'test1', host: TESTHOST, want: ['subset3', 'subset4'] },
  { rules: 'DRS-2', proxyNs: 'newns', serviceNs: 'test2', host: TESTHOST, want: ['subset3', 'subset4'] },
  { rules: 'DRS-1', proxyNs: 'test3', serviceNs: 'test1', host: TESTHOST, want: ['subset5', 'subset6'] },
  { rules: 'DRS-2, DRS-3', proxyNs: 'test5', serviceNs: 'test4', host: TESTHOST, want: ['subset7', 'subset8'] },
  { rules: 'DRS-2', proxyNs: 'ns1', serviceNs: 'test1', host: TESTHOST, want: ['subset1', 'subset2'] },
  { rules: 'DRS-3, DRS-4', proxyNs: 'ns1', serviceNs: 'random', host: TESTHOST, want: ['subset7', 'subset8'] },
  { rules: 'DRS-3', proxyNs: 'random', serviceNs: 'random', host: TESTHOST, want: ['subset7', 'subset8'] },
  { rules: 'DRS-1', proxyNs: 'test3', serviceNs: 'random', host: TESTHOST, want: ['subset5', 'subset6'] },
  { rules: 'DRS-5', proxyNs: 'istio-system', serviceNs: 'random', host: TESTHOST, want: ['subset9', 'subset10'] },
  { rules: 'DRS-5', proxyNs: 'istio-system', serviceNs: 'istio-system', host: TESTHOST, want: ['subset9', 'subset10'] },
  { rules: 'DRS-5, DRS-6', proxyNs: 'istio-system', serviceNs: 'istio-system', host: 'foo.app.org', want: ['subset13', 'subset14'] },
  { rules: 'DRS-2', proxyNs: 'istio-system', serviceNs: 'test5', host: 'api.test.com', want: ['subset5-0', 'subset5-1'] },
  { rules: 'DRS-2', proxyNs: 'istio-system', serviceNs: 'test6', host: 'api.test.com', want: ['subset6-0', 'subset6-1'] },
  { rules: 'DRS-4', proxyNs: 'istio-system', serviceNs: 'test7', host: 'api.test.com', want: [] },
];

for (const c of WITH_EXPORT_TO_CASES) {
  test(`${c.rules}: a client in ${c.proxyNs} of ${c.host} (service in ${c.serviceNs}) gets subsets [${c.want.join(', ')}] (TestSetDestinationRuleWithExportTo)`, () => {
    const config = yamlDocs(entry(c.host, c.serviceNs), ...WITH_EXPORT_TO_RULES);
    assert.deepEqual(subsetsSeen(config, c.proxyNs, c.host), c.want);
  });
}

// ---- push_context_test.go TestSetDestinationRuleMerging (L2895-2987) ----

const MERGING_RULES = [
  rule('rule1', 'test', TESTHOST, ['subset1', 'subset2']),
  rule('rule2', 'test', TESTHOST, ['subset3', 'subset4']),
  rule('rule3', 'test', TESTHOST, ['subset5', 'subset6'], ['istio-system']),
];

test('DRS-1, DRS-6: rules of one namespace with the same exportTo merge; one exported only to istio-system does not serve its own namespace (TestSetDestinationRuleMerging, private index)', () => {
  const config = yamlDocs(entry(TESTHOST, 'test'), ...MERGING_RULES);
  assert.deepEqual(subsetsSeen(config, 'test', TESTHOST), ['subset1', 'subset2', 'subset3', 'subset4']);
});

test('DRS-2, DRS-6: rules with different exportTo stay separate rules: other namespaces get rule1+rule2 only; istio-system gets rule3, the last rule exported to it (TestSetDestinationRuleMerging, public index)', () => {
  const config = yamlDocs(entry(TESTHOST, 'test'), ...MERGING_RULES);
  assert.deepEqual(subsetsSeen(config, 'other', TESTHOST), ['subset1', 'subset2', 'subset3', 'subset4']);
  // Both consolidated rules reach istio-system; Istio's SidecarScope.DestinationRule takes the last
  // one without a workload selector: rule3 alone, never merged with rule1+rule2.
  assert.deepEqual(subsetsSeen(config, 'istio-system', TESTHOST), ['subset5', 'subset6']);
});

// ---- the two defects the issue names, and the remaining parts of the rules ----

test('DRS-5: a client in the root namespace gets the private root rule, not merged with the public one', () => {
  const config = yamlDocs(entry(TESTHOST, 'apps'), rule('public', 'istio-system', TESTHOST, ['pub']), rule('private', 'istio-system', TESTHOST, ['priv'], ['.']));
  assert.deepEqual(subsetsSeen(config, 'istio-system', TESTHOST), ['priv']);
  assert.deepEqual(subsetsSeen(config, 'apps', TESTHOST), ['pub'], 'other namespaces get only the public rule');
});

test('DRS-5: a root-namespace client with no private root rule falls back to the service namespace, then the public root rule', () => {
  const root = rule('public', 'istio-system', TESTHOST, ['pub']);
  assert.deepEqual(subsetsSeen(yamlDocs(entry(TESTHOST, 'apps'), root, rule('svc', 'apps', TESTHOST, ['svc'])), 'istio-system', TESTHOST), ['svc']);
  assert.deepEqual(subsetsSeen(yamlDocs(entry(TESTHOST, 'apps'), root), 'istio-system', TESTHOST), ['pub']);
});

test('DRS-4: a rule of a third namespace never applies, even exported to "*" or naming the client', () => {
  const config = yamlDocs(entry(TESTHOST, 'apps'), rule('star', 'third', TESTHOST, ['star'], ['*']), rule('named', 'fourth', TESTHOST, ['named'], ['client']));
  assert.deepEqual(subsetsSeen(config, 'client', TESTHOST), []);
});

test('DRS-2: a service-namespace rule not exported to the client does not apply; the root namespace is asked next', () => {
  const config = yamlDocs(entry(TESTHOST, 'apps'), rule('svc', 'apps', TESTHOST, ['svc'], ['other']), rule('root', 'istio-system', TESTHOST, ['root']));
  assert.deepEqual(subsetsSeen(config, 'client', TESTHOST), ['root']);
  assert.deepEqual(subsetsSeen(config, 'other', TESTHOST), ['svc']);
});

test('DRS-6: the most specific host wins inside a namespace: *.app.org over *.org, the exact host over both', () => {
  const wild = [rule('org', 'apps', '*.org', ['org']), rule('app', 'apps', '*.app.org', ['app'])];
  assert.deepEqual(subsetsSeen(yamlDocs(entry('foo.app.org', 'apps'), ...wild), 'apps', 'foo.app.org'), ['app']);
  assert.deepEqual(subsetsSeen(yamlDocs(entry('foo.app.org', 'apps'), ...wild, rule('exact', 'apps', 'foo.app.org', ['exact'])), 'apps', 'foo.app.org'), ['exact']);
});

test('DRS-6: merged rules take the oldest top-level traffic policy; a subset name already taken is not added again', () => {
  const tlsRule = (name: string, created: string, mode: string, subsets: string) => `
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: ${name}, namespace: apps, creationTimestamp: "${created}"}
    spec:
      host: ${TESTHOST}
      trafficPolicy: {tls: {mode: ${mode}}}
      subsets: ${subsets}
  `;
  const config = yamlDocs(
    entry(TESTHOST, 'apps'),
    workloadEntry('vm', 'apps', 'address: 1.1.1.1\nserviceAccount: sa\nlabels: {app: a, v: "1"}'),
    // Listed newest first: the creation timestamps, not the file order, decide.
    tlsRule('newer', '2024-02-01T00:00:00Z', 'ISTIO_MUTUAL', '[{name: v1, labels: {v: "2"}}, {name: v2, labels: {v: "2"}}]'),
    tlsRule('older', '2024-01-01T00:00:00Z', 'DISABLE', '[{name: v1, labels: {v: "1"}}]'),
  );
  const r = endpoints(config, { client: { namespace: 'apps' } });
  assert.deepEqual(clusterNames(r), [`outbound|80|v1|${TESTHOST}`, `outbound|80|v2|${TESTHOST}`, `outbound|80||${TESTHOST}`]);
  assert.equal(sent(cluster(r, `outbound|80||${TESTHOST}`))[0]?.tlsMode, null, 'the older rule (DISABLE) wins the traffic policy');
  assert.equal(sent(cluster(r, `outbound|80|v1|${TESTHOST}`)).length, 1, 'subset v1 of the older rule (v=1) is kept');
});

test('DRS-1: a workload-selector rule of the client namespace applies to the clients it selects; others get the catch-all rule', () => {
  const config = yamlDocs(
    entry(TESTHOST, 'apps'),
    rule('all', 'apps', TESTHOST, ['all']),
    destinationRule('selected', 'apps', TESTHOST, 'workloadSelector: {matchLabels: {app: special}}\nsubsets: [{name: special}]'),
  );
  const seen = (labels: Record<string, string>) =>
    endpoints(config, { client: { namespace: 'apps', labels }, host: TESTHOST })
      .clusters.filter((c) => c.subset !== '')
      .map((c) => c.subset);
  assert.deepEqual(seen({ app: 'special' }), ['special']);
  assert.deepEqual(seen({ app: 'plain' }), ['all']);
});

test('DRS-2, DRS-5: with MeshConfig defaultDestinationRuleExportTo ["."], rules without exportTo are private to their namespace', () => {
  const mesh = 'apiVersion: meshbridge.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: mesh}\nspec: {defaultDestinationRuleExportTo: ["."]}';
  const config = yamlDocs(mesh, entry(TESTHOST, 'apps'), rule('svc', 'apps', TESTHOST, ['svc']), rule('root', 'istio-system', TESTHOST, ['root']), rule('open', 'istio-system', TESTHOST, ['open'], ['*']));
  assert.deepEqual(subsetsSeen(config, 'apps', TESTHOST), ['svc'], 'its own namespace still');
  assert.deepEqual(subsetsSeen(config, 'client', TESTHOST), ['open'], 'not exported: neither the service rule nor the private root rule');
  assert.deepEqual(subsetsSeen(config, 'istio-system', TESTHOST), ['root'], 'the root namespace takes its now private rule');
});
