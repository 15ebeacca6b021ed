/**
 * The registered agent's ADS loop (agent-protocol.md §3-§6): one ADS stream at a time, which
 * registers the VM; the workload's readiness probe reported on it when it changes (H-1..H-5), the
 * last report re-sent after every reconnect and every heartbeat; the token and certificate renewals
 * scheduled on each stream once it registered; reconnects with exponential backoff and full jitter
 * (reset once a stream registered), to the next control-plane address when it has several
 * (control-plane-targets.ts).
 */
import { Backoff } from '../lib/async/backoff.js';
import { sleep } from '../lib/async/sleep.js';
import { AdsSession, type AdsSessionOptions, type SessionEnd } from './ads-session.js';
import type { AgentLog } from './agent-log.js';
import type { ControlPlaneTargets } from './control-plane-targets.js';
import { registeringNode, type AgentIdentity } from './agent-node.js';
import type { AgentCredentials, Connection } from './credentials.js';
import { probeCheck } from './probe-methods.js';
import { ProbeRunner, probeTiming, type ProbeResult } from './probe.js';
import type { RenewalScheduler } from './renewal-scheduler.js';

export interface AdsLoopTiming {
  readonly heartbeatMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly connectTimeoutMs: number;
  readonly settleMs: number;
  readonly shutdownGraceMs: number;
  readonly random: () => number;
}

/** The connection renewals run on: set while a stream is open (RenewalScheduler's `isCurrent`). */
export interface ConnectionSlot {
  current: Connection | undefined;
}

/** `address`: the control-plane address the stream went to (absent when none was tried). */
type Outcome = { readonly kind: 'stopped' } | (Exclude<SessionEnd, { kind: 'stopped' }> & { readonly registered: boolean; readonly address?: string });

export class AdsLoop {
  readonly #identity: AgentIdentity;
  readonly #credentials: AgentCredentials;
  readonly #renewals: readonly RenewalScheduler<Connection>[];
  readonly #slot: ConnectionSlot;
  readonly #timing: AdsLoopTiming;
  readonly #log: AgentLog;
  readonly #targets: ControlPlaneTargets;
  #health: ProbeResult | undefined;
  #session: AdsSession | undefined;

  /** Types the agent consumes on its stream (NDS for the DNS proxy): AdsSessionOptions.subscriptions. */
  readonly #subscriptions: AdsSessionOptions['subscriptions'];

  constructor(
    identity: AgentIdentity,
    credentials: AgentCredentials,
    targets: ControlPlaneTargets,
    renewals: readonly RenewalScheduler<Connection>[],
    slot: ConnectionSlot,
    timing: AdsLoopTiming,
    log: AgentLog,
    subscriptions?: AdsSessionOptions['subscriptions'],
  ) {
    this.#targets = targets;
    this.#subscriptions = subscriptions;
    this.#identity = identity;
    this.#credentials = credentials;
    this.#renewals = renewals;
    this.#slot = slot;
    this.#timing = timing;
    this.#log = log;
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const probe = this.#startProbe();
    const backoff = new Backoff({ baseMs: this.#timing.backoffBaseMs, capMs: this.#timing.backoffCapMs, floorMs: 0, random: this.#timing.random });
    try {
      while (!signal.aborted) {
        const end = await this.#connectOnce(signal);
        if (end.kind === 'stopped' || signal.aborted) break;
        if (end.registered) backoff.reset();
        // Failover: the next connection goes to the next control-plane address (after the backoff).
        const next = end.address !== undefined ? this.#targets.failed(end.address) : this.#targets.current();
        const moving = end.address !== undefined && next !== end.address ? ` (next: ${next})` : '';
        this.#log.change(end.kind === 'refused' ? `refused: ${end.message}${moving}` : `disconnected: ${end.message}${moving}`);
        await sleep(backoff.next(), signal);
      }
    } finally {
      probe?.stop();
      this.#log.change('disconnected: agent stopping');
    }
  }

  async #connectOnce(signal: AbortSignal): Promise<Outcome> {
    const token = this.#credentials.currentToken();
    if (token === undefined) return { kind: 'unreachable', message: 'no registration token', registered: false };
    const upstream = this.#credentials.channel();
    if (upstream === undefined) return { kind: 'unreachable', message: 'no usable credentials for the control plane', registered: false };
    let registered = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const t = this.#timing;
    const session = new AdsSession({
      address: upstream.address,
      credentials: upstream.credentials,
      channelOptions: upstream.options,
      token,
      node: registeringNode(this.#identity),
      connectTimeoutMs: t.connectTimeoutMs,
      settleMs: t.settleMs,
      shutdownGraceMs: t.shutdownGraceMs,
      ...(this.#subscriptions !== undefined ? { subscriptions: this.#subscriptions } : {}),
      onOpen: () => {
        // A refused agent stays "refused" until it registers or ends otherwise: retries log nothing new.
        if (!this.#log.lastChange.startsWith('refused: ')) this.#log.change(`connected to ${upstream.address}`);
        // H-5: the last report is re-sent after every reconnect, and (beyond Istio) every heartbeat.
        if (this.#health !== undefined) session.sendHealth(this.#health);
        heartbeat = setInterval(() => {
          if (this.#health !== undefined) session.sendHealth(this.#health);
        }, t.heartbeatMs);
      },
      onRegistered: () => {
        registered = true;
        this.#log.change(`registered as ${this.#identity.name}`);
        for (const renewal of this.#renewals) renewal.schedule(session);
      },
    });
    this.#session = session;
    this.#slot.current = session;
    try {
      const end = await session.run(signal);
      return end.kind === 'stopped' ? end : { ...end, registered, address: upstream.address };
    } finally {
      this.#session = undefined;
      this.#slot.current = undefined;
      clearInterval(heartbeat);
      for (const renewal of this.#renewals) renewal.cancel();
    }
  }

  #startProbe(): ProbeRunner | undefined {
    const probe = this.#identity.settings.probe;
    if (probe === undefined) return undefined; // H-1: no probe, no health reports
    const check = probeCheck(probe, this.#identity.ip);
    if (check === undefined) {
      this.#log.line('the probe names no method (httpGet, tcpSocket, exec or grpc): no health reports');
      return undefined;
    }
    const runner = new ProbeRunner({
      timing: probeTiming(probe),
      check,
      onChange: (r) => {
        this.#health = r;
        this.#log.line(r.healthy ? 'healthy' : `unhealthy: ${r.message}`);
        this.#session?.sendHealth(r);
      },
    });
    runner.start();
    return runner;
  }
}
