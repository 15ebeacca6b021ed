/**
 * `analyze` (issue 13): one test per message code, each on a configuration that has exactly that
 * mistake next to one that does not; plus the level order of --failure-threshold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../model/config/load.js';
import { dedent, objectsFrom, yamlDocs } from '../../test/support/mesh.js';
import { analyze, atLeast, MESSAGE_TYPES, type AnalysisMessage } from './analysis.js';

/** `CODE origin field` of every message. */
function summary(messages: readonly AnalysisMessage[]): string[] {
  return messages.map((m) => `${m.code} ${m.origin} ${m.field}`.trimEnd());
}

function analyzed(...files: readonly string[]): AnalysisMessage[] {
  return analyze({ objects: objectsFrom(...files) });
}

const SE = (name: string, selector: string, extra = '') => `
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata: {name: ${name}, namespace: ns1}
  spec:
    hosts: [${name}.example.com]
    location: MESH_INTERNAL
    resolution: STATIC
    ports: [{number: 80, name: http, protocol: HTTP}]
    workloadSelector: {labels: ${selector}}
    ${extra}
`;
const WE = (name: string, labels: string, address = '127.0.0.10') => `
  apiVersion: networking.istio.io/v1
  kind: WorkloadEntry
  metadata: {name: ${name}, namespace: ns1}
  spec: {address: ${address}, labels: ${labels}}
`;
const DR = (name: string, host: string, body: string) => `
  apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: ${name}, namespace: ns1}
  spec:
    host: ${host}
    ${body}
`;
const VS = (routes: string) => `
  apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata: {name: vs, namespace: ns1}
  spec:
    hosts: [a.example.com]
    http:
    - route: ${routes}
`;
/** A served host: a ServiceEntry and the one workload it selects. */
const SERVED = yamlDocs(SE('a', '{app: a}'), WE('a1', '{app: a, version: v1}'));

test('a clean configuration has no messages', () => {
  assert.deepEqual(analyzed(SERVED, DR('a', 'a.example.com', 'subsets: [{name: v1, labels: {version: v1}}]'), VS('[{destination: {host: a.example.com, subset: v1}}]')), []);
});

test('IST0101 ReferencedResourceNotFound: a VirtualService subset that no DestinationRule of the host defines', () => {
  const messages = analyzed(SERVED, DR('a', 'a.example.com', 'subsets: [{name: v1, labels: {version: v1}}]'), VS('[{destination: {host: a.example.com, subset: v1}, weight: 50}, {destination: {host: a.example.com, subset: v3}, weight: 50}]'));
  assert.deepEqual(summary(messages), ['IST0101 VirtualService ns1/vs spec.http[0].route[1].destination.subset']);
  assert.equal(messages[0]?.level, 'Error');
  assert.equal(messages[0]?.message, 'Referenced host+subset in destinationrule not found: "a.example.com+v3"');
});

test('IST0106 SchemaValidationError and MB0100 SchemaValidationWarning: validation findings of the files', () => {
  const loaded = loadConfig([{ path: 'x.yaml', text: dedent(yamlDocs(WE('bad', '{app: a}', '300.1.1.1'), SE('a', '{app: a}', 'workloadSelecter: {}'))) }]);
  const messages = analyze({ objects: loaded.objects, findings: loaded.findings });
  const codes = messages.filter((m) => m.code !== 'MB0103' && m.code !== 'IST0127');
  assert.deepEqual(summary(codes), ['IST0106 WorkloadEntry ns1/bad spec.address', 'MB0100 ServiceEntry ns1/a spec.workloadSelecter']);
  assert.deepEqual(codes.map((m) => m.level), ['Error', 'Warning']);
  assert.match(codes[1]?.message ?? '', /Did you mean "workloadSelector"\?/);
});

test('MB0101 DuplicateResource: the same object in two files', () => {
  const messages = analyzed(SERVED, WE('a1', '{app: a, version: v1}'));
  assert.deepEqual(summary(messages), ['MB0101 WorkloadEntry ns1/a1']);
  assert.match(messages[0]?.message ?? '', /^WorkloadEntry\/ns1\/a1 is also defined at t00\.yaml:\d+;/);
  assert.equal(messages[0]?.file, 't01.yaml');
});

test('MB0102 RouteWeightsNot100: the weights of a route do not add up to 100', () => {
  const messages = analyzed(SERVED, VS('[{destination: {host: a.example.com}, weight: 60}, {destination: {host: a.example.com}, weight: 30}]'));
  assert.deepEqual(summary(messages), ['MB0102 VirtualService ns1/vs spec.http[0].route']);
  assert.match(messages[0]?.message ?? '', /add up to 90, not 100/);
  assert.deepEqual(analyzed(SERVED, VS('[{destination: {host: a.example.com}, weight: 60}, {destination: {host: a.example.com}, weight: 40}]')), []);
});

test('IST0127 NoMatchingWorkloadsFound: a selector that matches no workload (ServiceEntry, Service, policies)', () => {
  const policy = `
    apiVersion: security.istio.io/v1
    kind: PeerAuthentication
    metadata: {name: pa, namespace: ns1}
    spec: {selector: {matchLabels: {app: nothing}}, mtls: {mode: STRICT}}
  `;
  const rootPolicy = `
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: ap, namespace: istio-system}
    spec: {selector: {matchLabels: {app: a}}}
  `;
  const messages = analyzed(SERVED, SE('typo', '{app: aa}'), policy, rootPolicy).filter((m) => m.code === 'IST0127');
  assert.deepEqual(summary(messages), ['IST0127 ServiceEntry ns1/typo spec.workloadSelector.labels', 'IST0127 PeerAuthentication ns1/pa spec.selector.matchLabels']);
  assert.equal(messages[0]?.message, 'No matching workloads for this resource with the following labels: app=aa');
});

test('MB0103 HostWithoutEndpoints: a STATIC host that gets no endpoint', () => {
  const messages = analyzed(SERVED, SE('empty', '{app: none}')).filter((m) => m.code === 'MB0103');
  assert.deepEqual(summary(messages), ['MB0103 ServiceEntry ns1/empty']);
  assert.match(messages[0]?.message ?? '', /^Host empty\.example\.com has no endpoints/);
});

test('MB0104 WorkloadEntryNotSelected: a WorkloadEntry that no service selects', () => {
  const messages = analyzed(SERVED, WE('lonely', '{app: lonely}', '127.0.0.11'));
  assert.deepEqual(summary(messages), ['MB0104 WorkloadEntry ns1/lonely spec.labels']);
  assert.equal(messages[0]?.level, 'Warning');
});

test('MB0105 ConflictingDestinationRules: two DestinationRules of one host set the same subset or both a traffic policy', () => {
  const tls = 'trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}';
  const messages = analyzed(SERVED, DR('one', 'a.example.com', `${tls}\n    subsets: [{name: v1, labels: {version: v1}}]`), DR('two', 'a.example.com', `${tls}\n    subsets: [{name: v1, labels: {version: v1}}]`));
  assert.deepEqual(summary(messages), ['MB0105 DestinationRule ns1/two']);
  assert.match(messages[0]?.message ?? '', /^DestinationRule ns1\/one \(t01\.yaml:\d+\) also sets a traffic policy and subset "v1" for host a\.example\.com/);
  assert.deepEqual(analyzed(SERVED, DR('one', 'a.example.com', 'subsets: [{name: v1, labels: {version: v1}}]'), DR('two', 'a.example.com', 'subsets: [{name: v2, labels: {version: v2}}]')), []);
});

test('IST0118 PortNameIsNotUnderNamingConvention: a port with neither a protocol nor a protocol name', () => {
  const service = `
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: ns1}
    spec:
      selector: {app: a}
      ports: [{name: web, port: 80}, {name: http-alt, port: 8080}, {name: db, port: 5432, appProtocol: tcp}]
  `;
  const se = SE('b', '{app: a}').replace('{number: 80, name: http, protocol: HTTP}', '{number: 81, name: b}');
  const messages = analyzed(SERVED, service, se).filter((m) => m.code === 'IST0118');
  assert.deepEqual(summary(messages), ['IST0118 Service ns1/web spec.ports[0].name', 'IST0118 ServiceEntry ns1/b spec.ports[0].protocol']);
  assert.equal(messages[0]?.level, 'Info');
});

test('MB0106 ProbePortNotInTemplate: a WorkloadGroup probe on a port its template does not declare', () => {
  const group = (probePort: number) => `
    apiVersion: networking.istio.io/v1
    kind: WorkloadGroup
    metadata: {name: g, namespace: ns1}
    spec:
      metadata: {labels: {app: a}}
      template: {ports: {http: 8080}}
      probe: {httpGet: {port: ${probePort}, path: /ready}}
  `;
  assert.deepEqual(summary(analyzed(SERVED, group(9090))), ['MB0106 WorkloadGroup ns1/g spec.probe.httpGet.port']);
  assert.deepEqual(analyzed(SERVED, group(8080)), []);
});

test('levels: Info < Warning < Error, and every message type has a distinct code', () => {
  assert.ok(atLeast('Error', 'Warning') && atLeast('Warning', 'Warning') && !atLeast('Info', 'Warning'));
  const codes = Object.values(MESSAGE_TYPES).map((t) => t.code);
  assert.equal(new Set(codes).size, codes.length);
});
