/**
 * Issue 18, the dashboard's JSON API and live events end to end: a real `meshbridge serve`, a real
 * `meshbridge agent` (a VM whose HTTP readiness probe is flipped) and a Server-Sent Events client:
 * - the probe failure reaches the SSE client as a `health` event within 1 s of the control plane
 *   learning it (its "workload unhealthy" log line), and within period × threshold + 1 s of the flip;
 * - the timeline of the service shows the VM's transitions with their sources;
 * - the agent is listed by /api/v1/proxies; polling with ?since= returns the same events;
 * - localities, config (group ↔ entry, selection, status we wrote) and control plane agree;
 * - stopping serve ends the event stream cleanly;
 * - with a real grpc-js-xds client: what it gets (cluster → endpoints, listeners, routes), the diff
 *   of the last push after a second VM is added, and its NACK (message, counter) on the proxies view.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiEvent, ConfigResponse, ControlPlaneResponse, EventsResponse, LocalitiesResponse, HealthEvent, ProxiesResponse, ProxyConfigResponse, TimelineResponse } from '../../src/api/v1/types.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { openSse, type SseFrame } from '../support/sse-client.js';
import { backend, docs, NS, proxyless, serviceEntry, workloadEntry, workloadGroup } from './mesh.js';
import { cleanups, startServe, waitFor } from './serve-process.js';
import { healthServer, startVmAgent } from './vm-agent.js';

const HOST = 'dash.vm.test';
const VM_IP = '127.0.95.1';
const PERIOD_S = 1;
const ENTRY_PREFIX = `WorkloadEntry/${NS}/dash-vm-`;

const SERVICE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dash, namespace: ${NS}}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: {app: dash}}
`;

const healthTo = (to: string) => (f: SseFrame): boolean => {
  if (f.event !== 'health') return false;
  const e = JSON.parse(f.data) as HealthEvent;
  return e.endpoint.startsWith(ENTRY_PREFIX) && e.to === to;
};

/** The time of serve's last log line containing `text` (its RFC 3339 prefix). */
function logTime(logs: string, text: string): number | undefined {
  const line = logs.split('\n').filter((l) => l.includes(text)).at(-1);
  return line !== undefined ? Date.parse(line.split(' ')[0] ?? '') : undefined;
}

test('dashboard API: a VM probe failure reaches the SSE client within 1 s; timeline, proxies and polling agree; stop ends the stream', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const health = own(await healthServer(VM_IP, 0), (h) => new Promise((r) => h.server.close(r)));
  const group = workloadGroup('dash-vm', 'dash', 7070, `{httpGet: {port: ${health.port}, path: /healthz}, periodSeconds: ${PERIOD_S}, failureThreshold: 1}`);
  const serve = own(await startServe({ files: { 'mesh.yaml': SERVICE, 'group.yaml': group } }), (s) => s.stop());
  const sse = await openSse(`http://${serve.http}/api/v1/events`);
  own(sse, (s) => Promise.resolve(s.close()));
  assert.equal(sse.status, 200);
  assert.match(sse.contentType, /^text\/event-stream/);

  const groupFile = join(mkdtempSync(join(tmpdir(), 'mb-dash-')), 'group.yaml');
  writeFileSync(groupFile, group);
  const vm = await startVmAgent(own, { groupFile, controlPlane: serve.xdsTls, stateDir: `${serve.dir}.state`, ip: VM_IP });
  await sse.next(healthTo('healthy'), 30_000, 'VM healthy').catch((e: unknown) => assert.fail(`${String(e)}\n${vm.logs()}\n${serve.logs().slice(-3000)}`));

  health.healthy = false;
  const flippedAt = Date.now();
  const unhealthy = await sse.next(healthTo('unhealthy'), 15_000, 'VM unhealthy');
  const event = JSON.parse(unhealthy.data) as HealthEvent;
  assert.equal(event.source, 'probe');
  assert.equal(event.from, 'healthy');
  assert.equal(unhealthy.id, String(event.id));
  const learnedAt = await waitFor(() => logTime(serve.logs(), 'workload unhealthy'), 5000, 'the "workload unhealthy" log line');
  const lag = unhealthy.receivedAt - learnedAt;
  process.stdout.write(`# probe failure: SSE event ${lag} ms after serve learned it, ${unhealthy.receivedAt - flippedAt} ms after the flip\n`);
  assert.ok(lag <= 1000, `the health event reached the SSE client ${lag} ms after serve learned it (more than 1 s)`);
  assert.ok(unhealthy.receivedAt - flippedAt <= PERIOD_S * 1000 + 1000 + 1000, `${unhealthy.receivedAt - flippedAt} ms after the flip`);

  // The service's timeline: the VM with its transitions, the last one healthy → unhealthy by probe.
  const timeline = await serve.get<TimelineResponse>(`/api/v1/timeline?service=${NS}/${HOST}`);
  assert.equal(timeline.service, `${NS}/${HOST}`);
  assert.equal(timeline.endpoints.length, 1);
  const vmTimeline = timeline.endpoints[0];
  assert.ok(vmTimeline !== undefined && vmTimeline.endpoint.startsWith(ENTRY_PREFIX), JSON.stringify(timeline));
  assert.equal(vmTimeline.address, VM_IP);
  assert.equal(vmTimeline.health, 'unhealthy');
  assert.equal(vmTimeline.connection, 'connected');
  const last = vmTimeline.transitions.filter((x) => x.from === 'healthy' && x.to === 'unhealthy').at(-1);
  assert.equal(last?.source, 'probe');
  assert.ok(vmTimeline.transitions.some((x) => x.to === 'connected' && x.source === 'connection'), JSON.stringify(vmTimeline.transitions));

  // The agent's stream on the proxies page.
  const proxies = await serve.get<ProxiesResponse>('/api/v1/proxies');
  const agent = proxies.proxies.find((p) => p.ip === VM_IP);
  assert.ok(agent, JSON.stringify(proxies));
  assert.equal(agent.clientKind, 'agent');
  assert.equal(agent.namespace, NS);
  assert.ok(agent.identity?.startsWith('spiffe://'), 'the agent authenticated on the secure port');

  // Polling returns the same events as the stream.
  const polled = await serve.get<EventsResponse>('/api/v1/events?since=0');
  assert.equal(polled.truncated, false);
  const polledUnhealthy = polled.events.find((e: ApiEvent) => e.id === event.id);
  assert.deepEqual(polledUnhealthy, event);

  // Localities: the VM in the client's failover order; config: the group ↔ its registered entry
  // and the service's selection; control plane: the file store, one SSE client, the agent's stream.
  const entryKey = vmTimeline.endpoint;
  const localities = await serve.get<LocalitiesResponse>(`/api/v1/localities?namespace=${NS}&host=${HOST}`);
  assert.deepEqual(localities.services.map((x) => [x.cluster, x.priorities.map((p) => p.priority)]), [[`outbound|80||${HOST}`, []]], 'the unhealthy VM is not sent');
  const config = await serve.get<ConfigResponse>('/api/v1/config');
  const groupView = config.objects.find((o) => o.key === `WorkloadGroup/${NS}/dash-vm`);
  assert.deepEqual(groupView?.references, [{ relation: 'entries', key: entryKey }]);
  assert.match(groupView.location, /group\.yaml:1$/);
  const entryView = config.objects.find((o) => o.key === entryKey);
  assert.deepEqual(entryView?.references, [{ relation: 'group', key: `WorkloadGroup/${NS}/dash-vm` }, { relation: 'selectedBy', key: `ServiceEntry/${NS}/dash` }]);
  assert.ok(JSON.stringify(entryView.status).includes('"Healthy"'), 'the Healthy condition the control plane wrote');
  const cp = await serve.get<ControlPlaneResponse>('/api/v1/controlplane');
  assert.deepEqual([cp.ready, cp.leader, cp.store.kind, cp.store.connected, cp.counts.sseClients, cp.counts.workloadGroups, cp.mayBeStale], [true, true, 'file', true, 1, 1, false]);
  assert.ok(cp.counts.proxies >= 1 && cp.push.pushes >= 1, JSON.stringify(cp));

  // serve stops: the stream ends (not an error, not a hang).
  await serve.stop();
  assert.equal(await sse.ended, 'end');
});

const PC_HOST = 'dash-pc.demo.test';
const CLUSTER_NAME = `outbound|80||${PC_HOST}`;

function ringRule(minimumRingSize: number): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dash-pc, namespace: ${NS}}
spec:
  host: ${PC_HOST}
  trafficPolicy: {loadBalancer: {consistentHash: {ringHash: {minimumRingSize: ${minimumRingSize}}}}}
`;
}

test('dashboard API: what a grpc-js-xds client gets, the diff of the last push, and its NACK on the proxies view', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const a = await backend(own, 'a', '127.0.96.1');
  const b = await backend(own, 'b', '127.0.96.2');
  const serve = own(await startServe({ files: { 'mesh.yaml': docs(serviceEntry('dash-pc', PC_HOST, { app: 'dash-pc' }), workloadEntry('pc-a', a, { app: 'dash-pc' })), 'rule.yaml': ringRule(1024) } }), (s) => s.stop());
  const client = own(new XdsClientChild(proxyless(serve.xds, PC_HOST)), (c) => c.stop());
  await client.ready(30_000);
  assert.deepEqual((await client.send({ op: 'call', count: 1, deadlineMs: 10_000 }, 15_000)).errors, []);
  const synced = await waitFor(async () => {
    const p = (await serve.get<ProxiesResponse>('/api/v1/proxies')).proxies[0];
    return p !== undefined && p.types.length === 4 && p.types.every((ty) => ty.state === 'SYNCED') ? p : undefined;
  }, 15_000, 'the client SYNCED on every type');
  assert.equal(synced.clientKind, 'gRPC');
  assert.equal(synced.mayBeStale, false);
  assert.ok(synced.counters.pushes >= 4 && synced.counters.acks >= 4, JSON.stringify(synced.counters));
  const configPath = `/api/v1/proxies/${encodeURIComponent(synced.id)}/config`;

  const config = await serve.get<ProxyConfigResponse>(configPath);
  assert.equal(config.name, `client.${NS}`);
  const cluster = config.clusters.find((c) => c.name === CLUSTER_NAME);
  assert.deepEqual(cluster, { name: CLUSTER_NAME, discovery: 'EDS', endpoints: [{ address: `${a.host}:${a.port}`, locality: '', priority: 0, weight: 1, health: 'UNKNOWN', gatewayFor: null }] });
  assert.ok(config.listeners.some((l) => l.name.includes(PC_HOST) && l.routeConfigurations.length > 0), JSON.stringify(config.listeners));
  assert.ok(config.routes.some((r) => r.domains.includes(PC_HOST) && r.routes.some((x) => x.action === `cluster ${CLUSTER_NAME}`)), JSON.stringify(config.routes));

  // A second VM: the last push to the client's view added exactly that endpoint.
  serve.write('vm-b.yaml', workloadEntry('pc-b', b, { app: 'dash-pc' }));
  const withB = await waitFor(async () => {
    const c = await serve.get<ProxyConfigResponse>(configPath);
    return c.clusters.find((x) => x.name === CLUSTER_NAME)?.endpoints.length === 2 ? c : undefined;
  }, 15_000, 'the second endpoint sent');
  assert.deepEqual(withB.diffFromPrevious?.endpoints, [{ cluster: CLUSTER_NAME, change: 'changed', endpoints: [{ address: `${b.host}:${b.port}`, change: 'added', after: { locality: '', priority: 0, weight: 1, health: 'UNKNOWN' } }], localityWeights: [{ locality: '', priority: 0, before: 1, after: 2 }] }]);
  assert.deepEqual(withB.diffFromPrevious.clusters, []);
  assert.ok(withB.diffFromPrevious.versions['EDS'], 'the EDS versions before and after');

  // The failover order a client in the namespace would get: both VMs at priority 0.
  const localities = await serve.get<LocalitiesResponse>(`/api/v1/localities?namespace=${NS}&host=${PC_HOST}`);
  assert.deepEqual(
    localities.services.map((x) => [x.cluster, x.priorities.map((p) => [p.priority, p.endpoints.map((e) => `${e.address} ${e.source}`)])]),
    [[CLUSTER_NAME, [[0, [`${a.host}:${a.port} WorkloadEntry/${NS}/pc-a`, `${b.host}:${b.port} WorkloadEntry/${NS}/pc-b`]]]]],
  );

  // The client refuses a hash ring over 8,388,608 entries: NACKED with its message on the proxies view.
  serve.write('rule.yaml', ringRule(10_000_000));
  const nacked = await waitFor(async () => {
    const p = (await serve.get<ProxiesResponse>('/api/v1/proxies')).proxies[0];
    return p?.types.find((ty) => ty.type === 'CDS')?.state === 'NACKED' ? p : undefined;
  }, 15_000, 'CDS NACKED');
  const cds = nacked.types.find((ty) => ty.type === 'CDS');
  assert.ok(cds !== undefined && cds.lastNack !== null && cds.lastNack.message.length !== 0, JSON.stringify(cds));
  assert.equal(cds.counters.nacks, 1);
  assert.equal(nacked.mayBeStale, true);
  assert.ok(nacked.staleReasons.some((r) => r.startsWith('CDS was rejected (NACK): ')), JSON.stringify(nacked.staleReasons));
  const events = await serve.get<EventsResponse>('/api/v1/events?since=0');
  assert.ok(events.events.some((e) => e.type === 'proxy' && e.action === 'nack' && e.xdsType === 'CDS' && e.proxy === nacked.id), 'a nack event');
});
