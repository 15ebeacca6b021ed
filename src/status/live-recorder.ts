/**
 * The dashboard's live read models, fed where the control plane learns things (docs/api.md):
 * - the health history (health-history.ts) and `health` events: from an agent's health report and
 *   its stream connecting or disconnecting (at once, on this replica), and from every WorkloadEntry
 *   and Pod change in the registry (conditions and connect annotations written by any replica or
 *   an operator, pod readiness from the cluster source);
 * - `proxy` events (connect, disconnect, NACK) and the per-stream counters (proxy-activity.ts);
 * - `config` events (input objects changed, batched per synchronous burst) and `push` events;
 * - each view's last push diff (push-history.ts, in front of the resource cache).
 *
 * A stored state older than a report already recorded from the stream (its probe time or connect
 * time is earlier) is not recorded again: the store's copy catches up with the stream's report, it
 * is no new transition.
 */
import type { PushInfo } from '../xds/generate/pipeline.js';
import { KINDS, objectKey, type ConfigObject } from '../model/config/types.js';
import type { Registry } from '../registry/registry.js';
import type { XdsEvent } from '../xds/server/events.js';
import { podObservations, workloadEntryObservations } from './endpoint-observations.js';
import { DEFAULT_EVENT_CAPACITY, EventLog } from './event-log.js';
import { DEFAULT_HEALTH_HISTORY_LIMITS, HealthHistory, type HealthHistoryLimits, type Observation } from './health-history.js';
import { ProxyActivity } from './proxy-activity.js';
import { PushHistory } from './push-history.js';
import type { ResourceSink, ResourceSource } from '../xds/cache/resource-cache.js';
import { proxyName, TYPE_SHORT_NAMES } from './sync-status.js';

export interface LiveRecorderOptions {
  readonly registry: Registry;
  /** The WorkloadEntry key a live stream registered or reports for (RegistrationController.entryOf). */
  readonly entryOf: (streamId: string) => string | undefined;
  /** The configuration revision served (for config events). */
  readonly revision: () => string;
  readonly now?: () => number;
  readonly limits?: HealthHistoryLimits;
  readonly eventCapacity?: number;
  /** The resource cache the push pipeline writes: the push history sits in front of it (`pushes`). */
  readonly cache: ResourceSink & Pick<ResourceSource, 'current'>;
}

/** A stored report this much older than the stream's is still the same report (clocks of one process, write order). */
const SAME_REPORT_SLACK_MS = 100;
/** Keys named in one config event at most. */
const CONFIG_EVENT_KEYS = 20;

export class LiveRecorder {
  readonly events: EventLog;
  readonly health: HealthHistory;
  readonly activity: ProxyActivity;
  /** Give this to the push pipeline as its sink: it keeps each view's last push diff. */
  readonly pushes: PushHistory;
  /** The entry of each live stream that has one (to record its disconnect). */
  private readonly streamEntries = new Map<string, string>();
  /** `endpoint dimension` → when the stream last reported it (epoch ms); dropped with the entry. */
  private readonly streamReports = new Map<string, number>();
  private pendingConfig: string[] | undefined;
  private pushCount = 0;
  private lastPush: number | undefined;
  private lastReload: number | undefined;
  private readonly unsubscribes: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly o: LiveRecorderOptions) {
    this.now = o.now ?? Date.now;
    this.events = new EventLog(o.eventCapacity ?? DEFAULT_EVENT_CAPACITY, this.now);
    this.health = new HealthHistory(o.limits ?? DEFAULT_HEALTH_HISTORY_LIMITS, this.now);
    this.activity = new ProxyActivity(this.now);
    this.pushes = new PushHistory(o.cache, this.now);
    const inputs = o.registry.inputs;
    this.unsubscribes.push(
      inputs.WorkloadEntry.subscribe((events) => {
        for (const e of events) {
          for (const obs of workloadEntryObservations(e.old, e.new)) this.observeStored(obs);
          if (e.new === undefined && e.old !== undefined) this.forgetReports(objectKey(e.old));
        }
      }),
    );
    // Pods from the store (files, etcd) and from a Kubernetes cluster.
    for (const pods of [inputs.Pod, inputs.cluster.Pod]) {
      this.unsubscribes.push(pods.subscribe((events) => {
        for (const e of events) for (const obs of podObservations(e.old, e.new)) this.observe(obs);
      }));
    }
    for (const kind of KINDS) {
      const collection: { subscribe(h: (events: readonly { old?: ConfigObject; new?: ConfigObject }[]) => void): () => void } = inputs[kind];
      this.unsubscribes.push(collection.subscribe((events) => this.noteConfig(events.map((e) => objectKey((e.new ?? e.old) as ConfigObject)))));
    }
  }

  stop(): void {
    for (const u of this.unsubscribes.splice(0)) u();
  }

  /** The ADS stream events (register after the lifecycle's handler: `entryOf` then knows a new stream). */
  readonly onXdsEvent = (e: XdsEvent): void => {
    this.activity.onEvent(e);
    switch (e.event) {
      case 'connect': {
        this.events.append({ type: 'proxy', action: 'connect', proxy: e.stream.proxy.id, name: proxyName(e.stream.proxy), stream: e.stream.streamId, message: `${e.stream.protocol} from ${e.stream.peer}` });
        const entry = this.o.entryOf(e.stream.streamId);
        if (entry === undefined) return;
        this.streamEntries.set(e.stream.streamId, entry);
        this.observeFromStream(entry, 'connection', 'connected', 'agent connected');
        return;
      }
      case 'disconnect': {
        this.events.append({ type: 'proxy', action: 'disconnect', proxy: e.proxyId, name: proxyName(e.stream.proxy), stream: e.streamId, message: e.reason });
        const entry = this.streamEntries.get(e.streamId);
        this.streamEntries.delete(e.streamId);
        if (entry !== undefined) this.observeFromStream(entry, 'connection', 'disconnected', `agent disconnected: ${e.reason}`);
        return;
      }
      case 'nack': {
        const type = TYPE_SHORT_NAMES[e.typeUrl] ?? e.typeUrl;
        this.events.append({ type: 'proxy', action: 'nack', proxy: e.proxyId, name: e.proxyId, stream: e.streamId, message: e.error.message, xdsType: type });
        return;
      }
      case 'health': {
        const entry = this.streamEntries.get(e.streamId) ?? this.o.entryOf(e.streamId);
        if (entry !== undefined) this.observeFromStream(entry, 'health', e.healthy ? 'healthy' : 'unhealthy', e.healthy ? 'probe passed' : `probe failed: ${e.message}`);
        return;
      }
      default:
        return;
    }
  };

  onPush(p: PushInfo): void {
    this.pushes.commit();
    this.pushCount++;
    this.lastPush = this.now();
    this.events.append({ type: 'push', views: p.views, changes: p.changes, pushSeconds: p.pushSeconds, debounceSeconds: p.debounceSeconds });
  }

  /** The file store read its folder (the control plane view's `files.lastReloadAt`). */
  noteReload(): void {
    this.lastReload = this.now();
  }

  /** Pushes so far, the last push's and the last reload's times (RFC 3339, null: none). */
  pushStats(): { readonly pushes: number; readonly lastPushAt: string | null; readonly lastReloadAt: string | null } {
    const iso = (ms: number | undefined): string | null => (ms !== undefined ? new Date(ms).toISOString() : null);
    return { pushes: this.pushCount, lastPushAt: iso(this.lastPush), lastReloadAt: iso(this.lastReload) };
  }

  /** A report from the agent's own stream: recorded at once, if its entry exists (else the store's copy will be). */
  private observeFromStream(entry: string, dimension: Observation['dimension'], state: Observation['state'], reason: string): void {
    const we = this.o.registry.inputs.WorkloadEntry.get(entry);
    if (we === undefined) return;
    this.streamReports.set(`${entry} ${dimension}`, this.now());
    this.observe({ endpoint: entry, kind: 'WorkloadEntry', address: we.spec.address ?? '', dimension, state, reason, source: dimension === 'health' ? 'probe' : 'connection' });
  }

  /** A state read from the store: skipped when older than what the stream already reported. */
  private observeStored(obs: Observation): void {
    const streamAt = this.streamReports.get(`${obs.endpoint} ${obs.dimension}`);
    if (streamAt !== undefined && obs.reportedAt !== undefined && obs.reportedAt < streamAt - SAME_REPORT_SLACK_MS) return;
    this.observe(obs);
  }

  private forgetReports(entry: string): void {
    this.streamReports.delete(`${entry} health`);
    this.streamReports.delete(`${entry} connection`);
  }

  private observe(obs: Observation): void {
    const t = this.health.record(obs);
    if (t === undefined) return;
    this.events.append({ type: 'health', endpoint: t.endpoint, kind: t.kind, address: t.address, from: t.from, to: t.to, reason: t.reason, source: t.source, flapping: t.flapping });
  }

  /** Input objects changed: one config event per synchronous burst of changes (a reload, a watch batch). */
  private noteConfig(keys: readonly string[]): void {
    if (this.pendingConfig !== undefined) {
      this.pendingConfig.push(...keys);
      return;
    }
    const pending = [...keys];
    this.pendingConfig = pending;
    queueMicrotask(() => {
      this.pendingConfig = undefined;
      const unique = new Set(pending);
      this.events.append({ type: 'config', revision: this.o.revision(), changes: unique.size, objects: smallestSorted(unique, CONFIG_EVENT_KEYS) });
    });
  }
}

/**
 * The `count` smallest of `keys`, sorted: what sorting them all and keeping the first `count`
 * gives, without sorting them all (bench S1: a 100k start named 110,000 objects in one burst).
 */
export function smallestSorted(keys: Iterable<string>, count: number): string[] {
  const out: string[] = [];
  for (const key of keys) {
    if (out.length === count && !(key < (out[count - 1] as string))) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((out[mid] as string) <= key) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, key);
    if (out.length > count) out.pop();
  }
  return out;
}
