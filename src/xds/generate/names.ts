/**
 * Names shared by the generator, the agent and the proxyless bootstraps (issue 7 interfaces; follow
 * them exactly: another component writes the bootstraps that refer to them).
 */

/**
 * The bootstrap `server_listener_resource_name_template` of xDS-enabled gRPC servers (Istio's): an
 * `XdsServer` bound to `127.0.0.5:8080` asks LDS for `xds.istio.io/grpc/lds/inbound/127.0.0.5:8080`.
 */
export const INBOUND_LISTENER_TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';
export const INBOUND_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** The Listener name an xDS-enabled gRPC server bound to `ip:port` subscribes to (IPv6 in brackets). */
export function inboundListenerName(ip: string, port: number): string {
  return `${INBOUND_LISTENER_PREFIX}${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/**
 * The one certificate-provider instance of a proxyless bootstrap (`certificate_providers.default`,
 * plugin `file_watcher` on DIR/certs/{cert-chain.pem,key.pem,root-cert.pem}). Generated TLS contexts
 * name it for both the identity and the roots.
 */
export const CERTIFICATE_PROVIDER_INSTANCE = 'default';
/** Istio grpcgen's certificate names (grpc-js-xds ignores certificate_name). */
export const CERTIFICATE_NAME_IDENTITY = 'default';
export const CERTIFICATE_NAME_ROOT = 'ROOTCA';

/** Node metadata key of the certificate-provider instances a node advertises (model/mesh/proxy-identity.ts). */
export { CERTIFICATE_PROVIDERS_METADATA } from '../../model/mesh/proxy-identity.js';

/**
 * `metadata.filter_metadata` key of every generated server-side inbound Listener; its Struct is
 * `{ mtlsMode: "STRICT" | "PERMISSIVE" | "DISABLE" }`, the effective PeerAuthentication mode of that
 * workload port (whatever the filter chains say: PERMISSIVE is served as plaintext to gRPC servers).
 */
export const MESHBRIDGE_METADATA_KEY = 'meshbridge.io';

/** `{ip, port}` of an inbound listener name, or undefined when the name is not one. */
export function parseInboundListenerName(name: string): { readonly ip: string; readonly port: number } | undefined {
  if (!name.startsWith(INBOUND_LISTENER_PREFIX)) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(name.slice(INBOUND_LISTENER_PREFIX.length));
  const ip = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  return ip !== undefined && port > 0 && port <= 65535 ? { ip, port } : undefined;
}
