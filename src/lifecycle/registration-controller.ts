/**
 * Auto-registration and health status (Istio: pilot/pkg/autoregistration, AR-* and H-*), driven by
 * xDS stream events and writing through a `WorkloadEntryWriter`.
 *
 * - Admission (AR-1, AR-5 in spirit, issue 4 "Safety"): an agent must present a registration token
 *   signed by this control plane for the namespace and group it names; the group must exist.
 * - Connect (AR-2..AR-4, AR-6, AR-7): the entry `<group>-<ip>[-<network>]` is created from the group
 *   template, or, if it exists, only its connect annotations change. Connections are counted per
 *   (network, ip, group, namespace): a second agent with the same address shares the entry, and a
 *   live connection is never evicted by a newcomer.
 * - Disconnect (AR-8): when the last connection closes the entry is marked disconnected; after the
 *   grace period it is deleted (auto-registered) or loses its Healthy condition (health-checked
 *   entry written by the operator, H-9). Reconnecting within the grace period keeps the entry.
 * - Health (H-6..H-8): reports become the `Healthy` condition. Beyond Istio: a `Connected` condition
 *   with reason and transition time.
 * - Sweep (AR-9): every 10 × grace period, leaked entries are cleaned up; after a restart, entries
 *   whose agents do not come back within the grace period are removed.
 */
import type { Condition, StringMap, WorkloadEntry, WorkloadEntryStatus, WorkloadGroup } from '../model/config/types.js';
import type { ProxyIdentity } from '../xds/server/node-identity.js';
import type { Admission } from '../xds/server/ads-stream.js';
import type { Logger } from '../lib/log/logger.js';
import { verifyToken } from './registration-token.js';
import type { WorkloadEntryWriter } from './state-store.js';
import { ANNOTATIONS, autoRegisteredName, workloadEntryFromGroup } from './workload-entry-from-group.js';

const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;
const FAILED_PRECONDITION = 9;

export interface RegistrationOptions {
  readonly store: WorkloadEntryWriter;
  /** The WorkloadGroup `<ns>/<name>`, if it exists. */
  readonly group: (namespace: string, name: string) => WorkloadGroup | undefined;
  /** An operator-written WorkloadEntry (H-8), if it exists. */
  readonly configEntry: (namespace: string, name: string) => WorkloadEntry | undefined;
  readonly signingKey: Buffer;
  /** This control plane's instance id (Istio: the istiod pod name; AR-6 `workloadController`). */
  readonly instance: string;
  readonly gracePeriodMs?: number;
  readonly now?: () => number;
  readonly log: Logger;
}

interface Stream {
  readonly proxy: ProxyIdentity;
  /** `WorkloadEntry/<ns>/<name>` this stream keeps connected and reports health for. */
  readonly entryKey: string | undefined;
  readonly connectionKey: string | undefined;
  readonly auto: boolean;
  readonly group?: string;
}

function meta(proxy: ProxyIdentity, key: string): string | undefined {
  const v = proxy.metadata[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function isoNano(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000000Z');
}

function localityOf(proxy: ProxyIdentity): string {
  const l = proxy.locality;
  if (l.region === '' && l.zone === '' && l.subZone === '') return '';
  return [l.region, l.zone, l.subZone].join('/').replace(/\/+$/, '');
}

function setCondition(status: WorkloadEntryStatus | undefined, c: Condition | undefined, type: string): WorkloadEntryStatus {
  const others = (status?.conditions ?? []).filter((x) => x.type !== type);
  return { ...(status ?? {}), conditions: c ? [...others, c] : others };
}

export class RegistrationController {
  private readonly streams = new Map<string, Stream>();
  private readonly connections = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private order = 1_000_000_000;
  readonly graceMs: number;

  constructor(private readonly o: RegistrationOptions) {
    this.graceMs = o.gracePeriodMs ?? 10_000;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** After a restart: entries marked connected by an earlier run have no live connection here. */
  start(): void {
    const now = this.now();
    for (const e of this.o.store.entries()) {
      if (e.metadata.annotations[ANNOTATIONS.connectedAt] !== undefined) this.markDisconnected(e, now, 'control plane restarted');
    }
    this.sweepTimer = setInterval(() => this.sweep(), this.graceMs * 10);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Connections currently counted, for tests and the debug view. */
  connectionCounts(): ReadonlyMap<string, number> {
    return this.connections;
  }

  /** The admission check of a new ADS stream. Proxies that are not agents are admitted as they are. */
  admit(proxy: ProxyIdentity, callMetadata: Readonly<Record<string, string>>): Admission {
    const group = meta(proxy, 'AUTO_REGISTER_GROUP');
    const isAgent = meta(proxy, 'MESHBRIDGE_AGENT') === 'true';
    if (group === undefined && !isAgent) return { ok: true };
    const auth = callMetadata['authorization'] ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
    if (token === '') return { ok: false, code: UNAUTHENTICATED, message: 'a registration token is required (authorization: Bearer <token>)' };
    const check = verifyToken(token, this.o.signingKey, Math.floor(this.now() / 1000));
    if (!check.ok) return { ok: false, code: UNAUTHENTICATED, message: check.reason };
    const ns = proxy.namespace ?? '';
    if (group !== undefined && (check.claims.namespace !== ns || check.claims.group !== group)) {
      return {
        ok: false,
        code: PERMISSION_DENIED,
        message: `the registration token allows WorkloadGroup ${check.claims.namespace}/${check.claims.group}, not ${ns}/${group}`,
      };
    }
    const wg = group !== undefined ? this.o.group(ns, group) : undefined;
    if (group !== undefined && !wg) {
      return { ok: false, code: FAILED_PRECONDITION, message: `WorkloadGroup ${ns}/${group} does not exist (AR-1)` };
    }
    // AR-5: the identity the token carries must be the one the entry will have.
    const templateSa = wg?.spec.template.serviceAccount ?? '';
    if (wg && check.claims.serviceAccount !== templateSa) {
      return {
        ok: false,
        code: PERMISSION_DENIED,
        message: `the registration token is for service account ${JSON.stringify(check.claims.serviceAccount)}, but WorkloadGroup ${ns}/${group} now uses ${JSON.stringify(templateSa)} (AR-5)`,
      };
    }
    return { ok: true };
  }

  onConnect(streamId: string, proxy: ProxyIdentity): void {
    const groupName = meta(proxy, 'AUTO_REGISTER_GROUP');
    const ns = proxy.namespace ?? 'default';
    const ip = proxy.ip;
    if (groupName !== undefined && ip !== undefined) {
      const network = proxy.network ?? '';
      const name = autoRegisteredName(groupName, ip, network);
      const entryKey = `WorkloadEntry/${ns}/${name}`;
      const connectionKey = `${network}\u0000${ip}\u0000${groupName}\u0000${ns}`;
      this.streams.set(streamId, { proxy, entryKey, connectionKey, auto: true, group: groupName });
      this.connections.set(connectionKey, (this.connections.get(connectionKey) ?? 0) + 1);
      this.register(proxy, groupName, entryKey);
      return;
    }
    const manual = meta(proxy, 'WORKLOAD_ENTRY');
    if (manual !== undefined) {
      this.streams.set(streamId, { proxy, entryKey: `WorkloadEntry/${ns}/${manual}`, connectionKey: `manual\u0000${ns}/${manual}`, auto: false });
      const ck = `manual\u0000${ns}/${manual}`;
      this.connections.set(ck, (this.connections.get(ck) ?? 0) + 1);
    }
  }

  /** AR-10: a group created later registers the live connections that name it. */
  onGroupAdded(group: WorkloadGroup): void {
    for (const s of this.streams.values()) {
      if (s.auto && s.group === group.metadata.name && s.proxy.namespace === group.metadata.namespace && s.entryKey && !this.o.store.entry(s.entryKey)) {
        this.register(s.proxy, group.metadata.name, s.entryKey);
      }
    }
  }

  private register(proxy: ProxyIdentity, groupName: string, entryKey: string): void {
    const ns = proxy.namespace ?? 'default';
    const now = this.now();
    const existing = this.o.store.entry(entryKey);
    const connect = (e: WorkloadEntry): WorkloadEntry => {
      const annotations: Record<string, string> = { ...e.metadata.annotations, [ANNOTATIONS.controller]: this.o.instance, [ANNOTATIONS.connectedAt]: isoNano(now) };
      delete annotations[ANNOTATIONS.disconnectedAt];
      const status = setCondition(e.status, { type: 'Connected', status: 'True', reason: 'Connected', message: `connected to ${this.o.instance}`, lastTransitionTime: new Date(now).toISOString() }, 'Connected');
      return { ...e, metadata: { ...e.metadata, annotations }, status };
    };
    if (existing) {
      // AR-4: only the connect annotations change; labels and ports are not re-applied.
      this.o.store.putEntry(connect(existing));
      return;
    }
    const group = this.o.group(ns, groupName);
    if (!group) return; // AR-10 registers it when the group appears
    const labels: StringMap = proxy.labels;
    const entry = workloadEntryFromGroup(
      group,
      {
        ip: proxy.ip ?? '',
        namespace: ns,
        group: groupName,
        network: proxy.network ?? '',
        locality: localityOf(proxy),
        labels,
        healthChecked: meta(proxy, 'HEALTH_CHECKS') === 'true' || group.spec.probe !== undefined,
      },
      this.order++,
    );
    this.o.store.putEntry(connect({ ...entry, metadata: { ...entry.metadata, creationTimestamp: new Date(now).toISOString() } }));
    this.o.log.info('workload registered', { entry: entryKey, address: proxy.ip });
  }

  onDisconnect(streamId: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.streams.delete(streamId);
    if (s.connectionKey === undefined || s.entryKey === undefined) return;
    const left = (this.connections.get(s.connectionKey) ?? 1) - 1;
    if (left > 0) {
      this.connections.set(s.connectionKey, left);
      return; // AR-7: another connection still holds the entry
    }
    this.connections.delete(s.connectionKey);
    const now = this.now();
    if (s.auto) {
      const e = this.o.store.entry(s.entryKey);
      if (e && e.metadata.annotations[ANNOTATIONS.controller] === this.o.instance) this.markDisconnected(e, now, 'agent disconnected');
    } else {
      this.schedule(s.entryKey, now);
    }
  }

  private markDisconnected(e: WorkloadEntry, now: number, reason: string): void {
    const annotations: Record<string, string> = { ...e.metadata.annotations, [ANNOTATIONS.disconnectedAt]: isoNano(now) };
    delete annotations[ANNOTATIONS.connectedAt];
    const status = setCondition(e.status, { type: 'Connected', status: 'False', reason: 'Disconnected', message: reason, lastTransitionTime: new Date(now).toISOString() }, 'Connected');
    const key = `WorkloadEntry/${e.metadata.namespace}/${e.metadata.name}`;
    this.o.store.putEntry({ ...e, metadata: { ...e.metadata, annotations }, status });
    this.schedule(key, now);
  }

  /** AR-8: after the grace period, clean up what is still disconnected. */
  private schedule(entryKey: string, disconnectedAt: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.cleanup(entryKey, disconnectedAt);
    }, this.graceMs);
    this.timers.add(t);
  }

  private cleanup(entryKey: string, disconnectedAt: number): void {
    const e = this.o.store.entry(entryKey);
    if (e) {
      const a = e.metadata.annotations;
      const disc = a[ANNOTATIONS.disconnectedAt];
      if (a[ANNOTATIONS.connectedAt] === undefined && disc !== undefined && this.now() - Date.parse(disc.replace(/(\.\d{3})\d*Z$/, '$1Z')) >= this.graceMs - 5) {
        this.o.store.deleteEntry(entryKey);
        this.o.log.info('workload entry removed: its agent did not come back within the grace period', { entry: entryKey });
      }
      return;
    }
    // H-9: an operator-written, health-checked entry whose proxy stayed away loses its Healthy condition.
    const [, ns = '', name = ''] = entryKey.split('/');
    const stillConnected = (this.connections.get(`manual\u0000${ns}/${name}`) ?? 0) > 0;
    if (!stillConnected && this.now() - disconnectedAt >= this.graceMs - 5) {
      const st = this.o.store.status(entryKey);
      if (st) this.o.store.putStatus(entryKey, setCondition(st, undefined, 'Healthy'));
    }
  }

  /** H-6..H-8: a health report becomes the entry's Healthy condition. */
  onHealth(streamId: string, healthy: boolean, message: string): void {
    const s = this.streams.get(streamId);
    if (!s?.entryKey) return;
    const now = new Date(this.now()).toISOString();
    const condition: Condition = {
      type: 'Healthy',
      status: healthy ? 'True' : 'False',
      ...(healthy ? {} : { message }),
      lastProbeTime: now,
      lastTransitionTime: now,
    };
    if (s.auto) {
      const e = this.o.store.entry(s.entryKey);
      if (!e) return;
      const prev = (e.status?.conditions ?? []).find((c) => c.type === 'Healthy');
      if (prev?.status === condition.status && prev.message === condition.message && prev.lastProbeTime !== undefined) {
        // Heartbeat of an unchanged state: refresh the probe time only (no EDS change).
        this.o.store.putEntry({ ...e, status: setCondition(e.status, { ...prev, lastProbeTime: now }, 'Healthy') });
      } else {
        this.o.store.putEntry({ ...e, status: setCondition(e.status, condition, 'Healthy') });
      }
      return;
    }
    const [, ns = '', name = ''] = s.entryKey.split('/');
    const entry = this.o.configEntry(ns, name);
    // H-8: only entries carrying the health-checks annotation (any value) are written.
    if (!entry || entry.metadata.annotations[ANNOTATIONS.healthChecks] === undefined) return;
    const prev = (this.o.store.status(s.entryKey)?.conditions ?? []).find((c) => c.type === 'Healthy');
    const next = prev?.status === condition.status && prev.message === condition.message ? { ...prev, lastProbeTime: now } : condition;
    this.o.store.putStatus(s.entryKey, setCondition(this.o.store.status(s.entryKey) ?? entry.status, next, 'Healthy'));
  }

  /** AR-9: entries that are disconnected for longer than the grace period are removed. */
  sweep(): void {
    const now = this.now();
    for (const e of this.o.store.entries()) {
      const a = e.metadata.annotations;
      const disc = a[ANNOTATIONS.disconnectedAt];
      if (a[ANNOTATIONS.connectedAt] === undefined && disc !== undefined && now - Date.parse(disc.replace(/(\.\d{3})\d*Z$/, '$1Z')) >= this.graceMs) {
        this.o.store.deleteEntry(`WorkloadEntry/${e.metadata.namespace}/${e.metadata.name}`);
        this.o.log.info('workload entry swept: disconnected longer than the grace period', { entry: e.metadata.name });
      }
    }
  }
}
