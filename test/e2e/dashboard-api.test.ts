/**
 * Issue 18, the dashboard's JSON API and live events end to end: a real `meshbridge serve`, a real
 * `meshbridge agent` (a VM whose HTTP readiness probe is flipped) and a Server-Sent Events client:
 * - the probe failure reaches the SSE client as a `health` event within 1 s of the control plane
 *   learning it (its "workload unhealthy" log line), and within period × threshold + 1 s of the flip;
 * - the timeline of the service shows the VM's transitions with their sources;
 * - the agent is listed by /api/v1/proxies; polling with ?since= returns the same events;
 * - stopping serve ends the event stream cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiEvent, EventsResponse, HealthEvent, ProxiesResponse, TimelineResponse } from '../../src/api/v1/types.js';
import { openSse, type SseFrame } from '../support/sse-client.js';
import { NS, workloadGroup } from './mesh.js';
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

  // serve stops: the stream ends (not an error, not a hang).
  await serve.stop();
  assert.equal(await sse.ended, 'end');
});
