/**
 * Auto-registration and health status (Istio: pilot/pkg/autoregistration, AR-* and H-*), driven by
 * xDS stream events and writing through the store port with compare-and-swap (entry-writes.ts).
 *
 * - Admission (AR-1, AR-5 in spirit, issue 4 "Safety"): an agent must present a registration token
 *   signed by this control plane for the namespace and group it names; the group must exist.
 * - Connect (AR-2..AR-4, AR-6, AR-7): the entry `<group>-<ip>[-<network>]` is created from the group
 *   template, or, if it exists, only its connect annotations change: this replica becomes its
 *   controller (its owner). Connections are counted per (network, ip, group, namespace).
 * - Disconnect (AR-8): when the last connection closes, the entry is marked disconnected — only if
 *   this replica is still its controller, so a workload that reconnected to another replica is
 *   never touched by the old one — and after the grace period it is deleted, with the
 *   resourceVersion of the disconnected state it was read in: a reconnect in between changes the
 *   version and the delete fails. Health-checked entries the operator wrote lose their Healthy
 *   condition instead (H-9).
 * - Health (H-6..H-8): reports become the `Healthy` condition, written only by the controller.
 *   Beyond Istio: a `Connected` condition with reason and transition time.
 * - Leader only (Coordination): reclaim the entries of replicas whose session is gone (mark them
 *   disconnected, delete them after the grace period), and sweep leaked entries every 10 × grace
 *   (AR-9). Leader writes carry the leadership fence.
 * - Every write of one entry is queued behind the previous one of this replica, so one replica's
 *   connect, disconnect and health report of an entry are applied in the order they happened.
 */
import type { ConfigStore, ObjectRef } from '../model/config/store.js';
import type { Condition, WorkloadEntry, WorkloadGroup } from '../model/config/types.js';
import { formatLocality } from '../model/mesh/locality.js';
import type { ProxyIdentity } from '../model/mesh/proxy-identity.js';
import type { Admission } from '../model/mesh/stream-admission.js';
import type { Logger } from '../lib/log/logger.js';
import { KeyedQueue } from '../lib/async/keyed-queue.js';
import type { Coordination, CoordinationEvent } from './coordination.js';
import { conditionOf, isoNano, mutateEntry, parseIsoNano, setCondition, withAnnotations } from './entry-writes.js';
import { admitAgent, meta } from './admission.js';
import { verifyToken, type TokenClaims } from '../security/registration-token.js';
import { tokenRefusal, type Refusal } from '../security/token-admission.js';
import { ANNOTATIONS, autoRegisteredName, workloadEntryFromGroup } from './workload-entry-from-group.js';
import { errorMessage } from '../lib/errors.js';

export interface RegistrationOptions {
  readonly store: ConfigStore;
  readonly coordination: Coordination;
  /** The WorkloadGroup `<ns>/<name>`, if it exists (the registry's inputs). */
  readonly group: (namespace: string, name: string) => WorkloadGroup | undefined;
  readonly signingKey: Buffer;
  readonly gracePeriodMs?: number;
  /** PILOT_ENABLE_WORKLOAD_ENTRY_AUTOREGISTRATION (default true). Off: connecting proxies create nothing (AR-11). */
  readonly autoRegistration?: boolean;
  readonly now?: () => number;
  readonly log: Logger;
}

interface Stream {
  readonly id: string;
  readonly proxy: ProxyIdentity;
  readonly ref: ObjectRef;
  readonly connectionKey: string;
  readonly auto: boolean;
  readonly group?: string;
  /** When this replica saw the connection (the connectedAt annotation it writes). */
  readonly connectedAt: number;
  /** The registration token the stream was admitted with (issue 11). */
  readonly token?: TokenClaims;
}

const keyOf = (r: ObjectRef): string => `WorkloadEntry/${r.namespace}/${r.name}`;

export class RegistrationController {
  private readonly streams = new Map<string, Stream>();
  /** Tokens of admitted agent streams, from admission until their connect event. */
  private readonly admittedToken = new WeakMap<ProxyIdentity, TokenClaims>();
  /** The last health report of each stream (true = healthy). */
  private readonly lastHealth = new Map<string, boolean>();
  private readonly connections = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly queue: KeyedQueue;
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private order = 1_000_000_000;
  private stopped = false;
  /**
   * When this controller started: a disconnected entry is deleted only after the grace period
   * counted from the later of its disconnection and this start, so that after a restart (or a
   * long stop) the agents get the whole grace period to reconnect to this process.
   */
  private startedAt = 0;
  readonly graceMs: number;
  readonly instance: string;

  constructor(private readonly o: RegistrationOptions) {
    this.graceMs = o.gracePeriodMs ?? 10_000;
    this.instance = o.coordination.instance;
    this.queue = new KeyedQueue((key, e) => o.log.error('workload entry write failed', { entry: key, error: errorMessage(e) }));
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Starts the lifecycle's writes; call once the process serves (its agents can reconnect). */
  start(): void {
    this.startedAt = this.now();
    this.unsubscribe = this.o.coordination.subscribe((e) => this.onCoordination(e));
    void this.reclaim(); // at least this replica's own entries of an earlier run (same --instance)
    this.sweepTimer = setInterval(() => void this.reclaim(), this.graceMs * 10);
    this.sweepTimer.unref();
  }

  /** Stops timers; waits (up to `waitMs`) for queued writes. */
  async stop(waitMs = 2000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue.idle(), new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Resolves when every write queued so far is done (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** The WorkloadEntry (`WorkloadEntry/ns/name`) a live stream registered or reports health for, if any. */
  entryOf(streamId: string): string | undefined {
    const s = this.streams.get(streamId);
    return s !== undefined ? keyOf(s.ref) : undefined;
  }

  connectionCounts(): ReadonlyMap<string, number> {
    return this.connections;
  }

  private onCoordination(e: CoordinationEvent): void {
    switch (e.type) {
      case 'elected':
      case 'instanceLost':
        if (this.o.coordination.leadership()) void this.reclaim();
        return;
      case 'sessionRestored':
        // Our session expired meanwhile: the leader may have reclaimed our workloads. Re-assert them.
        for (const s of this.streams.values()) if (s.auto) this.enqueue(s.ref, () => this.register(s));
        return;
      case 'deposed':
        return;
    }
  }

  private enqueue(ref: ObjectRef, task: () => Promise<void>): void {
    void this.queue.push(keyOf(ref), task);
  }

  /** The admission check of a new ADS stream (admission.ts). */
  admit(proxy: ProxyIdentity, callMetadata: Readonly<Record<string, string>>): Admission {
    const admission = admitAgent(proxy, callMetadata, { signingKey: this.o.signingKey, group: this.o.group, now: this.now() });
    const auth = callMetadata['authorization'] ?? '';
    // admitAgent verified the token of every agent stream; only those are recorded.
    if (admission.ok && meta(proxy, 'AUTO_REGISTER_GROUP') !== undefined && auth.startsWith('Bearer ')) {
      const check = verifyToken(auth.slice('Bearer '.length), this.o.signingKey, Math.floor(this.now() / 1000));
      if (check.ok) this.admittedToken.set(proxy, check.claims);
    }
    return admission;
  }

  /**
   * Issue 11: the open agent streams whose registration token no longer passes admission (its group
   * is gone, its service account changed, it was revoked), with the refusal; the caller ends them.
   * Only tokens of `groups` (`<namespace>/<name>`: the groups that changed) are checked.
   */
  refusedStreams(groups: ReadonlySet<string>): { readonly streamId: string; readonly refusal: Refusal }[] {
    const out: { streamId: string; refusal: Refusal }[] = [];
    for (const s of this.streams.values()) {
      if (s.token === undefined || !groups.has(`${s.token.namespace}/${s.token.group}`)) continue;
      const refusal = tokenRefusal(s.token, this.o.group);
      if (refusal) out.push({ streamId: s.id, refusal });
    }
    return out;
  }

  /**
   * Issue 11: whether a workload of this token lineage is connected to this control plane (an
   * agent stream admitted with a token of that id, for its group) and healthy: its last health
   * report was healthy, or it reports no health (no probe) and is connected.
   */
  connectedAndHealthy(claims: TokenClaims): boolean {
    for (const s of this.streams.values()) {
      if (!s.auto || s.token?.id !== claims.id || s.group !== claims.group || s.ref.namespace !== claims.namespace) continue;
      const reported = this.lastHealth.get(s.id);
      const checked = meta(s.proxy, 'HEALTH_CHECKS') === 'true' || this.o.group(claims.namespace, claims.group)?.spec.probe !== undefined;
      if (reported === true || (!checked && reported === undefined)) return true;
    }
    return false;
  }

  onConnect(streamId: string, proxy: ProxyIdentity): void {
    const groupName = meta(proxy, 'AUTO_REGISTER_GROUP');
    const ns = proxy.namespace ?? 'default';
    const manual = meta(proxy, 'WORKLOAD_ENTRY');
    let s: Stream;
    if (groupName !== undefined && proxy.ip !== undefined && this.o.autoRegistration !== false) {
      const network = proxy.network ?? '';
      const ref = { kind: 'WorkloadEntry' as const, namespace: ns, name: autoRegisteredName(groupName, proxy.ip, network) };
      const token = this.admittedToken.get(proxy);
      s = { id: streamId, proxy, ref, connectionKey: `${network}\u0000${proxy.ip}\u0000${groupName}\u0000${ns}`, auto: true, group: groupName, connectedAt: this.now(), ...(token !== undefined ? { token } : {}) };
    } else if (manual !== undefined) {
      s = { id: streamId, proxy, ref: { kind: 'WorkloadEntry', namespace: ns, name: manual }, connectionKey: `manual\u0000${ns}/${manual}`, auto: false, connectedAt: this.now() };
    } else return;
    this.streams.set(streamId, s);
    this.connections.set(s.connectionKey, (this.connections.get(s.connectionKey) ?? 0) + 1);
    if (s.auto) this.enqueue(s.ref, () => this.register(s));
  }

  /** AR-10: a group created later registers the live connections that name it. */
  onGroupAdded(group: WorkloadGroup): void {
    for (const s of this.streams.values()) {
      if (s.auto && s.group === group.metadata.name && s.proxy.namespace === group.metadata.namespace) this.enqueue(s.ref, () => this.register(s));
    }
  }

  /** AR-3, AR-4, AR-6: create the entry, or take it over with connect annotations. */
  private async register(s: Stream): Promise<void> {
    const live = (): boolean => this.streams.get(s.id) === s;
    const connectedAt = isoNano(s.connectedAt);
    const connected = (e: WorkloadEntry): WorkloadEntry => withAnnotations(e, { [ANNOTATIONS.controller]: this.instance, [ANNOTATIONS.connectedAt]: connectedAt, [ANNOTATIONS.disconnectedAt]: undefined });
    let created = false;
    const r = await mutateEntry(this.o.store, s.ref, (cur) => {
      if (!live()) return undefined; // closed before its turn came: nothing to register
      if (cur) {
        const a = cur.metadata.annotations;
        const ctl = a[ANNOTATIONS.controller];
        const theirs = parseIsoNano(a[ANNOTATIONS.connectedAt]);
        // AR-6: the proxy has a newer connection to another live replica.
        if (ctl !== undefined && ctl !== this.instance && theirs !== undefined && theirs > s.connectedAt && this.o.coordination.isLive(ctl)) return undefined;
        return { op: 'update', object: connected(cur) };
      }
      const group = this.o.group(s.ref.namespace, s.group ?? '');
      if (!group) return undefined; // AR-10 registers it when the group appears
      const entry = workloadEntryFromGroup(group, {
        ip: s.proxy.ip ?? '',
        namespace: s.ref.namespace,
        group: group.metadata.name,
        network: s.proxy.network ?? '',
        locality: formatLocality(s.proxy.locality),
        labels: s.proxy.labels,
        healthChecked: meta(s.proxy, 'HEALTH_CHECKS') === 'true' || group.spec.probe !== undefined,
      }, this.order++);
      created = true;
      const fresh = connected({ ...entry, metadata: { ...entry.metadata, creationTimestamp: new Date(this.now()).toISOString() } });
      return { op: 'create', object: { ...fresh, status: setCondition(undefined, this.connectedCondition(true, `connected to ${this.instance}`), 'Connected') } };
    });
    if (r.kind === 'failed') this.o.log.warn('registering a workload failed', { entry: keyOf(s.ref), error: r.failure.message });
    if (r.kind !== 'written') return;
    if (created) this.o.log.info('workload registered', { entry: keyOf(s.ref), address: s.proxy.ip });
    else await this.setConnected(s.ref, true, `connected to ${this.instance}`, (e) => e.metadata.annotations[ANNOTATIONS.controller] === this.instance && e.metadata.annotations[ANNOTATIONS.connectedAt] === connectedAt);
  }

  private connectedCondition(connected: boolean, message: string): Condition {
    return { type: 'Connected', status: connected ? 'True' : 'False', reason: connected ? 'Connected' : 'Disconnected', message, lastTransitionTime: new Date(this.now()).toISOString() };
  }

  private async setConnected(ref: ObjectRef, connected: boolean, message: string, still: (e: WorkloadEntry) => boolean): Promise<void> {
    await mutateEntry(this.o.store, ref, (cur) => {
      if (!cur || !still(cur)) return undefined;
      const prev = conditionOf(cur, 'Connected');
      if (prev?.status === (connected ? 'True' : 'False') && prev.message === message) return undefined;
      return { op: 'updateStatus', ref, status: setCondition(cur.status, this.connectedCondition(connected, message), 'Connected'), resourceVersion: cur.metadata.resourceVersion ?? '' };
    });
  }

  onDisconnect(streamId: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.streams.delete(streamId);
    this.lastHealth.delete(streamId);
    const left = (this.connections.get(s.connectionKey) ?? 1) - 1;
    if (left > 0) {
      this.connections.set(s.connectionKey, left);
      return; // AR-7: another connection still holds the entry
    }
    this.connections.delete(s.connectionKey);
    if (s.auto) this.enqueue(s.ref, () => this.markDisconnected(s.ref, this.instance, 'agent disconnected'));
    else this.later(() => this.enqueue(s.ref, () => this.healthCheckedGone(s.ref, s.connectionKey)), this.graceMs);
  }

  /** AR-8: the entry says disconnected (if `controller` still owns it), and goes after the grace period. */
  private async markDisconnected(ref: ObjectRef, controller: string, reason: string, leader = false): Promise<void> {
    const fence = leader ? this.o.coordination.leadership()?.fence : undefined;
    if (leader && !this.o.coordination.leadership()) return;
    const r = await mutateEntry(this.o.store, ref, (cur) => {
      const a = cur?.metadata.annotations;
      if (!cur || !a || a[ANNOTATIONS.controller] !== controller || a[ANNOTATIONS.connectedAt] === undefined) return undefined;
      if (controller === this.instance && !leader && this.ownsLiveStream(ref)) return undefined; // reconnected here meanwhile
      return { op: 'update', object: withAnnotations(cur, { [ANNOTATIONS.disconnectedAt]: isoNano(this.now()), [ANNOTATIONS.connectedAt]: undefined }) };
    }, fence ? { fence } : {});
    if (r.kind !== 'written' || !r.entry) return;
    const disconnectedAt = r.entry.metadata.annotations[ANNOTATIONS.disconnectedAt];
    await this.setConnected(ref, false, reason, (e) => e.metadata.annotations[ANNOTATIONS.disconnectedAt] === disconnectedAt);
    this.later(() => this.enqueue(ref, () => this.cleanup(ref)), this.graceMs);
  }

  private ownsLiveStream(ref: ObjectRef): boolean {
    for (const s of this.streams.values()) if (s.auto && s.ref.name === ref.name && s.ref.namespace === ref.namespace) return true;
    return false;
  }

  private later(fn: () => void, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, Math.max(0, ms));
    this.timers.add(t);
  }

  /** Where an entry's grace period starts: its disconnection, or this controller's start if later. */
  private graceStart(disconnectedAt: number): number {
    return Math.max(disconnectedAt, this.startedAt);
  }

  /** Deletes the entry if it is still disconnected, for at least the grace period, at the version read. */
  private async cleanup(ref: ObjectRef, fence = this.o.coordination.leadership()?.fence): Promise<void> {
    const r = await mutateEntry(this.o.store, ref, (cur) => {
      const a = cur?.metadata.annotations;
      if (!cur || !a || a[ANNOTATIONS.connectedAt] !== undefined) return undefined;
      const disc = parseIsoNano(a[ANNOTATIONS.disconnectedAt]);
      if (disc === undefined || this.now() - this.graceStart(disc) < this.graceMs - 5) return undefined;
      return { op: 'delete', ref, resourceVersion: cur.metadata.resourceVersion ?? '' };
    }, fence ? { fence } : {});
    if (r.kind === 'written') this.o.log.info('workload entry removed: its agent did not come back within the grace period', { entry: keyOf(ref) });
  }

  /** H-9: an operator-written, health-checked entry whose proxy stayed away loses its Healthy condition. */
  private async healthCheckedGone(ref: ObjectRef, connectionKey: string): Promise<void> {
    if ((this.connections.get(connectionKey) ?? 0) > 0) return;
    await mutateEntry(this.o.store, ref, (cur) => {
      if (!cur || !conditionOf(cur, 'Healthy')) return undefined;
      return { op: 'updateStatus', ref, status: setCondition(cur.status, undefined, 'Healthy'), resourceVersion: cur.metadata.resourceVersion ?? '' };
    });
  }

  /** H-6..H-8: a health report becomes the entry's Healthy condition. */
  onHealth(streamId: string, healthy: boolean, message: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.lastHealth.set(streamId, healthy);
    const at = new Date(this.now()).toISOString();
    const condition: Condition = { type: 'Healthy', status: healthy ? 'True' : 'False', ...(healthy ? {} : { message }), lastProbeTime: at, lastTransitionTime: at };
    this.enqueue(s.ref, async () => {
      await mutateEntry(this.o.store, s.ref, (cur) => {
        if (!cur) return undefined;
        const a = cur.metadata.annotations;
        // H-7: only the entry's controller writes; H-8: an operator's entry needs the annotation.
        if (s.auto ? a[ANNOTATIONS.controller] !== this.instance : a[ANNOTATIONS.healthChecks] === undefined) return undefined;
        const prev = conditionOf(cur, 'Healthy');
        if (prev?.lastProbeTime !== undefined && prev.lastProbeTime > at) return undefined; // H-7: a newer report is stored
        // Heartbeat of an unchanged state: refresh the probe time only (no EDS change).
        const next = prev?.status === condition.status && prev.message === condition.message && prev.lastProbeTime !== undefined ? { ...prev, lastProbeTime: at } : condition;
        return { op: 'updateStatus', ref: s.ref, status: setCondition(cur.status, next, 'Healthy'), resourceVersion: cur.metadata.resourceVersion ?? '' };
      });
    });
  }

  /**
   * Every replica: its own entries without a live stream here (an earlier run under the same
   * instance name) are marked disconnected. The leader also marks those whose controller's session
   * is gone, and deletes disconnected ones once the grace period is over (AR-9 sweep), or
   * schedules that for then.
   */
  async reclaim(): Promise<void> {
    let listing;
    try {
      listing = await this.o.store.list();
    } catch (e) {
      this.o.log.warn('sweep skipped: the store is unreachable', { error: errorMessage(e) });
      return;
    }
    const now = this.now();
    const leader = this.o.coordination.leadership() !== undefined;
    for (const o of listing.objects) {
      if (o.kind !== 'WorkloadEntry' || o.metadata.annotations[ANNOTATIONS.group] === undefined) continue;
      const ref = { kind: 'WorkloadEntry' as const, namespace: o.metadata.namespace, name: o.metadata.name };
      const a = o.metadata.annotations;
      const ctl = a[ANNOTATIONS.controller] ?? '';
      if (a[ANNOTATIONS.connectedAt] !== undefined) {
        if (ctl === this.instance) {
          if (!this.ownsLiveStream(ref)) this.enqueue(ref, () => this.markDisconnected(ref, ctl, 'not connected to this control plane'));
        } else if (leader && !this.o.coordination.isLive(ctl) && !(await this.o.coordination.confirmLive(ctl))) {
          this.enqueue(ref, () => this.markDisconnected(ref, ctl, `control plane ${ctl} is gone`, true));
        }
        continue;
      }
      if (!leader) continue;
      const disc = parseIsoNano(a[ANNOTATIONS.disconnectedAt]);
      if (disc === undefined) continue;
      const due = this.graceStart(disc) + this.graceMs;
      if (now >= due) this.enqueue(ref, () => this.cleanup(ref));
      else this.later(() => this.enqueue(ref, () => this.cleanup(ref)), due - now);
    }
  }
}
