/**
 * Where the inbound proxy's modes come from (agent-protocol.md §11): the control plane's inbound
 * Listener for each port, `xds.istio.io/grpc/lds/inbound/<ip>:<port>` (the name proxyless gRPC
 * servers ask for), watched on an ADS stream of the agent's own (through the upstream seam) as the
 * workload's proxyless node.
 *
 * Interpretation of one Listener, first match wins:
 * 1. `metadata.filter_metadata["meshbridge.io"].mtlsMode` = STRICT | PERMISSIVE | DISABLE (the
 *    explicit signal the generator emits on every inbound Listener);
 * 2. its filter chains: one with a DownstreamTlsContext that requires a client certificate means
 *    mTLS is accepted, one without a transport socket (or raw_buffer) means plaintext is accepted:
 *    both = PERMISSIVE, mTLS only = STRICT, plaintext only = DISABLE;
 * 3. otherwise the port keeps its mode. A Listener that does not exist (absent from a response)
 *    puts the port back to PERMISSIVE, Istio's default.
 */
import { create, fromBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { Client, Metadata, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { ListenerSchema, type Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { DownstreamTlsContextSchema } from '../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { adsServiceDefinition } from '../xds/server/ads-service.js';
import { DEFAULT_MTLS_MODE, MTLS_MODES, type MtlsMode } from './inbound-proxy.js';
import type { UpstreamProvider } from './xds-proxy.js';
import { inboundListenerName, MESHBRIDGE_METADATA_KEY } from '../xds/generate/names.js';

export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const DOWNSTREAM_TLS_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const RAW_BUFFER_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
/** The filter_metadata namespace of the explicit mode signal (the generator's). */
export const MODE_METADATA_NAMESPACE = MESHBRIDGE_METADATA_KEY;
export const MODE_METADATA_KEY = 'mtlsMode';

export { inboundListenerName };

/** The mode a Listener states (see the file comment); undefined when it states none. */
export function mtlsModeOfListener(listener: Listener): MtlsMode | undefined {
  const explicit = listener.metadata?.filterMetadata[MODE_METADATA_NAMESPACE]?.[MODE_METADATA_KEY];
  if (typeof explicit === 'string' && (MTLS_MODES as readonly string[]).includes(explicit)) return explicit as MtlsMode;
  let mtls = false;
  let plaintext = false;
  for (const chain of listener.filterChains) {
    const socket = chain.transportSocket;
    const typed = socket?.configType.case === 'typedConfig' ? socket.configType.value : undefined;
    if (socket === undefined || typed?.typeUrl === RAW_BUFFER_TYPE_URL) plaintext = true;
    else if (typed === undefined) continue;
    else if (typed.typeUrl === DOWNSTREAM_TLS_TYPE_URL) {
      const ctx = anyUnpack(typed, DownstreamTlsContextSchema);
      if (ctx?.requireClientCertificate === true) mtls = true;
    }
  }
  if (mtls && plaintext) return 'PERMISSIVE';
  if (mtls) return 'STRICT';
  if (plaintext) return 'DISABLE';
  return undefined;
}

export interface InboundModeWatcherOptions {
  readonly upstream: UpstreamProvider;
  /** The workload's proxyless node (as in its gRPC bootstrap). */
  readonly node: MessageInitShape<typeof NodeSchema>;
  /** Listener name -> what to do with its mode. */
  readonly ports: ReadonlyMap<string, (mode: MtlsMode) => void>;
  readonly log: (line: string) => void;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  readonly random?: () => number;
}

/** Keeps one ADS stream subscribed to the inbound Listeners; reconnects with backoff. */
export class InboundModeWatcher {
  readonly #o: InboundModeWatcherOptions;

  constructor(options: InboundModeWatcherOptions) {
    this.#o = options;
  }

  /** Runs until `signal` aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const base = this.#o.backoffBaseMs ?? 200;
    const cap = this.#o.backoffCapMs ?? 30_000;
    const random = this.#o.random ?? Math.random;
    let attempt = 0;
    let lastProblem = '';
    while (!signal.aborted) {
      const outcome = await this.#streamOnce(signal);
      if (signal.aborted) return;
      if (outcome.answered) attempt = 0;
      if (outcome.message !== lastProblem) this.#o.log(`inbound modes: ${outcome.message}; retrying`);
      lastProblem = outcome.message;
      const delay = Math.floor(random() * Math.min(cap, base * 2 ** Math.min(attempt++, 30)));
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, delay);
        signal.addEventListener('abort', done, { once: true });
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  }

  #streamOnce(signal: AbortSignal): Promise<{ answered: boolean; message: string }> {
    let target;
    try {
      target = this.#o.upstream();
    } catch (e) {
      return Promise.resolve({ answered: false, message: `no upstream: ${e instanceof Error ? e.message : String(e)}` });
    }
    const client = new Client(target.address, target.credentials, target.options ?? {});
    const m = adsServiceDefinition.StreamAggregatedResources;
    const call: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, target.metadata ?? new Metadata());
    const names = [...this.#o.ports.keys()];
    const write = (init: MessageInitShape<typeof DiscoveryRequestSchema>): void => {
      if (!call.writableEnded) call.write(create(DiscoveryRequestSchema, init));
    };
    return new Promise((resolve) => {
      let answered = false;
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      call.on('data', (res: DiscoveryResponse) => {
        answered = true;
        if (res.typeUrl !== LISTENER_TYPE_URL) return;
        const problem = this.#apply(res);
        write({ typeUrl: LISTENER_TYPE_URL, resourceNames: names, versionInfo: problem === undefined ? res.versionInfo : '', responseNonce: res.nonce, ...(problem !== undefined ? { errorDetail: { code: 3, message: problem } } : {}) });
      });
      call.on('error', () => undefined); // the outcome is read from 'status'
      call.on('status', (s: StatusObject) => {
        signal.removeEventListener('abort', onAbort);
        client.close();
        resolve({ answered, message: `stream to ${target.address} ended: ${s.details || s.code}` });
      });
      write({ node: this.#o.node, typeUrl: LISTENER_TYPE_URL, resourceNames: names });
    });
  }

  /** Applies one SotW Listener response; returns a NACK reason, or undefined. */
  #apply(res: DiscoveryResponse): string | undefined {
    const found = new Map<string, Listener>();
    for (const any of res.resources) {
      let listener: Listener;
      try {
        listener = fromBinary(ListenerSchema, any.value);
      } catch (e) {
        return `cannot decode a Listener: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (this.#o.ports.has(listener.name)) found.set(listener.name, listener);
    }
    for (const [name, setMode] of this.#o.ports) {
      const listener = found.get(name);
      if (listener === undefined) setMode(DEFAULT_MTLS_MODE);
      else {
        const mode = mtlsModeOfListener(listener);
        if (mode !== undefined) setMode(mode);
      }
    }
    return undefined;
  }
}
