/**
 * The VM onboarding commands (cli-contract.md) as scripts run them: the real program in a child
 * process. `workload group create` (I-1), `workload entry configure` (I-2..I-4, agent-protocol.md §1)
 * and `agent` exiting 0 on SIGTERM after its stream is closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { X509Certificate } from 'node:crypto';
import { join, resolve } from 'node:path';
import { loadOrCreateSigningKey } from '../../src/sources/file/state-dir.js';
import { verifyToken } from '../../src/security/registration-token.js';
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { BIN, PROJECT_ROOT } from '../support/paths.js';
import { bootstrapDir, settingsFor, startControlPlane } from './harness.js';
import { Client, credentials } from '@grpc/grpc-js';
import { startBackend } from '../xds/fixtures/backends.js';
import { whoMethod } from '../xds/fixtures/echo-service.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../e2e/serve-process.js';

function run(args: string[], cwd = PROJECT_ROOT): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same command line in this process (cheaper than a child for the many small cases). */
async function runHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
    return { stream, text: () => chunks.join('') };
  };
  const out = sink();
  const err = sink();
  const code = await runCli(args, out.stream, err.stream);
  return { code, stdout: out.text(), stderr: err.text() };
}

// istioctl's expected outputs (istioctl/pkg/workload/workload_test.go), I-1.
const DEFAULT_YAML = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: foo
  namespace: bar
spec:
  metadata: {}
  template:
    serviceAccount: default
`;
const CUSTOM_YAML = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: foo
  namespace: bar
spec:
  metadata:
    annotations:
      annotation: foobar
    labels:
      app: foo
      bar: baz
  template:
    ports:
      grpc: 3550
      http: 8080
    serviceAccount: test
    weight: 100
`;

test('I-1: workload group create prints what istioctl prints', () => {
  assert.deepEqual(run(['workload', 'group', 'create', '--name', 'foo', '--namespace', 'bar']), { code: 0, stdout: DEFAULT_YAML, stderr: '' });
  const custom = run(['workload', 'group', 'create', '--name', 'foo', '-n', 'bar', '-l', 'app=foo,bar=baz', '-a', 'annotation=foobar', '-p', 'grpc=3550,http=8080', '--serviceAccount', 'test', '--weight', '100']);
  assert.equal(custom.stdout, CUSTOM_YAML);
});

test('I-1: json output, mandatory name and namespace (exit 2, istioctl\'s messages), bad ports', async () => {
  const net = await runHere(['workload', 'group', 'create', '--name', 'foo', '--namespace', 'bar', '--network', 'vpc-1', '-o', 'json']);
  assert.deepEqual(JSON.parse(net.stdout), { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadGroup', metadata: { name: 'foo', namespace: 'bar' }, spec: { metadata: {}, template: { network: 'vpc-1', serviceAccount: 'default' } } });
  assert.deepEqual(await runHere(['workload', 'group', 'create', '-n', 'bar']), { code: 2, stdout: '', stderr: 'meshbridge: expecting a workload name\n' });
  assert.deepEqual(await runHere(['workload', 'group', 'create', '--name', 'foo']), { code: 2, stdout: '', stderr: 'meshbridge: expecting a workload namespace\n' });
  const ports = await runHere(['workload', 'group', 'create', '--name', 'foo', '-n', 'bar', '-p', 'http=99999']);
  assert.equal(ports.code, 2);
  assert.match(ports.stderr, /^meshbridge: --ports takes name=port pairs/);
});

const GROUP = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: svc1-vm
  namespace: vm-demo
spec:
  metadata:
    labels: {app: svc1, class: vm}
  template:
    serviceAccount: svc1-vm
    network: vpc-1
    labels: {class: vm-template, tier: backend}
    ports: {http: 80, grpc: 9090}
  probe:
    periodSeconds: 5
    httpGet: {port: 80, path: /ready}
`;

test('configure writes the bootstrap folder; the token verifies with the state dir\'s key and lasts --token-ttl', () => {
  const work = mkdtempSync(join(tmpdir(), 'mb-configure-'));
  writeFileSync(join(work, 'group.yaml'), GROUP);
  // The store: serve's config folder; its MeshConfig gives the trust domain and cluster id.
  mkdirSync(join(work, 'store'));
  writeFileSync(join(work, 'store', 'mesh.yaml'), 'apiVersion: meshbridge.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: mesh}\nspec: {trustDomain: example.org, clusterId: east}\n');
  const before = Math.floor(Date.now() / 1000);
  const r = run(['workload', 'entry', 'configure', '-f', 'group.yaml', '-o', 'vm', '--control-plane', '10.0.0.1:15012', '--store', 'file://store', '--token-ttl', '90m'], work);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const token = readFileSync(join(work, 'vm', 'registration-token'), 'utf8').trim();
  assert.ok(!r.stdout.includes(token) && !r.stdout.includes(token.split('.')[0] ?? '~'), 'nothing secret on stdout');
  assert.match(r.stdout, /written to vm .*expires at /);
  assert.equal(statSync(join(work, 'vm', 'registration-token')).mode & 0o777, 0o600);
  // The mesh root the agent verifies the secure port with: the CA's in the store's state directory.
  assert.match(r.stdout, /root-cert\.pem/);
  const root = readFileSync(join(work, 'vm', 'root-cert.pem'), 'utf8');
  assert.equal(root.trim(), readFileSync(join(work, 'store.state', 'ca', 'root-cert.pem'), 'utf8').trim());
  assert.match(new X509Certificate(root).subject, /O=example\.org/);

  const key = loadOrCreateSigningKey(join(work, 'store.state'));
  const check = verifyToken(token, key, before);
  assert.ok(check.ok, 'signed with the key of file://store -> store.state');
  assert.equal(check.claims.expiresAt - check.claims.issuedAt, 5400);
  assert.ok(check.claims.issuedAt >= before);
  assert.deepEqual({ ns: check.claims.namespace, group: check.claims.group, sa: check.claims.serviceAccount }, { ns: 'vm-demo', group: 'svc1-vm', sa: 'svc1-vm' });
  assert.ok(!verifyToken(token, key, check.claims.expiresAt).ok, 'expired at issuedAt + ttl');

  assert.deepEqual(JSON.parse(readFileSync(join(work, 'vm', 'meshbridge-agent.json'), 'utf8')), {
    controlPlane: '10.0.0.1:15012',
    namespace: 'vm-demo',
    group: 'svc1-vm',
    serviceAccount: 'svc1-vm',
    network: 'vpc-1',
    locality: '',
    labels: { app: 'svc1', class: 'vm', tier: 'backend' }, // AR-3: spec.metadata.labels override the template's
    ports: { grpc: 9090, http: 80 },
    probe: { periodSeconds: 5, httpGet: { port: 80, path: '/ready' } },
    trustDomain: 'example.org',
    clusterId: 'east',
  });
  const env = readFileSync(join(work, 'vm', 'cluster.env'), 'utf8');
  for (const line of [
    "ISTIO_INBOUND_PORTS='9090,80'",
    "ISTIO_LOCAL_EXCLUDE_PORTS='22,15090,15021,15020'",
    "ISTIO_NAMESPACE='vm-demo'",
    "ISTIO_SERVICE='svc1-vm.vm-demo'",
    "ISTIO_SERVICE_CIDR='*'",
    "SERVICE_ACCOUNT='svc1-vm'",
    "CANONICAL_SERVICE='svc1'",
    "CANONICAL_REVISION='latest'",
    "ISTIO_META_NETWORK='vpc-1'",
    "ISTIO_META_AUTO_REGISTER_GROUP='svc1-vm'",
    'ISTIO_META_POD_PORTS=\'[{"name":"grpc","containerPort":9090,"protocol":""},{"name":"http","containerPort":80,"protocol":""}]\'',
    // I-4: metadata labels overridden by the template's, plus the canonical labels.
    'ISTIO_METAJSON_LABELS=\'{"app":"svc1","class":"vm-template","service.istio.io/canonical-name":"svc1","service.istio.io/canonical-revision":"latest","tier":"backend"}\'',
    "TRUST_DOMAIN='example.org'",
    "ISTIO_META_CLUSTER_ID='east'",
  ]) {
    assert.ok(env.split('\n').includes(line), `cluster.env has ${line}`);
  }
  const lines = env.trimEnd().split('\n');
  assert.deepEqual(lines, [...lines].sort(), 'I-3: sorted');
  const mesh = readFileSync(join(work, 'vm', 'mesh.yaml'), 'utf8');
  assert.match(mesh, /^defaultConfig:\n {2}discoveryAddress: 10\.0\.0\.1:15012\n {2}proxyMetadata:\n/);
  assert.match(mesh, /\n {2}readinessProbe:\n {4}httpGet:\n {6}path: \/ready\n {6}port: 80\n {4}periodSeconds: 5\n$/);
});

test('configure: --state-dir names the key\'s folder; a bad group file exits 1 with positioned findings and writes nothing', async () => {
  const work = mkdtempSync(join(tmpdir(), 'mb-configure-'));
  const at = (f: string): string => join(work, f);
  writeFileSync(at('group.yaml'), GROUP);
  const ok = await runHere(['workload', 'entry', 'configure', '-f', at('group.yaml'), '-o', at('vm'), '--control-plane', '127.0.0.1:15010', '--state-dir', at('keys')]);
  assert.equal(ok.code, 0, ok.stderr);
  const token = readFileSync(at('vm/registration-token'), 'utf8').trim(); // as the agent reads it (bootstrap.ts)
  const check = verifyToken(token, loadOrCreateSigningKey(at('keys')), Math.floor(Date.now() / 1000));
  assert.ok(check.ok);
  assert.equal(check.claims.expiresAt - check.claims.issuedAt, 3600, 'default --token-ttl 1h');

  writeFileSync(at('bad.yaml'), GROUP.replace('port: 80, path', 'port: 0, path'));
  const bad = run(['workload', 'entry', 'configure', '-f', 'bad.yaml', '-o', 'out', '--control-plane', '127.0.0.1:15010', '--state-dir', 'keys'], work);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^bad\.yaml:16:\d+: error: WorkloadGroup vm-demo\/svc1-vm spec\.probe\.httpGet\.port: /m);
  assert.ok(!existsSync(at('out')));

  const configure = (...more: string[]) => runHere(['workload', 'entry', 'configure', '-f', at('group.yaml'), '-o', at('out'), ...more]);
  assert.deepEqual(await configure(), { code: 2, stdout: '', stderr: 'meshbridge: expecting the control plane address (--control-plane HOST:PORT)\n' });
  assert.equal((await configure('--control-plane', '127.0.0.1:1', '--token-ttl', 'soon')).code, 2);
  assert.equal((await configure('--control-plane', '127.0.0.1:1', '--store', 'etcd://127.0.0.1:2379')).code, 2);
  assert.equal((await runHere(['workload', 'entry', 'configure', '-f', at('missing.yaml'), '-o', at('out'), '--control-plane', '127.0.0.1:1'])).code, 2);
  assert.ok(!existsSync(at('out')));
});

test('agent: registers, prints the gRPC bootstrap path, and on SIGTERM closes its stream and exits 0', async () => {
  const cp = await startControlPlane();
  const { dir } = bootstrapDir(settingsFor(cp.address));
  const child = spawn(process.execPath, [BIN, 'agent', '--bootstrap', dir, '--ip', '127.0.0.1', '--heartbeat', '1', '--xds-proxy-address', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      // A ceiling for a process start and a registration, not a timing requirement: generous for a loaded machine.
      const timer = setTimeout(() => reject(new Error(`agent did not register within 30 s: ${stderr}`)), 30_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('registered as svc1-vm-127.0.0.1\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await cp.waitFor('connect');
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 5000)))]);
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    const disconnect = await cp.waitFor('disconnect', undefined, 2000);
    assert.equal(disconnect.reason, 'client closed the stream', 'a half-close, not a dropped connection');
    assert.equal(stdout, `GRPC_XDS_BOOTSTRAP=${join(dir, 'grpc-bootstrap.json')}\n`);
    // Issue 13: each line carries a timestamp and a level, as serve's do (one logger).
    const lines = stderr.trimEnd().split('\n');
    for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|error) /);
    assert.deepEqual(lines.map((l) => l.slice(l.indexOf(' ') + 1)), [
      `warn no root-cert.pem in ${resolve(dir)}: talking to the control plane in plaintext (re-run workload entry configure for TLS)`,
      `info connected to ${cp.address}`,
      'info registered as svc1-vm-127.0.0.1',
      'info disconnected: agent stopping',
    ]);
  } finally {
    child.kill('SIGKILL');
    await cp.stop();
  }
});

test('agent: a missing bootstrap folder is an I/O error (exit 2, one sentence)', async () => {
  const r = await runHere(['agent', '--bootstrap', '/no/such/dir', '--ip', '127.0.0.1']);
  assert.deepEqual(r, { code: 2, stdout: '', stderr: 'meshbridge: cannot read /no/such/dir/meshbridge-agent.json: no such file or directory\n' });
  assert.equal((await runHere(['agent', '--bootstrap', '/tmp', '--ip', 'not-an-ip'])).code, 2);
});

test('agent: --name needs --no-register; the xDS proxy and SDS listen on loopback only; --inbound is PORT:APP_PORT (usage errors, exit 2)', async () => {
  assert.deepEqual(await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--name', 'pod-a']), {
    code: 2,
    stdout: '',
    stderr: 'meshbridge: --name applies only with --no-register (a registered VM is named <group>-<ip>, AR-2)\n',
  });
  assert.equal((await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--no-register', '--name', 'Not A Name'])).code, 2);
  const r = await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--xds-proxy-address', '0.0.0.0:15011']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^meshbridge: --xds-proxy-address must be a loopback address/);
  const inbound = await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--inbound', '15006']);
  assert.deepEqual(inbound, { code: 2, stdout: '', stderr: 'meshbridge: --inbound must be PORT:APP_PORT with ports 1-65535, not "15006"\n' });
  assert.equal((await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--inbound', '15006:80', '--inbound', '15006:81'])).code, 2);
  const sds = await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--sds-address', '10.0.0.1:15012']);
  assert.equal(sds.code, 2);
  assert.match(sds.stderr, /^meshbridge: --sds-address: .*loopback/);
});

test('agent --inbound-default (issue 11): with no policy from the control plane (unreachable) the inbound proxy refuses every connection; `--inbound-default PERMISSIVE` accepts plaintext; a bad value is a usage error', { timeout: 60_000 }, async () => {
  const bad = await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--inbound', '15006:80', '--inbound-default', 'open']);
  assert.deepEqual(bad, { code: 2, stdout: '', stderr: 'meshbridge: --inbound-default must be one of refuse, STRICT, PERMISSIVE, DISABLE, not "open"\n' });
  const ip = '127.0.76.40';
  const app = await startBackend('app', ip);
  try {
    for (const [flags, reaches] of [[[], false], [['--inbound-default', 'permissive'], true]] as const) {
      const port = await freePort(ip);
      const { dir } = bootstrapDir(settingsFor('127.0.0.1:1')); // nothing listens there: no policy ever arrives
      const child = spawn(process.execPath, [BIN, 'agent', '--bootstrap', dir, '--ip', ip, '--xds-proxy-address', '127.0.0.1:0', '--sds-address', 'off', '--inbound', `${port}:${app.port}`, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let log = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      try {
        await waitFor(() => (out.includes('GRPC_XDS_BOOTSTRAP=') ? true : undefined), 20_000, `the agent to start\n${log}`);
        const reached = await new Promise<boolean>((resolve) => {
          const client = new Client(`${ip}:${port}`, credentials.createInsecure());
          client.makeUnaryRequest(whoMethod.path, whoMethod.requestSerialize, whoMethod.responseDeserialize, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err) => {
            client.close();
            resolve(err === null);
          });
        });
        assert.equal(reached, reaches, log);
        if (!reaches) assert.match(log, new RegExp(`inbound ${ip}:${port}: refused plaintext from .*: no inbound policy from the control plane \\(inbound default: refuse\\)`));
      } finally {
        child.kill('SIGKILL');
      }
    }
  } finally {
    await app.stop();
  }
});

test('agent: the DNS proxy and the agent\'s HTTP port listen on loopback only (usage errors, exit 2)', async () => {
  const dns = await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--dns-address', '10.0.0.1:53']);
  assert.equal(dns.code, 2);
  assert.match(dns.stderr, /^meshbridge: --dns-address must be a loopback address \(127\.0\.0\.0\/8, ::1 or localhost\), not "10\.0\.0\.1"/);
  const metrics = await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--metrics-address', '0.0.0.0:15020']);
  assert.equal(metrics.code, 2);
  assert.match(metrics.stderr, /^meshbridge: --metrics-address must be a loopback address/);
  assert.match((await runHere(['agent', '--bootstrap', '/tmp', '--ip', '127.0.0.1', '--dns-address', 'nonsense'])).stderr, /^meshbridge: --dns-address must be HOST:PORT, not "nonsense"/);
});
