/**
 * Issue 13, item 1, with real processes: one writer per state directory, and a clean failure to start.
 * - A second `serve` on the same folder (same ports, or other ports) refuses to start with one
 *   sentence naming the first one's pid, exit 2, and the live VM's WorkloadEntry stays (it used to
 *   be deleted as "did not come back within the grace period").
 * - A port in use is one sentence naming the flag, exit 2, before any state is read or written.
 * - A lock left by a killed serve does not stop the next one.
 * - A serve restarted after more than the grace period gives the agents the grace period from its
 *   own start: their entries are kept (same creationTimestamp) and taken over when they reconnect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NS, serviceEntry } from './mesh.js';
import { cleanups, runCli, startServe, waitFor, type ServeProcess } from './serve-process.js';
import { startVmAgent } from './vm-agent.js';

const HOST = 'ow.vm.test';
const GROUP = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: ow-vm, namespace: ${NS}}
spec:
  metadata: {labels: {app: ow}}
  template: {serviceAccount: ow, ports: {grpc: 8080}}
`;
const SERVICE = serviceEntry('ow', HOST, { app: 'ow' });
const LOCKED = /^meshbridge: the state directory (\S+) is in use by another serve \(pid (\d+), started [0-9T:.Z-]+\); stop that process first, or give this one another --state-dir\n$/;

/** The addresses of the VM entries serve has for HOST. */
async function vmAddresses(serve: ServeProcess): Promise<string[]> {
  const services = await serve.get<{ endpoints: { address: string }[] }[]>(`/debug/endpointz?namespace=${NS}&host=${HOST}`);
  return services.flatMap((s) => s.endpoints.map((e) => e.address));
}

interface StoredEntry {
  metadata: { name: string; creationTimestamp?: string; annotations?: Record<string, string> };
}

/** The WorkloadEntries of the folder's store, read by `get` (a reader beside serve). */
async function storedEntries(dir: string): Promise<StoredEntry[]> {
  const r = await runCli(['get', 'we', '-n', NS, '-o', 'json', '--store', `file://${dir}`], 15_000);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { items: StoredEntry[] }).items;
}

function ephemeral(): string[] {
  return ['--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--secure-xds-address', '127.0.0.1:0'];
}

/** The file names and contents of a folder (one level). */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir, { withFileTypes: true }).map((e) => [e.name, e.isFile() ? readFileSync(join(dir, e.name), 'hex') : 'dir']));
}

test('a second serve on the same state directory refuses to start naming the first, and the live VM keeps its entry', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const grace = 1500;
  const serve = own(await startServe({ files: { 'mesh.yaml': `${SERVICE}---\n${GROUP}` }, args: ['--grace-period', String(grace)] }), (s) => s.stop());
  const stateDir = `${serve.dir}.state`;
  const groupFile = join(mkdtempSync(join(tmpdir(), 'mb-ow-')), 'group.yaml');
  writeFileSync(groupFile, GROUP);
  const vm = await startVmAgent(own, { groupFile, controlPlane: serve.xdsTls, stateDir, ip: '127.0.81.1' });
  await waitFor(async () => ((await vmAddresses(serve)).includes('127.0.81.1') ? true : undefined), 30_000, `the VM to register (agent: ${vm.logs()})`);
  const lock = readFileSync(join(stateDir, 'serve.lock'), 'utf8');

  const samePorts = ['--xds-address', serve.xds, '--http-address', serve.http, '--secure-xds-address', serve.xdsTls];
  for (const ports of [samePorts, ephemeral()]) {
    const second = await runCli(['serve', '--config', serve.dir, '--grace-period', '100', ...ports], 30_000);
    assert.equal(second.code, 2, second.stderr);
    const m = LOCKED.exec(second.stderr);
    assert.ok(m, `one sentence naming the other process, not: ${second.stderr}`);
    assert.equal(m[1], stateDir);
    assert.equal(Number(m[2]), serve.pid);
    assert.equal(second.stdout, '', 'nothing listened');
  }
  assert.equal(readFileSync(join(stateDir, 'serve.lock'), 'utf8'), lock, 'the lock is still the first serve\'s');
  // Longer than both grace periods: the entry used to vanish 2 s after the second serve started.
  await new Promise((r) => setTimeout(r, grace + 1000));
  assert.deepEqual(await vmAddresses(serve), ['127.0.81.1']);
  assert.deepEqual((await storedEntries(serve.dir)).map((e) => e.metadata.name), ['ow-vm-127.0.81.1']);
  assert.doesNotMatch(serve.logs(), /did not come back/);
});

test('a port in use: one sentence naming the flag, exit 2, and the state directory is neither read nor written', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const root = own(mkdtempSync(join(tmpdir(), 'mb-ports-')), (d) => rm(d, { recursive: true, force: true }));
  const busy = own(
    await new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    }),
    (s) => new Promise((r) => s.close(r)),
  );
  const address = busy.address();
  assert.ok(address !== null && typeof address === 'object');
  const taken = `127.0.0.1:${address.port}`;
  const dir = join(root, 'cfg');
  mkdirSync(dir);
  writeFileSync(join(dir, 'mesh.yaml'), SERVICE);
  // An existing state directory (as an earlier serve left it): byte for byte the same afterwards.
  const stateDir = join(root, 'existing.state');
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify({ version: 2, revision: 7, objects: [], statuses: {} }));
  const before = contents(stateDir);
  for (const flag of ['--xds-address', '--secure-xds-address', '--http-address']) {
    const args = ephemeral();
    args[args.indexOf(flag) + 1] = taken;
    const r = await runCli(['serve', '--config', dir, '--state-dir', stateDir, ...args], 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `meshbridge: ${flag} ${taken} is in use\n`);
    assert.equal(r.stdout, '');
    assert.deepEqual(contents(stateDir), before, `${flag}: no state read or written (no CA, no signing key, no lock left)`);
  }
  // Without an existing state directory, none is left behind.
  const r = await runCli(['serve', '--config', dir, '--xds-address', taken, '--http-address', '127.0.0.1:0', '--secure-xds-address', '127.0.0.1:0'], 30_000);
  assert.equal(r.stderr, `meshbridge: --xds-address ${taken} is in use\n`);
  assert.equal(existsSync(`${dir}.state`), false);
});

test('a lock left by a killed serve does not stop the next one', { timeout: 60_000 }, async (t) => {
  const own = cleanups(t);
  const dir = own(mkdtempSync(join(tmpdir(), 'mb-stale-')), (d) => rm(d, { recursive: true, force: true }).then(() => rm(`${d}.state`, { recursive: true, force: true })));
  const first = await startServe({ dir, files: { 'mesh.yaml': SERVICE } });
  await first.kill();
  const left = JSON.parse(readFileSync(`${dir}.state/serve.lock`, 'utf8')) as { pid: number };
  assert.equal(left.pid, first.pid, 'SIGKILL leaves the lock file behind');
  const second = own(await startServe({ dir }), (s) => s.stop());
  const now = JSON.parse(readFileSync(`${dir}.state/serve.lock`, 'utf8')) as { pid: number };
  assert.equal(now.pid, second.pid);
  assert.equal(await second.stop(), 0, second.logs());
  assert.equal(existsSync(`${dir}.state/serve.lock`), false, 'a clean stop removes the lock');
});

test('a serve restarted after more than the grace period gives the agents the grace period from its own start', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const grace = 6000;
  const dir = own(mkdtempSync(join(tmpdir(), 'mb-regrace-')), (d) => rm(d, { recursive: true, force: true }).then(() => rm(`${d}.state`, { recursive: true, force: true })));
  const args = ['--grace-period', String(grace)];
  const first = own(await startServe({ dir, files: { 'mesh.yaml': `${SERVICE}---\n${GROUP}` }, args }), (s) => s.stop());
  const groupFile = join(dir, 'group.yaml.txt');
  writeFileSync(groupFile, GROUP);
  const vm = await startVmAgent(own, { groupFile, controlPlane: first.xdsTls, stateDir: `${dir}.state`, ip: '127.0.82.1' });
  await waitFor(async () => ((await vmAddresses(first)).includes('127.0.82.1') ? true : undefined), 30_000, `the VM to register (agent: ${vm.logs()})`);
  const [registered] = await storedEntries(dir);
  assert.ok(registered?.metadata.creationTimestamp !== undefined);

  assert.equal(await first.stop(), 0); // the agent's stream ends: its entry is marked disconnected
  const [disconnected] = await storedEntries(dir);
  assert.ok(disconnected?.metadata.annotations?.['istio.io/disconnectedAt'] !== undefined, 'the entry says disconnected');
  await new Promise((r) => setTimeout(r, grace + 300)); // down for longer than the grace period

  const second = own(await startServe({ dir, args, secureXdsAddress: first.xdsTls }), (s) => s.stop());
  assert.deepEqual(await vmAddresses(second), ['127.0.82.1'], 'kept at start');
  const reconnected = await waitFor(async () => {
    const [e] = await storedEntries(dir);
    return e?.metadata.annotations?.['istio.io/connectedAt'] !== undefined ? e : undefined;
  }, grace, `the agent to reconnect (agent: ${vm.logs()})`);
  assert.equal(reconnected.metadata.creationTimestamp, registered.metadata.creationTimestamp, 'the same entry, never deleted and re-created');
  assert.doesNotMatch(second.logs(), /did not come back/);
});
