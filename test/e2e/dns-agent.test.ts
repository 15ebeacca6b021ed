/**
 * Issue 17, end to end with real processes: `meshbridge serve` and a real `meshbridge agent` with its
 * DNS proxy on a 127.x address (`--dns-address`) and a test resolv.conf naming a fake upstream on
 * loopback (never the machine's own), asked with `dig` over UDP and TCP:
 * - a ServiceEntry without addresses gets its VIPs (in its status: `get se -o wide`, and in the
 *   `endpoints` report) and the agent answers its host with the VIP;
 * - a new WorkloadEntry behind a resolution NONE service shows in the agent's answers within 1 s
 *   (the stale-IP regression, istio#49769);
 * - a name outside the mesh is forwarded to the fake upstream, its answer returned as it came;
 * - serve stopped: the agent keeps answering from its last table;
 * - the agent writes envoy-bootstrap.yaml at start (Envoy's type, every constraint, its xDS proxy);
 * - the agent's /metrics counts the questions (dns_requests_total, dns_upstream_requests_total).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { parse } from 'yaml';
import { BootstrapSchema } from '../../src/gen/envoy/config/bootstrap/v3/bootstrap_pb.js';
import { ENVOY_TYPE_REGISTRY } from '../../src/xds/generate/envoy/index.js';
import { checkConstraints } from '../../src/xds/types/constraints.js';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digAt } from '../support/dig.js';
import { startFakeUpstream } from '../support/fake-dns-upstream.js';
import { freePort } from '../support/ports.js';
import { NS, workloadGroup } from './mesh.js';
import { cleanups, metricValue, runCli, startServe, waitFor } from './serve-process.js';
import { startVmAgent } from './vm-agent.js';

const VM_IP = '127.0.63.1';

const SERVICES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: ${NS}}
spec:
  hosts: [db.mesh.test]
  location: MESH_INTERNAL
  resolution: DNS
  ports: [{number: 5432, name: tcp, protocol: TCP}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms, namespace: ${NS}}
spec:
  hosts: [vms.mesh.test]
  location: MESH_INTERNAL
  resolution: NONE
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: vmapp}}
`;

function vmEntry(name: string, ip: string): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ${name}, namespace: ${NS}}
spec: {address: ${ip}, labels: {app: vmapp}}
`;
}

const sortedData = (r: { answers: readonly { data: string }[] }): string[] => r.answers.map((a) => a.data).sort();

test('DNS end to end: VIPs, a new VM within 1 s, forwarding, and the last table kept with serve stopped', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const upstream = own(await startFakeUpstream({ 'www.outside.test': '7.7.7.7' }), (u) => u.close());
  const work = mkdtempSync(join(tmpdir(), 'mb-dns-'));
  const resolvConf = join(work, 'resolv.conf');
  writeFileSync(resolvConf, `# test resolver: the fake upstream only\nnameserver ${upstream.address}\nsearch corp.test\n`);
  const group = workloadGroup('client-vm', 'client', 8080);
  const groupFile = join(work, 'group.yaml');
  writeFileSync(groupFile, group);

  const serve = own(await startServe({ files: { 'mesh.yaml': SERVICES, 'group.yaml': group, 'vm-1.yaml': vmEntry('vm-1', '127.0.63.11') } }), (s) => s.stop());
  const dnsPort = await freePort(VM_IP);
  const metricsPort = await freePort(VM_IP);
  const agent = await startVmAgent(own, {
    groupFile,
    controlPlane: serve.xdsTls,
    stateDir: `${serve.dir}.state`,
    ip: VM_IP,
    args: ['--dns-address', `${VM_IP}:${dnsPort}`, '--dns-resolv-conf', resolvConf, '--metrics-address', `${VM_IP}:${metricsPort}`],
  });
  const dig = (name: string, type: string, ...options: string[]) => digAt(VM_IP, dnsPort, name, type, ...options);

  // The ServiceEntry without addresses gets its VIPs, and the agent answers them (UDP and TCP).
  const vip = await waitFor(async () => {
    const r = await dig('db.mesh.test', 'A');
    return r.answers.length > 0 ? r : undefined;
  }, 30_000, `the agent to answer db.mesh.test (agent: ${agent.logs()})`);
  assert.deepEqual(sortedData(vip), ['240.240.0.1']);
  assert.ok(vip.flags.includes('aa'), 'authoritative answer');
  assert.equal(vip.answers[0]?.ttl, 30);
  const overTcp = await dig('db.mesh.test', 'A', '+tcp');
  assert.deepEqual(sortedData(overTcp), ['240.240.0.1']);
  assert.deepEqual(sortedData(await dig('db.mesh.test', 'AAAA')), ['2001:2::1']);
  assert.deepEqual(sortedData(await dig('vms.mesh.test', 'A')), ['127.0.63.11']);

  // The VIPs are in the ServiceEntry's status (get -o wide: ADDRESSES) and in the endpoints report.
  const wide = await waitFor(async () => {
    const r = await runCli(['get', 'se', 'db', '-n', NS, '-o', 'wide', '--store', `file://${serve.dir}`], 15_000);
    return r.stdout.includes('240.240.0.1,2001:2::1') ? r.stdout : undefined;
  }, 15_000, 'the VIPs in get se -o wide');
  assert.match(wide, /^NAME\s+HOSTS\s+LOCATION\s+RESOLUTION\s+AGE\s+ADDRESSES\s+PORTS\n/);
  const report = await runCli(['endpoints', '--server', `http://${serve.http}`, '--host', 'db.mesh.test', '--client-namespace', NS], 15_000);
  assert.match(report.stdout, /addresses=\[240\.240\.0\.1, 2001:2::1\]/, report.stdout + report.stderr);

  // The agent wrote envoy-bootstrap.yaml at start: Envoy's type strictly, every constraint, its xDS proxy.
  const envoy = fromJson(BootstrapSchema, parse(readFileSync(join(agent.dir, 'envoy-bootstrap.yaml'), 'utf8')) as JsonValue, { registry: ENVOY_TYPE_REGISTRY });
  assert.deepEqual(checkConstraints(BootstrapSchema, envoy, ENVOY_TYPE_REGISTRY), []);
  assert.equal(envoy.node?.id, `sidecar~${VM_IP}~client-vm-${VM_IP}.${NS}~${NS}.svc.cluster.local`);
  const grpcBootstrap = JSON.parse(readFileSync(join(agent.dir, 'grpc-bootstrap.json'), 'utf8')) as { xds_servers: { server_uri: string }[] };
  const xdsEndpoint = envoy.staticResources?.clusters.find((c) => c.name === 'xds-grpc')?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier;
  const socket = xdsEndpoint?.case === 'endpoint' && xdsEndpoint.value.address?.address.case === 'socketAddress' ? xdsEndpoint.value.address.address.value : undefined;
  assert.equal(`${socket?.address ?? ''}:${socket?.portSpecifier.value ?? ''}`, grpcBootstrap.xds_servers[0]?.server_uri, 'the bound xDS proxy, as in the gRPC bootstrap');

  // serve's view of the same table.
  const ndsz = await serve.get<{ table: Record<string, { ips: string[] }> }>(`/debug/ndsz?proxy=${encodeURIComponent(`client-vm-${VM_IP}.${NS}`)}`);
  assert.deepEqual(ndsz.table['db.mesh.test']?.ips, ['240.240.0.1', '2001:2::1'], JSON.stringify(ndsz));

  // A new VM behind the resolution NONE service: in the agent's answers within 1 s.
  // Polled from this process (Node's resolver, as an app on the VM would ask): a dig process per poll
  // would measure process starts on a loaded machine rather than the agent.
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`${VM_IP}:${dnsPort}`]);
  const written = serve.write('vm-2.yaml', vmEntry('vm-2', '127.0.63.12'));
  await waitFor(async () => ((await resolver.resolve4('vms.mesh.test')).includes('127.0.63.12') ? true : undefined), 5_000, 'the new VM in the answers');
  const elapsed = Date.now() - written;
  t.diagnostic(`the new VM answered ${elapsed} ms after its file was written`);
  assert.ok(elapsed < 1000, `the new VM showed after ${elapsed} ms`);
  assert.deepEqual(sortedData(await dig('vms.mesh.test', 'A', '+tcp')), ['127.0.63.11', '127.0.63.12']);

  // Outside the mesh: forwarded to the fake upstream, its answer (and NXDOMAIN) returned as it came.
  const before = upstream.received.length;
  assert.deepEqual(sortedData(await dig('www.outside.test', 'A')), ['7.7.7.7']);
  assert.equal((await dig('nothing.outside.test', 'A', '+tcp')).status, 'NXDOMAIN');
  assert.ok(upstream.received.length >= before + 2, 'both questions reached the fake upstream');

  // The control plane goes away: the last table keeps answering.
  await serve.stop();
  assert.deepEqual(sortedData(await dig('db.mesh.test', 'A')), ['240.240.0.1']);
  assert.deepEqual(sortedData(await dig('vms.mesh.test', 'A', '+tcp')), ['127.0.63.11', '127.0.63.12']);

  const metrics = await (await fetch(`http://${VM_IP}:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  assert.ok(metricValue(metrics, 'dns_requests_total') >= 10, metrics);
  assert.ok(metricValue(metrics, 'dns_upstream_requests_total') >= 2, metrics);
  const agentTable = (await (await fetch(`http://${VM_IP}:${metricsPort}/debug/ndsz`, { signal: AbortSignal.timeout(5000) })).json()) as { received: boolean; table: Record<string, { ips: string[] }> };
  assert.equal(agentTable.received, true);
  assert.deepEqual(agentTable.table['vms.mesh.test']?.ips.slice().sort(), ['127.0.63.11', '127.0.63.12']);
});
