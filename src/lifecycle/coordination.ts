/**
 * The coordination port of the lifecycle (owned here, implemented by sources/etcd for replicas and
 * by `LocalCoordination` for a single process): which replicas are alive, and which one is the
 * leader that runs singleton work (the sweep of leaked entries, reclaiming a dead replica's
 * entries).
 *
 * Ownership of a connected workload: its WorkloadEntry's `istio.io/workloadController` annotation
 * names the replica it is connected to (AR-6), and that replica's liveness is recorded under an
 * etcd lease (its session). A workload is orphaned when its controller's session is gone; the
 * leader then reclaims it (marks it disconnected; it is deleted after the grace period unless its
 * agent reconnects somewhere).
 */
import type { Fence } from '../model/config/store.js';

export type CoordinationEvent =
  | { readonly type: 'elected' }
  | { readonly type: 'deposed' }
  /** A replica's session ended (it crashed, or stopped). */
  | { readonly type: 'instanceLost'; readonly instance: string }
  /** This replica's session had expired and is back: it must re-assert what it owns. */
  | { readonly type: 'sessionRestored' };

export interface Leadership {
  /** Pass with singleton writes: the store refuses them once leadership is lost (fencing). */
  readonly fence?: Fence;
}

export interface Coordination {
  readonly instance: string;
  /** Defined while this replica is the leader. */
  leadership(): Leadership | undefined;
  /** Whether a replica's session is alive, as far as this replica knows (may lag). */
  isLive(instance: string): boolean;
  /** The same, read from the source of truth; true when it cannot tell (then nothing is reclaimed). */
  confirmLive(instance: string): Promise<boolean>;
  /** Events in the order they happen; returns the unsubscribe function. */
  subscribe(listener: (e: CoordinationEvent) => void): () => void;
  /** Replicas only: publishes this replica's HTTP address beside its liveness record (for its peers' partition checks). */
  advertise?(addresses: { readonly http: string }): void;
  /** Replicas only: the leader and the HTTP address it advertised, as far as this replica knows. */
  leaderPeer?(): { readonly instance: string; readonly http?: string } | undefined;
}

/** One process, no peers: always the leader; every other instance (an earlier run) is gone. */
export class LocalCoordination implements Coordination {
  constructor(readonly instance: string) {}

  leadership(): Leadership | undefined {
    return {};
  }

  isLive(instance: string): boolean {
    return instance === this.instance;
  }

  confirmLive(instance: string): Promise<boolean> {
    return Promise.resolve(this.isLive(instance));
  }

  subscribe(_listener: (e: CoordinationEvent) => void): () => void {
    return () => undefined;
  }
}

/** The subscribers of a Coordination implementation, told each event in subscription order. */
export class CoordinationListeners {
  private readonly listeners = new Set<(e: CoordinationEvent) => void>();

  subscribe(listener: (e: CoordinationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: CoordinationEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
}
