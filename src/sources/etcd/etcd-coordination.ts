/**
 * Replicas on one etcd (issue 6): a session per replica, liveness records, and leader election
 * with fencing. Implements the lifecycle's Coordination port.
 *
 *   <prefix>system/replicas/<instance>   this replica is alive (put with the session lease)
 *   <prefix>system/election/leader       the leader's instance (put with its session lease)
 *
 * - Session: a lease of `ttlSeconds`, kept alive by etcd3. A replica that crashes stops renewing
 *   it; etcd deletes its keys when it expires, which every replica sees as `instanceLost`. A
 *   session that expired while the process lived (etcd unreachable for longer than the TTL) is
 *   replaced by a new one, and `sessionRestored` tells the lifecycle to re-assert its workloads.
 * - Election: create the leader key only if it does not exist (create_revision == 0), with the
 *   session lease. The winner's fence is (key, create revision): a write with it succeeds only
 *   while that very key exists (etcd-store.ts adds the compare), so a deposed leader that has not
 *   noticed yet cannot write. Losers watch the key and campaign again when it is deleted.
 */
import type { Etcd3, IKeyValue, Lease } from 'etcd3';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../lib/async/backoff.js';
import type { Logger } from '../../lib/log/logger.js';
import { CoordinationListeners } from '../../lifecycle/coordination.js';
import type { Fence } from '../../model/config/store.js';
import type { CaFiles } from '../../security/ca.js';
import { openSecret, type SecretsKeyring } from '../../security/secrets-at-rest.js';
import { sharedCaFilesIn, sharedSigningKeyIn, type SharedSlot, type SlotRead } from '../shared-secrets.js';
import { etcdRefusal } from './etcd-url.js';
import { KeyLayout } from './keys.js';
import { listPrefix, PrefixWatch, type PrefixWatchEvent } from './prefix-watch.js';
import { errorMessage } from '../../lib/errors.js';

export type CoordinationEvent =
  | { readonly type: 'elected' }
  | { readonly type: 'deposed' }
  | { readonly type: 'instanceLost'; readonly instance: string }
  | { readonly type: 'sessionRestored' };

export interface EtcdCoordinationOptions {
  readonly instance: string;
  readonly prefix?: string;
  /** Session lease TTL in seconds (default 5). A crashed replica's workloads are reclaimed this long after it died. */
  readonly ttlSeconds?: number;
  readonly log: Logger;
}

export class EtcdCoordination {
  readonly instance: string;
  private readonly layout: KeyLayout;
  private readonly ttl: number;
  private readonly live = new Set<string>();
  /** The HTTP address each replica advertised in its record. */
  private readonly httpOf = new Map<string, string>();
  private leaderName: string | undefined;
  private http: string | undefined;
  private readonly listeners = new CoordinationListeners();
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private fence: Fence | undefined;
  private watch: PrefixWatch | undefined;
  private stopped = false;
  private campaigning = false;
  private session = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly o: EtcdCoordinationOptions,
  ) {
    this.instance = o.instance;
    this.layout = new KeyLayout(o.prefix);
    this.ttl = o.ttlSeconds ?? 5;
  }

  private get replicas(): string {
    return `${this.layout.system}replicas/`;
  }
  private get leaderKey(): string {
    return `${this.layout.system}election/leader`;
  }

  leadership(): { readonly fence?: Fence } | undefined {
    return this.fence ? { fence: this.fence } : undefined;
  }

  isLive(instance: string): boolean {
    return this.live.has(instance);
  }

  /** A linearizable read of the replica's record (the local view may lag a replica that just started). */
  async confirmLive(instance: string): Promise<boolean> {
    if (instance === this.instance) return this.leaseId !== undefined;
    try {
      return (await this.client.kv.range({ key: Buffer.from(`${this.replicas}${instance}`) })).kvs.length > 0;
    } catch {
      return true; // cannot tell: reclaim nothing
    }
  }

  liveInstances(): string[] {
    return [...this.live].sort();
  }

  subscribe(listener: (e: CoordinationEvent) => void): () => void {
    return this.listeners.subscribe(listener);
  }

  private emit(e: CoordinationEvent): void {
    this.listeners.emit(e);
  }

  /** Opens the session, registers this replica, starts watching and campaigning. Waits (retrying) for etcd. */
  async start(): Promise<void> {
    await this.retry('opening a session', () => this.openSession());
    const listed = await this.retry('listing replicas', () => listPrefix(this.client, this.layout.system));
    this.onSystem({ type: 'resync', revision: listed.revision, kvs: listed.kvs });
    this.watch = new PrefixWatch(this.client, this.layout.system, listed.revision, (e) => this.onSystem(e)).start();
    void this.campaign();
  }

  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (this.stopped) throw e;
        const refused = etcdRefusal(e);
        if (refused !== undefined) throw refused; // credentials or certificates: waiting will not help
        if (backoff.attempts === 0) this.o.log.warn(`etcd unreachable while ${what}; retrying`, { error: errorMessage(e) });
        await sleep(backoff.next());
      }
    }
  }

  private async openSession(): Promise<void> {
    const session = ++this.session;
    const lease = this.client.lease(this.ttl);
    const id = await lease.grant();
    if (session !== this.session || this.stopped) {
      await lease.revoke().catch(() => undefined);
      return;
    }
    this.lease = lease;
    this.leaseId = id;
    lease.on('lost', (e: Error) => this.onSessionLost(session, e));
    await this.putRecord(id);
    this.live.add(this.instance);
  }

  /** This replica's liveness record, under its session lease. */
  private async putRecord(leaseId: string): Promise<void> {
    const record = { instance: this.instance, since: new Date().toISOString(), ...(this.http !== undefined ? { http: this.http } : {}) };
    await this.client.put(`${this.replicas}${this.instance}`).value(JSON.stringify(record)).lease(leaseId);
  }

  /** Publishes this replica's HTTP address in its record (now if the session is open, else when it opens). */
  advertise(addresses: { readonly http: string }): void {
    this.http = addresses.http;
    const leaseId = this.leaseId;
    if (leaseId !== undefined) void this.putRecord(leaseId).catch((e: unknown) => this.o.log.warn('cannot publish this replica\'s address in etcd', { error: errorMessage(e) }));
  }

  leaderPeer(): { readonly instance: string; readonly http?: string } | undefined {
    const leader = this.fence ? this.instance : this.leaderName;
    if (leader === undefined) return undefined;
    const http = this.httpOf.get(leader);
    return http !== undefined ? { instance: leader, http } : { instance: leader };
  }

  private recordSeen(instance: string, value: Buffer): void {
    try {
      const http = (JSON.parse(value.toString()) as { http?: unknown }).http;
      if (typeof http === 'string') this.httpOf.set(instance, http);
    } catch {
      // a record without JSON (an older replica): no address
    }
  }

  private onSessionLost(session: number, e: Error): void {
    if (session !== this.session || this.stopped) return;
    this.o.log.warn('etcd session lost: this replica is not the leader and re-registers when etcd answers', { error: e.message });
    this.lease = undefined;
    this.leaseId = undefined;
    this.live.delete(this.instance);
    this.depose();
    void this.reopen();
  }

  private async reopen(): Promise<void> {
    const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
    while (!this.stopped) {
      try {
        await this.openSession();
        this.emit({ type: 'sessionRestored' });
        void this.campaign();
        return;
      } catch {
        await sleep(backoff.next());
      }
    }
  }

  private depose(): void {
    if (!this.fence) return;
    this.fence = undefined;
    this.o.log.info('no longer the leader', { instance: this.instance });
    this.emit({ type: 'deposed' });
  }

  /** Tries to become the leader, until it is, or the key is held by another live session. */
  private async campaign(): Promise<void> {
    if (this.campaigning || this.stopped || this.fence) return;
    this.campaigning = true;
    const backoff = new Backoff({ baseMs: 50, capMs: 1000 });
    try {
      while (!this.stopped && this.leaseId !== undefined && !this.fence) {
        const leaseId = this.leaseId;
        try {
          const key = Buffer.from(this.leaderKey);
          const res = await this.client.kv.txn({
            compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
            success: [{ request_put: { key, value: Buffer.from(this.instance), lease: leaseId } }],
            failure: [{ request_range: { key } }],
          });
          const held = res.responses[0]?.response_range?.kvs[0];
          if (res.succeeded) this.elect({ key: this.leaderKey, revision: res.header.revision });
          else if (held && held.lease === leaseId) this.elect({ key: this.leaderKey, revision: held.create_revision });
          return; // held by another session: the watch campaigns again when the key goes
        } catch {
          await sleep(backoff.next());
        }
      }
    } finally {
      this.campaigning = false;
    }
  }

  private elect(fence: Fence): void {
    if (this.stopped || this.fence) return;
    this.fence = fence;
    this.o.log.info('elected leader', { instance: this.instance, revision: fence.revision });
    this.emit({ type: 'elected' });
  }

  private onSystem(e: PrefixWatchEvent): void {
    switch (e.type) {
      case 'connection':
        return;
      case 'resync': {
        const before = new Set(this.live);
        this.live.clear();
        if (this.leaseId !== undefined) this.live.add(this.instance);
        let leader: IKeyValue | undefined;
        for (const kv of e.kvs) {
          const key = kv.key.toString();
          if (key.startsWith(this.replicas)) {
            this.live.add(key.slice(this.replicas.length));
            this.recordSeen(key.slice(this.replicas.length), kv.value);
          }
          if (key === this.leaderKey) leader = kv;
        }
        for (const gone of before) if (!this.live.has(gone)) this.emit({ type: 'instanceLost', instance: gone });
        this.onLeaderKey(leader);
        return;
      }
      case 'events':
        for (const ev of e.events) {
          const key = ev.kv.key.toString();
          if (key.startsWith(this.replicas)) {
            const instance = key.slice(this.replicas.length);
            if (ev.type === 'Put') {
              this.live.add(instance);
              this.recordSeen(instance, ev.kv.value);
            } else if (instance !== this.instance || this.leaseId === undefined) {
              this.live.delete(instance);
              this.emit({ type: 'instanceLost', instance });
            }
          } else if (key === this.leaderKey) {
            this.onLeaderKey(ev.type === 'Put' ? ev.kv : undefined);
          }
        }
    }
  }

  private onLeaderKey(kv: IKeyValue | undefined): void {
    this.leaderName = kv?.value.toString();
    if (this.fence && (!kv || kv.create_revision !== this.fence.revision)) this.depose();
    if (!kv) void this.campaign();
  }

  /** Graceful stop: revoking the lease hands leadership over and removes the liveness record at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.depose();
    await this.watch?.close();
    const lease = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    if (lease) await lease.revoke().catch(() => undefined);
  }
}

/** A key of etcd as a shared slot: create-if-absent in one transaction, replaced with a compare-and-swap. */
function etcdSlot(client: Etcd3, key: Buffer): SharedSlot {
  return {
    where: `etcd at ${key.toString()}`,
    async createOrRead(fresh: string): Promise<SlotRead> {
      const res = await client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(fresh) } }],
        failure: [{ request_range: { key } }],
      });
      if (res.succeeded) return { created: true };
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (kv === undefined) throw new Error(`etcd answered neither the creation nor the value of ${key.toString()}`);
      return {
        created: false,
        value: kv.value.toString(),
        replace: async (value: string) => {
          await client.kv.txn({ compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }], success: [{ request_put: { key, value: Buffer.from(value) } }], failure: [] });
        },
      };
    },
  };
}

/**
 * The registration-token signing key shared by every replica (hex; sealed under `secrets` when given,
 * secrets-at-rest.ts).
 */
export function sharedSigningKey(client: Etcd3, prefix: string | undefined, create: () => Buffer, secrets?: SecretsKeyring): Promise<Buffer> {
  return sharedSigningKeyIn(etcdSlot(client, Buffer.from(`${new KeyLayout(prefix).system}signing-key`)), create, secrets);
}

/**
 * The CA shared by every replica (issue 7): the first replica stores its freshly made root (cert and
 * key, Istio's cacerts fields as JSON, the key sealed under `secrets` when given); the others, and
 * later starts, get the stored one. Resolves to the files every replica signs with.
 */
export function sharedCaFiles(client: Etcd3, prefix: string | undefined, fresh: CaFiles, secrets?: SecretsKeyring): Promise<CaFiles> {
  return sharedCaFilesIn(etcdSlot(client, Buffer.from(`${new KeyLayout(prefix).system}ca`)), fresh, secrets);
}

/**
 * Read-only: the signing key and the mesh root that replicas keep in etcd (sharedSigningKey,
 * sharedCaFiles), for `workload entry configure --store etcd://...`. Nothing is created: a store no
 * replica has started on yet has neither, and the answer says so (undefined).
 */
export async function readSharedOnboarding(client: Etcd3, prefix: string | undefined, secrets?: SecretsKeyring): Promise<{ signingKey: Buffer; rootCert: string } | undefined> {
  const layout = new KeyLayout(prefix);
  const keyName = `${layout.system}signing-key`;
  const caName = `${layout.system}ca`;
  const [storedKey, storedCa] = await Promise.all([client.get(keyName).string(), client.get(caName).string()]);
  if (storedKey === null || storedCa === null) return undefined;
  const signingKey = Buffer.from(openSecret(storedKey, 'signing-key', `the token signing key in etcd at ${keyName}`, secrets).plaintext, 'hex');
  let rootCert: unknown;
  try {
    rootCert = (JSON.parse(storedCa) as { rootCert?: unknown }).rootCert;
  } catch {
    rootCert = undefined;
  }
  if (typeof rootCert !== 'string') throw new Error(`the CA stored in etcd at ${caName} is unreadable`);
  return { signingKey, rootCert };
}
