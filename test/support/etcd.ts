/**
 * Real etcd for tests: single nodes and 3-member clusters on free loopback ports, data on tmpfs
 * (/dev/shm when there is one), stopped by PID. Tests fail — they do not skip — when etcd is not
 * installed: CI installs it (.ci/run). Recipes and numbers: shared/docs/components.md §1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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
  /** `etcd://h:p,h:p,...` */
  readonly url: string;
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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function get(url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(500) });
  return res.json();
}

export interface EtcdOptions {
  /** Raft timers: fast failover for tests (heartbeat 20 ms, election 200 ms) unless false. */
  readonly fastElection?: boolean;
}

class Member implements EtcdMember {
  private child: ChildProcess | undefined;
  constructor(
    readonly name: string,
    readonly endpoint: string,
    private readonly args: readonly string[],
  ) {}

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    this.child = spawn(etcdPath(), [...this.args], { stdio: 'ignore' });
    this.child.on('error', () => undefined);
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
      const ok = await get(`http://${this.endpoint}/health`).then((h) => (h as { health?: string }).health === 'true', () => false);
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
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  const peer = (i: number) => `http://127.0.0.1:${ports[size + i]}`;
  const client = (i: number) => `127.0.0.1:${ports[i]}`;
  const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const members = names.map((name, i) => {
    mkdirSync(join(dir, name), { recursive: true });
    const args = [
      '--name', name,
      '--data-dir', join(dir, name, 'data'),
      '--listen-client-urls', `http://${client(i)}`,
      '--advertise-client-urls', `http://${client(i)}`,
      '--listen-peer-urls', peer(i),
      '--initial-advertise-peer-urls', peer(i),
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', `mb-${process.pid}-${ports[0]}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', join(dir, name, 'etcd.log'),
      '--log-level', 'warn',
      ...(o.fastElection === false ? [] : ['--heartbeat-interval', '20', '--election-timeout', '200']),
    ];
    return new Member(name, client(i), args);
  });
  for (const m of members) m.start();
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.endpoint),
    url: `etcd://${members.map((m) => m.endpoint).join(',')}`,
    async healthy(timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const health = await Promise.all(
          members.filter((m) => m.alive).map((m) => get(`http://${m.endpoint}/health`).then((h) => (h as { health?: string }).health === 'true', () => false)),
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
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
