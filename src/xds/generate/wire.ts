/**
 * Wire helpers shared by the Envoy and the proxyless-gRPC generators: Envoy's well-known filter and
 * transport-socket names, `{name, typed_config}` packing, socket addresses and port-protocol
 * predicates. A leaf: it imports nothing from the rest of xds/generate, so every generator module
 * may import it without forming a cycle.
 */
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import type { AddressSchema } from '../../gen/envoy/config/core/v3/address_pb.js';
import type { TransportSocketSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import { RawBufferSchema } from '../../gen/envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer_pb.js';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export const FAULT_FILTER = 'envoy.filters.http.fault';
export const ORIGINAL_DST_FILTER = 'envoy.filters.listener.original_dst';
export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const RAW_BUFFER_TRANSPORT_SOCKET = 'envoy.transport_sockets.raw_buffer';
export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** The plain-object form of a message init (spreadable, unlike the message form). */
export type InitOf<D extends DescMessage> = Exclude<MessageInitShape<D>, MessageShape<D>>;

/** `{name, typed_config}` of a filter, listener filter or transport socket. */
export function typed<D extends DescMessage>(name: string, schema: D, message?: MessageInitShape<D>) {
  return { name, configType: { case: 'typedConfig' as const, value: anyPack<D>(schema, create(schema, message)) } };
}

export function socketAddress(address: string, port: number): MessageInitShape<typeof AddressSchema> {
  return { address: { case: 'socketAddress', value: { address, portSpecifier: { case: 'portValue', value: port } } } };
}

export function rawBufferSocket(): MessageInitShape<typeof TransportSocketSchema> {
  return typed(RAW_BUFFER_TRANSPORT_SOCKET, RawBufferSchema);
}

/** Ports served by an HTTP connection manager: HTTP, HTTP2, GRPC, GRPC-Web, and unset (treated as HTTP). */
export function isHttpPort(protocol: string): boolean {
  // Simplification: Istio sniffs the protocol of ports without one (http_inspector + a TCP
  // fallback chain); meshbridge treats them as HTTP. HTTP_PROXY (egress proxy) is not HTTP here.
  return protocol === '' || protocol === 'HTTP' || protocol === 'HTTP2' || protocol === 'GRPC' || protocol === 'GRPC-Web';
}

/** Ports whose upstream connections are HTTP/2 (Istio isHttp2Cluster). */
export function isHttp2Port(protocol: string): boolean {
  return protocol === 'HTTP2' || protocol === 'GRPC' || protocol === 'GRPC-Web';
}
