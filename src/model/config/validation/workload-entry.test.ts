import { test } from 'node:test';
import { validateResource } from './index.js';
import { expectClean, expectNoProblem, expectProblem, expectValid, resource } from './test-support.js';

function validate(spec: unknown) {
  return validateResource(resource('WorkloadEntry', spec));
}

// Istio TestValidateWorkloadEntry cases are marked "(Istio)".
test('V-WE-1: an address or a network is required; network only is a warning (Istio "missing address")', () => {
  expectProblem(validate({}), { severity: 'error', at: 'spec.address', rule: 'V-WE-1' });
  expectProblem(validate(undefined), { severity: 'error', at: 'spec.address', rule: 'V-WE-1' });
  expectProblem(validate({ address: '' }), { severity: 'error', at: 'spec.address', rule: 'V-WE-1' });
  const networkOnly = validate({ network: 'network-2' });
  expectValid(networkOnly);
  expectProblem(networkOnly, { severity: 'warning', at: 'spec.address', rule: 'V-WE-1' });
  expectClean(validate({ address: '1.2.3.4' }));
});

test('V-WE-2: unix addresses pass V-SUB-10 and carry no ports (Istio "valid/invalid unix endpoint")', () => {
  expectClean(validate({ address: 'unix:///lon/google/com' }));
  expectProblem(validate({ address: 'unix:///lon/google/com', ports: { '7777': 7777 } }), { severity: 'error', at: 'spec.ports', rule: 'V-WE-2' });
  expectProblem(validate({ address: 'unix://' }), { severity: 'error', at: 'spec.address', rule: 'V-SUB-10' });
  expectProblem(validate({ address: 'unix://var/run' }), { severity: 'error', at: 'spec.address', rule: 'V-SUB-10' });
  expectClean(validate({ address: 'unix://@abstract' }));
});

test('V-WE-3: other addresses are IPs or FQDNs (Istio "valid FQDN", "invalid FQDN", "valid IP")', () => {
  for (const address of ['validdns.com', 'vm1.vpc01.corp.net', '172.16.1.1', 'fe80::1', 'vm1']) expectClean(validate({ address, ports: { '7777': 7777 } }));
  for (const address of ['invaliddns.com:9443', '*.example.com', '1.1.1.256', '01.1.1.1', 'a b', '1.2.3.4/32']) {
    expectProblem(validate({ address, ports: { '7777': 7777 } }), { severity: 'error', at: 'spec.address', rule: 'V-WE-3' });
  }
});

test('V-WE-4: port map keys are port names and values port numbers, not checked against any ServiceEntry', () => {
  expectProblem(validate({ address: '1.1.1.1', ports: { http_web: 8080 } }), { severity: 'error', at: 'spec.ports.http_web', rule: 'V-SUB-2' });
  expectProblem(validate({ address: '1.1.1.1', ports: { grpc: 0 } }), { severity: 'error', at: 'spec.ports.grpc', rule: 'V-SUB-1' });
  expectProblem(validate({ address: '1.1.1.1', ports: { grpc: 70000 } }), { severity: 'error', at: 'spec.ports.grpc', rule: 'V-SUB-1' });
  expectProblem(validate({ address: '1.1.1.1', ports: { grpc: '8080' } }), { severity: 'error', at: 'spec.ports.grpc' });
  expectClean(validate({ address: '1.1.1.1', ports: { nosuchport: 9090, '7777': 7777 } }));
});

test('V-WE-5: spec labels pass V-SUB-9', () => {
  expectProblem(validate({ address: '1.1.1.1', labels: { '.': '~' } }), { severity: 'error', at: 'spec.labels..', rule: 'V-WE-5' });
  expectProblem(validate({ address: '1.1.1.1', labels: { version: 1 } }), { severity: 'error', at: 'spec.labels.version' });
  expectClean(validate({ address: '1.1.1.1', labels: { app: 'web', 'security.istio.io/tlsMode': 'istio' } }));
});

test('V-WE-6: weight, locality, network and serviceAccount are free-form (within the CRD limits, V-CRD-3)', () => {
  expectClean(validate({ address: '1.1.1.1', weight: 4294967295, locality: 'a/b/c/d', network: 'n', serviceAccount: 'sa' }));
  expectProblem(validate({ address: '1.1.1.1', weight: 4294967296 }), { severity: 'error', at: 'spec.weight' });
  expectProblem(validate({ address: '1.1.1.1', weight: -1 }), { severity: 'error', at: 'spec.weight' });
  expectProblem(validate({ address: '1.1.1.1', weight: 1.5 }), { severity: 'error', at: 'spec.weight' });
  expectProblem(validate({ address: '1.1.1.1', weight: '5' }), { severity: 'error', at: 'spec.weight' });
  expectProblem(validate({ address: '1.1.1.1', serviceAccount: 's'.repeat(254) }), { severity: 'error', at: 'spec.serviceAccount', rule: 'V-CRD-3' });
});

test('V-CRD-3: address length and port map size limits', () => {
  expectProblem(validate({ address: `${'a'.repeat(260)}.com` }), { severity: 'error', at: 'spec.address', rule: 'V-CRD-3' });
  const ports = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`p${i}`, 1000 + i]));
  expectProblem(validate({ address: '1.1.1.1', ports }), { severity: 'error', at: 'spec.ports', rule: 'V-CRD-3' });
});

test('V-WE-*: unknown fields are warnings', () => {
  const problems = validate({ address: '1.1.1.1', adress: 'x' });
  expectValid(problems);
  expectProblem(problems, { severity: 'warning', at: 'spec.adress' });
  expectNoProblem(validate({ address: '1.1.1.1' }), { severity: 'warning' });
});

test('issue 11: serviceAccount must be a DNS-1123 subdomain (it becomes the last segment of a SPIFFE id)', () => {
  const entry = (serviceAccount: string) => validateResource(resource('WorkloadEntry', { address: '10.0.0.1', serviceAccount }));
  expectProblem(entry('x/ns/team-b/sa/sa-b'), { severity: 'error', at: 'spec.serviceAccount' });
  expectProblem(entry('web_sa'), { severity: 'error', at: 'spec.serviceAccount' });
  expectClean(entry('web.v2-x'));
});
