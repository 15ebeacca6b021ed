/**
 * Real etcd for tests: single nodes and 3-member clusters on free loopback ports, data on tmpfs
 * (/dev/shm when there is one), stopped by PID. Tests fail — they do not skip — when etcd is not
 * installed: CI installs it (.ci/run). Recipes and numbers: shared/docs/components.md §1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface EtcdMember {
  readonly name: string;
  /** `127.0.0.1:port` of its client URL. */
  readonly endpoint: string;
  readonly alive: boolean;
  /** SIGKILL (default) or SIGTERM, and wait until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same data directory (rejoins its cluster). */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  readonly endpoints: readonly string[];
  /** `etcd://h:p,h:p,...` (TLS: `etcds://h:p,...?ca=FILE&cert=FILE&key=FILE`) */
  readonly url: string;
  /** The TLS files when the members serve clients over TLS. */
  readonly tls?: EtcdTlsFiles;
  /** The member that is raft leader now. */
  leader(): Promise<EtcdMember>;
  /** Waits until every live member reports healthy. */
  healthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

let etcdBinary: string | undefined;
function etcdPath(): string {
  if (etcdBinary) return etcdBinary;
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || path === '') {
    throw new Error('etcd is not installed: `apt-get install -y etcd-server etcd-client` (.ci/run installs it for CI)');
  }
  etcdBinary = path;
  return path;
}

async function get(url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(500) });
  return res.json();
}

export interface EtcdOptions {
  /** Raft timers: fast failover for tests (heartbeat 20 ms, election 200 ms) unless false. */
  readonly fastElection?: boolean;
  /**
   * Clients over TLS with client certificates (`--client-cert-auth`), made by `etcdTlsFiles`; health
   * is then read from a plaintext metrics port. The cluster's `url` is `etcds://...?ca=&cert=&key=`.
   */
  readonly tls?: EtcdTlsFiles;
  /** etcd's auth turned on (user `root` with this password) once the members are healthy. */
  readonly rootPassword?: string;
  /** More etcd flags for every member (e.g. `--max-txn-ops`). */
  readonly extraArgs?: readonly string[];
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`. */
export interface EtcdTlsFiles {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/**
 * Writes a test PKI for etcd into `dir` (ECDSA P-256): a CA, a server certificate (IP SAN
 * 127.0.0.1, serverAuth and clientAuth: members use it as peers too) and a client certificate whose
 * CN (`meshbridge-client`) is no etcd user, so that with auth on only a password authenticates.
 */
export async function etcdTlsFiles(dir: string): Promise<EtcdTlsFiles> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const now = Date.now();
  const pem = async (k: webcrypto.CryptoKey): Promise<string> => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k), 'PRIVATE KEY');
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'CN=meshbridge test etcd CA', notBefore: new Date(now - 60_000), notAfter: new Date(now + 86400_000), signingAlgorithm: alg, keys: caKeys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
  });
  const leaf = async (serial: string, cn: string, usages: string[], ip?: string): Promise<{ cert: string; key: string }> => {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial, subject: `CN=${cn}`, issuer: ca.subject, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86400_000), signingAlgorithm: alg,
      publicKey: keys.publicKey, signingKey: caKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(usages),
        ...(ip !== undefined ? [new x509.SubjectAlternativeNameExtension([{ type: 'ip' as const, value: ip }, { type: 'dns' as const, value: 'localhost' }])] : []),
      ],
    });
    return { cert: cert.toString('pem'), key: await pem(keys.privateKey) };
  };
  const server = await leaf('02', 'etcd-server', ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], '127.0.0.1');
  const client = await leaf('03', 'meshbridge-client', ['1.3.6.1.5.5.7.3.2']);
  const files: EtcdTlsFiles = {
    ca: join(dir, 'etcd-ca.pem'),
    serverCert: join(dir, 'etcd-server.pem'),
    serverKey: join(dir, 'etcd-server-key.pem'),
    clientCert: join(dir, 'etcd-client.pem'),
    clientKey: join(dir, 'etcd-client-key.pem'),
  };
  writeFileSync(files.ca, ca.toString('pem'));
  writeFileSync(files.serverCert, server.cert);
  writeFileSync(files.serverKey, server.key, { mode: 0o600 });
  writeFileSync(files.clientCert, client.cert);
  writeFileSync(files.clientKey, client.key, { mode: 0o600 });
  return files;
}

/** `etcdctl` against the first member with the cluster's TLS files (and `--user root:PASSWORD` when given). */
export function etcdctl(cluster: EtcdCluster, args: readonly string[], rootPassword?: string): string {
  const tls = cluster.tls;
  const r = spawnSync('etcdctl', [
    '--endpoints', `${tls !== undefined ? 'https' : 'http'}://${cluster.endpoints[0] ?? ''}`,
    ...(tls !== undefined ? ['--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey] : []),
    ...(rootPassword !== undefined ? ['--user', `root:${rootPassword}`] : []),
    ...args,
  ], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
  if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Members still running. A test that fails before registering its cleanup must not leave etcd
 * holding the test file's process open (node --test would wait for it forever): whatever is left
 * when the file's tests are done is killed (a file-level `after` hook).
 */
const runningMembers = new Set<ChildProcess>();
after(() => {
  for (const c of runningMembers) c.kill('SIGKILL');
});

class Member implements EtcdMember {
  private child: ChildProcess | undefined;
  constructor(
    readonly name: string,
    readonly endpoint: string,
    private readonly args: readonly string[],
    /** `host:port` answering plaintext `/health` (the client endpoint, or a metrics port under TLS). */
    readonly healthEndpoint: string = endpoint,
  ) {}

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const child = spawn(etcdPath(), [...this.args], { stdio: 'ignore' });
    this.child = child;
    child.on('error', () => undefined);
    runningMembers.add(child);
    child.once('exit', () => runningMembers.delete(child));
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.child;
    if (!c || !this.alive) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    this.start();
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const ok = await get(`http://${this.healthEndpoint}/health`).then((h) => (h as { health?: string }).health === 'true', () => false);
      if (ok) return;
      await sleep(20);
    }
    throw new Error(`etcd member ${this.name} did not come back`);
  }
}

/** Starts `size` members (1 or 3) and waits until all are healthy (single node ~0.25 s, 3 members ~2.3 s). */
export async function startEtcd(size = 1, o: EtcdOptions = {}): Promise<EtcdCluster> {
  etcdPath();
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'mb-etcd-'));
  const ports = await Promise.all(Array.from({ length: size * 3 }, () => freePort()));
  const tls = o.tls;
  const scheme = tls !== undefined ? 'https' : 'http';
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  const peer = (i: number) => `http://127.0.0.1:${ports[size + i]}`;
  const client = (i: number) => `127.0.0.1:${ports[i]}`;
  const metrics = (i: number) => `127.0.0.1:${ports[2 * size + i]}`;
  const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const members = names.map((name, i) => {
    mkdirSync(join(dir, name), { recursive: true });
    const args = [
      '--name', name,
      '--data-dir', join(dir, name, 'data'),
      '--listen-client-urls', `${scheme}://${client(i)}`,
      '--advertise-client-urls', `${scheme}://${client(i)}`,
      ...(tls !== undefined
        ? ['--client-cert-auth', '--trusted-ca-file', tls.ca, '--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--listen-metrics-urls', `http://${metrics(i)}`]
        : []),
      '--listen-peer-urls', peer(i),
      '--initial-advertise-peer-urls', peer(i),
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', `mb-${process.pid}-${ports[0]}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', join(dir, name, 'etcd.log'),
      '--log-level', 'warn',
      ...(o.fastElection === false ? [] : ['--heartbeat-interval', '20', '--election-timeout', '200']),
      ...(o.extraArgs ?? []),
    ];
    return new Member(name, client(i), args, tls !== undefined ? metrics(i) : client(i));
  });
  for (const m of members) m.start();
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.endpoint),
    url:
      tls !== undefined
        ? `etcds://${members.map((m) => m.endpoint).join(',')}?${new URLSearchParams({ ca: tls.ca, cert: tls.clientCert, key: tls.clientKey }).toString()}`
        : `etcd://${members.map((m) => m.endpoint).join(',')}`,
    ...(tls !== undefined ? { tls } : {}),
    async healthy(timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const health = await Promise.all(
          members.filter((m) => m.alive).map((m) => get(`http://${m.healthEndpoint}/health`).then((h) => (h as { health?: string }).health === 'true', () => false)),
        );
        if (health.length > 0 && health.every(Boolean)) return;
        if (Date.now() > until) throw new Error(`etcd did not become healthy within ${timeoutMs} ms (logs in ${dir})`);
        await sleep(20);
      }
    },
    async leader() {
      for (let attempt = 0; attempt < 100; attempt++) {
        for (const m of members.filter((x) => x.alive)) {
          const s = (await get(`http://${m.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}' }).catch(() => undefined)) as
            | { header?: { member_id?: string }; leader?: string }
            | undefined;
          if (s?.leader !== undefined && s.leader !== '0' && s.header?.member_id === s.leader) return m;
        }
        await sleep(50);
      }
      throw new Error('no etcd leader');
    },
    async stop() {
      await Promise.all(members.map((m) => m.kill('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.healthy();
    if (o.rootPassword !== undefined) {
      etcdctl(cluster, ['user', 'add', `root:${o.rootPassword}`]);
      etcdctl(cluster, ['auth', 'enable']);
    }
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
