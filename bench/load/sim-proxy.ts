/**
 * One simulated proxy: a raw ADS (SotW) client on its own HTTP/2 connection that subscribes the way
 * a proxyless gRPC client does (LDS for the `host:port` names it dials → RDS → CDS → EDS names) and
 * ACKs every response at once. LDS/RDS/CDS are small and decoded with protobuf-es; EDS responses are
 * scanned (wire.ts). `eds-only` proxies subscribe EDS names directly (the floor server of S5 serves
 * nothing else).
 */
import { Client, credentials, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { ListenerSchema } from '../../src/gen/envoy/config/listener/v3/listener_pb.js';
import { HttpConnectionManagerSchema } from '../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouteConfigurationSchema } from '../../src/gen/envoy/config/route/v3/route_pb.js';
import { Cluster_DiscoveryType, ClusterSchema } from '../../src/gen/envoy/config/cluster/v3/cluster_pb.js';
import { firstString, scanResponse, type RawResponse } from '../lib/wire.js';
import { now } from '../lib/time.js';

export const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

export interface ProxySpec {
  /** `proxyless~<ip>~<name>.<ns>~<ns>.svc.cluster.local` */
  readonly id: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly region: string;
  readonly zone: string;
  /** Listener names (`host:port`) the client dials. */
  readonly targets: readonly string[];
  /** `eds-only`: subscribe these EDS names directly. */
  readonly edsNames?: readonly string[];
  /** An Envoy sidecar (envoy-proxy.ts) on this ADS flavour: CDS/LDS wildcard, EDS for every cluster. */
  readonly envoy?: 'sotw' | 'delta';
}

/** What the worker drives of a simulated proxy (SimProxy, EnvoySimProxy). */
export interface LoadProxy {
  readonly index: number;
  readonly stats: { responses: number; bytes: number; acks: number; requests: number };
  readonly syncedAt: number | undefined;
  readonly connectedAt: number | undefined;
  /** The EDS names this proxy is subscribed to. */
  edsNames(): readonly string[];
  start(): void;
  close(): void;
}

/** What the worker hears from its proxies. */
export interface ProxyHooks {
  /** An EDS resource arrived (before the ACK is written). `value` is the encoded CLA. */
  onLoadAssignment(proxy: LoadProxy, clusterName: string, value: Uint8Array, receivedAt: number): void;
  /** Every subscribed EDS name has been received once. */
  onSynced(proxy: LoadProxy): void;
  onError(proxy: LoadProxy, message: string): void;
}

interface TypeState {
  names: string[];
  version: string;
  nonce: string;
}

const identity = (b: Buffer): Buffer => b;

export class SimProxy implements LoadProxy {
  readonly stats = { responses: 0, bytes: 0, acks: 0, requests: 0 };
  syncedAt: number | undefined;
  connectedAt: number | undefined;
  readonly #client: Client;
  #call: ClientDuplexStream<Buffer, Buffer> | undefined;
  readonly #types = new Map<string, TypeState>();
  readonly #routeOf = new Map<string, string[]>(); // listener → route names (or inline clusters as "cluster:<name>")
  readonly #clustersOf = new Map<string, string[]>(); // route → clusters
  readonly #edsOf = new Map<string, string>(); // cluster → EDS service name ('' when not EDS)
  readonly #edsSeen = new Set<string>();
  #first = true;
  closed = false;

  constructor(
    readonly index: number,
    readonly spec: ProxySpec,
    private readonly address: string,
    private readonly hooks: ProxyHooks,
  ) {
    this.#client = new Client(address, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': -1,
    });
  }

  /** The EDS names this proxy is subscribed to. */
  edsNames(): readonly string[] {
    return this.#types.get(EDS)?.names ?? [];
  }

  start(): void {
    this.connectedAt = now();
    const call = this.#client.makeBidiStreamRequest(ADS_PATH, identity, identity, new Metadata());
    this.#call = call;
    call.on('data', (b: Buffer) => this.#onResponse(b));
    call.on('error', (e: Error) => {
      if (!this.closed) this.hooks.onError(this, e.message);
    });
    call.on('end', () => {
      if (!this.closed) this.hooks.onError(this, 'stream ended by the server');
    });
    if (this.spec.edsNames !== undefined) this.#subscribe(EDS, [...this.spec.edsNames]);
    else this.#subscribe(LDS, [...this.spec.targets]);
  }

  close(): void {
    this.closed = true;
    this.#call?.cancel();
    this.#client.close();
  }

  #send(typeUrl: string, st: TypeState): void {
    const req = create(DiscoveryRequestSchema, {
      typeUrl,
      versionInfo: st.version,
      responseNonce: st.nonce,
      resourceNames: st.names,
      ...(this.#first
        ? {
            node: {
              id: this.spec.id,
              userAgentName: 'meshbridge-bench',
              locality: { region: this.spec.region, zone: this.spec.zone },
              metadata: { GENERATOR: 'grpc', NAMESPACE: this.spec.namespace, LABELS: { ...this.spec.labels } },
            },
          }
        : {}),
    });
    this.#first = false;
    this.stats.requests++;
    this.#call?.write(Buffer.from(toBinary(DiscoveryRequestSchema, req)));
  }

  /** Sends a new subscription for `typeUrl` when the name set changed. */
  #subscribe(typeUrl: string, names: string[]): void {
    names = [...new Set(names)].sort();
    let st = this.#types.get(typeUrl);
    if (st !== undefined && st.names.length === names.length && st.names.every((n, i) => n === names[i])) return;
    if (st === undefined) {
      if (names.length === 0) return;
      st = { names, version: '', nonce: '' };
      this.#types.set(typeUrl, st);
    } else st.names = names;
    this.#send(typeUrl, st);
  }

  #onResponse(b: Buffer): void {
    const receivedAt = now();
    this.stats.responses++;
    this.stats.bytes += b.length;
    let r: RawResponse;
    try {
      r = scanResponse(b);
    } catch (e) {
      this.hooks.onError(this, `cannot read a response: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const st = this.#types.get(r.typeUrl);
    if (st === undefined) return;
    let next: (() => void) | undefined;
    switch (r.typeUrl) {
      case LDS:
        next = this.#onListeners(r);
        break;
      case RDS:
        next = this.#onRoutes(r);
        break;
      case CDS:
        next = this.#onClusters(r);
        break;
      case EDS:
        for (const res of r.resources) {
          const name = firstString(res.value, 1);
          this.#edsSeen.add(name);
          this.hooks.onLoadAssignment(this, name, res.value, receivedAt);
        }
        break;
    }
    // ACK (version and nonce of this response, the current names), then any new subscription.
    st.version = r.versionInfo;
    st.nonce = r.nonce;
    this.stats.acks++;
    this.#send(r.typeUrl, st);
    next?.();
    if (this.syncedAt === undefined) {
      const eds = this.#types.get(EDS);
      if (eds !== undefined && eds.names.every((n) => this.#edsSeen.has(n))) {
        this.syncedAt = now();
        this.hooks.onSynced(this);
      }
    }
  }

  #onListeners(r: RawResponse): () => void {
    // Full state: the response lists every subscribed listener.
    this.#routeOf.clear();
    for (const res of r.resources) {
      const l = fromBinary(ListenerSchema, res.value);
      const api = l.apiListener?.apiListener;
      if (api === undefined) continue;
      const hcm = fromBinary(HttpConnectionManagerSchema, api.value);
      if (hcm.routeSpecifier.case === 'rds') this.#routeOf.set(l.name, [hcm.routeSpecifier.value.routeConfigName]);
    }
    return () => this.#subscribe(RDS, [...this.#routeOf.values()].flat());
  }

  #onRoutes(r: RawResponse): () => void {
    for (const res of r.resources) {
      const rc = fromBinary(RouteConfigurationSchema, res.value);
      const clusters: string[] = [];
      for (const vh of rc.virtualHosts) {
        for (const route of vh.routes) {
          if (route.action.case !== 'route') continue;
          const cs = route.action.value.clusterSpecifier;
          if (cs.case === 'cluster') clusters.push(cs.value);
          else if (cs.case === 'weightedClusters') for (const c of cs.value.clusters) clusters.push(c.name);
        }
      }
      this.#clustersOf.set(rc.name, clusters);
    }
    const wanted = new Set([...this.#routeOf.values()].flat());
    return () => this.#subscribe(CDS, [...this.#clustersOf].filter(([k]) => wanted.has(k)).flatMap(([, v]) => v));
  }

  #onClusters(r: RawResponse): () => void {
    this.#edsOf.clear();
    for (const res of r.resources) {
      const c = fromBinary(ClusterSchema, res.value);
      const eds = c.clusterDiscoveryType.case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS;
      this.#edsOf.set(c.name, eds ? c.edsClusterConfig?.serviceName || c.name : '');
    }
    return () => this.#subscribe(EDS, [...this.#edsOf.values()].filter((n) => n !== ''));
  }
}
