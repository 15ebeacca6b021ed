import { Server, ServerCredentials, status as grpcStatus, type ServerDuplexStream, type ServerOptions, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
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
import { resourceTypeOf } from '../types/resource-types.js';
import type { XdsResourceType } from '../types/resource-type.js';
import { adsServiceDefinition } from './ads-service.js';
import { AdsStream, duplexStreamPort, type AdmitFn, type AdsStreamOptions, type RequestView, type StreamResources } from './ads-stream.js';
import type { AdsProtocol, StreamStatus, XdsEvent, XdsEventListener } from './events.js';
import { DEFAULT_XDS_LIMITS, limitExceeded, RESOURCE_EXHAUSTED, type XdsLimits } from './limits.js';
import type { ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import { presentedCertificate } from '../../security/peer-certificate.js';
import { TurnQueue } from './turn-queue.js';
import { errorMessage } from '../../lib/errors.js';

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
  /** Other gRPC services served on the same port (e.g. the agents' token renewal). */
  readonly extraServices?: readonly { readonly definition: ServiceDefinition; readonly implementation: UntypedServiceImplementation }[];
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
  #server: Server | undefined;
  #secureServer: Server | undefined;
  #nextStream = 0;
  readonly #limits: XdsLimits;
  /** Streams admitted and not yet finished: in all, and per proven identity. */
  #admitted = 0;
  readonly #admittedByIdentity = new Map<string, number>();

  constructor(options: XdsServerOptions) {
    this.#opts = options;
    this.#limits = { ...DEFAULT_XDS_LIMITS, ...options.limits };
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
    const { server, bound } = await this.#bind(address, ServerCredentials.createInsecure(), false);
    this.#server = server;
    return bound;
  }

  /**
   * Binds the secure port: the same services over TLS with `credentials`. Streams on it carry their
   * transport (TLS, the presented client certificate) to `admit`.
   */
  async startSecure(address: string, credentials: ServerCredentials): Promise<BoundAddress> {
    if (this.#secureServer !== undefined) throw new Error('secure xDS server already started');
    const { server, bound } = await this.#bind(address, credentials, true);
    this.#secureServer = server;
    return bound;
  }

  async #bind(address: string, credentials: ServerCredentials, secure: boolean): Promise<{ server: Server; bound: BoundAddress }> {
    const server = new Server(this.#opts.grpcOptions);
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => this.#serveSotw(call, secure),
      DeltaAggregatedResources: (call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => this.#serveDelta(call, secure),
    });
    for (const extra of this.#opts.extraServices ?? []) server.addService(extra.definition, extra.implementation);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((err: unknown) => {
      server.forceShutdown();
      throw err;
    });
    const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
    return { server, bound: { host, port, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` } };
  }

  /**
   * Graceful stop: refuses new streams, ends open ones with UNAVAILABLE so clients reconnect (to
   * another instance), and waits for the transport to drain; forces the shutdown after `graceMs`.
   */
  async stop(graceMs = 5000): Promise<void> {
    const servers = [this.#server, this.#secureServer].filter((x): x is Server => x !== undefined);
    if (servers.length === 0) return;
    this.#server = undefined;
    this.#secureServer = undefined;
    const drained = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.tryShutdown(() => resolve()))));
    for (const end of [...this.#streams.values()]) end();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    if ((await Promise.race([drained, timeout])) === 'timeout') for (const server of servers) server.forceShutdown();
    clearTimeout(timer);
  }

  #serveSotw(call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>, secure: boolean): void {
    const streamId = this.#newStreamId('sotw');
    const session = new SotwSession(this.#sessionOptions(streamId));
    this.#serve(call, secure, 'sotw', streamId, session, (r) => ({ names: r.resourceNames, unsubscribed: [], versionInfo: r.versionInfo }));
  }

  #serveDelta(call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>, secure: boolean): void {
    const streamId = this.#newStreamId('delta');
    const session = new DeltaSession(this.#sessionOptions(streamId));
    this.#serve(call, secure, 'delta', streamId, session, (r) => ({ names: r.resourceNamesSubscribe, unsubscribed: r.resourceNamesUnsubscribe, versionInfo: '' }));
  }

  #serve<Req extends RequestView, Res>(
    call: ServerDuplexStream<Req, Res>,
    secure: boolean,
    protocol: AdsProtocol,
    streamId: string,
    session: ConstructorParameters<typeof AdsStream<Req, Res>>[1],
    describe: AdsStreamOptions<Req>['describe'],
  ): void {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = typeof v === 'string' ? v : v.toString('utf8');
    const port = duplexStreamPort<Res>(call, { metadata, transport: secure ? { secure, certificate: presentedCertificate(call) } : { secure } });
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
    call.on('close', () => this.#endById.delete(streamId));
    // One request per event-loop turn (turn-queue.ts); a handler's failure ends this stream only.
    const requests = new TurnQueue<Req>((req) => {
      try {
        stream.onRequest(req);
      } catch (e) {
        finish(`internal error: ${errorMessage(e)}`);
        port.end(grpcStatus.INTERNAL, 'internal error while handling the request');
      }
    }, call);
    call.on('data', (req: Req) => requests.push(req));
    // A client that half-closes still has its last requests handled (e.g. an agent's final health report).
    call.on('end', () =>
      requests.whenIdle(() => {
        finish('client closed the stream');
        port.end(grpcStatus.OK, 'OK');
      }),
    );
    call.on('cancelled', () => finish('cancelled'));
    call.on('error', (err: Error) => finish(`stream error: ${err.message}`));
    call.on('close', () => finish('closed'));
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
