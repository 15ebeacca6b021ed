/**
 * Which implementation serves the xDS port's gRPC calls (`serve --xds-transport`): `http2`, gRPC
 * over `node:http2` directly (grpc-http2.ts; the default), or `grpc-js` (@grpc/grpc-js's server).
 * Both serve the same services with the same behaviour; they differ in CPU per message written.
 */
export const XDS_TRANSPORTS = ['http2', 'grpc-js'] as const;
export type XdsTransport = (typeof XDS_TRANSPORTS)[number];
export const DEFAULT_XDS_TRANSPORT: XdsTransport = 'http2';

/** `value` as a transport name, or undefined when it names none. */
export function parseXdsTransport(value: string): XdsTransport | undefined {
  return XDS_TRANSPORTS.find((t) => t === value);
}
