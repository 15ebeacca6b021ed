/**
 * The agent's xDS proxy (agent-protocol.md §9), as Istio's pilot-agent: local proxyless gRPC apps
 * point their bootstrap at it (loopback, plaintext: grpc-js-xds cannot speak TLS to an xDS server,
 * grpc-xds-notes §4) and it forwards to the control plane over the agent's upstream channel
 * (mutual TLS with the workload certificate once `upstream.ts` provides it).
 *
 * Byte-level passthrough of `envoy.service.discovery.v3.AggregatedDiscoveryService`
 * (`StreamAggregatedResources` and `DeltaAggregatedResources`): messages are never decoded. Each
 * downstream stream opens one upstream stream on its own channel (the provider is asked anew, so a
 * rotated certificate or a new address applies to the next stream) and pipes both directions with
 * back-pressure; a half-close is forwarded as a half-close, a cancel as a cancel, and the upstream's
 * final status (code, details) becomes the downstream's. Call metadata is forwarded, except the
 * transport's own headers.
 *
 * Local clients are authenticated (issue 11; agent-protocol.md §9): the proxy lends the agent's
 * credentials (its registration token, its workload certificate), and a loopback port is open to
 * every local user. With `localSecret` (the agent always sets it), the first message of each stream
 * is decoded and must carry the secret as node metadata `MESHBRIDGE_LOCAL_SECRET` — the agent writes
 * it into the gRPC bootstrap of its apps (mode 0600), and grpc-js-xds sends the bootstrap's node
 * metadata in the first request of every stream. A stream without it, or with another value, ends
 * UNAUTHENTICATED before any upstream call is made. The secret is removed from every message before
 * it is forwarded: the control plane never sees it. Later messages stay bytes unless they carry it.
 */
import { isLoopbackHost, splitHostPort } from '../lib/net/host-port.js';
import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  Server,
  ServerCredentials,
  status as grpcStatus,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type MethodDefinition,
  type ServerDuplexStream,
  type ServiceDefinition,
  type StatusObject,
} from '@grpc/grpc-js';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
import { timingSafeEqual } from 'node:crypto';
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { ADS_SERVICE_NAME } from '../xds/server/ads-service.js';
import { shutdownGracefully } from '../lib/grpc/shutdown.js';
import { errorMessage } from '../lib/errors.js';

/** Where and how the agent reaches the control plane. */
export interface UpstreamTarget {
  /** `host:port`. */
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly options?: ChannelOptions;
  /** Call metadata added to every upstream call (the agent's credential when it has no certificate). */
  readonly metadata?: Metadata;
  /**
   * Called when an upstream stream to `address` ends with an error other than a cancel or a
   * refusal (the replica is gone): the agent then moves on to its next control-plane address
   * (control-plane-targets.ts), which the next proxied stream is given.
   */
  readonly failed?: () => void;
}

/** Upstream statuses that do not move the agent to another control-plane address: a cancel, or a refusal of the caller. */
const UPSTREAM_KEPT: ReadonlySet<number> = new Set([grpcStatus.CANCELLED, grpcStatus.UNAUTHENTICATED, grpcStatus.PERMISSION_DENIED, grpcStatus.INVALID_ARGUMENT, grpcStatus.FAILED_PRECONDITION]);

/** Asked once per proxied stream (the seam `upstream.ts` fills with mutual TLS). */
export type UpstreamProvider = () => UpstreamTarget;

/** Plaintext to `address`: the upstream until the agent has TLS to the control plane. */
export function insecureUpstream(address: string): UpstreamProvider {
  return () => ({ address, credentials: grpcCredentials.createInsecure() });
}

export { isLoopbackHost, splitHostPort };

export const DEFAULT_XDS_PROXY_ADDRESS = '127.0.0.1:15011';

/** A local service of the agent cannot listen (address taken, not permitted...). */
export class ListenError extends Error {}

/** Checks `HOST:PORT` with a loopback host; returns the reason it is not, or undefined. */
export function loopbackAddressProblem(address: string): string | undefined {
  const hp = splitHostPort(address);
  if (!hp) return `must be HOST:PORT, not ${JSON.stringify(address)}`;
  if (!isLoopbackHost(hp.host)) return `must be a loopback address (127.0.0.0/8, ::1 or localhost), not ${JSON.stringify(hp.host)}: the proxy serves plaintext to local apps only`;
  return undefined;
}

const identity = (b: Buffer): Buffer => b;

function passthrough(method: string): MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${ADS_SERVICE_NAME}/${method}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: method.charAt(0).toLowerCase() + method.slice(1),
  };
}

/** The ADS service with identity codecs on both sides: bytes in, the same bytes out. */
export const passthroughAdsDefinition: ServiceDefinition = {
  StreamAggregatedResources: passthrough('StreamAggregatedResources'),
  DeltaAggregatedResources: passthrough('DeltaAggregatedResources'),
};

/** Headers owned by the HTTP/2 transport or gRPC itself: never copied to the upstream call. */
const TRANSPORT_HEADERS = new Set(['user-agent', 'content-type', 'te', 'host', 'accept-encoding', 'grpc-accept-encoding', 'grpc-encoding', 'grpc-timeout']);

export function forwardedMetadata(incoming: Metadata, extra?: Metadata): Metadata {
  const md = new Metadata();
  for (const [key, value] of Object.entries(incoming.getMap())) {
    if (key.startsWith(':') || TRANSPORT_HEADERS.has(key)) continue;
    md.set(key, value);
  }
  if (extra !== undefined) md.merge(extra);
  return md;
}

/** Node metadata key of the local secret (see the file comment). */
export const LOCAL_SECRET_METADATA = 'MESHBRIDGE_LOCAL_SECRET';

type AdsMethod = 'StreamAggregatedResources' | 'DeltaAggregatedResources';

/** Decodes an ADS request, removes the local secret from its node and re-encodes it; throws when it is no request. */
function stripLocalSecret(bytes: Buffer, method: AdsMethod): { readonly stripped: Buffer; readonly presented: unknown } {
  const strip = <T extends DiscoveryRequest | DeltaDiscoveryRequest>(schema: GenMessage<T>): { stripped: Buffer; presented: unknown } => {
    const m = fromBinary(schema, bytes);
    const presented = m.node?.metadata?.[LOCAL_SECRET_METADATA];
    if (m.node?.metadata !== undefined) delete m.node.metadata[LOCAL_SECRET_METADATA];
    return { stripped: Buffer.from(toBinary(schema, m)), presented };
  };
  return method === 'DeltaAggregatedResources' ? strip(DeltaDiscoveryRequestSchema) : strip(DiscoveryRequestSchema);
}

/**
 * Checks a stream's first message for the local secret; on success the message re-encoded without
 * it. Pure: the reason is the stream's UNAUTHENTICATED details.
 */
export function admitLocalClient(first: Buffer, method: AdsMethod, secret: string): { ok: true; message: Buffer } | { ok: false; reason: string } {
  const hint = `node metadata ${LOCAL_SECRET_METADATA}, which the agent writes into the gRPC bootstrap of its local apps (grpc-bootstrap.json, mode 0600)`;
  let decoded: { readonly stripped: Buffer; readonly presented: unknown };
  try {
    decoded = stripLocalSecret(first, method);
  } catch {
    return { ok: false, reason: 'xDS proxy: refused: the first message is not a discovery request' };
  }
  if (typeof decoded.presented !== 'string') return { ok: false, reason: `xDS proxy: refused: this client did not present the agent's local secret (${hint})` };
  const a = Buffer.from(decoded.presented);
  const b = Buffer.from(secret);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: `xDS proxy: refused: this client's local secret is not the agent's (${hint})` };
  return { ok: true, message: decoded.stripped };
}

/** A later message of an admitted stream, without the secret if it repeats it (Envoy sends its node every time). */
function withoutLocalSecret(bytes: Buffer, method: AdsMethod, secret: string): Buffer {
  if (!bytes.includes(secret)) return bytes;
  try {
    return stripLocalSecret(bytes, method).stripped;
  } catch {
    return bytes; // not a request: the control plane refuses it
  }
}

export interface XdsProxyOptions {
  readonly upstream: UpstreamProvider;
  /** Required of every local client as node metadata (see the file comment); absent: anyone may use the proxy. */
  readonly localSecret?: string;
  /** One line per notable event, without newline. */
  readonly log?: (line: string) => void;
}

export class XdsProxy {
  readonly #o: XdsProxyOptions;
  readonly #open = new Set<() => void>();
  #server: Server | undefined;

  constructor(options: XdsProxyOptions) {
    this.#o = options;
  }

  /** Number of streams open now: proxied, or waiting for their first request (with a local secret). */
  get openStreams(): number {
    return this.#open.size;
  }

  /** Binds `address` (loopback only; port 0 picks one) and returns the bound `host:port`. */
  async start(address: string): Promise<string> {
    if (this.#server !== undefined) throw new Error('xDS proxy already started');
    const problem = loopbackAddressProblem(address);
    if (problem !== undefined) throw new ListenError(`xDS proxy address ${problem}`);
    const server = new Server();
    server.addService(passthroughAdsDefinition, {
      StreamAggregatedResources: (call: ServerDuplexStream<Buffer, Buffer>) => this.#admit(call, 'StreamAggregatedResources'),
      DeltaAggregatedResources: (call: ServerDuplexStream<Buffer, Buffer>) => this.#admit(call, 'DeltaAggregatedResources'),
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((err: unknown) => {
      server.forceShutdown();
      throw new ListenError(`cannot listen on ${address} for the xDS proxy: ${errorMessage(err)}`);
    });
    this.#server = server;
    const host = splitHostPort(address)?.host ?? '127.0.0.1';
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** Ends every proxied stream with UNAVAILABLE (apps reconnect) and closes the listener. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const end of [...this.#open]) end();
    await shutdownGracefully(server);
  }

  /**
   * With a local secret: waits for the first message and admits the stream, or ends it
   * UNAUTHENTICATED (also when the client half-closes first). A stream waiting here is ended by `stop`.
   */
  #admit(down: ServerDuplexStream<Buffer, Buffer>, method: AdsMethod): void {
    const secret = this.#o.localSecret;
    if (secret === undefined) return this.#pipe(down, method, undefined);
    let decided = false;
    const refuse = (code: grpcStatus, reason: string): void => {
      if (decided) return;
      decided = true;
      this.#open.delete(stopWaiting);
      down.off('data', onFirst);
      down.emit('error', { code, details: reason });
    };
    const stopWaiting = (): void => refuse(grpcStatus.UNAVAILABLE, 'xDS proxy stopping');
    const onFirst = (b: Buffer): void => {
      down.pause();
      const admitted = admitLocalClient(b, method, secret);
      if (!admitted.ok) {
        this.#o.log?.(admitted.reason);
        refuse(grpcStatus.UNAUTHENTICATED, admitted.reason);
        return;
      }
      decided = true;
      this.#open.delete(stopWaiting);
      down.off('data', onFirst);
      this.#pipe(down, method, admitted.message, (m) => withoutLocalSecret(m, method, secret));
      down.resume();
    };
    this.#open.add(stopWaiting);
    down.on('error', () => undefined);
    down.once('end', () => refuse(grpcStatus.UNAUTHENTICATED, 'xDS proxy: refused: the stream ended before its first request'));
    down.once('cancelled', () => {
      decided = true;
      this.#open.delete(stopWaiting);
    });
    down.on('data', onFirst);
  }

  /** `first`: a message to send before the rest; `rewrite`: applied to every later message. */
  #pipe(down: ServerDuplexStream<Buffer, Buffer>, method: AdsMethod, first: Buffer | undefined, rewrite: (b: Buffer) => Buffer = identity): void {
    let target: UpstreamTarget;
    try {
      target = this.#o.upstream();
    } catch (e) {
      down.emit('error', { code: grpcStatus.UNAVAILABLE, details: `xDS proxy: no upstream: ${errorMessage(e)}` });
      return;
    }
    const client = new Client(target.address, target.credentials, target.options ?? {});
    const def = passthroughAdsDefinition[method] as MethodDefinition<Buffer, Buffer>;
    const up: ClientDuplexStream<Buffer, Buffer> = client.makeBidiStreamRequest(def.path, identity, identity, forwardedMetadata(down.metadata, target.metadata));
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#open.delete(stopOne);
      client.close();
    };
    const stopOne = (): void => {
      if (done) return;
      up.cancel();
      down.emit('error', { code: grpcStatus.UNAVAILABLE, details: 'xDS proxy stopping' });
      finish();
    };
    this.#open.add(stopOne);
    if (first !== undefined) up.write(first);

    // Downstream -> upstream, with back-pressure.
    down.on('data', (b: Buffer) => {
      if (done || up.writableEnded) return;
      if (!up.write(rewrite(b))) {
        down.pause();
        up.once('drain', () => down.resume());
      }
    });
    down.on('end', () => {
      if (!done && !up.writableEnded) up.end();
    });
    down.on('cancelled', () => {
      if (done) return;
      up.cancel();
      finish();
    });
    down.on('error', () => undefined);

    // Upstream -> downstream.
    up.on('data', (b: Buffer) => {
      if (done) return;
      if (!down.write(b)) {
        up.pause();
        down.once('drain', () => up.resume());
      }
    });
    up.on('error', () => undefined); // the outcome is read from 'status'
    up.on('status', (s: StatusObject) => {
      if (done) return;
      if (s.code === grpcStatus.OK) down.end();
      else {
        if (s.code !== grpcStatus.CANCELLED) this.#o.log?.(`xDS proxy: upstream ${target.address} ended the stream: ${grpcStatus[s.code] ?? s.code} ${s.details}`);
        if (!UPSTREAM_KEPT.has(s.code)) target.failed?.();
        down.emit('error', { code: s.code, details: s.details });
      }
      finish();
    });
  }
}
