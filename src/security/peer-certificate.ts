/**
 * The client certificate a caller presented on a TLS connection, for peer-identity.ts to judge.
 * grpc-js's `getAuthContext()` reports only certificates the TLS layer verified; the secure xDS port
 * accepts unverifiable ones at the TLS layer (`rejectUnauthorized: false`) so that a forged or expired
 * certificate is refused with a reason the caller can read (UNAUTHENTICATED + message) instead of a
 * bare handshake failure. Those are read from the connection's TLS socket, reached through grpc-js
 * 1.14's call internals (`call.call[.nextCall...].stream.session.socket`); when that path is not
 * there, the caller counts as having presented no certificate (and needs a token: refused, not let in).
 */
import { TLSSocket } from 'node:tls';

/** What is read of a grpc-js server call (ServerUnaryCall, ServerDuplexStream...). */
export interface CallWithAuthContext {
  getAuthContext(): { readonly transportSecurityType?: string | undefined; readonly sslPeerCertificate?: { readonly raw?: Buffer } | undefined } | null;
}

/** DER of the presented client certificate, verified by TLS or not; undefined when none. */
export function presentedCertificate(call: CallWithAuthContext): Buffer | undefined {
  const verified = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (verified !== undefined && verified.length > 0) return verified;
  const raw = tlsSocketOf(call)?.getPeerCertificate().raw as Buffer | undefined;
  return raw !== undefined && raw.length > 0 ? raw : undefined;
}

/** Whether the call came over TLS. */
export function isTlsCall(call: CallWithAuthContext): boolean {
  return call.getAuthContext()?.transportSecurityType === 'ssl' || tlsSocketOf(call) !== undefined;
}

function tlsSocketOf(call: unknown): TLSSocket | undefined {
  let inner: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 16 && typeof inner === 'object' && inner !== null; depth++) {
    const stream = (inner as { stream?: { session?: { socket?: unknown } } }).stream;
    if (stream !== undefined) {
      const socket = stream.session?.socket;
      return socket instanceof TLSSocket ? socket : undefined;
    }
    inner = (inner as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}
