/**
 * S5's floor: the least an xDS server must do to push an endpoint change. A bare ADS server (same
 * @grpc/grpc-js server and protobuf-es codecs as meshbridge, in its own process) that holds one
 * ClusterLoadAssignment; on `push` it changes one endpoint's weight, encodes the resource once
 * (anyPack) and writes a DiscoveryResponse to every subscribed stream. Requests are decoded (ACKs
 * are part of the cost) but only the first request of a stream is answered. No generation, no
 * diffing, no bookkeeping beyond the list of streams.
 */
import { create, fromBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DiscoveryResponseSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { now } from '../lib/time.js';

export type ToFloor = { op: 'listen'; cla: string } | { op: 'push'; endpoint: string; weight: number } | { op: 'stop' };
export type FromFloor =
  | { op: 'listening'; address: string }
  | { op: 'pushed'; encodeMs: number; writeMs: number; streams: number; startedAt: number };

const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const streams = new Set<ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>>();
let cla: ClusterLoadAssignment | undefined;
let any = anyPack(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema));
let version = 0;
let nonce = 0;
let server: Server | undefined;

function respond(call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
  call.write(create(DiscoveryResponseSchema, { versionInfo: String(version), typeUrl: EDS, nonce: String(++nonce), resources: [any] }));
}

function send(m: FromFloor): void {
  process.send?.(m);
}

process.on('message', (m: ToFloor) => {
  switch (m.op) {
    case 'listen': {
      cla = fromBinary(ClusterLoadAssignmentSchema, Buffer.from(m.cla, 'base64'));
      any = anyPack(ClusterLoadAssignmentSchema, cla);
      server = new Server();
      server.addService(adsServiceDefinition, {
        StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
          let first = true;
          call.on('data', (req: DiscoveryRequest) => {
            if (!first || req.typeUrl !== EDS) return;
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
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
        if (err) throw err;
        send({ op: 'listening', address: `127.0.0.1:${port}` });
      });
      break;
    }
    case 'push': {
      if (cla === undefined) return;
      const startedAt = now();
      for (const locality of cla.endpoints) {
        for (const lb of locality.lbEndpoints) {
          const h = lb.hostIdentifier;
          const sa = h.case === 'endpoint' ? h.value.address?.address : undefined;
          if (sa?.case === 'socketAddress' && `${sa.value.address}:${sa.value.portSpecifier.case === 'portValue' ? sa.value.portSpecifier.value : 0}` === m.endpoint) {
            lb.loadBalancingWeight = m.weight;
          }
        }
      }
      any = anyPack(ClusterLoadAssignmentSchema, cla);
      version++;
      const encodedAt = now();
      for (const call of streams) respond(call);
      const writtenAt = now();
      send({ op: 'pushed', encodeMs: encodedAt - startedAt, writeMs: writtenAt - encodedAt, streams: streams.size, startedAt });
      break;
    }
    case 'stop':
      server?.forceShutdown();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(0), 30 * 60_000).unref();
