import { test } from 'node:test';
import { validateResource } from './index.js';
import { expectClean, expectProblem, expectValid } from './test-support.js';

const pod = (spec: unknown, status: unknown, labels: Record<string, unknown> = { app: 'web' }) =>
  validateResource({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', namespace: 'ns1', labels }, spec, status });
const service = (spec: unknown, status?: unknown) => validateResource({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's1', namespace: 'ns1' }, spec, status });
const ready = { podIP: '10.0.0.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };

test('Pod: container ports, service account and status as meshbridge reads them', () => {
  expectClean(pod({ serviceAccountName: 'web', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] }, ready));
  expectClean(pod(undefined, ready));
  expectClean(pod({ containers: [{ ports: [{ containerPort: 8080 }] }] }, { podIP: 'fe80::1', podIPs: [{ ip: 'fe80::1' }], phase: 'Pending' }));
  expectProblem(pod({ containers: [{ ports: [{ containerPort: 0 }] }] }, ready), { severity: 'error', at: 'spec.containers[0].ports[0].containerPort', rule: 'V-SUB-1' });
  expectProblem(pod({ containers: [{ ports: [{ containerPort: '8080' }] }] }, ready), { severity: 'error', at: 'spec.containers[0].ports[0].containerPort' });
  expectProblem(pod({ containers: [{ ports: [{ name: 'http' }] }] }, ready), { severity: 'error', at: 'spec.containers[0].ports[0].containerPort' });
  expectProblem(pod({ containers: [{ ports: [{ containerPort: 80, name: 'HTTP_1' }] }] }, ready), { severity: 'error', at: 'spec.containers[0].ports[0].name' });
  expectProblem(pod({ containers: [{ ports: [{ containerPort: 80, protocol: 'tcp' }] }] }, ready), { severity: 'error', at: 'spec.containers[0].ports[0].protocol' });
  expectProblem(pod({ containers: 'app' }, ready), { severity: 'error', at: 'spec.containers' });
  expectProblem(pod({ serviceAccountName: 'Web_SA' }, ready), { severity: 'error', at: 'spec.serviceAccountName' });
  expectProblem(pod({}, { ...ready, podIP: '10.0.0.256' }), { severity: 'error', at: 'status.podIP', rule: 'V-SUB-4' });
  expectProblem(pod({}, { ...ready, phase: 'running' }), { severity: 'error', at: 'status.phase' });
  expectProblem(pod({}, { ...ready, conditions: [{ type: 'Ready', status: 'yes' }] }), { severity: 'error', at: 'status.conditions[0].status' });
  expectProblem(pod({}, { ...ready, conditions: [{ status: 'True' }] }), { severity: 'error', at: 'status.conditions[0].type' });
  expectProblem(pod({}, ready, { version: 1 }), { severity: 'error', at: 'metadata.labels.version' });
  const unquoted = pod({}, { ...ready, conditions: [{ type: 'Ready', status: true }] });
  expectValid(unquoted);
  expectProblem(unquoted, { severity: 'warning', at: 'status.conditions[0].status' });
});

test('Service: ports, targetPort number or name, protocol, selector, clusterIP and type', () => {
  expectClean(service({ selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'grpc', port: 9090, targetPort: 'grpc-port', protocol: 'TCP' }] }));
  expectClean(service({ clusterIP: 'None', ports: [{ port: 80 }] }));
  expectClean(service({ type: 'ExternalName', externalName: 'db.example.com' }));
  expectProblem(service({ ports: [{ port: 0 }] }), { severity: 'error', at: 'spec.ports[0].port', rule: 'V-SUB-1' });
  expectProblem(service({ ports: [{ name: 'http' }] }), { severity: 'error', at: 'spec.ports[0].port' });
  expectProblem(service({ ports: [{ port: 80, targetPort: 70000 }] }), { severity: 'error', at: 'spec.ports[0].targetPort' });
  expectProblem(service({ ports: [{ port: 80, targetPort: 'Not_A_Name' }] }), { severity: 'error', at: 'spec.ports[0].targetPort' });
  expectProblem(service({ ports: [{ port: 80, protocol: 'HTTP' }] }), { severity: 'error', at: 'spec.ports[0].protocol' });
  expectProblem(service({ ports: [{ port: 80, name: 'a' }, { port: 81, name: 'a' }] }), { severity: 'error', at: 'spec.ports[1].name' });
  const unnamed = service({ ports: [{ port: 80 }, { port: 81 }] });
  expectValid(unnamed);
  expectProblem(unnamed, { severity: 'warning', at: 'spec.ports[0].name' });
  expectProblem(service({ clusterIP: '10.0.0.300' }), { severity: 'error', at: 'spec.clusterIP' });
  expectProblem(service({ type: 'Headless' }), { severity: 'error', at: 'spec.type' });
  expectProblem(service({ selector: { app: 7 } }), { severity: 'error', at: 'spec.selector.app' });
  expectProblem(service({ selector: ['app'] }), { severity: 'error', at: 'spec.selector' });
  expectProblem(service({}, { loadBalancer: { ingress: [{ ip: 'x' }] } }), { severity: 'error', at: 'status.loadBalancer.ingress[0].ip' });
});

test('Node: labels are checked like all metadata; status addresses are type-checked', () => {
  const node = (metadata: unknown, status?: unknown) => validateResource({ apiVersion: 'v1', kind: 'Node', metadata, status });
  expectClean(node({ name: 'node-1', labels: { 'topology.kubernetes.io/region': 'us-east1', 'topology.kubernetes.io/zone': 'us-east1-b' } }));
  expectProblem(node({ name: 'node-1', labels: { 'topology.kubernetes.io/region': ['us'] } }), { severity: 'error', at: 'metadata.labels.topology.kubernetes.io/region' });
  expectProblem(node({ name: 'node-1' }, { addresses: [{ type: 'InternalIP', address: 5 }] }), { severity: 'error', at: 'status.addresses[0].address' });
});
