/**
 * Which implementation serves the xDS port's gRPC calls (`serve --xds-transport`): `http2`, gRPC
 * over `node:http2` directly (grpc-http2.ts; the default), or `grpc-js` (@grpc/grpc-js's server).
 * Both serve the same services with the same behaviour. http2 is the default since issue 15
 * (session 11): at 2,000 Envoy sidecars (bench S6), writing shared responses in parts, it cut the
 * control plane's CPU to connect them by a third and its CPU per change by a quarter (about half
 * without the heap bound), and with V8's heap growth bounded (`serve --heap-growth`,
 * heap-growth.ts) its peak RSS is below grpc-js's (477 against 555 MiB).
 */
export const XDS_TRANSPORTS = ['http2', 'grpc-js'] as const;
export type XdsTransport = (typeof XDS_TRANSPORTS)[number];
export const DEFAULT_XDS_TRANSPORT: XdsTransport = 'http2';

/** `value` as a transport name, or undefined when it names none. */
export function parseXdsTransport(value: string): XdsTransport | undefined {
  return XDS_TRANSPORTS.find((t) => t === value);
}
