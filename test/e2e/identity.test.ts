/**
 * Issue 7 end to end, with real processes only: `meshbridge serve`; `meshbridge agent`s started from
 * `workload entry configure` output, each obtaining its workload certificate from meshbridge's CA
 * and serving its local apps' xDS through its xDS proxy over mutual TLS; xDS-enabled gRPC servers
 * (grpc-js-xds XdsServer) standing for VMs and a Kubernetes pod; proxyless gRPC clients
 * (grpc-js-xds, XdsChannelCredentials) whose identities come from agents too; a plain gRPC app
 * behind an agent's inbound mTLS proxy; and a plaintext client outside the mesh. Addresses 127.0.74.x.
 *
 * - one ServiceEntry selector picks a VM with a serviceAccount, a pod, and a VM without one: calls to
 *   the first two are mutual TLS (the server sees the client's SPIFFE id), calls to the last are
 *   plaintext (C-6 auto mTLS, per endpoint);
 * - certificates rotate (16 s lifetime, renewed at half) under continuous traffic: zero failed calls;
 * - PERMISSIVE accepts mTLS and plaintext on one port (the agent's inbound proxy); STRICT refuses
 *   plaintext while mesh clients keep working;
 * - an AuthorizationPolicy denying one principal refuses its calls to a pod and to a VM selected by
 *   the same policy, and lets the other principal through.
 * Credentials refused across namespaces, forged or expired: test/e2e/secure-xds.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from '../xds/fixtures/backends.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { XdsServerChild } from '../xds/fixtures/server-process.js';
import { BIN } from '../support/paths.js';
import { NS, proxyless, serviceEntry } from './mesh.js';
import { freeWildcardPort } from '../support/ports.js';
import { cleanups, runCli, startServe, waitFor, type ServeProcess } from './serve-process.js';

const TD = 'cluster.local';
const spiffe = (sa: string): string => `spiffe://${TD}/ns/${NS}/sa/${sa}`;
/** The workload certificates' lifetime (`--certificate-ttl`): short, so that they rotate within the test. */
const CERT_TTL_S = 16;
/**
 * How long calls run across the rotations: longer than the latest renewal of a certificate obtained
 * before the run (0.6 × CERT_TTL_S after issue), with slack for the certificate request itself.
 */
const ROTATION_RUN_MS = 14_000;
const IP = { vm1: '127.0.74.1', vm2: '127.0.74.2', pod: '127.0.74.3', legacy: '127.0.74.4', clientA: '127.0.74.10', clientB: '127.0.74.11' } as const;


function group(name: string, labels: string, serviceAccount: string, port: number): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: ${name}, namespace: ${NS}}
spec:
  metadata: {labels: ${labels}}
  template: {${serviceAccount !== '' ? `serviceAccount: ${serviceAccount}, ` : ''}ports: {grpc: ${port}}}
`;
}

function pod(port: number): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: svc-pod, namespace: ${NS}, labels: {app: svc, role: pod, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: svc-pod, containers: [{name: app, ports: [{name: grpc, containerPort: ${port}}]}]}
status: {podIP: ${IP.pod}, phase: Running, conditions: [{type: Ready, status: "True"}]}
`;
}

interface AgentProcess {
  readonly dir: string;
  readonly bootstrap: string;
  log(): string;
  /** How many certificates it has obtained so far. */
  certificates(): number;
}

test('identity: mTLS to VMs and pods with identities, plaintext to one without, rotation under traffic, PERMISSIVE/STRICT, authorization alike for pods and VMs', { timeout: 240_000 }, async (t) => {
  const own = cleanups(t);
  const [p1, p2, p3, p4, app4] = await Promise.all([freeWildcardPort(), freeWildcardPort(), freeWildcardPort(), freeWildcardPort(), freeWildcardPort()]);
  // XdsServer listens on its port on every address (a grpc-js-xds behaviour): one port per server.
  const serve: ServeProcess = own(
    await startServe({
      files: {
        'services.yaml': [
          serviceEntry('svc', 'svc.identity.test', { app: 'svc' }),
          serviceEntry('vm-only', 'vm.identity.test', { role: 'vm' }),
          serviceEntry('pod-only', 'pod.identity.test', { role: 'pod' }),
          serviceEntry('legacy', 'legacy.identity.test', { app: 'legacy' }),
        ].join('---\n'),
        // Issue 11: a token is honoured only while its group exists, so the groups whose tokens the
        // identity-only workloads (the pod, the clients) use are in the store too.
        'groups.yaml': [
          group('svc-vm', '{app: svc, role: vm}', 'svc-vm', p1),
          group('plain-vm', '{app: svc, role: plain}', '', p3),
          group('legacy-vm', '{app: legacy}', 'legacy', p4),
          group('svc-pod', '{app: svc, role: pod}', 'svc-pod', p2),
          group('client-a', '{app: client-a}', 'client-a', 8080),
          group('client-b', '{app: client-b}', 'client-b', 8080),
        ].join('---\n'),
        'pod.yaml': pod(p2),
      },
    }),
    (s) => s.stop(),
  );

  // The group files `workload entry configure` reads (the pod's and the clients' groups mint tokens for identities that do not register).
  const groupsDir = mkdtempSync(join(tmpdir(), 'mb-id-groups-'));
  const groupFiles: Record<string, string> = {
    'svc-vm': group('svc-vm', '{app: svc, role: vm}', 'svc-vm', p1),
    'plain-vm': group('plain-vm', '{app: svc, role: plain}', '', p3),
    'legacy-vm': group('legacy-vm', '{app: legacy}', 'legacy', p4),
    'svc-pod': group('svc-pod', '{app: svc, role: pod}', 'svc-pod', p2),
    'client-a': group('client-a', '{app: client-a}', 'client-a', 8080),
    'client-b': group('client-b', '{app: client-b}', 'client-b', 8080),
  };
  for (const [name, yaml] of Object.entries(groupFiles)) writeFileSync(join(groupsDir, `${name}.yaml`), yaml);

  const agents = new Map<string, AgentProcess>();
  const allLogs = (): string => [...agents].map(([n, a]) => `--- agent ${n}:\n${a.log().slice(-2000)}`).join('\n');
  const startAgent = async (name: string, groupName: string, ip: string, extra: readonly string[]): Promise<AgentProcess> => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-id-agent-'));
    const conf = await runCli(['workload', 'entry', 'configure', '-f', join(groupsDir, `${groupName}.yaml`), '-o', dir, '--control-plane', serve.xdsTls, '--state-dir', `${serve.dir}.state`], 60_000);
    assert.equal(conf.code, 0, conf.stderr);
    const child = spawn(process.execPath, [BIN, 'agent', '--bootstrap', dir, '--ip', ip, '--xds-proxy-address', '127.0.0.1:0', '--sds-address', 'off', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let out = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    own(child, (a) => new Promise((r) => (a.exitCode !== null || a.signalCode !== null ? r(null) : (a.once('exit', r), a.kill('SIGTERM')))));
    const agent: AgentProcess = { dir, bootstrap: join(dir, 'grpc-bootstrap.json'), log: () => log, certificates: () => (log.match(/^\S+ info certificate issued for /gm) ?? []).length };
    agents.set(name, agent);
    await waitFor(() => (/GRPC_XDS_BOOTSTRAP=/.test(out) ? true : undefined), 30_000, `agent ${name} to serve its local apps\n${log}`);
    return agent;
  };
  const withCert = async (name: string, a: AgentProcess): Promise<void> => {
    await waitFor(() => (a.certificates() > 0 ? true : undefined), 30_000, `agent ${name} to obtain its certificate\n${a.log()}`);
  };

  // 16 s: renewed 6.4–9.6 s after issue (half the lifetime ±10%); the apps' file_watcher re-reads the
  // files every 5 s (FILE_WATCHER_REFRESH), so they serve a renewed certificate before the old one expires.
  const ttl = ['--certificate-ttl', `${CERT_TTL_S}s`];
  const [vm1Agent, vm2Agent, podAgent, legacyAgent, clientAAgent, clientBAgent] = await Promise.all([
    startAgent('vm1', 'svc-vm', IP.vm1, ttl),
    startAgent('vm2', 'plain-vm', IP.vm2, []),
    startAgent('pod', 'svc-pod', IP.pod, ['--no-register', '--name', 'svc-pod', ...ttl]),
    startAgent('legacy', 'legacy-vm', IP.legacy, ['--inbound', `${p4}:${app4}`]),
    startAgent('client-a', 'client-a', IP.clientA, ['--no-register', '--name', 'client-a', ...ttl]),
    startAgent('client-b', 'client-b', IP.clientB, ['--no-register', '--name', 'client-b']),
  ]);
  await Promise.all([withCert('vm1', vm1Agent), withCert('pod', podAgent), withCert('legacy', legacyAgent), withCert('client-a', clientAAgent), withCert('client-b', clientBAgent)]);
  assert.equal(vm2Agent.certificates(), 0, 'a VM without a service account gets no certificate');

  // The apps: xDS-enabled servers whose Listeners (TLS per PeerAuthentication, RBAC) come through
  // their agent; a plain app behind the legacy VM's inbound proxy.
  const server = (name: string, ip: string, port: number, a: AgentProcess): XdsServerChild =>
    own(new XdsServerChild({ bind: `${ip}:${port}`, xdsServer: '', nodeId: '', bootstrapFile: a.bootstrap, name, rbac: true, lifetimeMs: 230_000 }), (s) => s.stop());
  const servers = [server('vm1', IP.vm1, p1, vm1Agent), server('pod', IP.pod, p2, podAgent), server('vm2', IP.vm2, p3, vm2Agent)];
  own(await startBackend('legacy', IP.legacy, app4), (b) => b.stop());
  const clientA = own(new XdsClientChild({ target: 'xds:///svc.identity.test:80', xdsServer: '', nodeId: '', bootstrapFile: clientAAgent.bootstrap, lifetimeMs: 230_000 }), (c) => c.stop());
  const clientB = own(new XdsClientChild({ target: 'xds:///svc.identity.test:80', xdsServer: '', nodeId: '', bootstrapFile: clientBAgent.bootstrap, lifetimeMs: 230_000 }), (c) => c.stop());
  // Outside the mesh: no identity, plaintext, straight to the control plane's loopback port.
  const outsider = own(new XdsClientChild({ ...proxyless(serve.xds, 'legacy.identity.test'), lifetimeMs: 230_000 }), (c) => c.stop());
  try {
    await Promise.all([...servers.map((s) => s.serving(60_000)), clientA.ready(), clientB.ready(), outsider.ready()]);
  } catch (e) {
    assert.fail(`${(e as Error).message}\n${allLogs()}\n--- serve:\n${serve.logs().slice(-3000)}`);
  }

  // 1. One selector, three workloads: mTLS where there is an identity, plaintext where there is none.
  const A = spiffe('client-a');
  for (const expected of [`vm1 ${A}`, `pod ${A}`, 'vm2 plaintext']) {
    const r = await clientA.send({ op: 'until', backend: expected, timeoutMs: 30_000 }, 35_000);
    assert.ok(r.reached, `never answered "${expected}"; last: ${r.last}\n${allLogs()}`);
  }
  const mixed = await clientA.send({ op: 'call', count: 60, deadlineMs: 3000 }, 60_000);
  assert.deepEqual(mixed.errors, []);
  assert.deepEqual(Object.keys(mixed.counts).sort(), [`pod ${A}`, `vm1 ${A}`, 'vm2 plaintext'], JSON.stringify(mixed.counts));

  // 2. Rotation under continuous traffic: both ends renew (CERT_TTL_S certificates, renewed at half).
  const before = { client: clientAAgent.certificates(), vm1: vm1Agent.certificates(), pod: podAgent.certificates() };
  const run = await clientA.send({ op: 'run', durationMs: ROTATION_RUN_MS, deadlineMs: 3000 }, ROTATION_RUN_MS + 16_000);
  const renewed = { client: clientAAgent.certificates() - before.client, vm1: vm1Agent.certificates() - before.vm1, pod: podAgent.certificates() - before.pod };
  const calls = Object.values(run.counts).reduce((a, b) => a + b, 0);
  process.stdout.write(`# rotation: ${calls} calls in ${ROTATION_RUN_MS / 1000} s, ${run.errors.length} failed; certificates renewed: client ${renewed.client}, vm1 ${renewed.vm1}, pod ${renewed.pod}\n`);
  assert.deepEqual(run.errors, [], 'no call fails across certificate rotations');
  assert.ok(renewed.client >= 1 && renewed.vm1 >= 1 && renewed.pod >= 1, `every end renewed its certificate during the traffic: ${JSON.stringify(renewed)}`);
  assert.match(clientAAgent.log(), /\(renewed by certificate\)/);
  assert.ok((run.counts[`vm1 ${A}`] ?? 0) > 0 && (run.counts[`pod ${A}`] ?? 0) > 0, JSON.stringify(run.counts));

  // 3. PERMISSIVE (the default) on the legacy VM's inbound proxy: mTLS from the mesh client and
  //    plaintext from the outsider, on one port. Then STRICT: the outsider is refused, the mesh
  //    client (which must therefore be using mTLS) is not.
  const legacy = 'xds:///legacy.identity.test:80';
  const permissiveMesh = await clientA.send({ op: 'until', backend: 'legacy', target: legacy, timeoutMs: 30_000 }, 35_000);
  assert.ok(permissiveMesh.reached, `mesh client to the PERMISSIVE VM: ${permissiveMesh.last}\n${legacyAgent.log()}`);
  const permissivePlain = await outsider.send({ op: 'until', backend: 'legacy', timeoutMs: 30_000 }, 35_000);
  assert.ok(permissivePlain.reached, `plaintext client to the PERMISSIVE VM: ${permissivePlain.last}`);
  serve.write(
    'strict.yaml',
    `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: legacy-strict, namespace: ${NS}}
spec: {selector: {matchLabels: {app: legacy}}, mtls: {mode: STRICT}}
`,
  );
  await waitFor(() => (/inbound .*: mTLS mode STRICT/.test(legacyAgent.log()) ? true : undefined), 20_000, `the legacy agent to apply STRICT\n${legacyAgent.log()}`);
  const strictPlain = await outsider.send({ op: 'call', count: 3, deadlineMs: 2000 }, 20_000);
  assert.equal(Object.keys(strictPlain.counts).length, 0, `STRICT refuses plaintext: ${JSON.stringify(strictPlain)}`);
  assert.equal(strictPlain.errors.length, 3);
  const strictMesh = await clientA.send({ op: 'call', count: 5, deadlineMs: 3000, target: legacy }, 20_000);
  assert.deepEqual(strictMesh.errors, []);
  assert.equal(strictMesh.counts['legacy'], 5);

  // 4. One AuthorizationPolicy (selector app=svc) denies client-b on the pod and on the VM alike;
  //    client-a keeps being allowed.
  const B = spiffe('client-b');
  const vmOnly = 'xds:///vm.identity.test:80';
  const podOnly = 'xds:///pod.identity.test:80';
  for (const [target, expected] of [[vmOnly, `vm1 ${B}`], [podOnly, `pod ${B}`]] as const) {
    const r = await clientB.send({ op: 'until', backend: expected, target, timeoutMs: 30_000 }, 35_000);
    assert.ok(r.reached, `client-b before the policy: ${r.last}`);
  }
  serve.write(
    'deny.yaml',
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-client-b, namespace: ${NS}}
spec:
  selector: {matchLabels: {app: svc}}
  action: DENY
  rules: [{from: [{source: {principals: [${TD}/ns/${NS}/sa/client-b]}}]}]
`,
  );
  for (const target of [vmOnly, podOnly]) {
    const denied = await waitFor(
      async () => {
        const r = await clientB.send({ op: 'call', count: 1, deadlineMs: 2000, target }, 10_000);
        return r.errors.some((e) => /PERMISSION_DENIED/.test(e)) ? r : undefined;
      },
      20_000,
      `client-b to be denied on ${target}`,
    );
    assert.equal(Object.keys(denied.counts).length, 0);
    const stillDenied = await clientB.send({ op: 'call', count: 5, deadlineMs: 2000, target }, 20_000);
    assert.equal(stillDenied.errors.filter((e) => /PERMISSION_DENIED/.test(e)).length, 5, JSON.stringify(stillDenied));
    const allowed = await clientA.send({ op: 'call', count: 5, deadlineMs: 3000, target }, 20_000);
    assert.deepEqual(allowed.errors, [], `client-a is still allowed on ${target}`);
  }
});
