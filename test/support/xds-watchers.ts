/**
 * xDS clients for replica tests: an EDS watcher (an Envoy-like SotW stream subscribed to one
 * cluster's endpoints, ACKing every response and recording each one), and an agent (the stream a
 * VM agent opens: node metadata for auto-registration, its registration token, health reports),
 * which can reconnect to another control plane.
 */
import { create, fromBinary } from '@bufbuild/protobuf';
import { Client, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { ClusterLoadAssignmentSchema } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { AGENT_HELLO_TYPE_URL, HEALTH_INFORMATION_TYPE_URL } from '../../src/xds/server/ads-stream.js';
import { ENDPOINT } from '../../src/xds/types/resource-types.js';
import { RawAdsStream } from '../xds/fixtures/ads-client.js';

export interface EdsUpdate {
  readonly at: number;
  /** `address:port` of every endpoint sent, sorted. */
  readonly endpoints: readonly string[];
  /** `address:port region/zone/subzone` of every endpoint sent, sorted. */
  readonly localities: readonly string[];
}

/** Subscribes to EDS for `cluster` on `address` (as a proxyless gRPC client) and records every response until closed. */
export class EdsWatcher {
  readonly updates: EdsUpdate[] = [];
  private readonly client: Client;
  private readonly call: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  ended: ServiceError | undefined;

  constructor(address: string, private readonly cluster: string, namespace: string, ip = '127.0.0.99') {
    const method = adsServiceDefinition.StreamAggregatedResources;
    this.client = new Client(address, credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
    this.call.on('data', (res: DiscoveryResponse) => this.onResponse(res));
    this.call.on('error', (e: ServiceError) => (this.ended = e));
    const node = { id: `proxyless~${ip}~watcher.${namespace}~${namespace}.svc.cluster.local`, metadata: { NAMESPACE: namespace, GENERATOR: 'grpc' } };
    this.call.write(create(DiscoveryRequestSchema, { node, typeUrl: ENDPOINT.typeUrl, resourceNames: [cluster] }));
  }

  private onResponse(res: DiscoveryResponse): void {
    const eps: string[] = [];
    const localities: string[] = [];
    for (const any of res.resources) {
      const cla = fromBinary(ClusterLoadAssignmentSchema, any.value);
      if (cla.clusterName !== this.cluster) continue;
      for (const l of cla.endpoints) {
        for (const lb of l.lbEndpoints) {
          const sa = lb.hostIdentifier.case === 'endpoint' ? lb.hostIdentifier.value.address?.address : undefined;
          if (sa?.case !== 'socketAddress') continue;
          const address = `${sa.value.address}:${sa.value.portSpecifier.case === 'portValue' ? sa.value.portSpecifier.value : 0}`;
          eps.push(address);
          localities.push(`${address} ${l.locality?.region ?? ''}/${l.locality?.zone ?? ''}/${l.locality?.subZone ?? ''}`);
        }
      }
    }
    this.updates.push({ at: performance.now(), endpoints: eps.sort(), localities: localities.sort() });
    this.call.write(create(DiscoveryRequestSchema, { typeUrl: ENDPOINT.typeUrl, resourceNames: [this.cluster], versionInfo: res.versionInfo, responseNonce: res.nonce }));
  }

  latest(): readonly string[] {
    return this.updates[this.updates.length - 1]?.endpoints ?? [];
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export interface AgentOptions {
  readonly ip: string;
  readonly group: string;
  readonly namespace: string;
  readonly token: string;
  /** Report healthy right after connecting (and again after every reconnect, H-5). */
  readonly healthy?: boolean;
}

/** A VM agent's ADS stream: registers through AUTO_REGISTER_GROUP, reports health, reconnects on demand. */
export class Agent {
  private stream: RawAdsStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  address: string | undefined;
  /** Resolves when the current stream ends (the control plane went away). */
  ended: Promise<ServiceError | undefined> = Promise.resolve(undefined);

  constructor(readonly o: AgentOptions) {}

  private request(typeUrl: string, error?: string): DiscoveryRequest {
    return create(DiscoveryRequestSchema, {
      node: {
        id: `sidecar~${this.o.ip}~${this.o.group}-${this.o.ip}.${this.o.namespace}~${this.o.namespace}.svc.cluster.local`,
        metadata: { AUTO_REGISTER_GROUP: this.o.group, NAMESPACE: this.o.namespace, MESHBRIDGE_AGENT: 'true', HEALTH_CHECKS: 'true', INSTANCE_IPS: this.o.ip },
      },
      typeUrl,
      ...(error !== undefined ? { errorDetail: { code: 13, message: error } } : {}),
    });
  }

  connect(address: string): void {
    this.stream?.close();
    this.address = address;
    const s = new RawAdsStream<DiscoveryRequest, DiscoveryResponse>(address, adsServiceDefinition.StreamAggregatedResources, 600_000, { authorization: `Bearer ${this.o.token}` });
    this.stream = s;
    this.ended = s.ended;
    s.send(this.request(AGENT_HELLO_TYPE_URL));
    if (this.o.healthy !== false) s.send(this.request(HEALTH_INFORMATION_TYPE_URL));
  }

  /** Sends a health report (H-5): healthy without `error`, unhealthy with it as the reason. */
  reportHealth(error?: string): void {
    this.stream?.send(this.request(HEALTH_INFORMATION_TYPE_URL, error));
  }

  close(): void {
    this.stream?.close();
    this.stream = undefined;
  }
}
