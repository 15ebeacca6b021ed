import { toBinary } from '@bufbuild/protobuf';
import { NodeSchema, type Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { ResourceSource, TypeSnapshot, ViewKey } from '../cache/resource-cache.js';
import type { Problem, Receipt, TypeStatus } from '../protocol/common.js';
import { selectResources } from '../protocol/subscription.js';
import type { EncodedResource } from '../types/encoded-resource.js';
import type { XdsResourceType } from '../types/resource-type.js';
import { LISTENER } from '../types/resource-types.js';
import type { AdsProtocol, StreamInfo, StreamStatus, XdsEvent } from './events.js';
import { countInboundListenerNames, limitExceeded, RESOURCE_EXHAUSTED, type LimitExceeded, type XdsLimits } from './limits.js';
import { proxyIdentityFromNode, type ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import type { Admission, AdmitFn, StreamTransport } from '../../model/mesh/stream-admission.js';
import type { Charge, WriteBudget } from './write-budget.js';

export type { Admission, AdmitFn, StreamTransport } from '../../model/mesh/stream-admission.js';

/** What the driver needs of a protocol session (SotwSession and DeltaSession fit). */
export interface ProtocolSession<Req, Out> {
  receive(type: XdsResourceType, req: Req): Receipt;
  answer(type: XdsResourceType, snapshot: TypeSnapshot | undefined): { readonly responses: readonly Out[]; readonly problems: readonly Problem[] };
  typeUrls(): string[];
  status(typeUrl: string): TypeStatus | undefined;
  /** Whether the stream subscribes to this type's wildcard (what `status` says, without building it). */
  wildcard(typeUrl: string): boolean;
  /** The names whose changes matter to the stream (undefined: any change). */
  interest?(typeUrl: string): ReadonlySet<string> | undefined;
}

/** A response as sessions produce it. */
export interface Outgoing<Res> {
  readonly message: Res & { readonly nonce: string };
  readonly version: string;
  readonly names: readonly string[];
  readonly removed?: readonly string[];
  readonly bytes: number;
}

/** The resources of one type at one snapshot version, as one stream selects them. */
export interface VersionedResources {
  readonly version: string;
  readonly resources: readonly EncodedResource[];
}

/** Per type: what was last sent, what was last ACKed, and what the stream would get now. */
export interface TypeResources {
  readonly typeUrl: string;
  readonly sent?: VersionedResources;
  readonly acked?: VersionedResources;
  readonly current?: VersionedResources;
}

export interface StreamResources {
  readonly stream: StreamInfo;
  readonly types: readonly TypeResources[];
}

/** What the driver reads of a request, whatever the protocol. */
export interface RequestView {
  readonly node?: Node | undefined;
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail?: { readonly code: number; readonly message: string } | undefined;
}

/**
 * Istio's agent reports workload health as requests of this type on its ADS stream (H-5): no
 * `error_detail` = healthy. They are never answered.
 */
export const HEALTH_INFORMATION_TYPE_URL = 'type.googleapis.com/istio.v1.HealthInformation';

/**
 * An agent's first request before it has a probe result: carries the node (and so registers the
 * workload) and nothing else. Never answered (docs/agent-protocol.md §3).
 */
export const AGENT_HELLO_TYPE_URL = 'type.googleapis.com/meshbridge.v1.AgentHello';

/** The transport side of one stream (a gRPC call, or a recording fake in tests). */
export interface StreamPort<Res> {
  readonly peer: string;
  /** The gRPC call's request metadata (single values; `authorization` carries agents' tokens). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Default: plaintext. */
  readonly transport?: StreamTransport;
  /**
   * Writes one response; false when the transport is congested (then wait for `onDrain`). `taken`
   * is called once the transport has taken the message's bytes (or failed the stream).
   */
  send(message: Res, taken?: () => void): boolean;
  /** Calls `listener` once when a congested transport can take more. */
  onDrain(listener: () => void): void;
  /** Ends the stream with a gRPC status code (0 = OK) and message. */
  end(code: number, details: string): void;
}

export interface AdsStreamOptions<Req> {
  readonly streamId: string;
  readonly protocol: AdsProtocol;
  readonly source: ResourceSource;
  readonly viewOf: (proxy: ProxyIdentity) => ViewKey;
  readonly resourceTypeOf: (typeUrl: string) => XdsResourceType | undefined;
  readonly emit: (event: XdsEvent) => void;
  /** Names (subscribed) and unsubscribed names and version of a request, for events. */
  readonly describe: (req: Req) => { names: readonly string[]; unsubscribed: readonly string[]; versionInfo: string };
  /** Decides whether the proxy may use this stream; refused streams end with the given status. */
  readonly admit?: AdmitFn;
  /** Per request and per stream bounds (limits.ts); the stream limits are the server's. Default: none. */
  readonly limits?: Pick<XdsLimits, 'maxNodeBytes' | 'maxResourceNames' | 'maxInboundListeners'>;
  /** The server's bound on response bytes in flight (write-budget.ts). Default: none. */
  readonly budget?: WriteBudget;
  readonly now?: () => number;
}

const INVALID_ARGUMENT = 3;

/** The `removed` of a response event without removals (one shared array, not one per response). */
const NO_NAMES: readonly string[] = Object.freeze([]);

/** Responses from this size on count against the server's write budget. */
const COUNTED_RESPONSE_BYTES = 16 * 1024;

/**
 * Drives one ADS stream: identifies the proxy from the first request, feeds requests to the protocol
 * session, answers from the cache, and keeps one cache watch per requested type so changes are
 * pushed (STYLE principle 5: the driver only moves messages; the session decides, the cache stores).
 * No gRPC here: the port abstracts the call.
 */
export class AdsStream<Req extends RequestView, Res> {
  readonly #opts: AdsStreamOptions<Req>;
  readonly #session: ProtocolSession<Req, Outgoing<Res>>;
  readonly #port: StreamPort<Res>;
  readonly #watches = new Map<string, (() => void) | undefined>();
  #info: StreamInfo | undefined;
  #closed = false;
  /** The transport is congested: answers wait for it to drain (and then carry the latest state). */
  #congested = false;
  readonly #deferred = new Set<XdsResourceType>();
  /** Bytes written and not yet taken by the transport, counted against the server's budget. */
  readonly #charges = new Set<Charge>();
  /** Waiting for the server's budget (cancel function); the types wait in #deferred. */
  #budgetWait: (() => void) | undefined;
  /**
   * Per type URL, the snapshot of the last answer sent and of the last one ACKed: references to
   * immutable snapshots the cache shares, so remembering them costs two pointers per type.
   */
  readonly #sentSnapshots = new Map<string, TypeSnapshot>();
  readonly #ackedSnapshots = new Map<string, TypeSnapshot>();

  constructor(options: AdsStreamOptions<Req>, session: ProtocolSession<Req, Outgoing<Res>>, port: StreamPort<Res>) {
    this.#opts = options;
    this.#session = session;
    this.#port = port;
  }

  get info(): StreamInfo | undefined {
    return this.#info;
  }

  get closed(): boolean {
    return this.#closed;
  }

  onRequest(req: Req): void {
    if (this.#closed) return;
    const info = this.#info ?? this.#connect(req);
    if (info === undefined) return;
    // Events are written as literals that start with named fields: a literal starting with a spread
    // gets a hidden class of its own per object on Node 20 (src/lib/objects/with-fields.ts).
    const base = { streamId: info.streamId, proxyId: info.proxy.id };
    if (req.typeUrl === AGENT_HELLO_TYPE_URL) return;
    if (req.typeUrl === HEALTH_INFORMATION_TYPE_URL) {
      const err = req.errorDetail;
      this.#emit({ streamId: base.streamId, proxyId: base.proxyId, event: 'health', healthy: err === undefined, message: err?.message ?? '' });
      return;
    }
    const type = this.#opts.resourceTypeOf(req.typeUrl);
    if (type === undefined) {
      this.#emit({ streamId: base.streamId, proxyId: base.proxyId, event: 'problem', typeUrl: req.typeUrl, message: `type URL "${req.typeUrl}" is not served; request ignored` });
      return;
    }
    const d = this.#opts.describe(req);
    const exceeded = this.#requestLimit(type, d);
    if (exceeded !== undefined) {
      this.#refuse(info.proxy.id, exceeded);
      return;
    }
    const receipt = this.#session.receive(type, req);
    // Not status(): it copies and sorts the names, ~1,000 per Envoy EDS ACK (bench S6).
    const wildcard = this.#session.wildcard(type.typeUrl);
    this.#emit({ streamId: base.streamId, proxyId: base.proxyId, event: 'request', stream: info, typeUrl: type.typeUrl, kind: receipt.kind, names: d.names, unsubscribed: d.unsubscribed, wildcard, versionInfo: d.versionInfo, nonce: req.responseNonce });
    if (receipt.ack !== undefined) {
      const sent = this.#sentSnapshots.get(type.typeUrl);
      if (sent?.version === receipt.ack.version) this.#ackedSnapshots.set(type.typeUrl, sent);
      this.#emit({ streamId: base.streamId, proxyId: base.proxyId, event: 'ack', typeUrl: type.typeUrl, version: receipt.ack.version, nonce: receipt.ack.nonce });
    }
    if (receipt.nack !== undefined) this.#emit({ streamId: base.streamId, proxyId: base.proxyId, event: 'nack', typeUrl: type.typeUrl, version: receipt.nack.version, nonce: receipt.nack.nonce, error: receipt.nack.error });
    if (receipt.respond || !this.#armed(type.typeUrl)) this.#sync(type);
  }

  /** Stops watching and reports the disconnect; the caller ends the transport. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#releaseCharges();
    this.#budgetWait?.();
    this.#budgetWait = undefined;
    for (const cancel of this.#watches.values()) cancel?.();
    this.#watches.clear();
    if (this.#info !== undefined) this.#emit({ event: 'disconnect', streamId: this.#info.streamId, proxyId: this.#info.proxy.id, stream: this.#info, reason });
  }

  status(): StreamStatus | undefined {
    if (this.#info === undefined) return undefined;
    const view = this.#info.view;
    const types = this.#session
      .typeUrls()
      .map((u) => this.#session.status(u))
      .filter((s): s is TypeStatus => s !== undefined)
      .map((s) => {
        // An armed watch means no change since the last answer concerned this stream (the cache
        // skips changes outside its interest), so it has seen the current version too.
        const current = this.#armed(s.typeUrl) && !this.#congested ? this.#opts.source.current(view, s.typeUrl)?.version : undefined;
        return current !== undefined && s.seenVersion !== undefined ? { ...s, seenVersion: current } : s;
      });
    return { stream: this.#info, types };
  }

  /**
   * The resources of each type this stream subscribes to, as of the snapshot last sent, the one last
   * ACKed and the view's current one (`proxy-config`, `proxy-status PROXY`). A client holds the
   * sent snapshot's resources once it ACKs them: a response carries the resources that changed and
   * the client keeps the others, which are the same in that snapshot.
   */
  resources(): StreamResources | undefined {
    const info = this.#info;
    if (info === undefined) return undefined;
    const types = this.#session
      .typeUrls()
      .map((typeUrl): TypeResources | undefined => {
        const status = this.#session.status(typeUrl);
        if (status === undefined) return undefined;
        const subscription = { wildcard: status.wildcard, names: new Set(status.names), explicit: true };
        const pick = (snapshot: TypeSnapshot | undefined): VersionedResources | undefined =>
          snapshot === undefined ? undefined : { version: snapshot.version, resources: [...selectResources(subscription, snapshot.resources).values()] };
        const sent = pick(this.#sentSnapshots.get(typeUrl));
        const acked = pick(this.#ackedSnapshots.get(typeUrl));
        const current = pick(this.#opts.source.current(info.view, typeUrl));
        return { typeUrl, ...(sent ? { sent } : {}), ...(acked ? { acked } : {}), ...(current ? { current } : {}) };
      })
      .filter((t): t is TypeResources => t !== undefined);
    return { stream: info, types };
  }

  #connect(req: Req): StreamInfo | undefined {
    if (req.node === undefined || req.node.id === '') {
      this.close('first request without node');
      this.#port.end(INVALID_ARGUMENT, 'the first request on an ADS stream must carry node.id');
      return undefined;
    }
    const maxNodeBytes = this.#opts.limits?.maxNodeBytes;
    if (maxNodeBytes !== undefined) {
      const bytes = toBinary(NodeSchema, req.node).byteLength;
      if (bytes > maxNodeBytes) {
        this.#refuse(req.node.id.slice(0, 200), limitExceeded('node_metadata_bytes', maxNodeBytes, bytes));
        return undefined;
      }
    }
    const proxy = proxyIdentityFromNode(req.node);
    const admission: Admission = this.#opts.admit?.(proxy, this.#port.metadata ?? {}, this.#port.transport ?? { secure: false }) ?? { ok: true };
    if (!admission.ok) {
      this.#emit({ event: 'refused', streamId: this.#opts.streamId, proxyId: proxy.id, code: admission.code, message: admission.message });
      this.close('refused');
      this.#port.end(admission.code, admission.message);
      return undefined;
    }
    this.#info = {
      streamId: this.#opts.streamId,
      protocol: this.#opts.protocol,
      proxy,
      view: this.#opts.viewOf(proxy),
      peer: this.#port.peer,
      ...(admission.identity !== undefined ? { identity: admission.identity } : {}),
      connectedAt: (this.#opts.now ?? Date.now)(),
    };
    this.#emit({ event: 'connect', stream: this.#info });
    return this.#info;
  }

  /**
   * The request limit `d` crosses, if any: resource names per request, inbound listener names per
   * stream (an SotW Listener request carries the whole subscription; delta is not used for them).
   */
  #requestLimit(type: XdsResourceType, d: { names: readonly string[]; unsubscribed: readonly string[] }): LimitExceeded | undefined {
    const limits = this.#opts.limits;
    if (limits === undefined) return undefined;
    const names = d.names.length + d.unsubscribed.length;
    if (names > limits.maxResourceNames) return limitExceeded('resource_names', limits.maxResourceNames, names);
    if (type.typeUrl === LISTENER.typeUrl && this.#opts.protocol === 'sotw') {
      const inbound = countInboundListenerNames(d.names);
      if (inbound > limits.maxInboundListeners) return limitExceeded('inbound_listeners', limits.maxInboundListeners, inbound);
    }
    return undefined;
  }

  /** Ends the stream with RESOURCE_EXHAUSTED for `exceeded` (reported as a 'limit' event first). */
  #refuse(proxyId: string, exceeded: LimitExceeded): void {
    this.#emit({ event: 'limit', streamId: this.#opts.streamId, proxyId, exceeded });
    this.close(`limit ${exceeded.limit}`);
    this.#port.end(RESOURCE_EXHAUSTED, exceeded.message);
  }

  /**
   * Answers one type from the current snapshot, then watches for the next change. While the transport
   * is congested nothing is built: the type is remembered and answered on drain from the snapshot of
   * that moment, so a slow client gets the latest state once instead of every intermediate one.
   */
  #sync(type: XdsResourceType, granted = false): void {
    const info = this.#info;
    if (this.#closed || info === undefined) return;
    if (this.#congested) {
      this.#deferred.add(type);
      return;
    }
    const budget = this.#opts.budget;
    if (budget !== undefined && !granted && (this.#budgetWait !== undefined || !budget.open)) {
      // The server has too many bytes in flight: answered, from the snapshot of that moment, when
      // the budget lets this stream go (write-budget.ts).
      this.#deferred.add(type);
      this.#budgetWait ??= budget.wait(() => {
        this.#budgetWait = undefined;
        this.#resumeDeferred(true);
      });
      return;
    }
    const snapshot = this.#opts.source.current(info.view, type.typeUrl);
    const { responses, problems } = this.#session.answer(type, snapshot);
    const { streamId } = info;
    const proxyId = info.proxy.id;
    const typeUrl = type.typeUrl;
    for (const p of problems) this.#emit({ streamId, proxyId, typeUrl, event: 'problem', message: p.message });
    if (snapshot !== undefined && responses.length > 0) this.#sentSnapshots.set(type.typeUrl, snapshot);
    for (const out of responses) {
      // Every chunk of one answer is written: they share one version and are ACKed together.
      // Small responses (an endpoint push) cannot add up to much: not counted, no bookkeeping.
      const charge = out.bytes >= COUNTED_RESPONSE_BYTES ? budget?.charge(out.bytes) : undefined;
      if (charge !== undefined) this.#charges.add(charge);
      const taken = charge === undefined ? undefined : (): void => {
        charge.release();
        this.#charges.delete(charge);
      };
      if (!this.#port.send(out.message, taken)) this.#congested = true;
      this.#emit({ streamId, proxyId, typeUrl, event: 'response', version: out.version, nonce: out.message.nonce, resources: out.names, removed: out.removed ?? NO_NAMES, bytes: out.bytes });
    }
    // Not congested on entry (see above), so this registers one drain listener per congestion.
    if (this.#congested) this.#port.onDrain(() => this.#drained());
    this.#watches.get(type.typeUrl)?.();
    this.#watches.set(type.typeUrl, this.#opts.source.watch(info.view, type.typeUrl, snapshot?.version, () => {
      this.#watches.set(type.typeUrl, undefined); // fired: disarmed, the key kept (#armed)
      this.#sync(type);
    }, this.#session.interest?.(type.typeUrl)));
  }

  /** Whether a watch for `typeUrl` is armed (its key stays once fired: no table churn per push). */
  #armed(typeUrl: string): boolean {
    return this.#watches.get(typeUrl) !== undefined;
  }

  #drained(): void {
    this.#congested = false;
    if (this.#budgetWait === undefined) this.#resumeDeferred(false);
  }

  /** Answers the deferred types in push order (`granted`: the budget let this stream go). */
  #resumeDeferred(granted: boolean): void {
    const types = [...this.#deferred].sort((a, b) => a.pushOrder - b.pushOrder);
    this.#deferred.clear();
    for (const type of types) this.#sync(type, granted);
  }

  #releaseCharges(): void {
    for (const charge of this.#charges) charge.release();
    this.#charges.clear();
  }

  #emit(event: XdsEvent): void {
    try {
      this.#opts.emit(event);
    } catch {
      // A listener's failure must not break the stream (events.ts contract).
    }
  }
}

/**
 * The StreamPort of a grpc-js bidirectional call: writes with back-pressure, ends once (OK = a
 * clean end, anything else = that status). `extra` adds what the transport knows of the caller.
 */
export function duplexStreamPort<Res>(
  call: { getPeer(): string; write(message: Res, taken?: () => void): boolean; once(event: 'drain', listener: () => void): unknown; end(): void; emit(event: 'error', error: { code: number; details: string }): boolean },
  extra: Pick<StreamPort<Res>, 'metadata' | 'transport'> = {},
): StreamPort<Res> {
  let ended = false;
  return {
    peer: call.getPeer(),
    ...extra,
    send: (message, taken) => {
      if (!ended) return call.write(message, taken);
      taken?.();
      return true;
    },
    onDrain: (listener) => {
      call.once('drain', listener);
    },
    end: (code, details) => {
      if (ended) return;
      ended = true;
      if (code === 0) call.end();
      else call.emit('error', { code, details });
    },
  };
}

/**
 * The StreamPort of a call on the native HTTP/2 transport (grpc-http2.ts): the same contract as
 * duplexStreamPort's (the call ignores writes after its end and ends once). `extra` adds what the
 * transport knows of the caller.
 */
export function bidiCallPort<Res>(
  call: { readonly peer: string; write(message: Res, taken?: () => void): boolean; onDrain(listener: () => void): void; end(code: number, details: string): void },
  extra: Pick<StreamPort<Res>, 'metadata' | 'transport'> = {},
): StreamPort<Res> {
  return {
    peer: call.peer,
    ...extra,
    send: (message, taken) => call.write(message, taken),
    onDrain: (listener) => call.onDrain(listener),
    end: (code, details) => call.end(code, details),
  };
}
