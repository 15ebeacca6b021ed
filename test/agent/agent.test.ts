/**
 * The agent (src/agent/agent.ts) against a real grpc-js ADS server (XdsServer) on loopback:
 * identity on the wire (agent-protocol.md §3), health reports (H-1, H-4, H-5), heartbeat, reconnects,
 * refusals, ACKs and token renewal (§4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import type { AgentSettings } from '../../src/agent/bootstrap.js';
import { renewTokenMethod, type RenewTokenRequest, type RenewTokenResponse } from '../../src/agent/token-renewal.js';
import { signToken, verifyToken } from '../../src/security/registration-token.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { SECRET } from '../../src/xds/types/resource-types.js';
import { bootstrapDir, KEY, LogLines, settingsFor, startControlPlane, tokenFor } from './harness.js';

const FAST = { settleMs: 200, backoffBaseMs: 50, backoffCapMs: 200, connectTimeoutMs: 1000, shutdownGraceMs: 500 } as const;

function runAgent(settings: AgentSettings, extra: Partial<AgentOptions> = {}, token?: string) {
  const boot = bootstrapDir(settings, token);
  const logs = new LogLines();
  const agent = new Agent({ bootstrapDir: boot.dir, settings, ip: '127.0.0.1', log: logs.log, ...FAST, ...extra });
  const controller = new AbortController();
  const done = agent.start(controller.signal);
  const stop = async (): Promise<void> => {
    controller.abort();
    await done;
  };
  return { agent, logs, dir: boot.dir, token: boot.token, stop };
}

async function toggledHttpServer(): Promise<{ port: number; setStatus: (code: number) => void; server: Server }> {
  let code = 200;
  const server = createServer((_req, res) => res.writeHead(code).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, setStatus: (c) => (code = c), server };
}

test('connects with the contract node id, metadata, locality and authorization header; no probe, no health reports (H-1)', async () => {
  const cp = await startControlPlane();
  const a = runAgent(settingsFor(cp.address));
  try {
    const connect = await cp.waitFor('connect');
    const p = connect.stream.proxy;
    assert.equal(p.id, 'sidecar~127.0.0.1~svc1-vm-127.0.0.1.vm-demo~vm-demo.svc.cluster.local');
    assert.deepEqual(p.metadata, {
      AUTO_REGISTER_GROUP: 'svc1-vm',
      NAMESPACE: 'vm-demo',
      LABELS: { app: 'svc1', class: 'vm' },
      NETWORK: '',
      INSTANCE_IPS: '127.0.0.1',
      MESHBRIDGE_AGENT: 'true',
      SERVICE_ACCOUNT: 'svc1-vm',
      CLUSTER_ID: 'Kubernetes',
    });
    assert.deepEqual(p.locality, { region: 'us-east', zone: 'zone-a', subZone: 'rack-1' });
    assert.equal(cp.admitted[0]?.metadata['authorization'], `Bearer ${a.token}`);
    await a.logs.waitFor(/^registered as svc1-vm-127\.0\.0\.1$/);
    // This harness's control plane is plaintext (no root-cert.pem in the folder): one warning, then as usual.
    assert.deepEqual(a.logs.lines.slice(0, 3), [
      `warning: no root-cert.pem in ${a.dir}: talking to the control plane in plaintext (re-run workload entry configure for TLS)`,
      `connected to ${cp.address}`,
      'registered as svc1-vm-127.0.0.1',
    ]);
    assert.equal(cp.count('health'), 0);

    const bootstrap = JSON.parse(readFileSync(join(a.dir, 'grpc-bootstrap.json'), 'utf8')) as { xds_servers: { server_uri: string }[]; node: { id: string; metadata: Record<string, unknown>; locality: object } };
    assert.equal(a.agent.grpcBootstrapPath, join(a.dir, 'grpc-bootstrap.json'));
    assert.equal(bootstrap.xds_servers[0]?.server_uri, cp.address);
    assert.equal(bootstrap.node.id, 'proxyless~127.0.0.1~svc1-vm-127.0.0.1.vm-demo~vm-demo.svc.cluster.local');
    assert.equal(bootstrap.node.metadata['GENERATOR'], 'grpc');
    assert.equal(bootstrap.node.metadata['NAMESPACE'], 'vm-demo');
    assert.deepEqual(bootstrap.node.locality, { region: 'us-east', zone: 'zone-a', sub_zone: 'rack-1' });
  } finally {
    await a.stop();
    await cp.waitFor('disconnect');
    assert.equal(a.logs.lines.at(-1), 'disconnected: agent stopping');
    await cp.stop();
  }
});

test('H-4/H-5: reports healthy, re-sends it every heartbeat, then unhealthy with the probe error when the HTTP server fails', async () => {
  const http = await toggledHttpServer();
  const cp = await startControlPlane();
  const settings = settingsFor(cp.address, { probe: { httpGet: { port: http.port, path: '/ready' }, periodSeconds: 1 } });
  const a = runAgent(settings, { heartbeatMs: 250 });
  try {
    const connect = await cp.waitFor('connect');
    assert.equal(connect.stream.proxy.metadata['HEALTH_CHECKS'], 'true');
    await cp.waitFor('health', (e) => e.healthy);
    await a.logs.waitFor(/^healthy$/);
    // Heartbeat: the last report again, without a state change.
    await cp.waitFor('health', () => cp.count('health', (e) => e.event === 'health' && e.healthy) >= 3, 2000);
    http.setStatus(500);
    const bad = await cp.waitFor('health', (e) => !e.healthy, 3000);
    assert.match(bad.message, /^HTTP probe failed with statuscode: 500 \(GET http:\/\/127\.0\.0\.1:\d+\/ready\)$/);
    assert.match(await a.logs.waitFor(/^unhealthy: /), /statuscode: 500/);
    assert.deepEqual(a.logs.lines.filter((l) => /^(un)?healthy/.test(l)).length, 2, 'one line per change, none per heartbeat');
  } finally {
    await a.stop();
    await cp.stop();
    http.server.close();
  }
});

test('reconnects after the control plane restarts and re-sends the last report at once (H-5)', async () => {
  const cp1 = await startControlPlane();
  const settings = settingsFor(cp1.address, { probe: { exec: { command: ['true'] }, periodSeconds: 1 } });
  const a = runAgent(settings);
  try {
    await cp1.waitFor('health', (e) => e.healthy);
    await a.logs.waitFor(/^registered as /);
    await cp1.stop(200);
    const disconnected = await a.logs.waitFor(/^disconnected: /);
    assert.equal(disconnected, 'disconnected: xDS server stopping');
    const from = a.logs.lines.indexOf(disconnected);
    const cp2 = await startControlPlane({ address: cp1.address });
    try {
      await cp2.waitFor('connect', undefined, 3000);
      // The probe reports changes only, and the heartbeat is 30 s: this report is the re-send after reconnecting.
      await cp2.waitFor('health', (e) => e.healthy, 1000);
      await a.logs.waitFor(/^registered as svc1-vm-127\.0\.0\.1$/, 3000, from);
    } finally {
      await cp2.stop();
    }
  } finally {
    await a.stop();
  }
});

test('a refused agent logs the control plane\'s reason and retries with backoff, never "registered"', async () => {
  const cp = await startControlPlane({ admit: () => ({ ok: false, code: status.UNAUTHENTICATED, message: 'the registration token expired at 2026-01-01T00:00:00.000Z' }) });
  // A settle time far above a loopback refusal's latency, so that a loaded machine cannot log "registered" first.
  const a = runAgent(settingsFor(cp.address), { settleMs: 2000 });
  try {
    await a.logs.waitFor(/^refused: the registration token expired at 2026-01-01T00:00:00\.000Z$/);
    await cp.waitFor('refused', () => cp.count('refused') >= 3, 3000);
    assert.equal(a.logs.lines.filter((l) => l.startsWith('registered')).length, 0);
    assert.equal(a.logs.lines.filter((l) => l.startsWith('refused')).length, 1, 'the same refusal is logged once');
  } finally {
    await a.stop();
    await cp.stop();
  }
});

test('every response is ACKed; a response confirms the registration before the settle time', async () => {
  const cache = new ResourceCache();
  cache.setResources('envoy', SECRET, new Map());
  const cp = await startControlPlane({ cache });
  const a = runAgent(settingsFor(cp.address), { settleMs: 10_000 });
  try {
    const ack = await cp.waitFor('ack');
    assert.equal(ack.typeUrl, SECRET.typeUrl);
    await a.logs.waitFor(/^registered as svc1-vm-127\.0\.0\.1$/, 2000);
  } finally {
    await a.stop();
    await cp.stop();
  }
});

test('§4: renews the token at half its lifetime and writes it atomically (0600) for the next connection', async () => {
  const received: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  const implementation = {
    RenewToken: (call: ServerUnaryCall<RenewTokenRequest, RenewTokenResponse>, cb: sendUnaryData<RenewTokenResponse>) => {
      received.push(call.request.token);
      const check = verifyToken(call.request.token, KEY, Math.floor(Date.now() / 1000));
      if (!check.ok) return cb({ code: status.UNAUTHENTICATED, details: check.reason });
      const { id: _id, ...claims } = check.claims;
      const expiresAt = Math.floor(Date.now() / 1000) + 7200;
      cb(null, { token: signToken({ ...claims, issuedAt: expiresAt - 7200, expiresAt }, KEY), expiresAt });
    },
  };
  const cp = await startControlPlane({ extraServices: [{ definition: { RenewToken: renewTokenMethod }, implementation }] });
  const settings = settingsFor(cp.address);
  // Issued an hour ago, valid for another hour: half its lifetime (-10% jitter with random() = 0) is behind it.
  const a = runAgent(settings, { random: () => 0 }, tokenFor(settings, now - 3600, now + 3600));
  try {
    const line = await a.logs.waitFor(/^registration token renewed, expires at /);
    assert.deepEqual(received, [a.token]);
    const file = join(a.dir, 'registration-token');
    const renewed = readFileSync(file, 'utf8').trim();
    assert.notEqual(renewed, a.token);
    const claims = verifyToken(renewed, KEY, now);
    assert.ok(claims.ok);
    assert.equal(claims.claims.group, 'svc1-vm');
    assert.ok(line.endsWith(new Date(claims.claims.expiresAt * 1000).toISOString()));
    assert.equal(statSync(file).mode & 0o777, 0o600);
  } finally {
    await a.stop();
    await cp.stop();
  }
});

test('§4: a control plane without RenewToken: the agent logs it and keeps its token', async () => {
  const cp = await startControlPlane();
  const settings = settingsFor(cp.address);
  const now = Math.floor(Date.now() / 1000);
  const a = runAgent(settings, { random: () => 0 }, tokenFor(settings, now - 3600, now + 3600));
  try {
    await a.logs.waitFor(/^token renewal is not offered by the control plane; keeping the current token$/);
    assert.equal(readFileSync(join(a.dir, 'registration-token'), 'utf8').trim(), a.token);
  } finally {
    await a.stop();
    await cp.stop();
  }
});
