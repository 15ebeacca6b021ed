/**
 * One connection of the agent to the control plane: a channel, then one StreamAggregatedResources
 * stream (agent-protocol.md §3) carrying `authorization: Bearer <token>`. The first request carries
 * the node and subscribes to nothing (type Secret, no names: the agent will ask for its
 * certificates there once a CA exists); every response is ACKed; health reports (H-5) are
 * DiscoveryRequests of type `istio.v1.HealthInformation`, healthy = no `error_detail`, unhealthy =
 * `error_detail {code 13, message}`.
 *
 * The control plane sends nothing when it admits a stream, and ends it at once with a status when
 * it refuses it. So the session counts as registered on the first response, or when the stream is
 * still open `settleMs` after the first request.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Client, credentials, Metadata, status as grpcStatus, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { adsServiceDefinition } from '../xds/server/ads-service.js';
import { HEALTH_INFORMATION_TYPE_URL } from '../xds/server/ads-stream.js';
import type { ProbeResult } from './probe.js';

/** The type of the agent's opening request (agent-protocol.md §3). */
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
/** H-5: google.rpc.Code INTERNAL. */
const UNHEALTHY_CODE = 13;
/** Statuses by which the control plane refuses an agent (agent-protocol.md §3, AR-1). */
const REFUSALS: ReadonlySet<number> = new Set([grpcStatus.UNAUTHENTICATED, grpcStatus.PERMISSION_DENIED, grpcStatus.FAILED_PRECONDITION, grpcStatus.INVALID_ARGUMENT]);

export interface AdsSessionOptions {
  /** `host:port`. */
  readonly address: string;
  /** The channel's credentials and options (upstream.ts); default plaintext. */
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
  readonly token: string;
  readonly node: MessageInitShape<typeof NodeSchema>;
  readonly connectTimeoutMs: number;
  readonly settleMs: number;
  /** How long a stopping session waits for the server to close the half-closed stream. */
  readonly shutdownGraceMs: number;
  /** The channel is ready and the stream is open. */
  readonly onOpen: () => void;
  /** The control plane accepted the stream (see the file comment). */
  readonly onRegistered: () => void;
  /**
   * Types the agent consumes itself (NDS), subscribed (no names) right after the opening request,
   * each with its handler of responses. A handler that throws gets the response NACKed with its
   * message (code 13, as Istio's agent NACKs a NameTable it cannot read).
   */
  readonly subscriptions?: ReadonlyMap<string, (response: DiscoveryResponse) => void>;
}

export type SessionEnd =
  | { readonly kind: 'unreachable'; readonly message: string }
  | { readonly kind: 'refused'; readonly code: number; readonly message: string }
  | { readonly kind: 'closed'; readonly code: number; readonly message: string }
  | { readonly kind: 'stopped' };

export class AdsSession {
  readonly #o: AdsSessionOptions;
  readonly client: Client;
  #call: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  #ended = false;

  constructor(options: AdsSessionOptions) {
    this.#o = options;
    this.client = new Client(options.address, options.credentials ?? credentials.createInsecure(), options.channelOptions ?? {});
  }

  /** Call metadata for RPCs on behalf of this agent (the ADS stream, token renewal). */
  static metadata(token: string): Metadata {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  }

  /** Sends a health report (H-5); ignored when the stream is not open. */
  sendHealth(report: ProbeResult): void {
    this.#write(
      report.healthy
        ? { typeUrl: HEALTH_INFORMATION_TYPE_URL }
        : { typeUrl: HEALTH_INFORMATION_TYPE_URL, errorDetail: { code: UNHEALTHY_CODE, message: report.message } },
    );
  }

  /** Connects, streams until the stream ends or `signal` aborts; then closes the channel. Never rejects. */
  async run(signal: AbortSignal): Promise<SessionEnd> {
    try {
      const ready = await this.#waitForReady(signal);
      if (signal.aborted) return { kind: 'stopped' };
      if (ready !== undefined) return { kind: 'unreachable', message: `cannot reach ${this.#o.address}: ${ready}` };
      return await this.#stream(signal);
    } finally {
      this.#ended = true;
      this.client.close();
    }
  }

  #waitForReady(signal: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      const onAbort = (): void => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.client.waitForReady(Date.now() + this.#o.connectTimeoutMs, (err) => {
        signal.removeEventListener('abort', onAbort);
        resolve(err ? err.message : undefined);
      });
    });
  }

  #stream(signal: AbortSignal): Promise<SessionEnd> {
    const method = adsServiceDefinition.StreamAggregatedResources;
    const call = this.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, AdsSession.metadata(this.#o.token));
    this.#call = call;
    return new Promise<SessionEnd>((resolve) => {
      let registered = false;
      let stopping = false;
      let graceTimer: NodeJS.Timeout | undefined;
      const register = (): void => {
        clearTimeout(settleTimer);
        if (registered || this.#ended) return;
        registered = true;
        this.#o.onRegistered();
      };
      const settleTimer = setTimeout(register, this.#o.settleMs);
      const finish = (end: SessionEnd): void => {
        clearTimeout(settleTimer);
        clearTimeout(graceTimer);
        signal.removeEventListener('abort', onAbort);
        this.#ended = true;
        this.#call = undefined;
        resolve(end);
      };
      const onAbort = (): void => {
        // Half-close, give the server a moment to close its side (it records the disconnection,
        // AR-8), then cancel.
        stopping = true;
        clearTimeout(settleTimer);
        call.end();
        graceTimer = setTimeout(() => {
          call.cancel();
          finish({ kind: 'stopped' });
        }, this.#o.shutdownGraceMs);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      call.on('data', (res: DiscoveryResponse) => {
        register();
        const problem = this.#consume(res);
        // ACK (or NACK): same (empty) subscription, this version and nonce.
        this.#write({ typeUrl: res.typeUrl, versionInfo: res.versionInfo, responseNonce: res.nonce, ...(problem !== undefined ? { errorDetail: { code: UNHEALTHY_CODE, message: problem } } : {}) });
      });
      call.on('error', () => undefined); // the outcome is read from 'status'
      call.on('status', (s: StatusObject) => {
        if (stopping) finish({ kind: 'stopped' });
        else if (REFUSALS.has(s.code)) finish({ kind: 'refused', code: s.code, message: s.details || grpcStatus[s.code] || String(s.code) });
        else finish({ kind: 'closed', code: s.code, message: s.code === grpcStatus.OK ? 'the control plane closed the stream' : s.details || String(grpcStatus[s.code]) });
      });
      this.#write({ node: this.#o.node, typeUrl: SECRET_TYPE_URL });
      for (const typeUrl of this.#o.subscriptions?.keys() ?? []) this.#write({ typeUrl });
      this.#o.onOpen();
    });
  }

  /** Hands a response to its subscription's handler; returns why it was refused, if it was. */
  #consume(res: DiscoveryResponse): string | undefined {
    const handler = this.#o.subscriptions?.get(res.typeUrl);
    if (handler === undefined) return undefined;
    try {
      handler(res);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  #write(init: MessageInitShape<typeof DiscoveryRequestSchema>): void {
    const call = this.#call;
    if (call === undefined || this.#ended || call.writableEnded) return;
    call.write(create(DiscoveryRequestSchema, init));
  }
}
