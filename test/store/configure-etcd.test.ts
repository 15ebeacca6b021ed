/**
 * Issue 16 item 1: a VM is onboarded with the documented commands when serve runs on etcd. A real
 * etcd, a real `serve --store etcd://...`, the WorkloadGroup applied with `apply`, the bootstrap
 * written by `workload entry configure --store etcd://...` (signing key, mesh root and MeshConfig
 * read from the store), and a real `meshbridge agent` that registers with it. Before any replica has
 * started on a store, configure refuses with the reason and writes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, waitFor } from '../e2e/serve-process.js';
import { startEtcd } from '../support/etcd.js';
import { BIN } from '../support/paths.js';
import { startReplica } from '../support/serve-replica.js';

const GROUP = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: web, namespace: onboard}
spec:
  metadata: {labels: {app: web}}
  template: {serviceAccount: web-sa, ports: {http: 8080}}
`;

test('workload entry configure --store etcd://: the bootstrap comes from the store, and a real agent registers with it', { timeout: 120_000 }, async () => {
  const etcd = await startEtcd(1);
  const dir = mkdtempSync(join(tmpdir(), 'mb-onboard-'));
  const groupFile = join(dir, 'group.yaml');
  writeFileSync(groupFile, GROUP);
  const bootstrap = join(dir, 'vm');
  let replica: Awaited<ReturnType<typeof startReplica>> | undefined;
  let agent: ReturnType<typeof spawn> | undefined;
  try {
    // No replica has started on this store yet: no key, no CA, nothing written.
    const early = await runCli(['workload', 'entry', 'configure', '-f', groupFile, '-o', bootstrap, '--control-plane', '127.0.0.1:15012', '--store', etcd.url], 20_000);
    assert.equal(early.code, 2, early.stderr);
    assert.match(early.stderr, /holds no signing key or CA yet: start serve on this store first/);
    assert.equal(existsSync(bootstrap), false);

    replica = await startReplica(etcd.url, 'cp-1');
    const tls = await waitFor(() => replica?.xdsTls(), 15_000, 'the secure xDS address');
    const applied = await runCli(['apply', '-f', groupFile, '--store', etcd.url], 20_000);
    assert.equal(applied.code, 0, applied.stderr);
    const conf = await runCli(['workload', 'entry', 'configure', '-f', groupFile, '-o', bootstrap, '--control-plane', tls, '--store', etcd.url], 20_000);
    assert.equal(conf.code, 0, conf.stderr);
    assert.match(readFileSync(join(bootstrap, 'root-cert.pem'), 'utf8'), /BEGIN CERTIFICATE/);

    agent = spawn(process.execPath, [BIN, 'agent', '--bootstrap', bootstrap, '--ip', '127.0.84.7', '--heartbeat', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    let last = '';
    const listed = await waitFor(
      async () => {
        const r = await runCli(['get', 'we', '-n', 'onboard', '--store', etcd.url], 20_000);
        last = `${r.stdout}${r.stderr}`;
        return /web-127\.0\.84\.7\s+127\.0\.84\.7\s+web\s+True/.test(r.stdout) ? r.stdout : undefined;
      },
      60_000,
      'the VM to be registered and connected',
    ).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; get: ${last}; agent: ${log}; serve: ${replica?.logs() ?? ''}`);
    });
    assert.match(listed, /^web-127\.0\.84\.7 /m);
  } finally {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent?.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    await replica?.kill();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
