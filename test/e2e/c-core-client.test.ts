/**
 * gRPC's C core as a second real xDS client (issue 15 item 3): a Python app on Debian's
 * python3-grpcio resolves `xds:///echo.demo.test:80` from a real `meshbridge serve`, on each xDS
 * transport (`--xds-transport http2`, the default, and `grpc-js`): LDS → RDS → CDS → EDS, calls
 * round-robined across the two VMs, and the client ACKed every type (SYNCED in /debug/syncz).
 * CI installs python3-grpcio (.ci/run); nothing here is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XDS_TRANSPORTS } from '../../src/xds/server/transport-choice.js';
import { echoService } from '../xds/fixtures/echo-service.js';
import { PROJECT_ROOT } from '../support/paths.js';
import { backend, docs, NS, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, startServe, waitFor } from './serve-process.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = join(PROJECT_ROOT, 'test', 'xds', 'fixtures', 'c-core-client.py');
const HOST = 'echo.demo.test';
const WHO_PATH = echoService['Who']?.path ?? '/meshbridge.test.Echo/Who';

interface ClientResult {
  readonly ok: boolean;
  readonly answers: readonly string[];
  readonly error?: string;
}

/** A running C-core client: its report once its calls are done; `close` ends it (closes its stdin). */
interface CoreClient {
  readonly result: Promise<ClientResult>;
  close(): Promise<void>;
}

/** Starts the C-core client against `xdsServer` with a bootstrap naming it. */
function startCoreClient(xdsServer: string, nodeId: string, calls: number): CoreClient {
  const dir = mkdtempSync(join(tmpdir(), 'mb-ccore-'));
  const bootstrap = join(dir, 'bootstrap.json');
  writeFileSync(
    bootstrap,
    JSON.stringify({
      xds_servers: [{ server_uri: xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, metadata: { GENERATOR: 'grpc', NAMESPACE: NS }, locality: {} },
    }),
  );
  const child = spawn(PYTHON, [CLIENT], {
    env: { PATH: process.env['PATH'] ?? '', GRPC_XDS_BOOTSTRAP: bootstrap, TARGET: `xds:///${HOST}:80`, METHOD: WHO_PATH, CALLS: String(calls) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const result = new Promise<ClientResult>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as ClientResult);
    });
    void exited.then((code) => reject(new Error(`the C-core client exited with ${String(code)} without a report: ${stdout}${stderr}`)));
  });
  return {
    result,
    close: async () => {
      child.stdin.end();
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const transport of XDS_TRANSPORTS) {
  test(`gRPC C core (python3-grpcio) resolves xds:/// from serve --xds-transport ${transport}, round-robins both VMs and is SYNCED`, { timeout: 120_000 }, async (t) => {
    const own = cleanups(t);
    const base = transport === 'http2' ? 80 : 81;
    const vm1 = await backend(own, 'vm-1', `127.0.${base}.1`);
    const vm2 = await backend(own, 'vm-2', `127.0.${base}.2`);
    const serve = own(
      await startServe({
        files: { 'mesh.yaml': docs(serviceEntry('echo', HOST, { app: 'echo' }), workloadEntry('vm-1', vm1, { app: 'echo' }), workloadEntry('vm-2', vm2, { app: 'echo' })) },
        args: ['--xds-transport', transport],
      }),
      (s) => s.stop(),
    );
    const nodeId = `proxyless~127.0.${base}.10~ccore.${NS}~${NS}.svc.cluster.local`;
    const client = own(startCoreClient(serve.xds, nodeId, 10), (c) => c.close());
    const result = await client.result;
    assert.ok(result.ok, `the C-core client failed: ${result.error ?? ''}`);
    assert.equal(result.answers.length, 10);
    assert.deepEqual([...new Set(result.answers)].sort(), ['vm-1', 'vm-2'], 'calls reach both VMs (round robin over EDS)');
    // Every type it asked for (LDS, RDS, CDS, EDS) is ACKed at the current version.
    await waitFor(
      async () => {
        const p = (await serve.syncz()).find((s) => s.proxy === nodeId);
        return p !== undefined && p.types.length === 4 && p.types.every((ty) => ty.state === 'SYNCED') ? p : undefined;
      },
      15_000,
      'the C-core client SYNCED on every type',
    );
  });
}
