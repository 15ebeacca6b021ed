/**
 * One simulated Envoy sidecar (S6): a raw ADS client on its own HTTP/2 connection that subscribes as
 * Envoy does — CDS and LDS wildcard, then EDS for every EDS cluster it was given — over
 * state-of-the-world or delta (incremental) ADS, and ACKs each response once it is decoded. Decoding
 * is shared by the sidecars of a load process (response-cache.ts: once per distinct body, clusters
 * with protobuf-es, listeners and endpoints at the wire level); each sidecar keeps only what
 * recognises changes: its nonces and versions, its clusters' EDS names (delta), its subscription and,
 * until it is synced, the EDS names it has not received yet.
 */
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import type { NodeSchema } from '../../src/gen/envoy/config/core/v3/base_pb.js';
import { now } from '../lib/time.js';
import { CDS, EDS, LDS, type LoadProxy, type ProxyHooks, type ProxySpec } from './sim-proxy.js';
import { distinctSorted, type DecodedResponse, type ResponseCache } from './response-cache.js';

const SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
const identity = (b: Buffer): Buffer => b;

/**
 * The encoded `resource_names` of a SotW request, per names array (interned: sidecars with one
 * subscription share it). An Envoy EDS ACK repeats ~1,000 names; encoding them again for every ACK
 * of every sidecar was 70 % of the load generator's CPU (profiled), on the cores serve runs on. A
 * protobuf message's encodings concatenate into their merge, so a request is its small fields'
 * encoding followed by these bytes.
 */
const encodedNames = new WeakMap<readonly string[], Uint8Array>();
function namesBytes(names: readonly string[]): Uint8Array {
  let bytes = encodedNames.get(names);
  if (bytes === undefined) encodedNames.set(names, (bytes = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { resourceNames: [...names] }))));
  return bytes;
}

interface SotwTypeState {
  names: readonly string[];
  version: string;
  nonce: string;
}

export class EnvoySimProxy implements LoadProxy {
  readonly stats = { responses: 0, bytes: 0, acks: 0, requests: 0 };
  syncedAt: number | undefined;
  connectedAt: number | undefined;
  closed = false;
  readonly #client: Client;
  readonly #delta: boolean;
  #call: ClientDuplexStream<Buffer, Buffer> | undefined;
  #first = true;
  /** Delta only: cluster name → EDS service name ('' when not EDS), as last received. */
  readonly #clusters = new Map<string, string>();
  #listeners = 0;
  #ldsReceived = false;
  /** The EDS names subscribed to now (interned: sidecars with the same subscription share the array). */
  #edsNames: readonly string[] = [];
  /** Until synced: the subscribed EDS names not received yet (undefined before the first EDS subscription and once synced). */
  #edsMissing: Set<string> | undefined;
  readonly #sotw = new Map<string, SotwTypeState>();

  constructor(
    readonly index: number,
    readonly spec: ProxySpec,
    address: string,
    private readonly hooks: ProxyHooks,
    private readonly cache: ResponseCache,
  ) {
    this.#delta = spec.envoy === 'delta';
    this.#client = new Client(address, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': -1,
    });
  }

  edsNames(): readonly string[] {
    return this.#edsNames;
  }

  /** Listeners received (wildcard LDS). */
  get listeners(): number {
    return this.#listeners;
  }

  start(): void {
    this.connectedAt = now();
    // Envoy keeps retrying its ADS connection; wait-for-ready does the same for the one stream a
    // sidecar opens: a connect that times out (the server's accept backlog full while it builds the
    // classes of the sidecars before) is retried instead of failing the stream.
    const metadata = new Metadata();
    metadata.setOptions({ waitForReady: true });
    const call = this.#client.makeBidiStreamRequest(this.#delta ? DELTA_PATH : SOTW_PATH, identity, identity, metadata);
    this.#call = call;
    call.on('data', (b: Buffer) => {
      try {
        if (this.#delta) this.#onDelta(b);
        else this.#onSotw(b);
      } catch (e) {
        this.hooks.onError(this, `cannot read a response: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    call.on('error', (e: Error) => {
      if (!this.closed) this.hooks.onError(this, e.message);
    });
    call.on('end', () => {
      if (!this.closed) this.hooks.onError(this, 'stream ended by the server');
    });
    // Envoy's order: clusters first, then listeners (wildcard: no names).
    if (this.#delta) {
      this.#sendDelta(CDS, { resourceNamesSubscribe: ['*'] });
      this.#sendDelta(LDS, { resourceNamesSubscribe: ['*'] });
    } else {
      this.#sendSotw(CDS, this.#sotwState(CDS));
      this.#sendSotw(LDS, this.#sotwState(LDS));
    }
  }

  close(): void {
    this.closed = true;
    this.#call?.cancel();
    this.#client.close();
  }

  /** The node, on the stream's first request only (no GENERATOR metadata: an Envoy). */
  #node(): { node?: MessageInitShape<typeof NodeSchema> } {
    if (!this.#first) return {};
    this.#first = false;
    return {
      node: {
        id: this.spec.id,
        userAgentName: 'envoy',
        locality: { region: this.spec.region, zone: this.spec.zone },
        metadata: { NAMESPACE: this.spec.namespace, LABELS: { ...this.spec.labels } },
      },
    };
  }

  #write(bytes: Uint8Array): void {
    this.stats.requests++;
    this.#call?.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  #sotwState(typeUrl: string): SotwTypeState {
    let st = this.#sotw.get(typeUrl);
    if (st === undefined) this.#sotw.set(typeUrl, (st = { names: [], version: '', nonce: '' }));
    return st;
  }

  #sendSotw(typeUrl: string, st: SotwTypeState): void {
    const fields = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl, versionInfo: st.version, responseNonce: st.nonce, ...this.#node() }));
    this.#write(st.names.length === 0 ? fields : Buffer.concat([fields, namesBytes(st.names)]));
  }

  #sendDelta(typeUrl: string, fields: { resourceNamesSubscribe?: string[]; resourceNamesUnsubscribe?: string[]; responseNonce?: string }): void {
    this.#write(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, { typeUrl, ...fields, ...this.#node() })));
  }

  #onSotw(b: Buffer): void {
    const receivedAt = now();
    this.stats.responses++;
    this.stats.bytes += b.length;
    const { version, nonce, response: r } = this.cache.decode(b, false);
    const st = this.#sotw.get(r.typeUrl);
    if (st === undefined) return;
    if (r.typeUrl === LDS) this.#onListeners(r.resources.length);
    else if (r.typeUrl === EDS) this.#onLoadAssignments(r, receivedAt);
    st.version = version;
    st.nonce = nonce;
    this.stats.acks++;
    this.#sendSotw(r.typeUrl, st);
    // Full state: the response lists every cluster, so its EDS names are the subscription.
    if (r.typeUrl === CDS && this.#subscribeEds(r.edsNames)) {
      const eds = this.#sotwState(EDS);
      eds.names = r.edsNames;
      this.#sendSotw(EDS, eds);
    }
    this.#checkSynced();
  }

  #onDelta(b: Buffer): void {
    const receivedAt = now();
    this.stats.responses++;
    this.stats.bytes += b.length;
    const { nonce, response: r } = this.cache.decode(b, true);
    if (r.typeUrl === CDS) {
      for (const res of r.resources) this.#clusters.set(res.name, res.edsName);
      for (const name of r.removed) this.#clusters.delete(name);
    } else if (r.typeUrl === LDS) {
      this.#onListeners(r.resources.length - r.removed.length);
    } else if (r.typeUrl === EDS) {
      this.#onLoadAssignments(r, receivedAt);
    }
    this.stats.acks++;
    this.#sendDelta(r.typeUrl, { responseNonce: nonce });
    if (r.typeUrl === CDS) {
      const before = this.#edsNames;
      const after = this.cache.internNames(distinctSorted(this.#clusters.values()));
      if (this.#subscribeEds(after)) {
        const was = new Set(before);
        const is = new Set(after);
        this.#sendDelta(EDS, {
          resourceNamesSubscribe: after.filter((n) => !was.has(n)),
          resourceNamesUnsubscribe: before.filter((n) => !is.has(n)),
        });
      }
    }
    this.#checkSynced();
  }

  #onListeners(delta: number): void {
    this.#ldsReceived = true;
    this.#listeners = this.#delta ? this.#listeners + delta : delta;
  }

  #onLoadAssignments(r: DecodedResponse, receivedAt: number): void {
    for (const res of r.resources) {
      this.#edsMissing?.delete(res.name);
      this.hooks.onLoadAssignment(this, res.name, res.value, receivedAt);
    }
  }

  /** Makes `names` (interned) the EDS subscription; false when it already is. */
  #subscribeEds(names: readonly string[]): boolean {
    if (names === this.#edsNames) return false;
    if (this.syncedAt === undefined) {
      // Names of the previous subscription already received stay received; new names are missing.
      const previous = new Set(this.#edsNames);
      const missingBefore = this.#edsMissing;
      this.#edsMissing = new Set(names.filter((n) => !previous.has(n) || missingBefore === undefined || missingBefore.has(n)));
    }
    this.#edsNames = names;
    return true;
  }

  #checkSynced(): void {
    if (this.syncedAt !== undefined || !this.#ldsReceived || this.#edsNames.length === 0) return;
    if (this.#edsMissing === undefined || this.#edsMissing.size > 0) return;
    this.syncedAt = now();
    this.#edsMissing = undefined;
    this.hooks.onSynced(this);
  }
}
