import { Server, ServerCredentials, status as grpcStatus, type Metadata, type ServerDuplexStream, type ServerOptions, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { ResourceSource, ViewKey } from '../cache/resource-cache.js';
import { DEFAULT_MAX_RESPONSE_BYTES, nonceCounter } from '../protocol/common.js';
import { DeltaSession } from '../protocol/delta.js';
import { SotwSession } from '../protocol/sotw.js';
import { encodeDeltaResponseParts, encodeSotwResponseParts } from '../protocol/shared-encoding.js';
import { resourceTypeOf } from '../types/resource-types.js';
import type { XdsResourceType } from '../types/resource-type.js';
import { adsServiceDefinition } from './ads-service.js';
import { AdsStream, bidiCallPort, duplexStreamPort, type AdmitFn, type AdsStreamOptions, type RequestView, type StreamPort, type StreamResources } from './ads-stream.js';
import { bidiMethod, GrpcHttp2Server, unaryMethodsOf, type BidiCall, type BidiListener, type GrpcHttp2Options, type GrpcMethod, type TlsMaterialSource } from './grpc-http2.js';
import type { FlowControl } from './turn-queue.js';
import { DEFAULT_XDS_TRANSPORT, type XdsTransport } from './transport-choice.js';
import type { AdsProtocol, StreamStatus, XdsEvent, XdsEventListener } from './events.js';
import { DEFAULT_XDS_LIMITS, limitExceeded, RESOURCE_EXHAUSTED, type XdsLimits } from './limits.js';
import type { ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import { presentedCertificate } from '../../security/peer-certificate.js';
import { TurnQueue } from './turn-queue.js';
import { WriteBudget, type WriteBudgetOptions } from './write-budget.js';
import { errorMessage } from '../../lib/errors.js';
import { listenOnAll } from './listen-backlog.js';
import { createServer as createNetServer } from 'node:net';

export interface XdsServerOptions {
  /** Where resources come from (a ResourceCache). */
  readonly source: ResourceSource;
  /**
   * Which view a proxy sees; proxies mapped to the same key share snapshots and encoded bytes.
   * Default: its kind (`envoy` or `grpc`), since the two need different flavours of resources.
   */
  readonly viewOf?: (proxy: ProxyIdentity) => ViewKey;
  /** Upper bound for one response; default just under gRPC's 4 MiB default receive limit. */
  readonly maxResponseBytes?: number;
  /** Descriptor lookup; default the known types (resource-types.ts). */
  readonly resourceTypeOf?: (typeUrl: string) => XdsResourceType | undefined;
  /** Extra @grpc/grpc-js server options (keepalive...). */
  readonly grpcOptions?: ServerOptions;
  /** Admission of each new stream (e.g. registration tokens of agents). Default: everyone. */
  readonly admit?: AdmitFn;
  /** Bounds per request, stream, identity and in total (limits.ts). Default: DEFAULT_XDS_LIMITS. */
  readonly limits?: Partial<XdsLimits>;
  /** Other gRPC services served on the same port (e.g. the agents' token renewal; unary methods only on `http2`). */
  readonly extraServices?: readonly { readonly definition: ServiceDefinition; readonly implementation: UntypedServiceImplementation }[];
  /**
   * What serves the gRPC calls: `http2`, gRPC over `node:http2` directly (grpc-http2.ts: the
   * default, transport-choice.ts; a response's shared parts written without a per-stream copy), or
   * `grpc-js` (@grpc/grpc-js's server). The native transport reads `grpc.keepalive_time_ms`, `grpc.keepalive_timeout_ms`,
   * `grpc.max_receive_message_length` and `grpc.max_concurrent_streams` of `grpcOptions`.
   */
  readonly transport?: XdsTransport;
  /** The bound on response bytes in flight across streams (write-budget.ts); default 64 MiB. */
  readonly writeBudget?: WriteBudgetOptions;
}

export { XDS_TRANSPORTS, type XdsTransport } from './transport-choice.js';

/**
 * The secure port's certificate, for both transports: grpc-js server credentials (a certificate
 * provider), and the same material as TLS options for the native transport, with its rotations
 * (ServingCertificate fits).
 */
export interface SecureServing {
  readonly credentials: ServerCredentials;
  readonly tls: TlsMaterialSource;
}

/** A bound port of either transport. */
interface BoundServer {
  /** Graceful: no new calls, open ones may finish; forced after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port`, IPv6 hosts in brackets. */
  readonly address: string;
}

/**
 * The ADS endpoint: `envoy.service.discovery.v3.AggregatedDiscoveryService` with both
 * `StreamAggregatedResources` (state of the world) and `DeltaAggregatedResources` (incremental), on
 * @grpc/grpc-js. Constructing it does no I/O (STYLE principle 3); `start` binds, `stop` drains.
 */
export class XdsServer {
  readonly #opts: XdsServerOptions;
  readonly #listeners = new Set<XdsEventListener>();
  readonly #streams = new Map<AdsStream<RequestView, unknown>, () => void>();
  /** Open streams by id: how to end one with a status (`endStream`). */
  readonly #endById = new Map<string, (code: number, message: string) => void>();
  #server: BoundServer | undefined;
  #secureServer: BoundServer | undefined;
  #nextStream = 0;
  readonly #limits: XdsLimits;
  readonly #budget: WriteBudget;
  /** Streams admitted and not yet finished: in all, and per proven identity. */
  #admitted = 0;
  readonly #admittedByIdentity = new Map<string, number>();

  constructor(options: XdsServerOptions) {
    this.#opts = options;
    this.#limits = { ...DEFAULT_XDS_LIMITS, ...options.limits };
    this.#budget = new WriteBudget(options.writeBudget);
  }

  /** Subscribes to stream events; returns the unsubscribe function. */
  onEvent(listener: XdsEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Per stream and type protocol state of every connected proxy. */
  streams(): StreamStatus[] {
    return [...this.#streams.keys()].map((s) => s.status()).filter((s): s is StreamStatus => s !== undefined);
  }

  /** Per stream and type, the resources sent, ACKed and current (ads-stream.ts `resources`). */
  streamResources(): StreamResources[] {
    return [...this.#streams.keys()].map((s) => s.resources()).filter((s): s is StreamResources => s !== undefined);
  }

  /** Binds `host:port` in plaintext (port 0 picks a free one) and starts serving. */
  async start(address: string): Promise<BoundAddress> {
    if (this.#server !== undefined) throw new Error('xDS server already started');
    const { server, bound } = await this.#bind(address, undefined);
    this.#server = server;
    return bound;
  }

  /**
   * Binds the secure port: the same services over TLS with `serving`'s certificate. Streams on it
   * carry their transport (TLS, the presented client certificate) to `admit`.
   */
  async startSecure(address: string, serving: SecureServing): Promise<BoundAddress> {
    if (this.#secureServer !== undefined) throw new Error('secure xDS server already started');
    const { server, bound } = await this.#bind(address, serving);
    this.#secureServer = server;
    return bound;
  }

  async #bind(address: string, serving: SecureServing | undefined): Promise<{ server: BoundServer; bound: BoundAddress }> {
    const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
    const requestedPort = Number(address.slice(address.lastIndexOf(':') + 1));
    const { server, port } = (this.#opts.transport ?? DEFAULT_XDS_TRANSPORT) === 'http2' ? await this.#bindNative(host, requestedPort, serving?.tls) : await this.#bindGrpcJs(host, requestedPort, serving);
    return { server, bound: { host, port, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` } };
  }

  /**
   * grpc-js serves connections accepted by a listener of ours (its connection injector): grpc-js's
   * own `bindAsync` listens with Node's default accept queue (511), too short for a connect storm
   * (listen-backlog.ts).
   */
  async #bindGrpcJs(host: string, requestedPort: number, serving: SecureServing | undefined): Promise<{ server: BoundServer; port: number }> {
    const secure = serving !== undefined;
    const server = new Server(this.#opts.grpcOptions);
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        const ads = grpcJsAdsCall(call, secure);
        ads.wire(this.#serveSotw(ads));
      },
      DeltaAggregatedResources: (call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => {
        const ads = grpcJsAdsCall(call, secure);
        ads.wire(this.#serveDelta(ads));
      },
    });
    for (const extra of this.#opts.extraServices ?? []) server.addService(extra.definition, extra.implementation);
    const injector = server.createConnectionInjector(serving?.credentials ?? ServerCredentials.createInsecure());
    const listening = await listenOnAll(host, requestedPort, () => createNetServer((socket) => injector.injectConnection(socket))).catch((err: unknown) => {
      server.forceShutdown();
      throw err;
    });
    const port = listening.port;
    const stop = async (graceMs: number): Promise<void> => {
      for (const listener of listening.servers) listener.close(); // no new connections; grpc-js drains the open ones
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
      if ((await Promise.race([drained, timeout])) === 'timeout') server.forceShutdown();
      clearTimeout(timer);
    };
    return { server: { stop }, port };
  }

  async #bindNative(host: string, port: number, tls: TlsMaterialSource | undefined): Promise<{ server: BoundServer; port: number }> {
    const sotw = adsServiceDefinition.StreamAggregatedResources;
    const delta = adsServiceDefinition.DeltaAggregatedResources;
    // Responses are written in parts: the resources shared by many streams are not copied per stream.
    const methods = new Map<string, GrpcMethod>([
      [sotw.path, bidiMethod<DiscoveryRequest, DiscoveryResponse>({ kind: 'bidi', deserialize: sotw.requestDeserialize, serialize: encodeSotwResponseParts, start: (call) => this.#serveSotw(nativeAdsCall(call)) })],
      [delta.path, bidiMethod<DeltaDiscoveryRequest, DeltaDiscoveryResponse>({ kind: 'bidi', deserialize: delta.requestDeserialize, serialize: encodeDeltaResponseParts, start: (call) => this.#serveDelta(nativeAdsCall(call)) })],
    ]);
    for (const extra of this.#opts.extraServices ?? []) for (const [path, method] of unaryMethodsOf(extra.definition, extra.implementation)) methods.set(path, method);
    const server = new GrpcHttp2Server(methods, nativeOptions(this.#opts.grpcOptions), tls);
    const bound = await server.listen(host, port);
    return { server, port: bound.port };
  }

  /**
   * Graceful stop: refuses new streams, ends open ones with UNAVAILABLE so clients reconnect (to
   * another instance), and waits for the transport to drain; forces the shutdown after `graceMs`.
   */
  async stop(graceMs = 5000): Promise<void> {
    const servers = [this.#server, this.#secureServer].filter((x): x is BoundServer => x !== undefined);
    if (servers.length === 0) return;
    this.#server = undefined;
    this.#secureServer = undefined;
    const stopped = Promise.all(servers.map((server) => server.stop(graceMs)));
    for (const end of [...this.#streams.values()]) end();
    await stopped;
  }

  #serveSotw(call: AdsCall<DiscoveryResponse>): BidiListener<DiscoveryRequest> {
    const streamId = this.#newStreamId('sotw');
    const session = new SotwSession(this.#sessionOptions(streamId));
    return this.#serve(call, 'sotw', streamId, session, (r) => ({ names: r.resourceNames, unsubscribed: [], versionInfo: r.versionInfo }));
  }

  #serveDelta(call: AdsCall<DeltaDiscoveryResponse>): BidiListener<DeltaDiscoveryRequest> {
    const streamId = this.#newStreamId('delta');
    const session = new DeltaSession(this.#sessionOptions(streamId));
    return this.#serve(call, 'delta', streamId, session, (r) => ({ names: r.resourceNamesSubscribe, unsubscribed: r.resourceNamesUnsubscribe, versionInfo: '' }));
  }

  /** Drives one ADS call of either transport; returns where the transport reports the call's events. */
  #serve<Req extends RequestView, Res>(
    call: AdsCall<Res>,
    protocol: AdsProtocol,
    streamId: string,
    session: ConstructorParameters<typeof AdsStream<Req, Res>>[1],
    describe: AdsStreamOptions<Req>['describe'],
  ): BidiListener<Req> {
    const port = call.port;
    /** The identity this stream was counted under (admitted), undefined before admission. */
    let counted: { readonly identity: string | undefined } | undefined;
    const admit: AdmitFn = (proxy, md, transport) => {
      const admission = this.#opts.admit?.(proxy, md, transport) ?? { ok: true };
      if (!admission.ok) return admission;
      const refusal = this.#streamLimit(streamId, proxy.id, admission.identity);
      if (refusal !== undefined) return refusal;
      counted = { identity: admission.identity };
      this.#admitted++;
      if (admission.identity !== undefined) this.#admittedByIdentity.set(admission.identity, (this.#admittedByIdentity.get(admission.identity) ?? 0) + 1);
      return admission;
    };
    const uncount = (): void => {
      if (counted === undefined) return;
      this.#admitted--;
      const identity = counted.identity;
      counted = undefined;
      if (identity === undefined) return;
      const left = (this.#admittedByIdentity.get(identity) ?? 1) - 1;
      if (left > 0) this.#admittedByIdentity.set(identity, left);
      else this.#admittedByIdentity.delete(identity);
    };
    const stream = new AdsStream<Req, Res>(
      {
        streamId,
        protocol,
        source: this.#opts.source,
        viewOf: this.#opts.viewOf ?? ((p) => p.kind),
        resourceTypeOf: this.#opts.resourceTypeOf ?? resourceTypeOf,
        emit: (e) => this.#emit(e),
        describe,
        admit,
        limits: this.#limits,
        budget: this.#budget,
      },
      session,
      port,
    );
    const finish = (reason: string): void => {
      requests.clear();
      uncount();
      stream.close(reason);
      this.#streams.delete(stream as AdsStream<RequestView, unknown>);
    };
    this.#streams.set(stream as AdsStream<RequestView, unknown>, () => {
      finish('server stopping');
      port.end(grpcStatus.UNAVAILABLE, 'xDS server stopping');
    });
    this.#endById.set(streamId, (code, message) => {
      finish(message);
      port.end(code, message);
    });
    // One request per event-loop turn (turn-queue.ts); a handler's failure ends this stream only.
    const requests = new TurnQueue<Req>((req) => {
      try {
        stream.onRequest(req);
      } catch (e) {
        finish(`internal error: ${errorMessage(e)}`);
        port.end(grpcStatus.INTERNAL, 'internal error while handling the request');
      }
    }, call.flow);
    return {
      onMessage: (req) => requests.push(req),
      // A client that half-closes still has its last requests handled (e.g. an agent's final health report).
      onHalfClose: () =>
        requests.whenIdle(() => {
          finish('client closed the stream');
          port.end(grpcStatus.OK, 'OK');
        }),
      onClose: (reason) => {
        this.#endById.delete(streamId);
        finish(reason);
      },
    };
  }

  /** The stream limit a newly admitted stream would cross (reported as a 'limit' event), if any. */
  #streamLimit(streamId: string, proxyId: string, identity: string | undefined): { ok: false; code: number; message: string } | undefined {
    const l = this.#limits;
    const perIdentity = identity !== undefined ? (this.#admittedByIdentity.get(identity) ?? 0) + 1 : 0;
    const exceeded =
      this.#admitted + 1 > l.maxStreams
        ? limitExceeded('streams', l.maxStreams, this.#admitted + 1)
        : identity !== undefined && perIdentity > l.maxStreamsPerIdentity
          ? limitExceeded('streams_per_identity', l.maxStreamsPerIdentity, perIdentity, identity)
          : undefined;
    if (exceeded === undefined) return undefined;
    this.#emit({ event: 'limit', streamId, proxyId, exceeded });
    return { ok: false, code: RESOURCE_EXHAUSTED, message: exceeded.message };
  }

  /**
   * Ends an open stream with a gRPC status, e.g. when the credential it was admitted with is revoked
   * (issue 11). Returns whether the stream was open.
   */
  endStream(streamId: string, code: number, message: string): boolean {
    const end = this.#endById.get(streamId);
    if (end === undefined) return false;
    this.#endById.delete(streamId);
    end(code, message);
    return true;
  }

  #sessionOptions(streamId: string): { maxResponseBytes: number; mintNonce: () => string } {
    return { maxResponseBytes: this.#opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, mintNonce: nonceCounter(`${streamId}-`) };
  }

  #newStreamId(protocol: AdsProtocol): string {
    return `${protocol}-${(++this.#nextStream).toString(36)}`;
  }

  #emit(event: XdsEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // Isolated: one listener must not break the stream or the other listeners.
      }
    }
  }
}

/** One ADS call as the driver sees it, whatever the transport. */
interface AdsCall<Res> {
  readonly port: StreamPort<Res>;
  readonly flow: FlowControl;
}

/** Request metadata as single string values (binary values as UTF-8). */
function metadataRecord(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) out[k] = typeof v === 'string' ? v : v.toString('utf8');
  return out;
}

/** A grpc-js call as an AdsCall; its events are forwarded to what the driver returns. */
function grpcJsAdsCall<Req, Res>(call: ServerDuplexStream<Req, Res>, secure: boolean): AdsCall<Res> & { wire(listener: BidiListener<Req>): void } {
  const port = duplexStreamPort<Res>(call, { metadata: metadataRecord(call.metadata), transport: secure ? { secure, certificate: presentedCertificate(call) } : { secure } });
  return {
    port,
    flow: call,
    wire: (listener) => {
      call.on('data', (req: Req) => listener.onMessage(req));
      call.on('end', () => listener.onHalfClose());
      call.on('cancelled', () => listener.onClose('cancelled'));
      call.on('error', (err: Error) => listener.onClose(`stream error: ${err.message}`));
      call.on('close', () => listener.onClose('closed'));
    },
  };
}

/** A native call (grpc-http2.ts) as an AdsCall. */
function nativeAdsCall<Res>(call: BidiCall<Res>): AdsCall<Res> {
  const transport = call.secure ? { secure: true, certificate: call.peerCertificate } : { secure: false };
  return { port: bidiCallPort(call, { metadata: metadataRecord(call.metadata), transport }), flow: call };
}

/** The native transport's options from the grpc-js server options we would have passed. */
function nativeOptions(grpc: ServerOptions | undefined): GrpcHttp2Options {
  const num = (key: string): number | undefined => {
    const v = grpc?.[key] as unknown;
    return typeof v === 'number' ? v : undefined;
  };
  const keepaliveTimeMs = num('grpc.keepalive_time_ms');
  const keepaliveTimeoutMs = num('grpc.keepalive_timeout_ms');
  const maxReceiveMessageBytes = num('grpc.max_receive_message_length');
  const maxConcurrentStreams = num('grpc.max_concurrent_streams');
  return {
    ...(keepaliveTimeMs !== undefined ? { keepaliveTimeMs } : {}),
    ...(keepaliveTimeoutMs !== undefined ? { keepaliveTimeoutMs } : {}),
    ...(maxReceiveMessageBytes !== undefined && maxReceiveMessageBytes >= 0 ? { maxReceiveMessageBytes } : {}),
    ...(maxConcurrentStreams !== undefined ? { maxConcurrentStreams } : {}),
  };
}
