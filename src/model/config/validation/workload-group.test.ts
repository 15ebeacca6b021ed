import { test } from 'node:test';
import { validateResource } from './index.js';
import { expectClean, expectProblem, resource } from './test-support.js';

function validate(spec: unknown) {
  return validateResource(resource('WorkloadGroup', spec));
}

// Cases marked "(Istio)" come from TestValidateWorkloadGroup.
test('V-WG-1: the template is required but not validated by the webhook (Istio "valid")', () => {
  expectClean(validate({ template: {} }));
  expectProblem(validate({}), { severity: 'error', at: 'spec.template', rule: 'V-WG-1' });
  expectProblem(validate({ template: null }), { severity: 'error', at: 'spec.template', rule: 'V-WG-1' });
  // No address rule, no label syntax check on the template.
  expectClean(validate({ template: { labels: { '.': '~' }, serviceAccount: 'sa' } }));
});

test('V-WG-2: spec.metadata.labels pass V-SUB-9 (Istio "invalid")', () => {
  expectProblem(validate({ template: {}, metadata: { labels: { '.': '~' } } }), { severity: 'error', at: 'spec.metadata.labels', rule: 'V-WG-2' });
  expectClean(validate({ template: {}, metadata: { labels: { app: 'vm' }, annotations: { a: 'b' } } }));
});

test('V-WG-3: probe integers must be non-negative; zero is allowed', () => {
  const probe = (over: Record<string, unknown>) => validate({ template: {}, probe: { tcpSocket: { port: 5 }, ...over } });
  for (const key of ['periodSeconds', 'initialDelaySeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold']) {
    expectProblem(probe({ [key]: -1 }), { severity: 'error', at: `spec.probe.${key}`, rule: 'V-WG-3' });
    expectClean(probe({ [key]: 0 }));
  }
});

test('V-WG-4: httpGet and tcpSocket need a port, scheme is HTTP or HTTPS, headers are [-A-Za-z0-9]+, exec needs a command', () => {
  const probe = (p: unknown) => validate({ template: {}, probe: p });
  expectProblem(probe({ httpGet: {} }), { severity: 'error', at: 'spec.probe.httpGet.port', rule: 'V-WG-4' });
  expectClean(probe({ httpGet: { port: 5 } }));
  expectProblem(probe({ tcpSocket: {} }), { severity: 'error', at: 'spec.probe.tcpSocket.port', rule: 'V-WG-4' });
  expectClean(probe({ tcpSocket: { port: 5 } }));
  expectProblem(probe({ exec: {} }), { severity: 'error', at: 'spec.probe.exec.command', rule: 'V-WG-4' });
  expectClean(probe({ exec: { command: ['foo', 'bar'] } }));
  expectProblem(probe({ httpGet: { port: 5, scheme: 'https' } }), { severity: 'error', at: 'spec.probe.httpGet.scheme', rule: 'V-WG-4' });
  expectClean(probe({ httpGet: { port: 5, scheme: 'HTTPS', path: '/ready', httpHeaders: [{ name: 'X-Probe', value: '1' }] } }));
  expectProblem(probe({ httpGet: { port: 5, httpHeaders: [{ name: 'x_probe', value: '1' }] } }), { severity: 'error', at: 'spec.probe.httpGet.httpHeaders[0].name', rule: 'V-WG-4' });
  expectProblem(probe({ httpGet: { port: 70000 } }), { severity: 'error', at: 'spec.probe.httpGet.port', rule: 'V-WG-4' });
});

test('V-WG-5: a probe without a method, or with grpc, is rejected (Istio "probe missing method")', () => {
  expectProblem(validate({ template: {}, probe: {} }), { severity: 'error', at: 'spec.probe', rule: 'V-WG-5' });
  expectProblem(validate({ template: {}, probe: { grpc: { port: 5 } } }), { severity: 'error', at: 'spec.probe.grpc', rule: 'V-WG-5' });
});

test('V-CRD-4: at most one probe method; template follows the WorkloadEntry schema without "address is required"', () => {
  expectProblem(validate({ template: {}, probe: { httpGet: { port: 5 }, tcpSocket: { port: 5 } } }), { severity: 'error', at: 'spec.probe', rule: 'V-CRD-4' });
  expectProblem(validate({ template: { ports: { http: 0 } } }), { severity: 'error', at: 'spec.template.ports.http', rule: 'V-CRD-4' });
  expectProblem(validate({ template: { weight: -2 } }), { severity: 'error', at: 'spec.template.weight' });
  expectProblem(validate({ template: {}, probe: { exec: { command: [''] } } }), { severity: 'error', at: 'spec.probe.exec.command[0]', rule: 'V-CRD-4' });
  expectClean(validate({ template: { ports: { http: 8080 }, network: 'n1', serviceAccount: 'default' } }));
});

test('issue 11: the template service account is a Kubernetes name (no "/ns/<other>/" forgery); revocation annotations must be readable', () => {
  expectProblem(validate({ template: { serviceAccount: 'x/ns/team-b/sa/sa-b' } }), { severity: 'error', at: 'spec.template.serviceAccount' });
  expectProblem(validate({ template: { serviceAccount: 'Admin' } }), { severity: 'error', at: 'spec.template.serviceAccount' });
  expectClean(validate({ template: { serviceAccount: 'web.v2-x' } }));
  const annotated = (annotations: Record<string, string>) => validateResource(resource('WorkloadGroup', { template: {} }, { annotations }));
  expectClean(annotated({ 'meshbridge.io/revoked-tokens': '0123456789abcdef,fedcba9876543210', 'meshbridge.io/tokens-revoked-before': '2026-01-02T03:04:05Z' }));
  expectProblem(annotated({ 'meshbridge.io/revoked-tokens': 'all' }), { severity: 'error', at: 'metadata.annotations.meshbridge.io/revoked-tokens' });
  expectProblem(annotated({ 'meshbridge.io/tokens-revoked-before': 'yesterday' }), { severity: 'error', at: 'metadata.annotations.meshbridge.io/tokens-revoked-before' });
});
