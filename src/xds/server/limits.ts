/**
 * Issue 11 item 5: bounds on what one client can make the xDS server hold or compute. Each is a
 * `serve` flag; a request or stream over a limit is refused with RESOURCE_EXHAUSTED naming the limit
 * and its value, counted in `meshbridge_xds_limit_exceeded_total{limit}` and logged (the stream ends,
 * so once per stream). Pure: no I/O.
 */
import { INBOUND_LISTENER_PREFIX } from '../generate/names.js';

export interface XdsLimits {
  /** Size of the Node of a stream's first request (id, metadata, locality...), encoded. */
  readonly maxNodeBytes: number;
  /** Resource names in one request (SotW: the subscription; delta: subscribed plus unsubscribed). */
  readonly maxResourceNames: number;
  /** Inbound listener names (`xds.istio.io/grpc/lds/inbound/...`) one stream subscribes to. */
  readonly maxInboundListeners: number;
  /** Streams connected with one proven identity (a SPIFFE id, or a namespace's registration token). */
  readonly maxStreamsPerIdentity: number;
  /** Streams connected in all. */
  readonly maxStreams: number;
}

export type LimitName = 'node_metadata_bytes' | 'resource_names' | 'inbound_listeners' | 'streams_per_identity' | 'streams';

/**
 * Defaults: an Istio proxy's node is a few KB; bench S3's sidecars ask EDS for 30,000 clusters; an
 * xDS-enabled gRPC server asks for one inbound listener per port it serves.
 */
export const DEFAULT_XDS_LIMITS: XdsLimits = {
  maxNodeBytes: 128 * 1024,
  maxResourceNames: 100_000,
  maxInboundListeners: 100,
  maxStreamsPerIdentity: 1_000,
  maxStreams: 20_000,
};

/** The `serve` flag of each limit (refusals name it). */
export const LIMIT_FLAGS: Readonly<Record<LimitName, string>> = {
  node_metadata_bytes: '--max-node-bytes',
  resource_names: '--max-resource-names',
  inbound_listeners: '--max-inbound-listeners',
  streams_per_identity: '--max-streams-per-identity',
  streams: '--max-streams',
};

const DESCRIPTIONS: Readonly<Record<LimitName, string>> = {
  node_metadata_bytes: 'the node (id and metadata) is {observed} bytes',
  resource_names: 'the request names {observed} resources',
  inbound_listeners: 'the stream subscribes to {observed} inbound listeners',
  streams_per_identity: 'this would be stream {observed} of identity {who}',
  streams: 'this would be stream {observed} of the server',
};

export const RESOURCE_EXHAUSTED = 8;

export interface LimitExceeded {
  readonly limit: LimitName;
  /** The limit's value. */
  readonly value: number;
  /** What the client asked for (the streams limits: the count with this stream). */
  readonly observed: number;
  /** The gRPC status message the client receives. */
  readonly message: string;
}

/** The refusal for `limit` (value `value`) when a client reaches `observed`. */
export function limitExceeded(limit: LimitName, value: number, observed: number, who = ''): LimitExceeded {
  const what = DESCRIPTIONS[limit].replace('{observed}', String(observed)).replace('{who}', who);
  return { limit, value, observed, message: `${what}: over the limit ${limit}=${value} (serve ${LIMIT_FLAGS[limit]})` };
}

/** How many of `names` are inbound listener names. */
export function countInboundListenerNames(names: readonly string[]): number {
  let n = 0;
  for (const name of names) if (name.startsWith(INBOUND_LISTENER_PREFIX)) n++;
  return n;
}
