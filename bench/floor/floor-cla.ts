/**
 * What a floor server pushes: the ClusterLoadAssignment captured from meshbridge's proxies, of which
 * each push changes one endpoint's weight, and the transport that encodes and writes it (grpc-js or
 * node:http2).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';

export const EDS_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const SOTW_ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** The floor's transports: grpc-js (meshbridge's stack) and node:http2 writing pre-framed messages. */
export type FloorKind = 'grpc-js' | 'http2';
export const FLOOR_KINDS: readonly FloorKind[] = ['grpc-js', 'http2'];

export interface FloorTransport {
  /** Binds a loopback port; resolves `host:port`. */
  listen(): Promise<string>;
  /** Encodes the response carrying `cla` at `version` once, for every following write. */
  encode(cla: ClusterLoadAssignment, version: string): void;
  /** Writes the encoded response (each with its own nonce) to every subscribed stream; returns how many. */
  writeAll(): number;
  close(): void;
}

export class FloorCla {
  readonly message: ClusterLoadAssignment;
  constructor(bytes: Uint8Array) {
    this.message = fromBinary(ClusterLoadAssignmentSchema, bytes);
  }

  /** Sets the weight of every lb endpoint at `address:port`; returns how many matched (0: the push carries no change a proxy can see). */
  setWeight(endpoint: string, weight: number): number {
    let matched = 0;
    for (const locality of this.message.endpoints) {
      for (const lb of locality.lbEndpoints) {
        const h = lb.hostIdentifier;
        const sa = h.case === 'endpoint' ? h.value.address?.address : undefined;
        if (sa?.case !== 'socketAddress') continue;
        const port = sa.value.portSpecifier.case === 'portValue' ? sa.value.portSpecifier.value : 0;
        if (`${sa.value.address}:${port}` !== endpoint) continue;
        lb.loadBalancingWeight = weight;
        matched++;
      }
    }
    return matched;
  }
}
