/**
 * Issue 11 §7: etcd over TLS with client certificates and user/password. A real etcd is started with
 * `--client-cert-auth --trusted-ca-file --cert-file --key-file` on loopback, and etcd's auth turned
 * on (`etcdctl user add root`, `auth enable`). `serve`, `apply` and `get` work with the URL's options
 * and the `--etcd-*` flags; a client without the certificate, with a wrong or no password, or not
 * trusting etcd's server certificate is refused with a sentence saying what to fix, and `serve`
 * exits instead of waiting forever. Passwords given in the URL never show in serve's output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdTlsFiles, startEtcd, type EtcdCluster, type EtcdTlsFiles } from '../support/etcd.js';
import { startReplica } from '../support/serve-replica.js';
import { runCli, waitFor } from '../e2e/serve-process.js';
import { parseEtcdTarget, redact } from '../../src/sources/etcd/etcd-url.js';

const PASSWORD = 's3cret-root-pw';
let etcd: EtcdCluster;
let tls: EtcdTlsFiles;
let dir: string;
let passwordFile: string;
let endpoint: string;

before(async () => {
  dir = mkdtempSync('/dev/shm/mb-etcd-tls-');
  tls = await etcdTlsFiles(dir);
  etcd = await startEtcd(1, { tls, rootPassword: PASSWORD });
  endpoint = etcd.endpoints[0] ?? '';
  passwordFile = join(dir, 'etcd-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
});
after(async () => {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
});

const MESH = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm1, namespace: ns1, labels: {app: svc1}}
spec: {address: 127.0.3.1, ports: {http: 8080}}
`;

const withPassword = (url: string, password: string): string => url.replace('etcds://', `etcds://root:${encodeURIComponent(password)}@`);

test('the URL grammar: etcds:// or TLS options turn TLS on; cert needs key; a user needs a password; passwords are redacted', () => {
  const t = parseEtcdTarget(`etcd://root:pw@127.0.0.1:2379,127.0.0.2:2379?ca=/ca.pem&cert=/c.pem&key=/k.pem`);
  assert.deepEqual(t?.endpoints, ['127.0.0.1:2379', '127.0.0.2:2379']);
  assert.deepEqual(t?.tls, { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' });
  assert.equal(t?.user, 'root');
  assert.deepEqual(t?.password, { value: 'pw' });
  assert.equal(t?.description, 'etcd://root:***@127.0.0.1:2379,127.0.0.2:2379?ca=/ca.pem&cert=/c.pem&key=/k.pem');
  assert.deepEqual(parseEtcdTarget('etcds://127.0.0.1:2379')?.tls, {});
  assert.equal(parseEtcdTarget('etcd://127.0.0.1:2379')?.tls, undefined);
  // Flags override the URL.
  assert.deepEqual(parseEtcdTarget('etcd://u:p@127.0.0.1:2379', { user: 'v', passwordFile: '/pw' }), {
    endpoints: ['127.0.0.1:2379'], user: 'v', password: { file: '/pw' }, description: 'etcd://u:***@127.0.0.1:2379',
  });
  assert.equal(parseEtcdTarget('file:///tmp/x'), undefined);
  assert.throws(() => parseEtcdTarget('etcds://127.0.0.1:2379?cert=/c.pem'), /needs both cert and key/);
  assert.throws(() => parseEtcdTarget('etcd://root@127.0.0.1:2379'), /user root needs a password/);
  assert.throws(() => parseEtcdTarget('etcd://127.0.0.1:2379?password-file=/pw'), /a password needs a user/);
  assert.throws(() => parseEtcdTarget('etcd://127.0.0.1:2379?cafile=/x'), /unknown option "cafile"/);
  assert.throws(() => parseEtcdTarget('etcd://root:pw@127.0.0.1'), (e: Error) => /"127\.0\.0\.1" is not HOST:PORT/.test(e.message) && !e.message.includes(':pw@'));
  assert.equal(redact('etcds://a:b@h:1,h:2?ca=x'), 'etcds://a:***@h:1,h:2?ca=x');
});

test('serve, apply and get over TLS with a client certificate and a password (URL options and --etcd-* flags)', { timeout: 60_000 }, async () => {
  const file = join(dir, 'mesh.yaml');
  writeFileSync(file, MESH);
  // Flags: the URL carries no credentials; --etcd-* give them.
  const plainUrl = `etcds://${endpoint}`;
  const flags = ['--etcd-ca', tls.ca, '--etcd-cert', tls.clientCert, '--etcd-key', tls.clientKey, '--etcd-user', 'root', '--etcd-password-file', passwordFile];
  const applied = await runCli(['apply', '-f', file, '--store', plainUrl, ...flags], 20_000);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /workloadentry\.networking\.istio\.io\/vm1 created/);

  // The URL alone (TLS files as options, user and password in the authority).
  const url = withPassword(etcd.url, PASSWORD);
  const got = await runCli(['get', 'we', '-n', 'ns1', '-o', 'json', '--store', url], 20_000);
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual((JSON.parse(got.stdout) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name), ['vm1']);

  const replica = await startReplica(url, 'tls-1');
  try {
    const storez = await waitFor(async () => {
      const s = await replica.get<{ connected: boolean; revision: string; leader: boolean }>('/debug/storez');
      return s.connected && s.leader ? s : undefined;
    }, 20_000, 'the replica to connect and lead');
    assert.ok(Number(storez.revision) > 0);
    assert.ok(!replica.logs().includes(PASSWORD), `serve logged the password:\n${replica.logs()}`);
  } finally {
    await replica.kill();
  }
});

test('a client without the client certificate is refused with the reason', { timeout: 30_000 }, async () => {
  const r = await runCli(['get', 'we', '-A', '--store', withPassword(`etcds://${endpoint}?ca=${tls.ca}`, PASSWORD)], 20_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refused the TLS handshake \(alert (bad certificate|certificate required)\): it requires a client certificate signed by a CA it trusts; give cert= and key= in the URL or --etcd-cert and --etcd-key/);
});

test('a client that does not trust etcd\'s server certificate is refused with the reason', { timeout: 30_000 }, async () => {
  const r = await runCli(['get', 'we', '-A', '--store', `etcds://${endpoint}`, '--etcd-cert', tls.clientCert, '--etcd-key', tls.clientKey, '--etcd-user', 'root', '--etcd-password-file', passwordFile], 20_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /presented a server certificate this client does not trust .*: give etcd's CA with ca= in the URL or --etcd-ca/);
});

test('a wrong password and no password are refused with the reason, by the CLI and by serve (which exits instead of waiting)', { timeout: 40_000 }, async () => {
  const wrong = await runCli(['apply', '-f', join(dir, 'mesh.yaml'), '--store', withPassword(etcd.url, 'not-the-password')], 20_000);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /etcds:\/\/root:\*\*\*@127\.0\.0\.1:\d+\?.* refused the user name or password \(authentication failed, invalid user ID or password\)/);
  assert.ok(!wrong.stderr.includes('not-the-password'));

  const none = await runCli(['get', 'we', '-A', '--store', etcd.url], 20_000);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /denied permission: etcd's auth is on and this client gave no user and password/);

  const started = Date.now();
  await assert.rejects(startReplica(withPassword(etcd.url, 'not-the-password'), 'tls-wrong'), (e: Error) => {
    assert.match(e.message, /exited with 2: [^]*meshbridge: etcd refused the user name or password \(authentication failed/);
    assert.ok(!e.message.includes('not-the-password'));
    return true;
  });
  assert.ok(Date.now() - started < 15_000, 'serve gave up at once');
});
