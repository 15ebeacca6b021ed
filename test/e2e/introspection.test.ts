/**
 * Issue 13, live introspection, end to end with a real serve, a real proxyless gRPC client
 * (@grpc/grpc-js-xds) and a VM agent's ADS stream:
 * - `proxy-config clusters|listeners|routes|endpoints PROXY -o json` prints exactly the resources
 *   the client holds: compared with what the client itself reports over its CSDS admin service
 *   (the bytes it ACKed, decoded the same way), and the tables show istioctl's columns;
 * - `proxy-status PROXY`: per type "Match" while the client is up to date; after it NACKs a Cluster,
 *   "Clusters Don't Match" with a diff of what it ACKed against what it would get now;
 * - a VM agent is listed by `proxy-status` under its entry's full name (`web-vm-127.0.93.5.demo`,
 *   not `web-vm-127.demo`), and `endpoints --server` shows its auto-registered entry left out as
 *   `unhealthy`, which the file-based `endpoints` cannot see.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointsReport } from '../../src/status/endpoints-report.js';
import type { ServiceDetail, ServicesResponse, WhatIfResponse, WorkloadGroupsResponse } from '../../src/api/v1/types.js';
import type { ConfigDump } from '../../src/status/config-dump.js';
import { anyJson, generatedTypeRegistry } from '../../src/xds/types/json-registry.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types/resource-types.js';
import { Agent } from '../support/xds-watchers.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, NS, proxyless, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, runCli, startServe, waitFor } from './serve-process.js';

const HOST = 'pc.demo.test';
const PROXY = `client.${NS}`;

function ringRule(minimumRingSize: number): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: pc, namespace: ${NS}}
spec:
  host: ${HOST}
  trafficPolicy: {loadBalancer: {consistentHash: {ringHash: {minimumRingSize: ${minimumRingSize}}}}}
`;
}

function rowsOf(stdout: string): Record<string, string>[] {
  const [header = '', ...rows] = stdout.trimEnd().split('\n');
  const columns = header.split(/\s{2,}/);
  return rows.map((r) => Object.fromEntries(r.split(/\s{2,}/).map((cell, i) => [columns[i] ?? `#${i}`, cell])));
}

const byName = (x: unknown): string => {
  const o = x as { name?: string; clusterName?: string };
  return o.name ?? o.clusterName ?? '';
};

test('proxy-config shows what the grpc-js-xds client received; proxy-status PROXY diffs ACKed against current', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const a = await backend(own, 'a', '127.0.92.1');
  const serve = await startServe({ files: { 'mesh.yaml': docs(serviceEntry('pc', HOST, { app: 'pc' }), workloadEntry('pc-a', a, { app: 'pc' })), 'rule.yaml': ringRule(1024) } });
  own(serve, (x) => x.stop());
  const client = new XdsClientChild(proxyless(serve.xds, HOST));
  own(client, (x) => x.stop());
  await client.ready(30_000);
  const warm = await client.send({ op: 'call', count: 1, deadlineMs: 10_000 }, 15_000);
  assert.deepEqual(warm.errors, []);
  await waitFor(async () => {
    const p = (await serve.syncz())[0];
    return p?.types.length === 4 && p.types.every((ty) => ty.state === 'SYNCED') ? true : undefined;
  }, 15_000, 'SYNCED');

  // What the client holds, in its own words (CSDS), decoded as proxy-config decodes.
  const csds = await client.send({ op: 'csds' }, 15_000);
  assert.equal(csds.error, undefined);
  const registry = await generatedTypeRegistry();
  const server = `http://${serve.http}`;
  const sections = [
    ['clusters', CLUSTER.typeUrl],
    ['listeners', LISTENER.typeUrl],
    ['routes', ROUTE.typeUrl],
    ['endpoints', ENDPOINT.typeUrl],
  ] as const;
  for (const [section, typeUrl] of sections) {
    const held = csds.resources.filter((r) => r.typeUrl === typeUrl);
    assert.ok(held.length > 0, `the client holds ${section}`);
    assert.ok(held.every((r) => r.status === 'ACKED' && r.value !== undefined), `${section} ACKED`);
    const expected = held.map((r) => anyJson(registry, { typeUrl, value: Buffer.from(r.value ?? '', 'base64') })).sort((x, y) => byName(x).localeCompare(byName(y)));
    const json = await runCli(['proxy-config', section, PROXY, '--server', server, '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), expected, `proxy-config ${section} -o json is what the client received`);
  }

  const clusterName = `outbound|80||${HOST}`;
  const clusters = await runCli(['proxy-config', 'clusters', PROXY, '--server', server]);
  assert.equal(clusters.code, 0, clusters.stderr);
  assert.match(clusters.stdout.split('\n')[0] ?? '', /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+DESTINATION RULE$/);
  assert.deepEqual(rowsOf(clusters.stdout), [{ 'SERVICE FQDN': HOST, PORT: '80', SUBSET: '-', DIRECTION: 'outbound', TYPE: 'EDS', 'DESTINATION RULE': '-' }]);
  const endpoints = await runCli(['proxy-config', 'endpoints', PROXY, '--server', server]);
  assert.equal(endpoints.code, 0, endpoints.stderr);
  assert.deepEqual(rowsOf(endpoints.stdout).map((r) => [r['ENDPOINT'], r['STATUS'], r['CLUSTER']]), [[`${a.host}:${a.port}`, 'UNKNOWN', clusterName]]);
  const listeners = await runCli(['proxy-config', 'listeners', PROXY, '--server', server]);
  assert.deepEqual(rowsOf(listeners.stdout), [{ ADDRESSES: HOST, PORT: '80', MATCH: 'ALL', DESTINATION: `Route: ${HOST}:80` }]);
  const routes = await runCli(['proxy-config', 'routes', PROXY, '--server', server]);
  assert.deepEqual(rowsOf(routes.stdout).map((r) => [r['NAME'], r['MATCH']]), [[`${HOST}:80`, '/*']]);

  const unknown = await runCli(['proxy-config', 'clusters', 'nobody.demo', '--server', server]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no connected proxy "nobody\.demo" at .*; connected: client\.demo/);

  const matching = await runCli(['proxy-status', PROXY, '--http-address', serve.http]);
  assert.equal(matching.code, 0, matching.stderr);
  for (const title of ['Clusters', 'Listeners', 'Routes', 'Endpoints']) assert.match(matching.stdout, new RegExp(`^${title} Match$`, 'm'));
  assert.match(matching.stdout, /^CDS\s+SYNCED\s/m);

  // The client refuses a hash ring over 8,388,608 entries (NACK): it keeps what it ACKed, and the
  // diff shows the refused change.
  serve.write('rule.yaml', ringRule(10_000_000));
  await waitFor(async () => ((await serve.syncz())[0]?.types.find((ty) => ty.type === 'CDS')?.state === 'NACKED' ? true : undefined), 15_000, 'CDS NACKED');
  const differing = await runCli(['proxy-status', PROXY, '--http-address', serve.http]);
  assert.equal(differing.code, 0, differing.stderr);
  for (const l of differing.stdout.trimEnd().split('\n')) t.diagnostic(l);
  assert.match(differing.stdout, /^CDS\s+NACKED\s/m);
  assert.match(differing.stdout, /^Clusters Don't Match$/m);
  assert.match(differing.stdout, /^--- ACKed by client\.demo \(version \S+\)$/m);
  assert.match(differing.stdout, /^-\s+"minimumRingSize": "1024"/m);
  assert.match(differing.stdout, /^\+\s+"minimumRingSize": "10000000"/m);
  assert.match(differing.stdout, /^Endpoints Match$/m);
  // What was sent (and refused) is what proxy-config shows; the client reports the NACK and still
  // runs on the version the dump records as ACKed.
  const sent = await runCli(['proxy-config', 'clusters', PROXY, '--server', server, '-o', 'json']);
  assert.match(sent.stdout, /"minimumRingSize": "10000000"/);
  const after = await client.send({ op: 'csds' }, 15_000);
  const held = after.resources.find((r) => r.typeUrl === CLUSTER.typeUrl);
  const dump = await serve.get<ConfigDump>(`/debug/config_dump?proxy=${PROXY}`);
  const cds = dump.types.find((ty) => ty.type === 'CDS');
  assert.equal(held?.status, 'NACKED');
  assert.equal(held.version, cds?.acked?.version);
  assert.notEqual(cds?.sent?.version, cds?.acked?.version);
});

function group(healthPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: web-vm, namespace: ${NS}}
spec:
  metadata: {labels: {app: web}}
  template: {ports: {grpc: 8080}}
  probe: {httpGet: {port: ${healthPort}, path: /healthz}, periodSeconds: 1}
`;
}

test('a VM agent: proxy-status prints its full name; endpoints --server shows its registered entry and why it is left out', { timeout: 90_000 }, async (t) => {
  const own = cleanups(t);
  const files = { 'mesh.yaml': docs(serviceEntry('web', 'web.demo.test', { app: 'web' }), group(9090)) };
  const serve = await startServe({ files });
  own(serve, (x) => x.stop());
  const boot = mkdtempSync(join(tmpdir(), 'mb-introspect-'));
  const groupFile = join(boot, 'group.yaml');
  writeFileSync(groupFile, group(9090));
  const conf = await runCli(['workload', 'entry', 'configure', '-f', groupFile, '-o', boot, '--control-plane', serve.xdsTls, '--state-dir', `${serve.dir}.state`], 30_000);
  assert.equal(conf.code, 0, conf.stderr);
  const token = readFileSync(join(boot, 'registration-token'), 'utf8').trim();
  const ip = '127.0.93.5';
  const agent = new Agent({ ip, group: 'web-vm', namespace: NS, token, healthy: false });
  own(agent, (x) => Promise.resolve(x.close()));
  own(boot, (dir) => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  agent.connect(serve.xds);
  const entry = `WorkloadEntry/${NS}/web-vm-${ip}`;
  const report = async (): Promise<EndpointsReport> => {
    const r = await runCli(['endpoints', '--server', `http://${serve.http}`, '--client-namespace', NS, '--host', 'web.demo.test', '--explain', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as EndpointsReport;
  };
  const leftOutUnhealthy = (r: EndpointsReport): boolean => r.services[0]?.excluded?.some((x) => x.source === entry && x.reason === 'unhealthy') === true;
  // Registered, with health checks and no report yet: left out as unhealthy (H-2).
  await waitFor(async () => (leftOutUnhealthy(await report()) ? true : undefined), 15_000, 'the registered entry left out as unhealthy');
  agent.reportHealth();
  await waitFor(async () => {
    const r = await report();
    return r.clusters[0]?.localities.some((g) => g.endpoints.some((e) => e.source === entry && e.address === ip)) === true ? r : undefined;
  }, 15_000, 'the entry sent once healthy');
  agent.reportHealth('connection refused by 127.0.93.5:9090');
  await waitFor(async () => (leftOutUnhealthy(await report()) ? true : undefined), 15_000, 'left out as unhealthy again');
  // The dashboard's JSON API (docs/api.md) over the same live registry: the VM beside its service,
  // left out as unhealthy with the agent's reason; its group lists it; what-if and errors.
  const api = async (path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`http://${serve.http}${path}`, init);
    return { status: res.status, body: await res.json() };
  };
  const services = (await api('/api/v1/services')).body as ServicesResponse;
  const web = services.services.find((x) => x.host === 'web.demo.test');
  assert.equal(web?.endpoints.byKind.WorkloadEntry, 1, JSON.stringify(web));
  assert.equal(web.endpoints.leftOutUnhealthy, 1);
  const detail = await api(`/api/v1/services/${NS}/web.demo.test`);
  assert.equal(detail.status, 200);
  const vm = (detail.body as ServiceDetail).members.find((m) => m.source === entry);
  assert.deepEqual({ address: vm?.address, health: vm?.health, inEndpoints: vm?.inEndpoints }, { address: ip, health: 'UNHEALTHY', inEndpoints: false });
  assert.match(vm?.healthReason ?? '', /connection refused by 127\.0\.93\.5:9090/);
  assert.equal((await api(`/api/v1/services/${NS}/nothing.demo.test`)).status, 404);
  assert.equal((await api('/api/v1/services/only-one-part')).status, 400);
  const groups = (await api('/api/v1/workloadgroups')).body as WorkloadGroupsResponse;
  assert.deepEqual(groups.workloadGroups.map((g) => [g.name, g.entries.length, g.counts.connected]), [['web-vm', 1, 1]]);
  assert.equal((await api(`/api/v1/workloadgroups/${NS}/web-vm`)).status, 200);
  assert.equal((await api('/api/v1/what-if')).status, 405, 'what-if takes POST');
  assert.equal((await api('/api/v1/what-if', { method: 'POST', body: '{not json' })).status, 400);
  const moved = serviceEntry('web', 'web.demo.test', { app: 'web' }).replace(/number: \d+/, 'number: 81');
  const whatIf = await api('/api/v1/what-if', { method: 'POST', body: JSON.stringify({ files: [{ path: 'web.yaml', text: moved }], clients: { namespace: NS, kind: 'grpc' } }) });
  assert.equal(whatIf.status, 200, JSON.stringify(whatIf.body));
  assert.equal((whatIf.body as WhatIfResponse).changed, true, 'a new service port changes what clients get');
  const text = await runCli(['endpoints', '--server', `http://${serve.http}`, '--client-namespace', NS, '--explain']);
  assert.match(text.stdout, new RegExp(`left out: ${entry}: unhealthy`));
  // The files alone know nothing of it.
  const offline = await runCli(['endpoints', '--config', serve.dir, '--client-namespace', NS, '--explain', '-o', 'json']);
  assert.equal((JSON.parse(offline.stdout) as EndpointsReport).services[0]?.endpoints.length, 0);

  const status = await runCli(['proxy-status', '--http-address', serve.http]);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(rowsOf(status.stdout).map((r) => r['NAME']), [`web-vm-${ip}.${NS}`]);

  const version = await runCli(['version', '--server', `http://${serve.http}`]);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^client version: \d+\.\d+\.\d+ .*\ncontrol plane version: \d+\.\d+\.\d+ \(node v[\d.]+, instance meshbridge-\S+\)\n$/);
});

test('proxy-status and proxy-config with no serve name the address tried and say nothing answers there', async () => {
  for (const args of [['proxy-status', '--http-address', '127.0.0.1:1'], ['proxy-config', 'clusters', 'x.demo', '--server', 'http://127.0.0.1:1'], ['version', '--server', '127.0.0.1:1']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^meshbridge: cannot reach the control plane at \S*127\.0\.0\.1:1: nothing answers there \(connection refused\); is `meshbridge serve` running with --http-address 127\.0\.0\.1:1\?\n$/);
    assert.doesNotMatch(r.stderr, /fetch failed/);
  }
});
