/**
 * Which implementation serves the xDS port's gRPC calls (`serve --xds-transport`): `http2`, gRPC
 * over `node:http2` directly (grpc-http2.ts), or `grpc-js` (@grpc/grpc-js's server; the default).
 * Both serve the same services with the same behaviour. grpc-js stays the default until the native
 * transport's memory matches it: at 2,000 Envoy sidecars (bench S6) http2 halves the CPU per change
 * but V8 collects its garbage late and peak RSS rose from ~545 to 670 MiB (docs/benchmarks.md,
 * issue 15 session 10).
 */
export const XDS_TRANSPORTS = ['http2', 'grpc-js'] as const;
export type XdsTransport = (typeof XDS_TRANSPORTS)[number];
export const DEFAULT_XDS_TRANSPORT: XdsTransport = 'grpc-js';

/** `value` as a transport name, or undefined when it names none. */
export function parseXdsTransport(value: string): XdsTransport | undefined {
  return XDS_TRANSPORTS.find((t) => t === value);
}
