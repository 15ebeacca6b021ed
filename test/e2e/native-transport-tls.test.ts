/**
 * The native xDS transport (`serve --xds-transport http2`, src/xds/server/grpc-http2.ts) over TLS
 * with client certificates, end to end with real processes: a `meshbridge agent` configured by
 * `workload entry configure` obtains its workload certificate over the secure port
 * (CreateCertificate, a unary call authenticated by its token), then its xDS proxy carries a real
 * grpc-js-xds client's ADS stream to the secure port over mutual TLS: the stream is admitted with
 * the certificate's SPIFFE identity, is SYNCED on every type, and the client's calls reach both VMs.
 * (Refusals of forged, expired and cross-namespace certificates: test/e2e/secure-xds.test.ts, which
 * runs on the default transport.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CERT_DIR, CERT_FILES } from '../../src/agent/certificates.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, NS, serviceEntry, workloadEntry, workloadGroup } from './mesh.js';
import { cleanups, startServe, waitFor } from './serve-process.js';
import { startVmAgent } from './vm-agent.js';

const HOST = 'echo.tls.test';
const CLIENT_IP = '127.0.82.10';

test('native transport over TLS: an agent gets its certificate, then a grpc-js-xds app behind it is admitted by certificate, SYNCED, and reaches both VMs', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const vm1 = await backend(own, 'vm-1', '127.0.82.1');
  const vm2 = await backend(own, 'vm-2', '127.0.82.2');
  const work = mkdtempSync(join(tmpdir(), 'mb-native-tls-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const group = workloadGroup('client', 'client', 8080);
  const groupFile = join(work, 'group.yaml');
  writeFileSync(groupFile, group);
  const serve = own(
    await startServe({
      files: { 'mesh.yaml': docs(serviceEntry('echo', HOST, { app: 'echo' }), workloadEntry('vm-1', vm1, { app: 'echo' }), workloadEntry('vm-2', vm2, { app: 'echo' }), group) },
      args: ['--xds-transport', 'http2'],
    }),
    (s) => s.stop(),
  );

  const agent = await startVmAgent(own, { groupFile, controlPlane: serve.xdsTls, stateDir: `${serve.dir}.state`, ip: CLIENT_IP, args: ['--no-register', '--name', 'client'] });
  const certificate = join(agent.dir, CERT_DIR, CERT_FILES.chain);
  await waitFor(() => (existsSync(certificate) ? true : undefined), 30_000, `the agent's certificate (CreateCertificate over TLS)\n${agent.logs()}`);

  const client = own(new XdsClientChild({ target: `xds:///${HOST}:80`, xdsServer: '', nodeId: '', bootstrapFile: join(agent.dir, 'grpc-bootstrap.json'), lifetimeMs: 110_000 }), (c) => c.stop());
  await client.ready();
  for (const expected of ['vm-1', 'vm-2']) {
    const r = await client.send({ op: 'until', backend: expected, timeoutMs: 30_000 }, 35_000);
    assert.ok(r.reached, `never answered "${expected}"; last: ${r.last}\n${agent.logs()}\n--- serve:\n${serve.logs().slice(-3000)}`);
  }

  // The app's stream came through the agent's xDS proxy over mutual TLS: admitted by certificate.
  const identity = `spiffe://cluster.local/ns/${NS}/sa/client`;
  const app = await waitFor(
    async () => (await serve.syncz()).find((p) => p.kind === 'grpc' && p.identity === identity && p.types.length === 4 && p.types.every((ty) => ty.state === 'SYNCED')),
    20_000,
    `the app's stream admitted as ${identity} and SYNCED`,
  );
  assert.equal(app.namespace, NS);
});
