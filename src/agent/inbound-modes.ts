/**
 * Where the inbound proxy's policies come from (agent-protocol.md §11): the control plane's inbound
 * Listener for each port, `xds.istio.io/grpc/lds/inbound/<ip>:<port>` (the name proxyless gRPC
 * servers ask for), watched on an ADS stream of the agent's own (through the upstream seam) as the
 * workload's proxyless node.
 *
 * A port's policy is its mTLS mode and the RBAC of its filter chains. The mode, first match wins:
 * 1. `metadata.filter_metadata["meshbridge.io"].mtlsMode` = STRICT | PERMISSIVE | DISABLE (the
 *    explicit signal the generator emits on every inbound Listener);
 * 2. its filter chains: one with a DownstreamTlsContext that requires a client certificate means
 *    mTLS is accepted, one without a transport socket (or raw_buffer) means plaintext is accepted:
 *    both = PERMISSIVE, mTLS only = STRICT, plaintext only = DISABLE;
 * 3. otherwise the Listener is NACKed and the port keeps the policy it had.
 * The RBAC: the `rules` of every RBAC filter of a chain, in order (network RBAC filters, and HTTP
 * RBAC filters inside its HTTP connection manager), evaluated per connection by rbac-evaluator.ts
 * with Istio's TCP rule (the proxy forwards bytes, not HTTP requests). mTLS connections use the TLS
 * chain's RBAC, plaintext ones the plaintext chain's (each falls back to the other's when the
 * Listener has only one). An RBAC filter this agent cannot read (the `matcher` API, an undecodable
 * config) NACKs the Listener: never a silent allow.
 *
 * Fail closed: a port without a policy (before the first answer, or when its Listener is absent
 * from a response: the resource does not exist, gRFC A36's "not serving") uses the agent's inbound
 * default (`--inbound-default`, refusing every connection unless told otherwise); while the control
 * plane is unreachable every port keeps the last policy it had.
 */
import { create, fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import { Client, Metadata, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { ListenerSchema, type Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { FilterChain } from '../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { RBAC } from '../gen/envoy/config/rbac/v3/rbac_pb.js';
import { RBACSchema as HttpRbacSchema } from '../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import { RBACSchema as NetworkRbacSchema } from '../gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js';
import { HttpConnectionManagerSchema } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { DownstreamTlsContextSchema } from '../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { adsServiceDefinition } from '../xds/server/ads-service.js';
import { MTLS_MODES, type InboundPolicy, type MtlsMode } from './inbound-proxy.js';
import type { UpstreamProvider } from './xds-proxy.js';
import { Backoff } from '../lib/async/backoff.js';
import { sleep } from '../lib/async/sleep.js';
import { errorMessage } from '../lib/errors.js';
import { inboundListenerName, MESHBRIDGE_METADATA_KEY } from '../xds/generate/names.js';

export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const DOWNSTREAM_TLS_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const RAW_BUFFER_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const HCM_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HTTP_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const NETWORK_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
/** The filter_metadata namespace of the explicit mode signal (the generator's). */
export const MODE_METADATA_NAMESPACE = MESHBRIDGE_METADATA_KEY;
export const MODE_METADATA_KEY = 'mtlsMode';

export { inboundListenerName };

/**
 * What a filter chain's transport socket accepts: TLS (a DownstreamTlsContext, the client certificate
 * required or only requested: `mtls` says which), plaintext, or neither (an unknown socket).
 */
function chainKind(chain: FilterChain): 'tls' | 'plaintext' | undefined {
  const socket = chain.transportSocket;
  const typed = socket?.configType.case === 'typedConfig' ? socket.configType.value : undefined;
  if (socket === undefined || typed?.typeUrl === RAW_BUFFER_TYPE_URL) return 'plaintext';
  return typed?.typeUrl === DOWNSTREAM_TLS_TYPE_URL ? 'tls' : undefined;
}

/** Whether a TLS chain requires the client's certificate (mutual TLS). */
function requiresClientCertificate(chain: FilterChain): boolean {
  const socket = chain.transportSocket;
  const typed = socket?.configType.case === 'typedConfig' ? socket.configType.value : undefined;
  return typed?.typeUrl === DOWNSTREAM_TLS_TYPE_URL && anyUnpack(typed, DownstreamTlsContextSchema)?.requireClientCertificate === true;
}

/**
 * The mode a Listener states (see the file comment); undefined when it states none. Without the
 * explicit signal: TLS and plaintext chains = PERMISSIVE; TLS chains only = STRICT when they all
 * require the client certificate, else PERMISSIVE (a PERMISSIVE port served as TLS with the client
 * certificate requested, grpc-inbound.ts); plaintext only = DISABLE.
 */
export function mtlsModeOfListener(listener: Listener): MtlsMode | undefined {
  const explicit = listener.metadata?.filterMetadata[MODE_METADATA_NAMESPACE]?.[MODE_METADATA_KEY];
  if (typeof explicit === 'string' && (MTLS_MODES as readonly string[]).includes(explicit)) return explicit as MtlsMode;
  const tls = listener.filterChains.filter((c) => chainKind(c) === 'tls');
  const plaintext = listener.filterChains.some((c) => chainKind(c) === 'plaintext');
  if (tls.length > 0 && plaintext) return 'PERMISSIVE';
  if (tls.length > 0) return tls.every(requiresClientCertificate) ? 'STRICT' : 'PERMISSIVE';
  if (plaintext) return 'DISABLE';
  return undefined;
}

/** The `rules` of the RBAC filters of one chain, in order; throws an Error naming what cannot be read. */
function chainRbac(chain: FilterChain): RBAC[] {
  const out: RBAC[] = [];
  const add = (config: { rules?: RBAC | undefined; matcher?: unknown }, where: string): void => {
    if (config.matcher !== undefined) throw new Error(`${where}: the RBAC matcher API is not supported`);
    if (config.rules !== undefined) out.push(config.rules);
  };
  for (const filter of chain.filters) {
    const typed = filter.configType.case === 'typedConfig' ? filter.configType.value : undefined;
    if (typed?.typeUrl === NETWORK_RBAC_TYPE_URL) add(unpack(typed, NetworkRbacSchema, filter.name), `filter ${filter.name}`);
    if (typed?.typeUrl !== HCM_TYPE_URL) continue;
    for (const h of unpack(typed, HttpConnectionManagerSchema, filter.name).httpFilters) {
      const config = h.configType.case === 'typedConfig' ? h.configType.value : undefined;
      if (config?.typeUrl === HTTP_RBAC_TYPE_URL && !h.disabled) add(unpack(config, HttpRbacSchema, h.name), `HTTP filter ${h.name}`);
    }
  }
  return out;
}

function unpack<D extends DescMessage>(any: Any, schema: D, name: string): MessageShape<D> {
  let message: MessageShape<D> | undefined;
  try {
    message = anyUnpack(any, schema);
  } catch (e) {
    throw new Error(`filter ${name}: cannot decode ${any.typeUrl}: ${errorMessage(e)}`);
  }
  if (message === undefined) throw new Error(`filter ${name}: cannot decode ${any.typeUrl}`);
  return message;
}

/** The policy a Listener states (see the file comment), or why it cannot be used. */
export function inboundPolicyOfListener(listener: Listener): { readonly policy: InboundPolicy } | { readonly error: string } {
  const mode = mtlsModeOfListener(listener);
  if (mode === undefined) return { error: `Listener ${listener.name} states no mTLS mode (no mode metadata, no mTLS or plaintext chain)` };
  const byKind = new Map<'tls' | 'plaintext', RBAC[]>();
  try {
    for (const chain of listener.filterChains) {
      const kind = chainKind(chain);
      if (kind !== undefined && !byKind.has(kind)) byKind.set(kind, chainRbac(chain));
    }
  } catch (e) {
    return { error: `Listener ${listener.name}: ${errorMessage(e)}` };
  }
  const tls = byKind.get('tls') ?? byKind.get('plaintext');
  const plaintext = byKind.get('plaintext') ?? byKind.get('tls');
  if (tls === undefined || plaintext === undefined) return { error: `Listener ${listener.name} has no filter chain` };
  return { policy: { mode, rbac: { tls, plaintext } } };
}

export interface InboundModeWatcherOptions {
  readonly upstream: UpstreamProvider;
  /** The workload's proxyless node (as in its gRPC bootstrap). */
  readonly node: MessageInitShape<typeof NodeSchema>;
  /** Listener name -> what to do with its policy (undefined: the Listener does not exist). */
  readonly ports: ReadonlyMap<string, (policy: InboundPolicy | undefined) => void>;
  readonly log: (line: string) => void;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  readonly random?: () => number;
  /**
   * A stream that has not answered within this long is re-opened (Envoy's initial_fetch_timeout in
   * spirit): the ports must not stay on their fallback behind a stream that never answers. Default 5 s.
   */
  readonly initialFetchTimeoutMs?: number;
}

/** Keeps one ADS stream subscribed to the inbound Listeners; reconnects with backoff. */
export class InboundModeWatcher {
  readonly #o: InboundModeWatcherOptions;

  constructor(options: InboundModeWatcherOptions) {
    this.#o = options;
  }

  /** Runs until `signal` aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ baseMs: this.#o.backoffBaseMs ?? 200, capMs: this.#o.backoffCapMs ?? 30_000, floorMs: 0, random: this.#o.random ?? Math.random });
    let lastProblem = '';
    while (!signal.aborted) {
      const outcome = await this.#streamOnce(signal);
      if (signal.aborted) return;
      if (outcome.answered) backoff.reset();
      if (outcome.message !== lastProblem) this.#o.log(`inbound modes: ${outcome.message}; retrying`);
      lastProblem = outcome.message;
      await sleep(backoff.next(), signal);
    }
  }

  #streamOnce(signal: AbortSignal): Promise<{ answered: boolean; message: string }> {
    let target;
    try {
      target = this.#o.upstream();
    } catch (e) {
      return Promise.resolve({ answered: false, message: `no upstream: ${errorMessage(e)}` });
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
      let lastRefusal: string | undefined;
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      const unanswered = setTimeout(() => call.cancel(), this.#o.initialFetchTimeoutMs ?? 5000);
      call.on('data', (res: DiscoveryResponse) => {
        answered = true;
        clearTimeout(unanswered);
        if (res.typeUrl !== LISTENER_TYPE_URL) return;
        const problem = this.#apply(res);
        // A refused Listener leaves the ports on their last policy (or fallback): the operator must see why.
        if (problem !== undefined && problem !== lastRefusal) this.#o.log(`inbound modes: refused the control plane's Listeners (version ${res.versionInfo}): ${problem}`);
        lastRefusal = problem;
        write({ typeUrl: LISTENER_TYPE_URL, resourceNames: names, versionInfo: problem === undefined ? res.versionInfo : '', responseNonce: res.nonce, ...(problem !== undefined ? { errorDetail: { code: 3, message: problem } } : {}) });
      });
      call.on('error', () => undefined); // the outcome is read from 'status'
      call.on('status', (s: StatusObject) => {
        clearTimeout(unanswered);
        signal.removeEventListener('abort', onAbort);
        client.close();
        resolve({ answered, message: `stream to ${target.address} ended: ${s.details || s.code}` });
      });
      write({ node: this.#o.node, typeUrl: LISTENER_TYPE_URL, resourceNames: names });
    });
  }

  /** Applies one SotW Listener response; returns a NACK reason (nothing applied), or undefined. */
  #apply(res: DiscoveryResponse): string | undefined {
    const found = new Map<string, InboundPolicy>();
    for (const any of res.resources) {
      let listener: Listener;
      try {
        listener = fromBinary(ListenerSchema, any.value);
      } catch (e) {
        return `cannot decode a Listener: ${errorMessage(e)}`;
      }
      if (!this.#o.ports.has(listener.name)) continue;
      const read = inboundPolicyOfListener(listener);
      if ('error' in read) return read.error;
      found.set(listener.name, read.policy);
    }
    for (const [name, setPolicy] of this.#o.ports) setPolicy(found.get(name));
    return undefined;
  }
}
