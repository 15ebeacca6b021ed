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
import { signToken } from '../../src/lifecycle/registration-token.js';
import { loadOrCreateSigningKey } from '../../src/sources/file/state-dir.js';
import { Agent } from '../../src/agent/agent.js';
import { CERT_DIR, CERT_FILES, certificateRenewalDelayMs } from '../../src/agent/certificates.js';
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

test('a registered agent gets a SPIFFE certificate for its service account and writes it for file_watcher', { timeout: 30_000 }, async () => {
  const config = mkdtempSync(join(tmpdir(), 'mb-cert-'));
  writeFileSync(join(config, 'group.yaml'), GROUP);
  const stateDir = `${config}.state`;
  const cp = new ControlPlane({ configPaths: [config], xdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, stateDir });
  const { xds } = await cp.start();
  const settings = settingsFor(xds);
  const dir = mkdtempSync(join(tmpdir(), 'mb-agent-'));
  const now = Math.floor(Date.now() / 1000);
  const token = signToken({ namespace: settings.namespace, group: settings.group, serviceAccount: settings.serviceAccount, issuedAt: now, expiresAt: now + 3600 }, loadOrCreateSigningKey(stateDir));
  writeFileSync(join(dir, 'meshbridge-agent.json'), JSON.stringify(settings));
  writeFileSync(join(dir, 'registration-token'), `${token}\n`, { mode: 0o600 });
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
  } finally {
    stop.abort();
    await running;
    await cp.stop();
    for (const d of [config, stateDir, dir]) rmSync(d, { recursive: true, force: true });
  }
});
