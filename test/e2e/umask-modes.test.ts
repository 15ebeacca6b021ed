/**
 * Issue 11 §7: file and socket modes do not depend on the umask. This test process runs under
 * umask 000 (and so do the `serve` it starts: children inherit it); before, another local user could
 * read the CA key's folder listing, rewrite state, and receive the workload's private key over a
 * 0777 SDS socket. Now: keys, tokens, secrets and state files 0600, the folders meshbridge makes
 * 0700, public files 0644 (never writable by others), the SDS unix socket 0600.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent } from '../../src/agent/agent.js';
import { runCli } from '../../src/cli/main.js';
import { CertificateAuthority } from '../../src/security/ca.js';
import { mint } from '../support/certs-and-ports.js';
import { agentFixture, LogLines, runUntilEnd } from '../agent/harness.js';
import { startServe } from './serve-process.js';

process.umask(0);

const modeOf = (path: string): string => `0${(lstatSync(path).mode & 0o777).toString(8)}`;

function assertModes(base: string, expected: Readonly<Record<string, string>>): void {
  const actual = Object.fromEntries(Object.keys(expected).map((p) => [p, modeOf(join(base, p))]));
  assert.deepEqual(actual, expected);
}

test('under umask 000, serve\'s state directory and keys, and configure\'s bootstrap folder, get private modes', { timeout: 120_000 }, async (t) => {
  const root = mkdtempSync('/dev/shm/mb-umask-');
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const config = join(root, 'config');
  const serve = await startServe({ dir: mkdtempSync(`${config}-`) });
  assert.equal(await serve.stop(), 0);
  assertModes(`${serve.dir}.state`, {
    '.': '0700',
    'signing-key': '0600',
    'state.json': '0600',
    ca: '0700',
    'ca/ca-key.pem': '0600',
    'ca/ca-cert.pem': '0644',
    'ca/root-cert.pem': '0644',
  });

  const group = join(root, 'group.yaml');
  writeFileSync(group, 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: {name: g1, namespace: ns1}\nspec: {metadata: {labels: {app: a}}, template: {serviceAccount: sa1}}\n');
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const out = join(root, 'vm', 'bootstrap');
  const code = await runCli(['workload', 'entry', 'configure', '-f', group, '-o', out, '--control-plane', '127.0.0.1:15012', '--state-dir', `${serve.dir}.state`], sink, sink);
  assert.equal(code, 0);
  assertModes(root, { vm: '0700', 'vm/bootstrap': '0700', 'vm/bootstrap/registration-token': '0600', 'vm/bootstrap/meshbridge-agent.json': '0644', 'vm/bootstrap/root-cert.pem': '0644' });
});

test('under umask 000, the agent\'s certificate folder and key, gRPC bootstrap, local secret and SDS socket are its own', { timeout: 30_000 }, async (t) => {
  const { settings, dir } = await agentFixture(t);
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  await mint(ca, 'spiffe://cluster.local/ns/vm-demo/sa/svc1-vm', dir); // the agent's writeCertificate
  const agent = new Agent({ bootstrapDir: dir, settings, ip: '127.0.0.1', log: new LogLines().log, settleMs: 100, xdsProxyAddress: '127.0.0.1:0', sdsAddress: join(dir, 'sds.sock') });
  await runUntilEnd(t, agent);
  assert.equal(agent.sdsAddress, `unix:${join(dir, 'sds.sock')}`);
  assertModes(dir, {
    certs: '0700',
    'certs/key.pem': '0600',
    'grpc-bootstrap.json': '0600',
    'local-xds-secret': '0600',
    'sds.sock': '0600',
  });
  assert.ok(lstatSync(join(dir, 'sds.sock')).isSocket());
});
