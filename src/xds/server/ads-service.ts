import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { decodeDeltaRequest, NameListMemo } from '../protocol/request-decoding.js';
import { encodeDeltaResponse, encodeSotwResponse } from '../protocol/shared-encoding.js';

/**
 * `envoy.service.discovery.v3.AggregatedDiscoveryService`, written by hand for @grpc/grpc-js with
 * protobuf-es codecs (grpc-xds-notes §8: no proto-loader/protobufjs reflection on the server).
 * Usable for servers and for raw test clients (`makeGenericClientConstructor`).
 */
export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

function bidi<Req extends DescMessage, Res extends DescMessage>(
  method: string,
  req: Req,
  res: Res,
  serializeResponse: (m: MessageShape<Res>) => Buffer = (m) => Buffer.from(toBinary(res, m)),
  deserializeRequest: (b: Buffer) => MessageShape<Req> = (b) => fromBinary(req, b),
): MethodDefinition<MessageShape<Req>, MessageShape<Res>> {
  return {
    path: `/${ADS_SERVICE_NAME}/${method}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (m) => Buffer.from(toBinary(req, m)),
    requestDeserialize: deserializeRequest,
    responseSerialize: serializeResponse,
    responseDeserialize: (b) => fromBinary(res, b),
    originalName: method.charAt(0).toLowerCase() + method.slice(1),
  };
}

export interface AdsServiceDefinition extends ServiceDefinition {
  readonly StreamAggregatedResources: MethodDefinition<DiscoveryRequest, DiscoveryResponse>;
  readonly DeltaAggregatedResources: MethodDefinition<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
}

/** The SotW name lists repeated by ACKs, decoded once per process (request-decoding.ts; bounded). */
const sotwNameLists = new NameListMemo();

export const adsServiceDefinition: AdsServiceDefinition = {
  // Responses whose resource list streams share are encoded once (shared-encoding.ts); requests
  // repeating a recent list of names reuse its decoded list, and ACKs are read without reflection
  // (request-decoding.ts).
  StreamAggregatedResources: bidi('StreamAggregatedResources', DiscoveryRequestSchema, DiscoveryResponseSchema, encodeSotwResponse, (b) => sotwNameLists.decode(b)),
  DeltaAggregatedResources: bidi('DeltaAggregatedResources', DeltaDiscoveryRequestSchema, DeltaDiscoveryResponseSchema, encodeDeltaResponse, decodeDeltaRequest),
};
