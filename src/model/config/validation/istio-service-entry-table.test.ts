/**
 * Istio's own table for ServiceEntry validation (pkg/config/validation/validation_test.go,
 * TestValidateServiceEntries), transcribed as YAML-shaped values: for each case Istio says whether
 * it is valid and whether it warns. Rules: V-SE-1 .. V-SE-16.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource } from './index.js';
import { errorsOf, resource, show, warningsOf } from './test-support.js';

interface IstioCase {
  readonly name: string;
  readonly spec: Record<string, unknown>;
  readonly valid: boolean;
  readonly warning?: boolean;
}

const http1 = { number: 80, protocol: 'http', name: 'http-valid1' };
const http2 = { number: 8080, protocol: 'http', name: 'http-valid2' };
const googleDnsEndpoints = [
  { address: 'lon.google.com', ports: { 'http-valid1': 8080 } },
  { address: 'in.google.com', ports: { 'http-valid2': 9080 } },
];
const staticEndpoints = [
  { address: '1.1.1.1', ports: { 'http-valid1': 8080 } },
  { address: '2.2.2.2', ports: { 'http-valid2': 9080 } },
];
const grpc = { number: 6553, protocol: 'grpc', name: 'grpc-service1' };

const CASES: readonly IstioCase[] = [
  { name: 'discovery type DNS', spec: { hosts: ['*.google.com'], ports: [http1, http2], endpoints: googleDnsEndpoints, resolution: 'DNS' }, valid: true },
  { name: 'discovery type DNS Round Robin', spec: { hosts: ['*.istio.io'], ports: [http1, http2], endpoints: [{ address: 'api-v1.istio.io', ports: { 'http-valid1': 8080 } }], resolution: 'DNS_ROUND_ROBIN' }, valid: true },
  {
    name: 'discovery type DNS, label tlsMode: istio',
    spec: { hosts: ['*.google.com'], ports: [http1, http2], endpoints: googleDnsEndpoints.map((e) => ({ ...e, labels: { 'security.istio.io/tlsMode': 'istio' } })), resolution: 'DNS' },
    valid: true,
  },
  { name: 'discovery type DNS, one host set with IP address and https port', spec: { hosts: ['httpbin.org'], addresses: ['10.10.10.10'], ports: [http1, http2, { number: 443, protocol: 'https', name: 'https' }], resolution: 'DNS' }, valid: true },
  { name: 'discovery type DNS, multi hosts set with IP address and https port', spec: { hosts: ['httpbin.org', 'wikipedia.org'], addresses: ['10.10.10.10'], ports: [http1, http2, { number: 443, protocol: 'https', name: 'https' }], resolution: 'DNS' }, valid: true, warning: true },
  { name: 'discovery type DNS, IP address set', spec: { hosts: ['*.google.com'], addresses: ['10.10.10.10'], ports: [http1, http2], endpoints: googleDnsEndpoints, resolution: 'DNS' }, valid: true },
  { name: 'discovery type DNS, IP in endpoints', spec: { hosts: ['*.google.com'], ports: [http1, http2], endpoints: [{ address: '1.1.1.1', ports: { 'http-valid1': 8080 } }, googleDnsEndpoints[1]], resolution: 'DNS' }, valid: true },
  { name: 'empty hosts', spec: { ports: [http1], endpoints: [{ address: 'in.google.com', ports: { 'http-valid2': 9080 } }], resolution: 'DNS' }, valid: false },
  { name: 'bad hosts', spec: { hosts: ['-'], ports: [http1], endpoints: [{ address: 'in.google.com', ports: { 'http-valid2': 9080 } }], resolution: 'DNS' }, valid: false },
  { name: 'full wildcard host', spec: { hosts: ['foo.com', '*'], ports: [http1], endpoints: [{ address: 'in.google.com', ports: { 'http-valid2': 9080 } }], resolution: 'DNS' }, valid: false },
  { name: 'short name host', spec: { hosts: ['foo', 'bar.com'], ports: [http1], endpoints: [{ address: 'in.google.com', ports: { 'http-valid1': 9080 } }], resolution: 'DNS' }, valid: true },
  {
    name: 'undefined endpoint port',
    spec: { hosts: ['google.com'], ports: [http1, { ...http1, name: 'http-valid2' }], endpoints: [googleDnsEndpoints[0], { address: 'in.google.com', ports: { 'http-dne': 9080 } }], resolution: 'DNS' },
    valid: false,
  },
  { name: 'discovery type DNS, non-FQDN endpoint', spec: { hosts: ['*.google.com'], ports: [http1, http2], endpoints: [{ address: '*.lon.google.com', ports: { 'http-valid1': 8080 } }, { address: 'in.google.com', ports: { 'http-dne': 9080 } }], resolution: 'DNS' }, valid: false },
  { name: 'discovery type DNS, non-FQDN host', spec: { hosts: ['*.google.com'], ports: [http1, http2], resolution: 'DNS' }, valid: false },
  { name: 'discovery type DNS, no endpoints', spec: { hosts: ['google.com'], ports: [http1, http2], resolution: 'DNS' }, valid: true },
  { name: 'discovery type DNS, unix endpoint', spec: { hosts: ['*.google.com'], ports: [http1], endpoints: [{ address: 'unix:///lon/google/com' }], resolution: 'DNS' }, valid: false },
  { name: 'discovery type none', spec: { hosts: ['google.com'], ports: [http1, http2], resolution: 'NONE' }, valid: true },
  { name: 'discovery type none, endpoints provided', spec: { hosts: ['google.com'], ports: [http1, http2], endpoints: [googleDnsEndpoints[0]], resolution: 'NONE' }, valid: false },
  { name: 'discovery type none, cidr addresses', spec: { hosts: ['google.com'], addresses: ['172.1.2.16/16'], ports: [http1, http2], resolution: 'NONE' }, valid: true },
  { name: 'discovery type static, cidr addresses with endpoints', spec: { hosts: ['google.com'], addresses: ['172.1.2.16/16'], ports: [http1, http2], endpoints: staticEndpoints, resolution: 'STATIC' }, valid: true },
  { name: 'discovery type static', spec: { hosts: ['google.com'], addresses: ['172.1.2.16'], ports: [http1, http2], endpoints: staticEndpoints, resolution: 'STATIC' }, valid: true },
  { name: 'discovery type static, FQDN in endpoints', spec: { hosts: ['google.com'], addresses: ['172.1.2.16'], ports: [http1, http2], endpoints: [{ address: 'google.com', ports: { 'http-valid1': 8080 } }, staticEndpoints[1]], resolution: 'STATIC' }, valid: false },
  { name: 'discovery type static, missing endpoints', spec: { hosts: ['google.com'], addresses: ['172.1.2.16'], ports: [http1, http2], resolution: 'STATIC' }, valid: true },
  { name: 'discovery type static, bad endpoint port name', spec: { hosts: ['google.com'], addresses: ['172.1.2.16'], ports: [http1, http2], endpoints: [staticEndpoints[0], { address: '2.2.2.2', ports: { 'http-dne': 9080 } }], resolution: 'STATIC' }, valid: false },
  { name: 'discovery type none, conflicting port names', spec: { hosts: ['google.com'], ports: [{ ...http1, name: 'http-conflict' }, { ...http2, name: 'http-conflict' }], resolution: 'NONE' }, valid: false },
  { name: 'discovery type none, conflicting port numbers', spec: { hosts: ['google.com'], ports: [{ ...http1, name: 'http-conflict1' }, { ...http1, name: 'http-conflict2' }], resolution: 'NONE' }, valid: false },
  { name: 'unix socket', spec: { hosts: ['uds.cluster.local'], ports: [grpc], resolution: 'STATIC', endpoints: [{ address: 'unix:///path/to/socket' }] }, valid: true },
  { name: 'unix socket, relative path', spec: { hosts: ['uds.cluster.local'], ports: [grpc], resolution: 'STATIC', endpoints: [{ address: 'unix://./relative/path.sock' }] }, valid: false },
  { name: 'unix socket, endpoint ports', spec: { hosts: ['uds.cluster.local'], ports: [grpc], resolution: 'STATIC', endpoints: [{ address: 'unix:///path/to/socket', ports: { 'grpc-service1': 6553 } }] }, valid: false },
  { name: 'unix socket, multiple service ports', spec: { hosts: ['uds.cluster.local'], ports: [grpc, { number: 80, protocol: 'http', name: 'http-service2' }], resolution: 'STATIC', endpoints: [{ address: 'unix:///path/to/socket' }] }, valid: false },
  { name: 'empty protocol', spec: { hosts: ['google.com'], addresses: ['172.1.2.16/16'], ports: [http1, { number: 8080, name: 'http-valid2' }], resolution: 'NONE' }, valid: true },
  { name: 'selector', spec: { hosts: ['google.com'], workloadSelector: { labels: { foo: 'bar' } }, ports: [http1] }, valid: true, warning: true },
  { name: 'workload selector without labels', spec: { hosts: ['google.com'], ports: [http1, http2], workloadSelector: {} }, valid: true, warning: true },
  { name: 'selector and endpoints', spec: { hosts: ['google.com'], workloadSelector: { labels: { foo: 'bar' } }, ports: [http1], endpoints: [{ address: '1.1.1.1' }] }, valid: false, warning: true },
  { name: 'selector and resolution NONE', spec: { hosts: ['google.com'], workloadSelector: { labels: { foo: 'bar' } }, ports: [http1], resolution: 'NONE' }, valid: true, warning: true },
  { name: 'selector and resolution DNS', spec: { hosts: ['google.com'], workloadSelector: { labels: { foo: 'bar' } }, ports: [http1], resolution: 'DNS' }, valid: true },
  { name: 'bad selector key', spec: { hosts: ['google.com'], workloadSelector: { labels: { '': 'bar' } }, ports: [http1] }, valid: false },
  { name: 'repeat target port', spec: { hosts: ['google.com'], resolution: 'DNS', ports: [{ ...http1, targetPort: 80 }, { number: 81, protocol: 'http', name: 'http-valid2', targetPort: 80 }] }, valid: true },
  { name: 'valid target port', spec: { hosts: ['google.com'], resolution: 'DNS', ports: [{ ...http1, targetPort: 81 }] }, valid: true },
  { name: 'invalid target port', spec: { hosts: ['google.com'], resolution: 'DNS', ports: [{ ...http1, targetPort: 65536 }] }, valid: false },
  { name: 'warn target port', spec: { hosts: ['google.com'], workloadSelector: { labels: { key: 'bar' } }, ports: [{ ...http1, targetPort: 1234 }] }, valid: true, warning: true },
  { name: 'valid endpoint port', spec: { hosts: ['google.com'], ports: [{ ...http1, targetPort: 81 }], resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', ports: { 'http-valid1': 8081 } }] }, valid: true },
  { name: 'invalid endpoint port', spec: { hosts: ['google.com'], ports: [{ ...http1, targetPort: 81 }], resolution: 'STATIC', endpoints: [{ address: '1.1.1.1', ports: { 'http-valid1': 65536 } }] }, valid: false },
  { name: 'protocol unset for addresses empty', spec: { hosts: ['google.com'], addresses: [], ports: [http1, { number: 8080, name: 'http-valid2' }], resolution: 'NONE' }, valid: true, warning: true },
  { name: 'protocol is TCP for addresses empty', spec: { hosts: ['google.com'], addresses: [], ports: [http1, { number: 81, protocol: 'TCP', name: 'tcp-valid1' }], resolution: 'NONE' }, valid: true, warning: true },
  {
    name: 'dns round robin with more than one endpoint',
    spec: { hosts: ['google.com'], addresses: [], ports: [{ number: 8081, protocol: 'http', name: 'http-valid1' }], endpoints: [{ address: 'api-v1.istio.io', ports: { 'http-valid1': 8081 } }, { address: '1.1.1.2', ports: { 'http-valid1': 8081 } }], resolution: 'DNS_ROUND_ROBIN' },
    valid: false,
  },
  { name: 'dns round robin with 0 endpoints', spec: { hosts: ['google.com'], addresses: [], ports: [{ number: 8081, protocol: 'http', name: 'http-valid1' }], endpoints: [], resolution: 'DNS_ROUND_ROBIN' }, valid: true },
  // Istio's table passes `Endpoints: []` here; in YAML an empty list is present and the CRD rule "NONE cannot have endpoints" (V-CRD-2) refuses it, so the list is left out.
  { name: 'partial wildcard hosts', spec: { hosts: ['*.nytimes.com', '*washingtonpost.com'], addresses: [], ports: [{ number: 443, protocol: 'HTTPS', name: 'https-nytimes' }], resolution: 'NONE' }, valid: true, warning: true },
  { name: 'network set with no address on endpoint', spec: { hosts: ['www.example.com'], addresses: [], ports: [{ number: 443, protocol: 'HTTPS', name: 'https-example' }], endpoints: [{ network: 'cluster-1' }], resolution: 'STATIC' }, valid: true, warning: true },
];

for (const c of CASES) {
  test(`V-SE-*: Istio TestValidateServiceEntries "${c.name}" is ${c.valid ? 'valid' : 'invalid'}${c.warning === true ? ' with a warning' : ''}`, () => {
    const problems = validateResource(resource('ServiceEntry', c.spec));
    assert.equal(errorsOf(problems).length === 0, c.valid, show(problems));
    assert.equal(warningsOf(problems).length > 0, c.warning ?? false, show(problems));
  });
}
