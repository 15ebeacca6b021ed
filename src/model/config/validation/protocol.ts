/**
 * Istio port protocols (`pkg/config/protocol/instance.go`, V-SUB-3). Parsing is case-insensitive
 * and yields the canonical spelling; HBONE and DoubleHBONE are deliberately not accepted (V-SUB-3).
 */

export const PROTOCOLS = [
  'TCP',
  'UDP',
  'GRPC',
  'GRPC-Web',
  'HTTP',
  'HTTP_PROXY',
  'HTTP2',
  'HTTPS',
  'TLS',
  'Mongo',
  'Redis',
  'MySQL',
] as const;

export type Protocol = (typeof PROTOCOLS)[number];

const BY_LOWER_CASE: ReadonlyMap<string, Protocol> = new Map(PROTOCOLS.map((p) => [p.toLowerCase(), p]));

/** The canonical Istio protocol name for `text` (any case), or undefined if Istio does not support it. */
export function parseProtocol(text: string): Protocol | undefined {
  return BY_LOWER_CASE.get(text.toLowerCase());
}

/** HTTP family: HTTP, HTTP2, HTTP_PROXY, GRPC, GRPC-Web (Istio `IsHTTP`). */
export function isHTTPProtocol(p: Protocol | undefined): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'HTTP_PROXY' || p === 'GRPC' || p === 'GRPC-Web';
}

/** TLS family: HTTPS, TLS (Istio `IsTLS`). */
export function isTLSProtocol(p: Protocol | undefined): boolean {
  return p === 'HTTPS' || p === 'TLS';
}

/** TCP-carried protocols that cannot be told apart by host: TCP, HTTPS, TLS, Mongo, Redis, MySQL (Istio `IsTCP`). */
export function isTCPProtocol(p: Protocol | undefined): boolean {
  return p === 'TCP' || p === 'HTTPS' || p === 'TLS' || p === 'Mongo' || p === 'Redis' || p === 'MySQL';
}
