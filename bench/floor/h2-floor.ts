/**
 * S5's second floor (issue 15, "the real floor"): a bare ADS server on `node:http2` directly, no
 * gRPC library. A gRPC bidi stream is an HTTP/2 stream with `content-type: application/grpc`,
 * length-prefixed messages both ways and `grpc-status` in the trailers. A push encodes the
 * DiscoveryResponse once without its nonce; each stream gets that body plus its nonce field in one
 * pre-framed buffer (grpc-frame.ts), one connection per stream (each simulated proxy dials its own).
 * Requests are framed and decoded like the grpc-js floor's; a stream's first EDS request subscribes it.
 */
import { createServer, constants, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { EDS_TYPE, SOTW_ADS_PATH, type FloorTransport } from './floor-cla.js';
import { framedResponse, MessageReader } from './grpc-frame.js';

const GRPC_UNIMPLEMENTED = '12';
const GRPC_INTERNAL = '13';

/** The encoded DiscoveryResponse without its nonce (grpc-frame.ts appends it per stream). */
export function responseBody(cla: ClusterLoadAssignment, version: string): Uint8Array {
  return toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { versionInfo: version, typeUrl: EDS_TYPE, resources: [anyPack(ClusterLoadAssignmentSchema, cla)] }));
}

export function h2Floor(initial: ClusterLoadAssignment): FloorTransport & { readonly server: Http2Server } {
  const streams = new Set<ServerHttp2Stream>();
  let body = responseBody(initial, '0');
  let nonce = 0;
  const respond = (stream: ServerHttp2Stream): void => void stream.write(framedResponse(body, String(++nonce)));
  const server = createServer();
  server.on('stream', (stream, headers) => {
    if (headers[constants.HTTP2_HEADER_PATH] !== SOTW_ADS_PATH) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_UNIMPLEMENTED, 'grpc-message': 'the floor serves state-of-the-world ADS only' }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    let trailers: Record<string, string> = { 'grpc-status': '0' };
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    const reader = new MessageReader();
    let first = true;
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const message of reader.push(chunk)) {
          const req = fromBinary(DiscoveryRequestSchema, message);
          if (!first || req.typeUrl !== EDS_TYPE) continue;
          first = false;
          streams.add(stream);
          respond(stream);
        }
      } catch (e) {
        streams.delete(stream);
        trailers = { 'grpc-status': GRPC_INTERNAL, 'grpc-message': e instanceof Error ? e.message : String(e) };
        stream.end();
      }
    });
    const drop = (): void => void streams.delete(stream);
    stream.on('end', () => {
      drop();
      if (!stream.closed) stream.end();
    });
    stream.on('error', drop);
    stream.on('close', drop);
  });
  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
      }),
    encode(cla, version) {
      body = responseBody(cla, version);
    },
    writeAll() {
      for (const stream of streams) respond(stream);
      return streams.size;
    },
    close() {
      for (const stream of streams) stream.close();
      server.close();
    },
  };
}
