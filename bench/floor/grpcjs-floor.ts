/**
 * S5's first floor: a bare ADS server on meshbridge's own stack (@grpc/grpc-js server, protobuf-es
 * codecs). A push packs the resource once (anyPack); grpc-js serialises the DiscoveryResponse per
 * stream (its nonce differs) and writes it. Requests are decoded; a stream's first EDS request
 * subscribes it and is answered, later ones (ACKs) are read and dropped.
 */
import { create } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DiscoveryResponseSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { EDS_TYPE, type FloorTransport } from './floor-cla.js';

type Call = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export function grpcJsFloor(initial: ClusterLoadAssignment): FloorTransport {
  const streams = new Set<Call>();
  const server = new Server();
  let any: Any = anyPack(ClusterLoadAssignmentSchema, initial);
  let version = '0';
  let nonce = 0;
  const respond = (call: Call): void => {
    call.write(create(DiscoveryResponseSchema, { versionInfo: version, typeUrl: EDS_TYPE, nonce: String(++nonce), resources: [any] }));
  };
  server.addService(adsServiceDefinition, {
    StreamAggregatedResources: (call: Call) => {
      let first = true;
      call.on('data', (req: DiscoveryRequest) => {
        if (!first || req.typeUrl !== EDS_TYPE) return;
        first = false;
        streams.add(call);
        respond(call);
      });
      const drop = (): void => void streams.delete(call);
      call.on('end', drop);
      call.on('error', drop);
      call.on('close', drop);
    },
    DeltaAggregatedResources: (call: ServerDuplexStream<unknown, unknown>) => call.end(),
  });
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(`127.0.0.1:${port}`)));
      }),
    encode(cla, v) {
      any = anyPack(ClusterLoadAssignmentSchema, cla);
      version = v;
    },
    writeAll() {
      for (const call of streams) respond(call);
      return streams.size;
    },
    close: () => server.forceShutdown(),
  };
}
