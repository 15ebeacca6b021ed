/**
 * Issue 4, end to end with real processes: `meshbridge serve`, real `meshbridge agent`s started
 * from `workload entry configure` output, real gRPC backends and HTTP health endpoints on 127.x
 * addresses standing for VMs, and a real proxyless gRPC client (grpc-js-xds):
 * - a VM whose health endpoint starts failing loses the client's traffic within
 *   period × failureThreshold + 1 s, and gets it back after it recovers;
 * - an agent killed with SIGKILL: its entry is removed after the grace period;
 * - a new VM started from `workload entry configure` output receives traffic with no manual step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from '../xds/fixtures/backends.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { NS, proxyless, workloadGroup } from './mesh.js';
import { cleanups, startServe, waitFor } from './serve-process.js';
import { healthServer, startVmAgent } from './vm-agent.js';

const HOST = 'svc1.vm.test';
const PERIOD_S = 1;
const FAILURE_THRESHOLD = 1;
const GRACE_MS = 1500;

function group(appPort: number, healthPort: number): string {
  return workloadGroup('svc1-vm', 'svc1', appPort, `{httpGet: {port: ${healthPort}, path: /healthz}, periodSeconds: ${PERIOD_S}, failureThreshold: ${FAILURE_THRESHOLD}}`);
}

const SERVICE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc1, namespace: ${NS}}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: {app: svc1}}
`;

test('VM lifecycle: health moves traffic away and back, a killed agent is cleaned up, a new VM gets traffic', { timeout: 150_000 }, async (t) => {
  const own = cleanups(t);
  const first = own(await startBackend('vm1', '127.0.61.1'), (b) => b.stop());
  const appPort = first.port;
  const vm2 = own(await startBackend('vm2', '127.0.61.2', appPort), (b) => b.stop());
  const vm3 = own(await startBackend('vm3', '127.0.61.3', appPort), (b) => b.stop());
  const h1 = own(await healthServer('127.0.61.1', 0), (h) => new Promise((r) => h.server.close(r)));
  const healthPort = h1.port;
  own(await healthServer('127.0.61.2', healthPort), (h) => new Promise((r) => h.server.close(r)));
  own(await healthServer('127.0.61.3', healthPort), (h) => new Promise((r) => h.server.close(r)));
  void vm2;
  void vm3;

  const serve = own(await startServe({ files: { 'mesh.yaml': SERVICE, 'group.yaml': group(appPort, healthPort) }, args: ['--grace-period', String(GRACE_MS)] }), (s) => s.stop());
  const groupFile = join(mkdtempSync(join(tmpdir(), 'mb-vm-')), 'group.yaml');
  writeFileSync(groupFile, group(appPort, healthPort));

  const logs = new Map<string, () => string>();
  const agentLogs = (): string => [...logs].map(([ip, l]) => `agent ${ip}:\n${l()}`).join('\n');
  const startVm = async (ip: string): Promise<ChildProcess> => {
    const vm = await startVmAgent(own, { groupFile, controlPlane: serve.xdsTls, stateDir: `${serve.dir}.state`, ip });
    logs.set(ip, () => vm.logs());
    return vm.process;
  };
  await startVm('127.0.61.1');
  const agent2 = await startVm('127.0.61.2');

  const client = own(new XdsClientChild(proxyless(serve.xds, HOST)), (c) => c.stop());
  await client.ready();
  const reached1 = await client.send({ op: 'until', backend: 'vm1', timeoutMs: 20_000 }, 25_000);
  assert.ok(reached1.reached, `vm1 never answered: ${reached1.last}`);
  const reached2 = await client.send({ op: 'until', backend: 'vm2', timeoutMs: 20_000 }, 25_000);
  assert.ok(reached2.reached, `vm2 never answered: ${reached2.last}`);

  // vm1's health endpoint starts failing: traffic leaves it within period × failureThreshold + 1 s.
  h1.healthy = false;
  const failedAt = Date.now();
  const away = await client.send({ op: 'until', backend: 'vm2', streak: 20, timeoutMs: 10_000 }, 15_000);
  assert.ok(away.reached, 'traffic left the failing VM');
  const leaveMs = away.at - failedAt;
  const bound = PERIOD_S * FAILURE_THRESHOLD * 1000 + 1000;
  process.stdout.write(`# unhealthy VM: traffic gone after ${leaveMs} ms (bound ${bound} ms)\n`);
  assert.ok(leaveMs <= bound, `traffic left after ${leaveMs} ms, more than ${bound} ms`);

  h1.healthy = true;
  const back = await client.send({ op: 'until', backend: 'vm1', timeoutMs: 10_000 }, 15_000);
  assert.ok(back.reached, 'traffic came back after recovery');
  process.stdout.write(`# recovered VM: traffic back after ${back.ms} ms\n`);

  // SIGKILL vm2's agent: no goodbye; its entry goes after the grace period.
  agent2.kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(async () => {
    const services = await serve.get<{ host: string; endpoints: { address: string }[] }[]>(`/debug/endpointz?namespace=${NS}&host=${HOST}`);
    return services.some((s) => s.endpoints.some((e) => e.address === '127.0.61.2')) ? undefined : true;
  }, 10_000, 'the killed VM to leave the registry');
  const goneMs = Date.now() - killedAt;
  process.stdout.write(`# killed agent: entry removed after ${goneMs} ms (grace ${GRACE_MS} ms)\n`);
  assert.ok(goneMs >= GRACE_MS - 100, `removed after ${goneMs} ms, before the grace period`);

  // A new VM from `workload entry configure` output receives traffic, no manual step.
  await startVm('127.0.61.3');
  const reached3 = await client.send({ op: 'until', backend: 'vm3', timeoutMs: 20_000 }, 25_000);
  assert.ok(reached3.reached, `the new VM never answered: ${reached3.last}\n${agentLogs()}\n${serve.logs().slice(-3000)}`);
});
