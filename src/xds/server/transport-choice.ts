/**
 * Which implementation serves the xDS port's gRPC calls (`serve --xds-transport`): `http2`, gRPC
 * over `node:http2` directly (grpc-http2.ts; the default), or `grpc-js` (@grpc/grpc-js's server).
 * Both serve the same services with the same behaviour. http2 is the default since issue 15
 * (session 11): at 2,000 Envoy sidecars (bench S6) it about halves the control plane's CPU per
 * change and, writing shared responses in parts, its CPU to connect them; its memory matches
 * grpc-js's once V8's heap growth is bounded (`serve --heap-growth`, heap-growth.ts).
 */
export const XDS_TRANSPORTS = ['http2', 'grpc-js'] as const;
export type XdsTransport = (typeof XDS_TRANSPORTS)[number];
export const DEFAULT_XDS_TRANSPORT: XdsTransport = 'http2';

/** `value` as a transport name, or undefined when it names none. */
export function parseXdsTransport(value: string): XdsTransport | undefined {
  return XDS_TRANSPORTS.find((t) => t === value);
}
