import type { ViewKey } from '../cache/resource-cache.js';
import type { ErrorDetail, RequestKind, TypeStatus } from '../protocol/common.js';
import type { LimitExceeded } from './limits.js';
import type { ProxyIdentity } from '../../model/mesh/proxy-identity.js';

export type AdsProtocol = 'sotw' | 'delta';

/** One ADS stream of one proxy. */
export interface StreamInfo {
  /** Unique within this server process. */
  readonly streamId: string;
  readonly protocol: AdsProtocol;
  readonly proxy: ProxyIdentity;
  readonly view: ViewKey;
  /** Remote address as gRPC reports it. */
  readonly peer: string;
  /** The identity the stream's credential proved on the secure port (a SPIFFE id), if any. */
  readonly identity?: string;
  /** Milliseconds since the epoch. */
  readonly connectedAt: number;
}

interface StreamEventBase {
  readonly streamId: string;
  readonly proxyId: string;
}

/**
 * What happens on ADS streams, in order per stream (go-control-plane `Callbacks`, STYLE principle 10).
 * A status module folds these into per proxy and type SENT / ACKED / NACKED. Listeners are called
 * synchronously and must not throw (a throwing listener is isolated and ignored).
 */
export type XdsEvent =
  | { readonly event: 'connect'; readonly stream: StreamInfo }
  | (StreamEventBase & {
      readonly event: 'request';
      /** The stream's info (its view and protocol: a delta request carries subscription changes). */
      readonly stream: StreamInfo;
      readonly typeUrl: string;
      readonly kind: RequestKind;
      /** SotW: the request's resource names; delta: the names subscribed by this request. */
      readonly names: readonly string[];
      /** Delta only: names unsubscribed by this request. */
      readonly unsubscribed: readonly string[];
      /** After this request the stream subscribes to "*" (explicitly or as the legacy wildcard). */
      readonly wildcard: boolean;
      readonly versionInfo: string;
      readonly nonce: string;
    })
  | (StreamEventBase & {
      readonly event: 'response';
      readonly typeUrl: string;
      readonly version: string;
      readonly nonce: string;
      readonly resources: readonly string[];
      /** Delta only. */
      readonly removed: readonly string[];
      readonly bytes: number;
    })
  | (StreamEventBase & { readonly event: 'ack'; readonly typeUrl: string; readonly version: string; readonly nonce: string })
  | (StreamEventBase & {
      readonly event: 'nack';
      readonly typeUrl: string;
      readonly version: string;
      readonly nonce: string;
      readonly error: ErrorDetail;
    })
  /** Something was not sent or not understood (a response over the size limit, an unknown type URL). */
  | (StreamEventBase & { readonly event: 'problem'; readonly typeUrl: string; readonly message: string })
  /** `stream`: the info its 'connect' event carried (its view, protocol and proxy). */
  | (StreamEventBase & { readonly event: 'disconnect'; readonly stream: StreamInfo; readonly reason: string })
  /** A health report (H-5) from an agent on its stream. */
  | (StreamEventBase & { readonly event: 'health'; readonly healthy: boolean; readonly message: string })
  /** A stream refused at admission (before `connect`). */
  | (StreamEventBase & { readonly event: 'refused'; readonly code: number; readonly message: string })
  /** A limit of limits.ts was hit; the stream is refused (a 'refused' or 'disconnect' event follows). */
  | (StreamEventBase & { readonly event: 'limit'; readonly exceeded: LimitExceeded });

export type XdsEventListener = (event: XdsEvent) => void;

/** A stream and its per-type protocol state, for status pages. */
export interface StreamStatus {
  readonly stream: StreamInfo;
  readonly types: readonly TypeStatus[];
}
