/**
 * Issue 7 through the agent: a registered agent obtains its workload certificate from the real
 * control plane's CA (Istio's CreateCertificate, authenticated with its registration token), writes
 * it for gRPC's file_watcher provider, and points its gRPC bootstrap at those files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlPlane } from '../../src/app/control-plane.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { signToken } from '../../src/security/registration-token.js';
import { loadOrCreateSigningKey } from '../../src/sources/file/state-dir.js';
import { Agent } from '../../src/agent/agent.js';
import { CERT_DIR, CERT_FILES, certificateRenewalDelayMs } from '../../src/agent/certificates.js';
import { controlPlaneChannel, ROOT_CERT_FILE } from '../../src/agent/upstream.js';
import { settingsFor } from './harness.js';

const GROUP = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: svc1-vm, namespace: vm-demo}
spec:
  metadata: {labels: {app: svc1}}
  template: {serviceAccount: svc1-vm, ports: {http: 80}}
`;

test('certificates are renewed at half their lifetime, with jitter', () => {
  const cert = { notBefore: 0, notAfter: 100_000 };
  assert.equal(certificateRenewalDelayMs(cert, 0, () => 0.5), 50_000);
  assert.equal(certificateRenewalDelayMs(cert, 0, () => 0), 40_000);
  assert.equal(certificateRenewalDelayMs(cert, 0, () => 1), 60_000);
  assert.equal(certificateRenewalDelayMs(cert, 70_000, () => 0.5), 0, 'overdue: now');
});

/** A control plane with its secure port, and an agent bootstrap folder for it as `workload entry configure` writes it. */
async function secureSetup(): Promise<{ cp: ControlPlane; xdsTls: string; config: string; stateDir: string; dir: string; settings: ReturnType<typeof settingsFor> }> {
  const config = mkdtempSync(join(tmpdir(), 'mb-cert-'));
  writeFileSync(join(config, 'group.yaml'), GROUP);
  const stateDir = `${config}.state`;
  const cp = new ControlPlane({ configPaths: [config], xdsAddress: '127.0.0.1:0', secureXdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, stateDir });
  const { xdsTls } = await cp.start();
  assert.ok(xdsTls);
  const settings = settingsFor(xdsTls);
  const dir = mkdtempSync(join(tmpdir(), 'mb-agent-'));
  const now = Math.floor(Date.now() / 1000);
  const token = signToken({ namespace: settings.namespace, group: settings.group, serviceAccount: settings.serviceAccount, issuedAt: now, expiresAt: now + 3600 }, loadOrCreateSigningKey(stateDir));
  writeFileSync(join(dir, 'meshbridge-agent.json'), JSON.stringify(settings));
  writeFileSync(join(dir, 'registration-token'), `${token}\n`, { mode: 0o600 });
  writeFileSync(join(dir, ROOT_CERT_FILE), cp.certificateAuthority().rootPem);
  return { cp, xdsTls, config, stateDir, dir, settings };
}

test('a registered agent gets a SPIFFE certificate over TLS for its service account and writes it for file_watcher', { timeout: 30_000 }, async () => {
  const { cp, xdsTls, config, stateDir, dir, settings } = await secureSetup();
  const lines: string[] = [];
  const agent = new Agent({ bootstrapDir: dir, settings, ip: '127.0.3.7', log: (l) => lines.push(l), settleMs: 100 });
  const stop = new AbortController();
  const running = agent.start(stop.signal);
  try {
    const certFile = join(dir, CERT_DIR, CERT_FILES.chain);
    for (let i = 0; i < 200 && !lines.some((l) => l.startsWith('certificate issued')); i++) await sleep(25);
    assert.ok(lines.some((l) => l === 'certificate issued for spiffe://cluster.local/ns/vm-demo/sa/svc1-vm' || l.startsWith('certificate issued for spiffe://cluster.local/ns/vm-demo/sa/svc1-vm,')), lines.join('\n'));
    const leaf = new X509Certificate(readFileSync(certFile, 'utf8'));
    const root = new X509Certificate(readFileSync(join(dir, CERT_DIR, CERT_FILES.root), 'utf8'));
    assert.match(leaf.subjectAltName ?? '', /URI:spiffe:\/\/cluster\.local\/ns\/vm-demo\/sa\/svc1-vm/);
    assert.ok(leaf.checkIssued(root));
    assert.equal(statSync(join(dir, CERT_DIR, CERT_FILES.key)).mode & 0o777, 0o600);
    const bootstrap = JSON.parse(readFileSync(agent.grpcBootstrapPath, 'utf8')) as { certificate_providers?: { default?: { plugin_name?: string; config?: { certificate_file?: string } } } };
    assert.equal(bootstrap.certificate_providers?.default?.plugin_name, 'file_watcher');
    assert.equal(bootstrap.certificate_providers?.default?.config?.certificate_file, certFile);
    assert.ok(!lines.some((l) => l.startsWith('warning: no root-cert.pem')), 'TLS, no plaintext warning');
    assert.equal(cp.xds.streams()[0]?.stream.identity, 'spiffe://cluster.local/ns/vm-demo/sa/svc1-vm', 'the stream authenticated on the secure port');
    assert.equal(controlPlaneChannel(dir).security, 'mtls', 'with its certificate, new channels use mutual TLS');
    assert.equal(xdsTls, settings.controlPlane);
  } finally {
    stop.abort();
    await running;
    await cp.stop();
    for (const d of [config, stateDir, dir]) rmSync(d, { recursive: true, force: true });
  }
});

test('an agent renews its short-lived certificate by certificate (mutual TLS) and keeps its ADS stream across rotations', { timeout: 60_000 }, async () => {
  const { cp, config, stateDir, dir, settings } = await secureSetup();
  const lines: string[] = [];
  const agent = new Agent({ bootstrapDir: dir, settings, ip: '127.0.3.8', log: (l) => lines.push(l), settleMs: 100, certificateTtlSeconds: 4 });
  const stop = new AbortController();
  const running = agent.start(stop.signal);
  try {
    const issued = (): string[] => lines.filter((l) => l.startsWith('certificate issued'));
    for (let i = 0; i < 600 && issued().length < 1; i++) await sleep(25);
    assert.equal(issued().length >= 1, true, lines.join('\n'));
    assert.ok(!(issued()[0] ?? '').endsWith('(renewed by certificate)'), 'the first certificate is obtained with the token');
    const stream = cp.xds.streams()[0]?.stream.streamId;
    assert.ok(stream !== undefined);
    const first = readFileSync(join(dir, CERT_DIR, CERT_FILES.chain), 'utf8');
    for (let i = 0; i < 1200 && issued().length < 3; i++) await sleep(25);
    assert.ok(issued().length >= 3, `two renewals: ${lines.join('\n')}`);
    assert.ok(issued().slice(1).every((l) => l.endsWith('(renewed by certificate)')), `renewals authenticate with the current certificate: ${issued().join('\n')}`);
    assert.notEqual(readFileSync(join(dir, CERT_DIR, CERT_FILES.chain), 'utf8'), first, 'the files hold the new certificate');
    assert.deepEqual(cp.xds.streams().map((s) => s.stream.streamId), [stream], 'the same ADS stream throughout');
    assert.ok(!lines.some((l) => l.startsWith('disconnected')), lines.join('\n'));
  } finally {
    stop.abort();
    await running;
    await cp.stop();
    for (const d of [config, stateDir, dir]) rmSync(d, { recursive: true, force: true });
  }
});
