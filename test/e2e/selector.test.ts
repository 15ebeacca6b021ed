/**
 * Issue 3, end to end: one workloadSelector selects pods and VMs alike, and a real proxyless gRPC
 * client (@grpc/grpc-js-xds in a child process) balances its calls across both, through a real
 * `meshbridge serve` process. Backends are real gRPC servers on distinct 127.x addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../xds/fixtures/backends.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { startServe } from './serve-process.js';

function mesh(pod: Backend, vm: Backend): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc1, namespace: demo}
spec:
  hosts: [svc1.demo.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: {app: svc1}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm1, namespace: demo}
spec: {address: ${vm.host}, labels: {app: svc1}, ports: {grpc: ${vm.port}}}
---
apiVersion: v1
kind: Pod
metadata: {name: svc1-pod, namespace: demo, labels: {app: svc1}}
spec: {containers: [{name: app, ports: [{name: grpc, containerPort: ${pod.port}}]}]}
status: {podIP: ${pod.host}, phase: Running, conditions: [{type: Ready, status: "True"}]}
`;
}

test('one workloadSelector: calls reach both the pod and the VM backends', { timeout: 120_000 }, async () => {
  const pod = await startBackend('pod', '127.0.1.1');
  const vm = await startBackend('vm', '127.0.2.1');
  const serve = await startServe({ files: { 'mesh.yaml': mesh(pod, vm) } });
  const client = new XdsClientChild({
    target: 'xds:///svc1.demo.test:80',
    xdsServer: serve.xds,
    nodeId: 'proxyless~127.0.9.1~client.demo~demo.svc.cluster.local',
    metadata: { GENERATOR: 'grpc', NAMESPACE: 'demo' },
  });
  try {
    await client.ready(30_000);
    const warm = await client.send({ op: 'call', count: 1, deadlineMs: 10_000, waitForReady: true }, 15_000);
    assert.deepEqual(warm.errors, []);
    const r = await client.send({ op: 'call', count: 40, deadlineMs: 2000 }, 30_000);
    assert.deepEqual(r.errors, []);
    assert.ok((r.counts['pod'] ?? 0) >= 10, `pod got ${r.counts['pod']}`);
    assert.ok((r.counts['vm'] ?? 0) >= 10, `vm got ${r.counts['vm']}`);
  } finally {
    await client.stop();
    assert.equal(await serve.stop(), 0, 'serve exits 0 on SIGTERM');
    await pod.stop();
    await vm.stop();
  }
});
