/**
 * Health history per endpoint (`GET /api/v1/timeline`, docs/api.md): the transitions of each
 * endpoint's health (healthy / unhealthy / unknown / absent) and of its agent's connection
 * (connected / disconnected), with who told the control plane (probe, connection, operator,
 * kubernetes), and flap detection.
 *
 * Bounded memory: a ring of `transitionsPerEndpoint` transitions per endpoint (older ones are
 * dropped and counted) and at most `endpoints` endpoints (the least recently changed is forgotten
 * first, and counted). Flapping: at least `flapThreshold` health transitions between present
 * states (appearing or being deleted does not count) within the last `flapWindowMs`. Pure apart
 * from the injected clock.
 */
import type { EndpointKind, EndpointTimeline, HealthTransition, TimelineLimits, TimelineState, TransitionSource } from '../api/v1/types.js';
import { isoTime } from '../lib/time/iso-time.js';

export interface HealthHistoryLimits {
  readonly transitionsPerEndpoint: number;
  readonly endpoints: number;
  readonly flapWindowMs: number;
  readonly flapThreshold: number;
}

export const DEFAULT_HEALTH_HISTORY_LIMITS: HealthHistoryLimits = { transitionsPerEndpoint: 100, endpoints: 5000, flapWindowMs: 60_000, flapThreshold: 3 };

/** What the control plane learned about one endpoint. */
export interface Observation {
  /** `WorkloadEntry/ns/name` or `Pod/ns/name`. */
  readonly endpoint: string;
  readonly kind: EndpointKind;
  readonly address: string;
  /** Which state changed: the endpoint's health, or its agent's connection. */
  readonly dimension: 'health' | 'connection';
  readonly state: TimelineState;
  readonly reason: string;
  readonly source: TransitionSource;
  /** When the state was reported (a probe time, a connectedAt annotation), epoch ms; lets a recorder skip a stored state older than a report it already has. */
  readonly reportedAt?: number;
}

/** A recorded transition with the endpoint's flap state after it. */
export interface RecordedTransition extends HealthTransition {
  readonly endpoint: string;
  readonly kind: EndpointKind;
  readonly address: string;
  readonly flapping: boolean;
}

interface EndpointRecord {
  readonly kind: EndpointKind;
  address: string;
  health: TimelineState;
  connection: 'connected' | 'disconnected' | null;
  readonly transitions: HealthTransition[];
  /** Epoch ms of the health transitions between present states (for flap detection), oldest first. */
  readonly healthChanges: number[];
  dropped: number;
}

const isConnectionState = (s: TimelineState): s is 'connected' | 'disconnected' => s === 'connected' || s === 'disconnected';

export class HealthHistory {
  private readonly records = new Map<string, EndpointRecord>();
  /**
   * A live iterator over `records` that eviction advances: what it has passed was evicted, and a
   * touched record is re-inserted after it, so its next key is always the least recently changed.
   * (A fresh `keys().next()` per eviction skips every deleted slot at the table's head first: 100k
   * new endpoints over the 5,000 cap took 1.1 s; S1's first listing records one per WorkloadEntry.)
   */
  private oldest: Iterator<string> = this.records.keys();
  private evicted = 0;

  constructor(
    readonly limits: HealthHistoryLimits = DEFAULT_HEALTH_HISTORY_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records `o` if it changes the endpoint's state; returns the transition, or undefined when nothing changed. */
  record(o: Observation): RecordedTransition | undefined {
    const at = this.now();
    const r = this.records.get(o.endpoint) ?? { kind: o.kind, address: o.address, health: 'absent', connection: null, transitions: [], healthChanges: [], dropped: 0 };
    if (o.address !== '') r.address = o.address;
    const from: TimelineState = o.dimension === 'health' ? r.health : (r.connection ?? 'absent');
    if (from === o.state) return undefined; // a new endpoint is kept only once something changes
    if (o.dimension === 'health') {
      r.health = o.state;
      if (from !== 'absent' && o.state !== 'absent') r.healthChanges.push(at);
    } else if (isConnectionState(o.state)) r.connection = o.state;
    const transition: HealthTransition = { at: isoTime(at), from, to: o.state, reason: o.reason, source: o.source };
    r.transitions.push(transition);
    if (r.transitions.length > this.limits.transitionsPerEndpoint) {
      r.transitions.shift();
      r.dropped++;
    }
    this.touch(o.endpoint, r);
    const flapCount = this.flapCount(r, at);
    return { at: transition.at, from, to: o.state, reason: o.reason, source: o.source, endpoint: o.endpoint, kind: r.kind, address: r.address, flapping: flapCount >= this.limits.flapThreshold };
  }

  /** Moves `key` to the newest position (Map order = least recently changed first) and applies the endpoint cap. */
  private touch(key: string, r: EndpointRecord): void {
    this.records.delete(key);
    this.records.set(key, r);
    while (this.records.size > this.limits.endpoints) {
      let oldest = this.oldest.next();
      if (oldest.done === true) oldest = (this.oldest = this.records.keys()).next();
      if (oldest.done === true) break;
      this.records.delete(oldest.value);
      this.evicted++;
    }
  }

  private flapCount(r: EndpointRecord, at: number): number {
    const cutoff = at - this.limits.flapWindowMs;
    while ((r.healthChanges[0] ?? Infinity) < cutoff) r.healthChanges.shift();
    return r.healthChanges.length;
  }

  /** The timelines of `endpoints` (every known endpoint when undefined), in that order; unknown ones are left out. */
  timelines(endpoints?: readonly string[]): EndpointTimeline[] {
    const at = this.now();
    const keys = endpoints ?? [...this.records.keys()].sort();
    const out: EndpointTimeline[] = [];
    for (const key of keys) {
      const r = this.records.get(key);
      if (r === undefined) continue;
      const [, namespace = '', name = ''] = key.split('/');
      const flapCount = this.flapCount(r, at);
      out.push({
        endpoint: key,
        kind: r.kind,
        namespace,
        name,
        address: r.address,
        health: r.health,
        connection: r.connection,
        transitions: [...r.transitions],
        dropped: r.dropped,
        flapping: flapCount >= this.limits.flapThreshold,
        flapCount,
      });
    }
    return out;
  }

  /** Endpoints forgotten because of the cap. */
  get evictedEndpoints(): number {
    return this.evicted;
  }

  get size(): number {
    return this.records.size;
  }

  /** The limits as the API reports them. */
  apiLimits(): TimelineLimits {
    const l = this.limits;
    return { transitionsPerEndpoint: l.transitionsPerEndpoint, endpoints: l.endpoints, flapWindowSeconds: l.flapWindowMs / 1000, flapThreshold: l.flapThreshold };
  }
}
