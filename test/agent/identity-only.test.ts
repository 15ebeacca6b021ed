/**
 * The agent's gRPC bootstrap points local apps at its xDS proxy and announces their certificates
 * (agent-protocol.md §6, §9), and identity-only mode (`register: false`, §10) against the real
 * control plane: a certificate for the token's identity, no ADS stream, no WorkloadEntry; and the
 * agent's inbound proxies (§11) with their mode watch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '../../src/app/control-plane.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { signToken } from '../../src/security/registration-token.js';
import { loadOrCreateSigningKey } from '../../src/sources/file/state-dir.js';
import { Agent } from '../../src/agent/agent.js';
import { CERT_DIR, CERT_FILES } from '../../src/agent/certificates.js';
import { bootstrapDir, LogLines, runUntilEnd, settingsFor, startControlPlane } from './harness.js';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { SecretSchema } from '../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { sdsServiceDefinition } from '../../src/agent/sds-server.js';
import { ListenerSchema } from '../../src/gen/envoy/config/listener/v3/listener_pb.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { LISTENER } from '../../src/xds/types/resource-types.js';

const GROUP = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: svc1-vm, namespace: vm-demo}
spec:
  metadata: {labels: {app: svc1}}
  template: {serviceAccount: svc1-vm, ports: {http: 80}}
`;

interface Bootstrap {
  xds_servers: { server_uri: string; channel_creds: { type: string }[] }[];
  node: { id: string; metadata: Record<string, unknown> };
  certificate_providers?: { default?: { plugin_name?: string; config?: { refresh_interval?: string } } };
  server_listener_resource_name_template?: string;
}

test('with an xDS proxy and an identity, the gRPC bootstrap names the proxy and carries CERTIFICATE_PROVIDERS', { timeout: 20_000 }, async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  for (const serviceAccount of ['svc1-vm', '']) {
    const settings = settingsFor(cp.address, { serviceAccount });
    const { dir } = bootstrapDir(settings);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const logs = new LogLines();
    const agent = new Agent({ bootstrapDir: dir, settings, ip: '127.0.0.1', log: logs.log, settleMs: 100, xdsProxyAddress: '127.0.0.1:0' });
    const stop = new AbortController();
    const running = agent.start(stop.signal);
    try {
      await agent.ready;
      const proxy = agent.xdsProxyAddress ?? '';
      assert.match(proxy, /^127\.0\.0\.1:\d+$/);
      assert.notEqual(proxy, cp.address);
      const b = JSON.parse(readFileSync(agent.grpcBootstrapPath, 'utf8')) as Bootstrap;
      assert.equal(b.xds_servers[0]?.server_uri, proxy, 'apps use the proxy, not the control plane');
      assert.deepEqual(b.xds_servers[0]?.channel_creds, [{ type: 'insecure' }]);
      assert.equal(b.server_listener_resource_name_template, 'xds.istio.io/grpc/lds/inbound/%s', 'xDS-enabled servers need it with or without an identity');
      if (serviceAccount !== '') {
        assert.equal(b.node.metadata['CERTIFICATE_PROVIDERS'], 'default');
        assert.equal(b.certificate_providers?.default?.plugin_name, 'file_watcher');
        assert.equal(b.certificate_providers?.default?.config?.refresh_interval, '5s');
      } else {
        assert.equal(b.node.metadata['CERTIFICATE_PROVIDERS'], undefined, 'no certificates, no TLS for this app');
        assert.equal(b.certificate_providers, undefined);
      }
    } finally {
      stop.abort();
      await running;
    }
  }
});

test('an xDS proxy address that is taken makes start reject with the reason, and nothing else starts; with the fallback a free port is used', { timeout: 20_000 }, async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const settings = settingsFor(cp.address);
  const { dir } = bootstrapDir(settings);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = new Agent({ bootstrapDir: dir, settings, ip: '127.0.0.1', log: () => undefined, settleMs: 100, xdsProxyAddress: '127.0.0.1:0' });
  await runUntilEnd(t, first);
  const second = new Agent({ bootstrapDir: dir, settings, ip: '127.0.0.2', log: () => undefined, xdsProxyAddress: first.xdsProxyAddress ?? '' });
  await assert.rejects(second.start(new AbortController().signal), /cannot listen on 127\.0\.0\.1:\d+ for the xDS proxy/);
  assert.equal(cp.count('connect', (e) => e.event === 'connect' && e.stream.proxy.ip === '127.0.0.2'), 0);

  // With the fallback (the CLI's default address): a free port, logged, and named by the bootstrap.
  const logs = new LogLines();
  const { dir: dir3 } = bootstrapDir(settings);
  t.after(() => rmSync(dir3, { recursive: true, force: true }));
  const third = new Agent({ bootstrapDir: dir3, settings, ip: '127.0.0.3', log: logs.log, settleMs: 100, xdsProxyAddress: first.xdsProxyAddress ?? '', xdsProxyFallback: true });
  const stopThird = new AbortController();
  const runningThird = third.start(stopThird.signal);
  try {
    await third.ready;
    assert.notEqual(third.xdsProxyAddress, first.xdsProxyAddress);
    assert.equal(logs.lines[0], `xDS proxy: ${first.xdsProxyAddress ?? ''} is taken; listening on ${third.xdsProxyAddress ?? ''}`);
    const b = JSON.parse(readFileSync(third.grpcBootstrapPath, 'utf8')) as Bootstrap;
    assert.equal(b.xds_servers[0]?.server_uri, third.xdsProxyAddress);
  } finally {
    stopThird.abort();
    await runningThird;
  }
});

test('identity only (§10): certificate for the token identity, node named by `name`, no ADS stream and no WorkloadEntry', { timeout: 30_000 }, async (t) => {
  const config = mkdtempSync(join(tmpdir(), 'mb-idonly-'));
  writeFileSync(join(config, 'group.yaml'), GROUP);
  const stateDir = `${config}.state`;
  const cp = new ControlPlane({ configPaths: [config], xdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, stateDir });
  const { xds, http } = await cp.start();
  t.after(async () => {
    await cp.stop();
    for (const d of [config, stateDir]) rmSync(d, { recursive: true, force: true });
  });
  const settings = settingsFor(xds);
  const now = Math.floor(Date.now() / 1000);
  const token = signToken({ namespace: settings.namespace, group: settings.group, serviceAccount: settings.serviceAccount, issuedAt: now, expiresAt: now + 3600 }, loadOrCreateSigningKey(stateDir));
  const { dir } = bootstrapDir(settings, token);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logs = new LogLines();
  const agent = new Agent({ bootstrapDir: dir, settings, ip: '127.0.3.9', log: logs.log, register: false, name: 'svc1-pod-x', xdsProxyAddress: '127.0.0.1:0', sdsAddress: join(dir, 'sds.sock') });
  const stop = new AbortController();
  const running = agent.start(stop.signal);
  try {
    await logs.waitFor(/^certificate issued for spiffe:\/\/cluster\.local\/ns\/vm-demo\/sa\/svc1-vm,/, 20_000);
    // This bootstrap folder has no root-cert.pem: the plaintext warning may come first (upstream.ts).
    assert.ok(logs.lines.includes('identity only: not registering; workload svc1-pod-x'), logs.lines.join('\n'));
    const leaf = new X509Certificate(readFileSync(join(dir, CERT_DIR, CERT_FILES.chain), 'utf8'));
    assert.match(leaf.subjectAltName ?? '', /URI:spiffe:\/\/cluster\.local\/ns\/vm-demo\/sa\/svc1-vm/);
    // The same certificate over SDS (§12), for a local Envoy.
    assert.equal(agent.sdsAddress, `unix:${join(dir, 'sds.sock')}`);
    const sdsDefault = await fetchSecret(agent.sdsAddress, 'default');
    assert.equal(new X509Certificate(sdsDefault).fingerprint256, leaf.fingerprint256);
    const b = JSON.parse(readFileSync(agent.grpcBootstrapPath, 'utf8')) as Bootstrap;
    assert.equal(b.node.id, 'proxyless~127.0.3.9~svc1-pod-x.vm-demo~vm-demo.svc.cluster.local');
    assert.equal(b.node.metadata['AUTO_REGISTER_GROUP'], undefined);
    // Give a registration, were one attempted, time to land: none may.
    await sleep(1500);
    assert.deepEqual(await (await fetch(`http://${http}/debug/syncz`)).json(), [], 'no ADS stream from the agent');
    assert.equal(cp.registry.inputs.WorkloadEntry.size, 0, 'no WorkloadEntry');
    assert.ok(!logs.lines.some((l) => /^(connected|registered)/.test(l)), logs.lines.join('\n'));
  } finally {
    stop.abort();
    await running;
  }
  assert.equal(logs.lines.at(-1), 'agent stopping');
});

test('--inbound through the agent: the proxy listens on <ip>:PORT and takes its mode from the inbound Listener watched as the proxyless node', { timeout: 30_000 }, async (t) => {
  const ip = '127.0.41.7';
  const port = 15006;
  const name = `xds.istio.io/grpc/lds/inbound/${ip}:${port}`;
  const cache = new ResourceCache();
  cache.setResources('grpc', LISTENER, new Map([[name, { version: '1', message: create(ListenerSchema, { name, filterChains: [{}], metadata: { filterMetadata: { 'meshbridge.io': { mtlsMode: 'STRICT' } } } }) }]]));
  const cp = await startControlPlane({ cache });
  t.after(() => cp.stop());
  const settings = settingsFor(cp.address);
  const { dir } = bootstrapDir(settings);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let appConnections = 0;
  const app = createNetServer((s) => {
    appConnections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => app.listen(0, ip, resolve));
  t.after(() => new Promise<void>((resolve) => app.close(() => resolve())));
  const appPort = (app.address() as AddressInfo).port;
  const logs = new LogLines();
  const agent = new Agent({ bootstrapDir: dir, settings, ip, log: logs.log, register: false, inbound: [{ port, appPort }], renewRetryMs: 60_000 });
  const stop = new AbortController();
  const running = agent.start(stop.signal);
  try {
    await logs.waitFor(new RegExp(`^inbound ${ip.replaceAll('.', '\\.')}:${port}: mTLS mode STRICT$`), 15_000);
    const connect = await cp.waitFor('connect', (e) => e.stream.proxy.id.startsWith('proxyless~'));
    assert.equal(connect.stream.proxy.id, `proxyless~${ip}~svc1-vm-${ip}.vm-demo~vm-demo.svc.cluster.local`);
    assert.equal(connect.stream.proxy.metadata['CERTIFICATE_PROVIDERS'], 'default');
    assert.equal(connect.stream.proxy.metadata['AUTO_REGISTER_GROUP'], undefined);
    // STRICT: a plaintext connection is closed without reaching the app.
    const closed = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, ip, () => s.write('GET / HTTP/1.0\r\n\r\n'));
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    assert.ok(closed);
    assert.equal(appConnections, 0, 'STRICT: plaintext never reaches the app');
  } finally {
    stop.abort();
    await running;
  }
});

/** One SotW SDS request for `name`; resolves with the first certificate of the answer. */
async function fetchSecret(target: string, name: string): Promise<string> {
  const client = new Client(target, credentials.createInsecure());
  const m = sdsServiceDefinition['StreamSecrets'];
  if (!m) throw new Error('no StreamSecrets');
  const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  call.on('error', () => undefined);
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no SDS answer')), 10_000);
      call.on('data', (r: DiscoveryResponse) => {
        const any = r.resources[0];
        const s = any ? anyUnpack(any, SecretSchema) : undefined;
        if (s?.type.case !== 'tlsCertificate') return;
        const ds = s.type.value.certificateChain?.specifier;
        clearTimeout(timer);
        resolve(ds?.case === 'inlineBytes' ? new TextDecoder().decode(ds.value) : '');
      });
      call.write(create(DiscoveryRequestSchema, { node: { id: 'sidecar~127.0.3.9~envoy.vm-demo~vm-demo.svc.cluster.local' }, typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', resourceNames: [name] }));
    });
  } finally {
    call.cancel();
    client.close();
  }
}
