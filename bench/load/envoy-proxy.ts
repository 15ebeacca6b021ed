/**
 * One simulated Envoy sidecar (S6): a raw ADS client on its own HTTP/2 connection that subscribes as
 * Envoy does — CDS and LDS wildcard, then EDS for every EDS cluster it was given — over
 * state-of-the-world or delta (incremental) ADS, and ACKs each response once it is decoded. Clusters
 * are decoded with protobuf-es (the proxy needs their EDS service names); listeners and
 * ClusterLoadAssignments are scanned at the wire level (wire.ts), which reads every resource of the
 * response but skips building objects nobody looks at.
 */
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import type { NodeSchema } from '../../src/gen/envoy/config/core/v3/base_pb.js';
import { Cluster_DiscoveryType, ClusterSchema } from '../../src/gen/envoy/config/cluster/v3/cluster_pb.js';
import { firstString, scanDeltaResponse, scanResponse } from '../lib/wire.js';
import { now } from '../lib/time.js';
import { CDS, EDS, LDS, type LoadProxy, type ProxyHooks, type ProxySpec } from './sim-proxy.js';

const SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
const identity = (b: Buffer): Buffer => b;

/** The EDS service name of an encoded Cluster, or '' when it is not an EDS cluster. */
function edsNameOf(value: Uint8Array): string {
  const c = fromBinary(ClusterSchema, value);
  const eds = c.clusterDiscoveryType.case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS;
  return eds ? c.edsClusterConfig?.serviceName || c.name : '';
}

interface SotwTypeState {
  names: string[];
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
  /** cluster name → EDS service name ('' when not EDS), as last received. */
  readonly #clusters = new Map<string, string>();
  #listeners = 0;
  #ldsReceived = false;
  /** The EDS names subscribed to now, and those received at least once. */
  #edsNames: string[] = [];
  readonly #edsSeen = new Set<string>();
  readonly #sotw = new Map<string, SotwTypeState>();

  constructor(
    readonly index: number,
    readonly spec: ProxySpec,
    address: string,
    private readonly hooks: ProxyHooks,
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
    const call = this.#client.makeBidiStreamRequest(this.#delta ? DELTA_PATH : SOTW_PATH, identity, identity, new Metadata());
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
    this.#call?.write(Buffer.from(bytes));
  }

  #sotwState(typeUrl: string): SotwTypeState {
    let st = this.#sotw.get(typeUrl);
    if (st === undefined) this.#sotw.set(typeUrl, (st = { names: [], version: '', nonce: '' }));
    return st;
  }

  #sendSotw(typeUrl: string, st: SotwTypeState): void {
    this.#write(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl, versionInfo: st.version, responseNonce: st.nonce, resourceNames: st.names, ...this.#node() })));
  }

  #sendDelta(typeUrl: string, fields: { resourceNamesSubscribe?: string[]; resourceNamesUnsubscribe?: string[]; responseNonce?: string }): void {
    this.#write(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, { typeUrl, ...fields, ...this.#node() })));
  }

  #onSotw(b: Buffer): void {
    const receivedAt = now();
    this.stats.responses++;
    this.stats.bytes += b.length;
    const r = scanResponse(b);
    const st = this.#sotw.get(r.typeUrl);
    if (st === undefined) return;
    if (r.typeUrl === CDS) {
      // Full state: the response lists every cluster.
      this.#clusters.clear();
      for (const res of r.resources) {
        const name = firstString(res.value, 1);
        this.#clusters.set(name, edsNameOf(res.value));
      }
    } else if (r.typeUrl === LDS) {
      this.#onListeners(r.resources.length);
    } else if (r.typeUrl === EDS) {
      for (const res of r.resources) this.#onLoadAssignment(firstString(res.value, 1), res.value, receivedAt);
    }
    st.version = r.versionInfo;
    st.nonce = r.nonce;
    this.stats.acks++;
    this.#sendSotw(r.typeUrl, st);
    if (r.typeUrl === CDS) {
      const names = this.#wantedEds();
      if (names !== undefined) {
        const eds = this.#sotwState(EDS);
        eds.names = names;
        this.#sendSotw(EDS, eds);
      }
    }
    this.#checkSynced();
  }

  #onDelta(b: Buffer): void {
    const receivedAt = now();
    this.stats.responses++;
    this.stats.bytes += b.length;
    const r = scanDeltaResponse(b);
    if (r.typeUrl === CDS) {
      for (const res of r.resources) this.#clusters.set(res.name, edsNameOf(res.value));
      for (const name of r.removed) this.#clusters.delete(name);
    } else if (r.typeUrl === LDS) {
      this.#onListeners(r.resources.length - r.removed.length);
    } else if (r.typeUrl === EDS) {
      for (const res of r.resources) this.#onLoadAssignment(res.name, res.value, receivedAt);
    }
    this.stats.acks++;
    this.#sendDelta(r.typeUrl, { responseNonce: r.nonce });
    if (r.typeUrl === CDS) {
      const before = new Set(this.#edsNames);
      const names = this.#wantedEds();
      if (names !== undefined) {
        const after = new Set(names);
        this.#sendDelta(EDS, {
          resourceNamesSubscribe: names.filter((n) => !before.has(n)),
          resourceNamesUnsubscribe: [...before].filter((n) => !after.has(n)),
        });
      }
    }
    this.#checkSynced();
  }

  #onListeners(delta: number): void {
    this.#ldsReceived = true;
    this.#listeners = this.#delta ? this.#listeners + delta : delta;
  }

  #onLoadAssignment(name: string, value: Uint8Array, receivedAt: number): void {
    this.#edsSeen.add(name);
    this.hooks.onLoadAssignment(this, name, value, receivedAt);
  }

  /** The EDS names the clusters call for, when they differ from the current subscription. */
  #wantedEds(): string[] | undefined {
    const names = [...new Set([...this.#clusters.values()].filter((n) => n !== ''))].sort();
    if (names.length === this.#edsNames.length && names.every((n, i) => n === this.#edsNames[i])) return undefined;
    this.#edsNames = names;
    return names;
  }

  #checkSynced(): void {
    if (this.syncedAt !== undefined || !this.#ldsReceived || this.#edsNames.length === 0) return;
    if (!this.#edsNames.every((n) => this.#edsSeen.has(n))) return;
    this.syncedAt = now();
    this.hooks.onSynced(this);
  }
}
