import { test } from 'node:test';
import { validateResource } from './index.js';
import { expectClean, expectNoProblem, expectProblem, expectValid, resource } from './test-support.js';

const validate = (spec: unknown) => validateResource(resource('DestinationRule', spec));
const subsets = [
  { name: 'v1', labels: { version: 'v1' } },
  { name: 'v2', labels: { version: 'v2' } },
];
const policy = (trafficPolicy: unknown) => validate({ host: 'reviews', trafficPolicy });

// Cases marked "(Istio)" follow TestValidateDestinationRule.
test('DestinationRule: host and subsets (Istio "simple destination rule", "missing destination name")', () => {
  expectClean(validate({ host: 'reviews', subsets }));
  expectClean(validate({ host: '*.example.com' }));
  expectProblem(validate({ host: '', subsets }), { severity: 'error', at: 'spec.host' });
  expectProblem(validate({ subsets }), { severity: 'error', at: 'spec.host' });
  expectProblem(validate({ host: 'foo.*.com' }), { severity: 'error', at: 'spec.host' });
});

test('DestinationRule: subsets need unique, non-empty RFC-1123 names and valid labels (Istio "missing subset name", "duplicate subset names")', () => {
  expectProblem(validate({ host: 'r', subsets: [{ name: '', labels: { version: 'v1' } }] }), { severity: 'error', at: 'spec.subsets[0].name' });
  expectProblem(validate({ host: 'r', subsets: [{ name: 'foo' }, { name: 'foo' }] }), { severity: 'error', at: 'spec.subsets[1].name' });
  expectProblem(validate({ host: 'r', subsets: [{ name: 'v_1' }] }), { severity: 'error', at: 'spec.subsets[0].name' });
  expectProblem(validate({ host: 'r', subsets: [{ name: 'v1', labels: { version: 'v1*' } }] }), { severity: 'error', at: 'spec.subsets[0].labels.version', rule: 'V-SUB-9' });
  expectProblem(validate({ host: 'r', subsets: [null] }), { severity: 'error', at: 'spec.subsets[0]' });
});

test('DestinationRule: a traffic policy needs at least one field; connection pools need tcp or http (Istio "invalid traffic policy")', () => {
  expectProblem(policy({}), { severity: 'error', at: 'spec.trafficPolicy' });
  expectProblem(policy({ connectionPool: {} }), { severity: 'error', at: 'spec.trafficPolicy.connectionPool' });
  expectClean(
    policy({
      loadBalancer: { simple: 'ROUND_ROBIN' },
      connectionPool: { tcp: { maxConnections: 7, connectTimeout: '30ms' }, http: { http2MaxRequests: 11, idleTimeout: '1.5s' } },
      outlierDetection: { minHealthPercent: 20, interval: '1s', baseEjectionTime: '3m', maxEjectionPercent: 100 },
    }),
  );
  expectProblem(validate({ host: 'r', subsets: [{ name: 'v1', trafficPolicy: { connectionPool: {} } }] }), { severity: 'error', at: 'spec.subsets[0].trafficPolicy.connectionPool' });
});

test('DestinationRule: load balancer enum, one of simple/consistentHash, hash settings', () => {
  expectProblem(policy({ loadBalancer: { simple: 'round_robin' } }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.simple' });
  expectProblem(policy({ loadBalancer: { simple: 'RANDOM', consistentHash: { useSourceIp: true } } }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer' });
  expectProblem(policy({ loadBalancer: { consistentHash: { httpCookie: { ttl: '0s' } } } }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name' });
  expectProblem(policy({ loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 1000 } } } }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize' });
  expectClean(policy({ loadBalancer: { consistentHash: { httpHeaderName: 'x-user', maglev: { tableSize: 65537 } } } }));
  const deprecated = policy({ loadBalancer: { consistentHash: { useSourceIp: true, minimumRingSize: 1024 } } });
  expectValid(deprecated);
  expectProblem(deprecated, { severity: 'warning', at: 'spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize' });
  // Rings over 8,388,608 are accepted (as Istio does) with a warning: Envoy and gRPC NACK them.
  const huge = policy({ loadBalancer: { consistentHash: { ringHash: { minimumRingSize: 10_000_000 } } } });
  expectValid(huge);
  expectProblem(huge, { severity: 'warning', at: 'spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize' });
  expectClean(policy({ loadBalancer: { consistentHash: { ringHash: { minimumRingSize: 8_388_608 } } } }));
});

test('DestinationRule: localityLbSetting distribute weights sum to 100 per from and exclude failover', () => {
  const lb = (localityLbSetting: unknown, outlierDetection: unknown = { interval: '1s' }) => policy({ loadBalancer: { localityLbSetting }, outlierDetection });
  expectClean(lb({ distribute: [{ from: 'region1/zone1/*', to: { 'region1/zone1/*': 80, 'region1/zone2/*': 20 } }] }));
  expectProblem(lb({ distribute: [{ from: 'region1/*', to: { 'region1/*': 80, 'region2/*': 10 } }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to' });
  expectProblem(lb({ distribute: [{ from: 'r1', to: { r1: 0, r2: 100 } }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to.r1' });
  expectProblem(lb({ distribute: [{ from: 'r1', to: { r1: 100 } }], failover: [{ from: 'r1', to: 'r2' }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting' });
  expectProblem(lb({ distribute: [{ from: 'r1/*/z', to: { r1: 100 } }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].from' });
  expectProblem(lb({ distribute: [{ from: 'r1', to: { r1: 50, 'r1/z1': 50 } }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to' });
  expectProblem(lb({ distribute: [{ from: 'r1//s', to: { r1: 100 } }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].from' });
  expectProblem(lb({ failover: [{ from: 'r1', to: 'r1' }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]' });
  expectProblem(lb({ failover: [{ from: 'r1/z1', to: 'r2' }] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]' });
  expectClean(lb({ failover: [{ from: 'r1', to: 'r2' }] }));
  const noOutlier = lb({ failover: [{ from: 'r1', to: 'r2' }] }, null);
  expectValid(noOutlier);
  expectProblem(noOutlier, { severity: 'warning', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting' });
  expectProblem(lb({ failover: [{ from: 'r1', to: 'r2' }], failoverPriority: ['topology.kubernetes.io/zone'] }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority' });
});

test('DestinationRule: outlier detection durations and percents', () => {
  expectProblem(policy({ outlierDetection: { interval: '0s' } }), { severity: 'error', at: 'spec.trafficPolicy.outlierDetection.interval' });
  expectProblem(policy({ outlierDetection: { interval: 10 } }), { severity: 'error', at: 'spec.trafficPolicy.outlierDetection.interval' });
  expectProblem(policy({ outlierDetection: { baseEjectionTime: 'soon' } }), { severity: 'error', at: 'spec.trafficPolicy.outlierDetection.baseEjectionTime' });
  expectProblem(policy({ outlierDetection: { maxEjectionPercent: 101 } }), { severity: 'error', at: 'spec.trafficPolicy.outlierDetection.maxEjectionPercent' });
  expectProblem(policy({ outlierDetection: { minHealthPercent: -1 } }), { severity: 'error', at: 'spec.trafficPolicy.outlierDetection.minHealthPercent' });
  expectProblem(policy({ outlierDetection: { consecutiveLocalOriginFailures: 3 } }), { severity: 'error', at: 'spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures' });
  expectProblem(policy({ outlierDetection: { consecutive5xxErrors: -1 } }), { severity: 'error', at: 'spec.trafficPolicy.outlierDetection.consecutive5xxErrors' });
  expectClean(policy({ outlierDetection: { consecutive5xxErrors: 5, interval: '1.5s', baseEjectionTime: '100ms' } }));
});

test('DestinationRule: client TLS mode enum and certificate rules (Istio InsecureSkipVerify cases)', () => {
  expectProblem(policy({ tls: { mode: 'STRICT' } }), { severity: 'error', at: 'spec.trafficPolicy.tls.mode' });
  expectClean(policy({ tls: { mode: 'SIMPLE', caCertificates: 'test', subjectAltNames: ['reviews.default.svc'] } }));
  expectClean(policy({ tls: { mode: 'ISTIO_MUTUAL' } }));
  expectProblem(policy({ tls: { mode: 'SIMPLE', credentialName: 'test', insecureSkipVerify: true } }), { severity: 'error', at: 'spec.trafficPolicy.tls' });
  expectProblem(policy({ tls: { mode: 'SIMPLE', subjectAltNames: ['a'], insecureSkipVerify: true } }), { severity: 'error', at: 'spec.trafficPolicy.tls' });
  expectClean(policy({ tls: { mode: 'MUTUAL', caCertificates: 'test', privateKey: 'key', clientCertificate: 'cert' } }));
  expectClean(policy({ tls: { mode: 'MUTUAL', credentialName: 'test' } }));
  expectProblem(policy({ tls: { mode: 'MUTUAL' } }), { severity: 'error', at: 'spec.trafficPolicy.tls.clientCertificate' });
  expectProblem(policy({ tls: { mode: 'MUTUAL', credentialName: 'c', privateKey: 'k' } }), { severity: 'error', at: 'spec.trafficPolicy.tls' });
});

test('DestinationRule: portLevelSettings need a valid port and at least one other field', () => {
  expectClean(policy({ portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: 'LEAST_REQUEST' } }] }));
  expectProblem(policy({ portLevelSettings: [{ port: { number: 0 }, loadBalancer: { simple: 'RANDOM' } }] }), { severity: 'error', at: 'spec.trafficPolicy.portLevelSettings[0].port.number', rule: 'V-SUB-1' });
  expectProblem(policy({ portLevelSettings: [{ port: { number: '80' }, tls: { mode: 'DISABLE' } }] }), { severity: 'error', at: 'spec.trafficPolicy.portLevelSettings[0].port.number' });
  expectProblem(policy({ portLevelSettings: [{ loadBalancer: { simple: 'RANDOM' } }] }), { severity: 'error', at: 'spec.trafficPolicy.portLevelSettings[0].port' });
  expectProblem(policy({ portLevelSettings: [{ port: { number: 80 } }] }), { severity: 'error', at: 'spec.trafficPolicy.portLevelSettings[0]' });
  expectProblem(policy({ portLevelSettings: [null] }), { severity: 'error', at: 'spec.trafficPolicy.portLevelSettings[0]' });
});

test('DestinationRule: tunnel and proxyProtocol', () => {
  expectClean(policy({ tunnel: { protocol: 'CONNECT', targetHost: 'proxy.example.com', targetPort: 8080 } }));
  expectProblem(policy({ tunnel: { protocol: 'PUT', targetHost: '1.2.3.4', targetPort: 8080 } }), { severity: 'error', at: 'spec.trafficPolicy.tunnel.protocol' });
  expectProblem(policy({ tunnel: { targetHost: '*.x', targetPort: 0 } }), { severity: 'error', at: 'spec.trafficPolicy.tunnel.targetHost' });
  expectProblem(policy({ tunnel: { targetHost: 'a.com' } }), { severity: 'error', at: 'spec.trafficPolicy.tunnel.targetPort' });
  expectProblem(policy({ tunnel: { targetHost: 'a.com', targetPort: 1 }, proxyProtocol: { version: 'V1' } }), { severity: 'error', at: 'spec.trafficPolicy' });
  expectProblem(policy({ proxyProtocol: { version: 'V3' } }), { severity: 'error', at: 'spec.trafficPolicy.proxyProtocol.version' });
});

test('DestinationRule: workloadSelector without labels warns; unknown fields warn', () => {
  const empty = validate({ host: 'reviews', subsets, workloadSelector: {} });
  expectValid(empty);
  expectProblem(empty, { severity: 'warning', at: 'spec.workloadSelector' });
  expectProblem(validate({ host: 'r', workloadSelector: { matchLabels: { app: 'a*' } } }), { severity: 'error', at: 'spec.workloadSelector.matchLabels.app' });
  const typo = validate({ host: 'r', subset: [] });
  expectValid(typo);
  expectProblem(typo, { severity: 'warning', at: 'spec.subset' });
  expectNoProblem(validate({ host: 'r', subsets }), { severity: 'warning' });
});

// L-11: Istio TestValidateZoneAwareLbSetting (pkg/config/validation/agent/validation_test.go), case by case.
test('L-11: zoneAwareLbSetting is validated, not ignored (Istio TestValidateZoneAwareLbSetting)', () => {
  const OUTLIER = { interval: '1s' };
  const za = (zoneAwareLbSetting: unknown, outlierDetection: unknown = OUTLIER) =>
    policy({ loadBalancer: { zoneAwareLbSetting }, ...(outlierDetection ? { outlierDetection } : {}) });
  const AT = 'spec.trafficPolicy.loadBalancer.zoneAwareLbSetting';
  // "enabled only is valid", "valid region-level failover", "failoverPriority with non-topology labels is valid"
  expectClean(za({ enabled: true }));
  expectClean(za({ failover: [{ from: 'us-east', to: 'eu-west' }] }));
  expectClean(za({ failoverPriority: ['version', 'app=ratings'] }));
  expectClean(za({ enabled: true, minClusterSize: 6 }));
  // "failover same src and dst region", "... '/' (zone scope) is rejected", "... '*' wildcard is rejected"
  expectProblem(za({ failover: [{ from: 'region1', to: 'region1' }] }), { severity: 'error', at: `${AT}.failover[0]` });
  expectProblem(za({ failover: [{ from: 'region1/zone1', to: 'region2' }] }), { severity: 'error', at: `${AT}.failover[0]` });
  expectProblem(za({ failover: [{ from: 'region1', to: 'region2/zone1' }] }), { severity: 'error', at: `${AT}.failover[0]` });
  expectProblem(za({ failover: [{ from: '*', to: 'region2' }] }), { severity: 'error', at: `${AT}.failover[0]` });
  expectProblem(za({ failover: [{ from: 'region1', to: '*' }] }), { severity: 'error', at: `${AT}.failover[0]` });
  // "failover and failoverPriority both set with topology region", "failoverPriority with region/zone/subzone label is rejected"
  expectProblem(za({ failover: [{ from: 'region1', to: 'region2' }], failoverPriority: ['topology.kubernetes.io/region'] }), { severity: 'error', at: `${AT}.failoverPriority[0]` });
  for (const label of ['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone']) {
    expectProblem(za({ failoverPriority: ['version', label] }), { severity: 'error', at: `${AT}.failoverPriority[1]` });
  }
  // "failover without outlier detection warns", "failoverPriority without outlier detection warns"
  for (const setting of [{ failover: [{ from: 'us-east', to: 'eu-west' }] }, { failoverPriority: ['version'] }]) {
    const problems = za(setting, null);
    expectValid(problems);
    expectProblem(problems, { severity: 'warning', at: AT });
  }
  expectClean(za({ enabled: false }, null));
  // Only one of the two locality settings (Istio validateLoadBalancer); bad types and unknown fields.
  expectProblem(policy({ loadBalancer: { localityLbSetting: { enabled: true }, zoneAwareLbSetting: { enabled: true } } }), { severity: 'error', at: 'spec.trafficPolicy.loadBalancer' });
  expectProblem(za({ enabled: 'yes' }), { severity: 'error', at: `${AT}.enabled` });
  expectProblem(za({ minClusterSize: -1 }), { severity: 'error', at: `${AT}.minClusterSize` });
  expectProblem(za({ distribute: [] }), { severity: 'warning', at: `${AT}.distribute` });
  expectNoProblem(za({ enabled: true }), { at: 'spec.trafficPolicy.loadBalancer.zoneAwareLbSetting' });
});
