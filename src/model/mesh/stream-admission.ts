/**
 * The admission of a new xDS stream: decided from the proxy's identity, the gRPC call metadata and
 * the transport by the admission policies (security/, lifecycle/), applied by the ADS server
 * (xds/server/ads-stream.ts). Here, below both, so that neither imports the other.
 */
import type { ProxyIdentity } from './proxy-identity.js';

/**
 * Admission of a new stream, from its proxy identity, gRPC call metadata and transport. An admitted
 * stream may carry the identity its credential proved (a SPIFFE id), recorded in its StreamInfo.
 */
export type Admission = { readonly ok: true; readonly identity?: string } | { readonly ok: false; readonly code: number; readonly message: string };
export type AdmitFn = (proxy: ProxyIdentity, callMetadata: Readonly<Record<string, string>>, transport: StreamTransport) => Admission;

/** How a stream reached the server: the plaintext port, or TLS with the client certificate presented (DER), if any. */
export interface StreamTransport {
  readonly secure: boolean;
  readonly certificate?: Buffer | undefined;
}
