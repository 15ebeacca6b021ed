/**
 * Replicas on one Kubernetes cluster (`--store kube://`): leader election and liveness with
 * `coordination.k8s.io/v1` Leases, as client-go's leaderelection does it. Implements the lifecycle's
 * Coordination port (lifecycle/coordination.ts).
 *
 *   <namespace>/meshbridge-leader             the leader: spec.holderIdentity is its instance
 *   <namespace>/meshbridge-replica-<instance> one per replica (label meshbridge.io/role=replica), renewed while it lives
 *
 * Every `retryPeriodMs` each replica renews its replica Lease, then tries to acquire or renew the
 * leader Lease, then lists the replica Leases:
 * - acquire: create the leader Lease when absent; take it over when it is released (no holder) or
 *   its record (holder, renewTime) has not changed for `leaseDurationSeconds` as observed on this
 *   replica's own clock (client-go's observedTime: no clock comparison between replicas); every
 *   update carries the resourceVersion read, so of two replicas racing only one wins (the other gets
 *   409). Taking it over increments `leaseTransitions`.
 * - renew: the holder writes `renewTime`; a holder that could not renew for `leaseDurationSeconds`
 *   steps down (`deposed`) before another replica can take over.
 * - fence: (`Lease/<ns>/meshbridge-leader`, leaseTransitions at election); `fenceHolds` re-reads the
 *   Lease before a leader's write (the API server has no multi-object transaction, so this narrows the
 *   window of a deposed leader's write to one request rather than closing it as etcd's compare does).
 * - liveness: a replica is live while its replica Lease's renewTime is younger than the lease
 *   duration; one that stops being live is `instanceLost`. A replica that could not renew for the
 *   lease duration and then can again emits `sessionRestored`. Replica Leases of stopped replicas are
 *   released (renewTime in the past), not deleted: `knows` answers whether an instance is a
 *   meshbridge replica, live or not (the store writes only entries such replicas control).
 * - stop: the leader releases its Lease (holder '' as client-go's ReleaseOnCancel), so another takes
 *   over at its next retry instead of after the lease duration.
 */
import { hostname } from 'node:os';
import type { Logger } from '../../lib/log/logger.js';
import { errorMessage } from '../../lib/errors.js';
import { CoordinationListeners, type Coordination, type CoordinationEvent, type Leadership } from '../../lifecycle/coordination.js';
import type { Fence } from '../../model/config/store.js';
import { KubeApiError, type KubeTransport } from './kube-transport.js';

export const LEADER_LEASE = 'meshbridge-leader';
export const REPLICA_LABEL = 'meshbridge.io/role';
const INSTANCE_ANNOTATION = 'meshbridge.io/instance';

export interface LeaseCoordinationOptions {
  readonly instance: string;
  /** Where the Leases live (the `kube://NAMESPACE` of the store URL). */
  readonly namespace: string;
  /** `leaseDurationSeconds` (default 15, as istiod's). */
  readonly leaseDurationSeconds?: number;
  /** Between two renewals and attempts (default a third of the lease duration). */
  readonly retryPeriodMs?: number;
  readonly log: Logger;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: LeaseSpec;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

/** A name a Lease may have for an instance name (RFC 1123 subdomain, at most 253 characters). */
export function replicaLeaseName(instance: string): string {
  const cleaned = instance.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `meshbridge-replica-${cleaned || 'unnamed'}`.slice(0, 253).replace(/[^a-z0-9]+$/, '');
}

function renewedAt(spec: LeaseSpec | undefined): number {
  const t = Date.parse(spec?.renewTime ?? '');
  return Number.isNaN(t) ? 0 : t;
}

export class LeaseCoordination implements Coordination {
  readonly instance: string;
  private readonly durationS: number;
  private readonly retryMs: number;
  private readonly leasesPath: string;
  private readonly listeners = new CoordinationListeners();
  private readonly live = new Set<string>();
  private readonly known = new Set<string>();
  private fence: Fence | undefined;
  /** The leader record as last seen, and when it was first seen so (this replica's clock). */
  private observed: { record: string; atMs: number } | undefined;
  private lastRenewMs: number;
  private sessionLost = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly transport: KubeTransport,
    private readonly o: LeaseCoordinationOptions,
  ) {
    this.instance = o.instance;
    this.durationS = o.leaseDurationSeconds ?? 15;
    this.retryMs = o.retryPeriodMs ?? Math.max(200, (this.durationS * 1000) / 3);
    this.leasesPath = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/leases`;
    this.lastRenewMs = Date.now();
  }

  get fenceKey(): string {
    return `Lease/${this.o.namespace}/${LEADER_LEASE}`;
  }

  leadership(): Leadership | undefined {
    return this.fence ? { fence: this.fence } : undefined;
  }

  isLive(instance: string): boolean {
    return instance === this.instance ? !this.sessionLost : this.live.has(instance);
  }

  /** Whether `instance` is (or was) a meshbridge replica of this cluster: it has a replica Lease. */
  knows(instance: string): boolean {
    return instance === this.instance || this.known.has(instance);
  }

  async confirmLive(instance: string): Promise<boolean> {
    if (instance === this.instance) return !this.sessionLost;
    try {
      const lease = await this.read(replicaLeaseName(instance));
      return lease !== undefined && renewedAt(lease.spec) + this.durationS * 1000 > Date.now();
    } catch {
      return true; // cannot tell: reclaim nothing
    }
  }

  subscribe(listener: (e: CoordinationEvent) => void): () => void {
    return this.listeners.subscribe(listener);
  }

  private emit(e: CoordinationEvent): void {
    this.listeners.emit(e);
  }

  /** Registers this replica (waits until the API server answers once), then runs the loop. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.renewReplica();
        break;
      } catch (e) {
        if (this.stopped) return;
        if (attempt === 0) this.o.log.warn('the API server did not take this replica Lease; retrying', { error: errorMessage(e) });
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
    await this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const run = this.round();
    this.running = run;
    await run;
    this.schedule();
  }

  private async round(): Promise<void> {
    try {
      await this.renewReplica();
      if (this.sessionLost) {
        this.sessionLost = false;
        this.o.log.info('the API server answers again: this replica re-asserts its workloads', { instance: this.instance });
        this.emit({ type: 'sessionRestored' });
      }
    } catch (e) {
      if (Date.now() - this.lastRenewMs > this.durationS * 1000 && !this.sessionLost) {
        this.sessionLost = true;
        this.o.log.warn('this replica could not renew its Lease for the lease duration: not the leader until it can', { error: errorMessage(e) });
      }
    }
    try {
      await this.campaign();
    } catch (e) {
      this.o.log.warn('leader election: the API server did not answer', { error: errorMessage(e) });
    }
    if (this.fence && (this.sessionLost || Date.now() - this.lastRenewMs > this.durationS * 1000)) this.depose();
    try {
      await this.refreshReplicas();
    } catch {
      // the next round lists again
    }
  }

  private async read(name: string): Promise<Lease | undefined> {
    try {
      return (await this.transport.json('GET', `${this.leasesPath}/${name}`, {}, undefined, 10_000)) as Lease;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  private async renewReplica(): Promise<void> {
    const name = replicaLeaseName(this.instance);
    const now = Date.now();
    const cur = await this.read(name);
    const spec: LeaseSpec = { holderIdentity: this.instance, leaseDurationSeconds: this.durationS, renewTime: microTime(now), acquireTime: cur?.spec?.acquireTime ?? microTime(now) };
    const metadata = { name, namespace: this.o.namespace, labels: { [REPLICA_LABEL]: 'replica' }, annotations: { [INSTANCE_ANNOTATION]: this.instance, 'meshbridge.io/host': hostname() } };
    if (cur) await this.transport.json('PUT', `${this.leasesPath}/${name}`, {}, { ...cur, metadata: { ...cur.metadata, ...metadata }, spec }, 10_000);
    else await this.transport.json('POST', this.leasesPath, {}, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec }, 10_000);
    this.lastRenewMs = now;
    this.live.add(this.instance);
  }

  /** client-go's tryAcquireOrRenew. */
  private async campaign(): Promise<void> {
    if (this.sessionLost) return;
    const now = Date.now();
    const cur = await this.read(LEADER_LEASE);
    const mine: LeaseSpec = { holderIdentity: this.instance, leaseDurationSeconds: this.durationS, renewTime: microTime(now) };
    if (!cur) {
      await this.tryWrite('POST', this.leasesPath, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEADER_LEASE, namespace: this.o.namespace }, spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 } });
      return;
    }
    const spec = cur.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = `${holder}\u0000${spec.renewTime ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, atMs: now };
    const transitions = spec.leaseTransitions ?? 0;
    if (holder === this.instance) {
      const renewed = await this.tryWrite('PUT', `${this.leasesPath}/${LEADER_LEASE}`, { ...cur, spec: { ...spec, ...mine } });
      if (renewed && !this.fence) this.elect(transitions);
      if (!renewed && this.fence && this.fence.revision !== String(transitions)) this.depose();
      return;
    }
    if (this.fence) this.depose(); // another replica holds it now
    const duration = (spec.leaseDurationSeconds ?? this.durationS) * 1000;
    const expired = holder === '' || now - this.observed.atMs > duration;
    if (!expired) return;
    const next = transitions + 1;
    if (await this.tryWrite('PUT', `${this.leasesPath}/${LEADER_LEASE}`, { ...cur, spec: { ...mine, acquireTime: microTime(now), leaseTransitions: next } })) this.elect(next);
  }

  /** A write at the resourceVersion read: false when another replica came first (409). */
  private async tryWrite(method: 'POST' | 'PUT', path: string, body: Lease): Promise<boolean> {
    try {
      const stored = (await this.transport.json(method, path, {}, body, 10_000)) as Lease;
      if (method === 'POST') this.elect(stored.spec?.leaseTransitions ?? 0);
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 409) return false;
      throw e;
    }
  }

  private elect(transitions: number): void {
    if (this.stopped || this.fence) return;
    this.fence = { key: this.fenceKey, revision: String(transitions) };
    this.o.log.info('elected leader', { instance: this.instance, lease: this.fenceKey, transitions });
    this.emit({ type: 'elected' });
  }

  private depose(): void {
    if (!this.fence) return;
    this.fence = undefined;
    this.o.log.info('no longer the leader', { instance: this.instance });
    this.emit({ type: 'deposed' });
  }

  /** Whether `fence` is still this replica's: the Lease names it, at the same transition, renewed within the duration. */
  async fenceHolds(fence: Fence): Promise<boolean> {
    if (!this.fence || this.fence.revision !== fence.revision || fence.key !== this.fenceKey) return false;
    const cur = await this.read(LEADER_LEASE);
    const spec = cur?.spec;
    return spec?.holderIdentity === this.instance && String(spec.leaseTransitions ?? 0) === fence.revision && Date.now() - this.lastRenewMs <= this.durationS * 1000;
  }

  private async refreshReplicas(): Promise<void> {
    const list = (await this.transport.json('GET', this.leasesPath, { labelSelector: `${REPLICA_LABEL}=replica` }, undefined, 10_000)) as { items?: Lease[] };
    const now = Date.now();
    const live = new Set<string>();
    for (const lease of list.items ?? []) {
      const instance = lease.metadata.annotations?.[INSTANCE_ANNOTATION] ?? lease.spec?.holderIdentity;
      if (instance === undefined || instance === '') continue;
      this.known.add(instance);
      if (renewedAt(lease.spec) + (lease.spec?.leaseDurationSeconds ?? this.durationS) * 1000 > now) live.add(instance);
    }
    if (!this.sessionLost) live.add(this.instance);
    for (const gone of [...this.live]) {
      if (live.has(gone)) continue;
      this.live.delete(gone);
      if (gone !== this.instance) this.emit({ type: 'instanceLost', instance: gone });
    }
    for (const i of live) this.live.add(i);
  }

  /** Stops the loop; the leader releases its Lease and this replica's Lease is released (not deleted: `knows`). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    const wasLeader = this.fence !== undefined;
    this.depose();
    const past = microTime(Date.now() - this.durationS * 2000);
    const release = async (name: string, spec: (s: LeaseSpec) => LeaseSpec): Promise<void> => {
      const cur = await this.read(name);
      if (cur?.spec?.holderIdentity === this.instance) await this.transport.json('PUT', `${this.leasesPath}/${name}`, {}, { ...cur, spec: spec(cur.spec) }, 5000);
    };
    await Promise.all([
      wasLeader ? release(LEADER_LEASE, (s) => ({ ...s, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) })).catch(() => undefined) : Promise.resolve(),
      release(replicaLeaseName(this.instance), (s) => ({ ...s, renewTime: past })).catch(() => undefined),
    ]);
  }
}
