import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource } from './index.js';
import { autoAllocationApplies } from './service-entry.js';
import { errorsOf, expectClean, expectNoProblem, expectProblem, expectValid, resource, summary, warningsOf } from './test-support.js';

/** A valid STATIC ServiceEntry with an address, one HTTP port and one endpoint. */
function spec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hosts: ['google.com'],
    addresses: ['172.1.2.16'],
    ports: [{ number: 80, protocol: 'http', name: 'http-valid1' }],
    resolution: 'STATIC',
    endpoints: [{ address: '1.1.1.1' }],
    ...overrides,
  };
}

function validate(s: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return validateResource(resource('ServiceEntry', s, metadata));
}

test('V-SE-*: a well-formed STATIC ServiceEntry has no problems', () => {
  expectClean(validate(spec()));
});

test('V-SE-1: selector labels with an empty key or a wildcard are errors, reported alone', () => {
  const emptyKey = validate(spec({ endpoints: undefined, workloadSelector: { labels: { '': 'bar' } }, hosts: [] }));
  expectProblem(emptyKey, { severity: 'error', at: 'spec.workloadSelector.labels', rule: 'V-SE-1' });
  expectNoProblem(emptyKey, { rule: 'V-SE-4' }); // only the selector errors are returned
  expectProblem(validate(spec({ endpoints: undefined, workloadSelector: { labels: { app: 'web*' } } })), { severity: 'error', at: 'spec.workloadSelector.labels.app', rule: 'V-SE-1' });
  expectProblem(validate(spec({ endpoints: undefined, workloadSelector: { labels: { 'a*': 'b' } } })), { rule: 'V-SE-1' });
  expectClean(validate(spec({ endpoints: undefined, workloadSelector: { labels: { app: 'web' } } })));
});

test('V-SE-2: a workload selector without labels is a warning', () => {
  for (const selector of [{}, { labels: {} }]) {
    const problems = validate(spec({ endpoints: undefined, workloadSelector: selector }));
    expectValid(problems);
    expectProblem(problems, { severity: 'warning', at: 'spec.workloadSelector', rule: 'V-SE-2' });
  }
  expectNoProblem(validate(spec({ endpoints: undefined, workloadSelector: { labels: { a: 'b' } } })), { rule: 'V-SE-2' });
});

test('V-SE-3: workloadSelector together with endpoints is an error', () => {
  expectProblem(validate(spec({ workloadSelector: { labels: { foo: 'bar' } } })), { severity: 'error', rule: 'V-SE-3' });
  expectProblem(validate(spec({ workloadSelector: { labels: { foo: 'bar' } }, endpoints: [] })), { severity: 'error', rule: 'V-SE-3' });
  expectNoProblem(validate(spec()), { rule: 'V-SE-3' });
});

test('V-SE-4: at least one host is required', () => {
  expectProblem(validate(spec({ hosts: [] })), { severity: 'error', at: 'spec.hosts', rule: 'V-SE-4' });
  expectProblem(validate(spec({ hosts: undefined })), { severity: 'error', at: 'spec.hosts', rule: 'V-SE-4' });
  expectNoProblem(validate(spec()), { rule: 'V-SE-4' });
});

test('V-SE-5: host "*" and misplaced wildcards are errors; a partial wildcard only warns (not with DYNAMIC_DNS)', () => {
  expectProblem(validate(spec({ hosts: ['*'] })), { severity: 'error', at: 'spec.hosts[0]', rule: 'V-SE-5' });
  expectProblem(validate(spec({ hosts: ['foo.*.com'] })), { severity: 'error', at: 'spec.hosts[0]', rule: 'V-SE-5' });
  expectProblem(validate(spec({ hosts: ['foo*.com'] })), { severity: 'error', at: 'spec.hosts[0]', rule: 'V-SE-5' });
  expectProblem(validate(spec({ hosts: ['1.2.3.4'] })), { severity: 'error', at: 'spec.hosts[0]', rule: 'V-SE-5' });
  const partial = validate(spec({ hosts: ['*.nytimes.com', '*washingtonpost.com'], ports: [{ number: 443, protocol: 'HTTPS', name: 'https' }], resolution: 'NONE', endpoints: undefined }));
  expectValid(partial);
  expectProblem(partial, { severity: 'warning', at: 'spec.hosts[1]', rule: 'V-SE-5' });
  const dynamic = validate({ hosts: ['*washingtonpost.com'], ports: [{ number: 80, protocol: 'HTTP', name: 'http' }], resolution: 'DYNAMIC_DNS' });
  expectNoProblem(dynamic, { rule: 'V-SE-5' });
  expectClean(validate(spec({ hosts: ['*.google.com', 'istio.io.'] })));
});

test('V-SE-6: addresses are IPs or CIDRs; CIDRs only with NONE or STATIC', () => {
  expectProblem(validate(spec({ addresses: ['1.2.3'] })), { severity: 'error', at: 'spec.addresses[0]', rule: 'V-SE-6' });
  expectProblem(validate(spec({ addresses: ['1.1.1.1/33'] })), { severity: 'error', at: 'spec.addresses[0]', rule: 'V-SE-6' });
  expectProblem(validate(spec({ addresses: ['172.1.2.16/16'], resolution: 'DNS', endpoints: undefined })), { severity: 'error', rule: 'V-SE-6' });
  expectClean(validate(spec({ addresses: ['172.1.2.16/16'] })));
  expectClean(validate(spec({ addresses: ['172.1.2.16/16', '2001:db8::/64'], resolution: 'NONE', endpoints: undefined })));
});

test('V-SE-7: null ports, duplicate names and numbers, bad names, protocols, numbers and target ports are errors', () => {
  const port = (over: Record<string, unknown>) => ({ number: 80, protocol: 'HTTP', name: 'http', ...over });
  expectProblem(validate(spec({ ports: [null] })), { severity: 'error', at: 'spec.ports[0]', rule: 'V-SE-7' });
  expectProblem(validate(spec({ ports: [port({}), port({ number: 81 })] })), { severity: 'error', at: 'spec.ports[1].name', rule: 'V-SE-7' });
  expectProblem(validate(spec({ ports: [port({}), port({ name: 'http2' })] })), { severity: 'error', at: 'spec.ports[1].number', rule: 'V-SE-7' });
  expectProblem(validate(spec({ ports: [port({ name: 'http_1' })] })), { severity: 'error', at: 'spec.ports[0].name', rule: 'V-SUB-2' });
  expectProblem(validate(spec({ ports: [port({ protocol: 'FOO' })] })), { severity: 'error', at: 'spec.ports[0].protocol', rule: 'V-SUB-3' });
  expectProblem(validate(spec({ ports: [port({ number: 0 })] })), { severity: 'error', at: 'spec.ports[0].number', rule: 'V-SUB-1' });
  expectProblem(validate(spec({ ports: [port({ targetPort: 65536 })] })), { severity: 'error', at: 'spec.ports[0].targetPort', rule: 'V-SUB-1' });
  expectProblem(validate(spec({ ports: [port({ name: undefined })] })), { severity: 'error', at: 'spec.ports[0].name', rule: 'V-CRD-1' });
  expectProblem(validate(spec({ ports: [port({ number: undefined })] })), { severity: 'error', at: 'spec.ports[0].number', rule: 'V-CRD-1' });
  // The same targetPort on two ports is fine; protocol names are case-insensitive.
  expectClean(validate(spec({ ports: [port({ targetPort: 80 }), port({ number: 81, name: 'http2', targetPort: 80, protocol: 'grpc-web' })] })));
});

test('V-SE-8: TCP or unset ports without addresses warn only when v2 auto-allocation does not apply (A-V2-1)', () => {
  const ports = [
    { number: 80, protocol: 'http', name: 'http-valid1' },
    { number: 81, protocol: 'TCP', name: 'tcp-valid1' },
    { number: 82, name: 'unset' },
  ];
  const none = validate(spec({ addresses: undefined, endpoints: undefined, resolution: 'NONE', ports }));
  expectValid(none);
  assert.equal(warningsOf(none).filter((w) => w.rule === 'V-SE-8').length, 2);
  expectProblem(none, { severity: 'warning', at: 'spec.ports[1].protocol', rule: 'V-SE-8' });
  expectProblem(none, { severity: 'warning', at: 'spec.ports[2]', rule: 'V-SE-8' });
  expectClean(validate(spec({ addresses: undefined, ports })));
  expectNoProblem(validate(spec({ addresses: ['172.1.2.16/16'], resolution: 'NONE', endpoints: undefined, ports })), { rule: 'V-SE-8' });
  const optOut = validate(spec({ addresses: undefined, ports }), { labels: { 'networking.istio.io/enable-autoallocate-ip': 'FALSE' } });
  expectProblem(optOut, { severity: 'warning', rule: 'V-SE-8' });
  const featureOff = validateResource(resource('ServiceEntry', spec({ addresses: undefined, ports })), { ipAutoAllocation: false });
  expectProblem(featureOff, { severity: 'warning', rule: 'V-SE-8' });
  // Lower-case "tcp" does not trigger the warning: Istio compares with "TCP" exactly.
  expectNoProblem(validate(spec({ addresses: undefined, resolution: 'NONE', endpoints: undefined, ports: [{ number: 81, protocol: 'tcp', name: 't' }] })), { rule: 'V-SE-8' });
  assert.ok(autoAllocationApplies(true, 'DNS', new Map(), 0));
  assert.ok(!autoAllocationApplies(true, 'NONE', new Map(), 0));
  assert.ok(!autoAllocationApplies(true, 'DNS', new Map([['networking.istio.io/enable-autoallocate-ip', 'False']]), 0));
  assert.ok(!autoAllocationApplies(true, 'DNS', new Map(), 1));
  assert.ok(!autoAllocationApplies(false, 'DNS', new Map(), 0));
});

test('V-SE-9: NONE forbids endpoints (error) and warns about a workload selector', () => {
  expectProblem(validate(spec({ resolution: 'NONE' })), { severity: 'error', at: 'spec.endpoints', rule: 'V-SE-9' });
  expectProblem(validate(spec({ resolution: undefined })), { severity: 'error', at: 'spec.endpoints', rule: 'V-SE-9' });
  const selector = validate(spec({ resolution: 'NONE', endpoints: undefined, workloadSelector: { labels: { app: 'a' } } }));
  expectValid(selector);
  expectProblem(selector, { severity: 'warning', at: 'spec.workloadSelector', rule: 'V-SE-9' });
  expectClean(validate(spec({ resolution: 'NONE', endpoints: undefined })));
});

test('V-SE-10: STATIC endpoint with a host name is rejected; unix endpoints need exactly one port', () => {
  expectProblem(validate(spec({ endpoints: [{ address: 'google.com' }] })), { severity: 'error', at: 'spec.endpoints[0].address', rule: 'V-SE-10' });
  expectProblem(validate(spec({ endpoints: [{ address: '1.1.1.1', ports: { 'http-valid2': 9080 } }] })), { severity: 'error', at: 'spec.endpoints[0].ports.http-valid2', rule: 'V-SE-10' });
  expectProblem(validate(spec({ endpoints: [null] })), { severity: 'error', at: 'spec.endpoints[0]', rule: 'V-SE-10' });
  const twoPorts = [{ number: 80, protocol: 'HTTP', name: 'a' }, { number: 81, protocol: 'HTTP', name: 'b' }];
  expectProblem(validate(spec({ ports: twoPorts, endpoints: [{ address: 'unix:///var/a.sock' }] })), { severity: 'error', rule: 'V-SE-10' });
  expectProblem(validate(spec({ endpoints: [{ address: 'unix:///var/a.sock', ports: { 'http-valid1': 80 } }] })), { severity: 'error', at: 'spec.endpoints[0].ports', rule: 'V-WE-2' });
  expectProblem(validate(spec({ endpoints: [{ address: 'unix://relative' }] })), { severity: 'error', at: 'spec.endpoints[0].address', rule: 'V-SUB-10' });
  expectClean(validate(spec({ endpoints: [{ address: 'unix:///var/a.sock' }, { address: '2.2.2.2', ports: { 'http-valid1': 8080 }, labels: { app: 'a' } }] })));
  expectClean(validate(spec({ endpoints: undefined })));
  const networkOnly = validate(spec({ endpoints: [{ network: 'cluster-1' }] }));
  expectValid(networkOnly);
  expectProblem(networkOnly, { severity: 'warning', at: 'spec.endpoints[0]', rule: 'V-WE-1' });
  expectProblem(validate(spec({ endpoints: [{}] })), { severity: 'error', at: 'spec.endpoints[0].address', rule: 'V-WE-1' });
  expectProblem(validate(spec({ endpoints: [{ address: '1.1.1.1', labels: { '.': 'x' } }] })), { severity: 'error', at: 'spec.endpoints[0].labels', rule: 'V-SUB-9' });
});

test('V-SE-11: DNS needs FQDN hosts without endpoints, 0..1 endpoint for DNS_ROUND_ROBIN, IP-or-FQDN endpoint addresses', () => {
  const dns = (over: Record<string, unknown>) => spec({ resolution: 'DNS', addresses: undefined, endpoints: undefined, ...over });
  expectProblem(validate(dns({ hosts: ['*.google.com'] })), { severity: 'error', at: 'spec.hosts[0]', rule: 'V-SE-11' });
  expectClean(validate(dns({ hosts: ['google.com'] })));
  expectClean(validate(dns({ hosts: ['*.google.com'], endpoints: [{ address: 'lon.google.com', ports: { 'http-valid1': 8080 } }] })));
  const twoEndpoints = [{ address: 'api-v1.istio.io' }, { address: '1.1.1.2' }];
  expectProblem(validate(dns({ resolution: 'DNS_ROUND_ROBIN', endpoints: twoEndpoints })), { severity: 'error', at: 'spec.endpoints', rule: 'V-SE-11' });
  expectClean(validate(dns({ resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'api-v1.istio.io' }] })));
  expectClean(validate(dns({ endpoints: twoEndpoints })));
  for (const address of ['unix:///a.sock', '*.google.com', '', 'a:80']) {
    expectProblem(validate(dns({ endpoints: [{ address }] })), { severity: 'error', at: 'spec.endpoints[0].address', rule: 'V-SE-11' });
  }
  expectProblem(validate(dns({ endpoints: [{ address: 'in.google.com', ports: { 'http-valid2': 9080 } }] })), { severity: 'error', at: 'spec.endpoints[0].ports.http-valid2', rule: 'V-SE-11' });
  const tcp = [{ number: 443, protocol: 'TLS', name: 'tls' }];
  const severalHosts = validate(dns({ hosts: ['a.com', 'b.com'], addresses: ['10.0.0.1'], ports: tcp }));
  expectValid(severalHosts);
  expectProblem(severalHosts, { severity: 'warning', at: 'spec.hosts', rule: 'V-SE-11' });
  expectNoProblem(validate(dns({ hosts: ['a.com', 'b.com'], ports: tcp })), { rule: 'V-SE-11' });
});

test('V-SE-12: DYNAMIC_DNS needs wildcard hosts, no addresses or endpoints, HTTP/TLS/GRPC/HTTP2 ports', () => {
  const dynamic = (over: Record<string, unknown>) => ({ hosts: ['*.example.com'], resolution: 'DYNAMIC_DNS', ports: [{ number: 443, protocol: 'TLS', name: 'tls' }], ...over });
  expectClean(validate(dynamic({})));
  expectProblem(validate(dynamic({ hosts: ['example.com'] })), { severity: 'error', at: 'spec.hosts[0]', rule: 'V-SE-12' });
  expectProblem(validate(dynamic({ addresses: ['10.0.0.1'] })), { severity: 'error', at: 'spec.addresses', rule: 'V-SE-12' });
  expectProblem(validate(dynamic({ endpoints: [{ address: '1.1.1.1' }] })), { severity: 'error', at: 'spec.endpoints', rule: 'V-SE-12' });
  expectProblem(validate(dynamic({ ports: [{ number: 3306, protocol: 'MySQL', name: 'db' }] })), { severity: 'error', at: 'spec.ports[0].protocol', rule: 'V-SE-12' });
  const waypoint = { labels: { 'istio.io/use-waypoint': 'egress' } };
  expectProblem(validate(dynamic({ location: 'MESH_INTERNAL' }), waypoint), { severity: 'error', at: 'spec.location', rule: 'V-SE-12' });
  expectClean(validate(dynamic({ location: 'MESH_INTERNAL' }), { labels: { 'istio.io/use-waypoint': 'none' } }));
  expectClean(validate(dynamic({ location: 'MESH_EXTERNAL' }), waypoint));
});

test('V-SE-13: an unknown resolution (or a number) is an error at spec.resolution', () => {
  for (const resolution of ['FOO', 'static', 1]) {
    expectProblem(validate(spec({ resolution })), { severity: 'error', at: 'spec.resolution', rule: 'V-SE-13' });
  }
});

test('V-SE-14: several hosts with a non-NONE resolution need HTTP or TLS ports (unset protocol counts as neither)', () => {
  const twoHosts = (ports: unknown[], resolution = 'STATIC') => validate(spec({ hosts: ['a.com', 'b.com'], ports, resolution, endpoints: undefined }));
  expectProblem(twoHosts([{ number: 80, protocol: 'TCP', name: 'tcp' }]), { severity: 'error', at: 'spec.ports[0].protocol', rule: 'V-SE-14' });
  expectProblem(twoHosts([{ number: 80, name: 'unset' }]), { severity: 'error', at: 'spec.ports[0]', rule: 'V-SE-14' });
  expectClean(twoHosts([{ number: 80, protocol: 'HTTP', name: 'http' }, { number: 443, protocol: 'HTTPS', name: 'https' }]));
  expectNoProblem(twoHosts([{ number: 80, protocol: 'TCP', name: 'tcp' }], 'NONE'), { rule: 'V-SE-14' });
  const once = twoHosts([{ number: 80, protocol: 'TCP', name: 'a' }, { number: 81, protocol: 'TCP', name: 'b' }]);
  assert.equal(errorsOf(once).filter((e) => e.rule === 'V-SE-14').length, 1);
});

test('V-SE-15: exportTo accepts "~" alone on a ServiceEntry', () => {
  expectClean(validate(spec({ exportTo: ['~'] })));
  expectProblem(validate(spec({ exportTo: ['~', 'ns2'] })), { severity: 'error', at: 'spec.exportTo', rule: 'V-EXP-3' });
});

test('V-SE-16: location, subjectAltNames, endpoint network, locality, weight and serviceAccount are not checked beyond their types', () => {
  expectClean(
    validate(
      spec({
        location: 'MESH_INTERNAL',
        subjectAltNames: ['spiffe://cluster.local/ns/a/sa/b'],
        endpoints: [{ address: '1.1.1.1', network: 'n1', locality: 'a/b/c/d', weight: 7, serviceAccount: 'anything' }],
      }),
    ),
  );
  expectProblem(validate(spec({ location: 'mesh_internal' })), { severity: 'error', at: 'spec.location', rule: 'V-CRD-1' });
  expectProblem(validate(spec({ endpoints: [{ address: '1.1.1.1', weight: -1 }] })), { severity: 'error', at: 'spec.endpoints[0].weight' });
});

test('V-CRD-1: list size limits and address length', () => {
  expectProblem(validate(spec({ hosts: Array.from({ length: 257 }, (_, i) => `h${i}.com`), ports: [{ number: 80, protocol: 'HTTP', name: 'h' }] })), { severity: 'error', at: 'spec.hosts', rule: 'V-CRD-1' });
  expectProblem(validate(spec({ addresses: ['1'.repeat(65)] })), { severity: 'error', at: 'spec.addresses[0]', rule: 'V-CRD-1' });
});

test('V-CRD-2: NONE with an empty but present endpoints list is refused by the schema', () => {
  expectProblem(validate(spec({ resolution: 'NONE', endpoints: [] })), { severity: 'error', at: 'spec.endpoints', rule: 'V-SE-9' });
});

test('V-SE-*: unknown spec fields are warnings, not errors', () => {
  const problems = validate(spec({ endpoint: [] }));
  expectValid(problems);
  assert.deepEqual(summary(problems), ['warning spec.endpoint V-UNKNOWN-FIELD']);
});
