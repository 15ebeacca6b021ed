/**
 * Per proxy and xDS type: is the proxy up to date? (`istioctl proxy-status` semantics)
 * - NOT SENT: nothing of this type was sent on the stream;
 * - NACKED: the proxy's last answer for this type was a NACK;
 * - SYNCED: the proxy ACKed the latest version of its view;
 * - STALE: a newer version exists (sent or not) that the proxy has not ACKed yet.
 */
import type { TypeStatus } from '../xds/protocol/common.js';
import type { StreamStatus } from '../xds/server/events.js';
import type { ProxyIdentity } from '../model/mesh/proxy-identity.js';
import { RESOURCE_TYPES } from '../xds/types/resource-types.js';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

/** Type URL → short name (CDS, EDS, LDS, RDS, SDS), from the resource types served. */
export const TYPE_SHORT_NAMES: Readonly<Record<string, string>> = Object.fromEntries(RESOURCE_TYPES.map((t) => [t.typeUrl, t.shortName]));

export interface TypeSync {
  readonly type: string;
  readonly typeUrl: string;
  readonly state: SyncState;
  readonly sent?: string;
  readonly acked?: string;
  readonly current?: string;
  readonly nack?: { readonly version: string; readonly error: string };
  readonly resources: number;
}

export interface ProxySync {
  /** The node id. */
  readonly proxy: string;
  /** Istio's proxy name `<workload>.<namespace>` (istioctl's NAME), else the node id. */
  readonly name: string;
  readonly kind: string;
  readonly namespace: string;
  /** The proxy's cluster: metadata CLUSTER_ID, else the mesh's cluster id. */
  readonly cluster: string;
  /** Metadata ISTIO_VERSION, else the xDS client's user agent version; '' when unknown. */
  readonly version: string;
  readonly view: string;
  readonly stream: string;
  readonly protocol: string;
  readonly peer: string;
  /** The SPIFFE identity the stream authenticated with on the secure port (absent on the plaintext port). */
  readonly identity?: string;
  readonly connectedAt: string;
  readonly instance: string;
  readonly types: readonly TypeSync[];
}

export function syncStatus(
  streams: readonly StreamStatus[],
  currentVersion: (view: string, typeUrl: string) => string | undefined,
  instance: string,
  defaults: { readonly clusterId?: string } = {},
): ProxySync[] {
  return streams.map((s) => ({
    proxy: s.stream.proxy.id,
    name: proxyName(s.stream.proxy),
    kind: s.stream.proxy.kind,
    namespace: s.stream.proxy.namespace ?? '',
    cluster: s.stream.proxy.clusterId ?? defaults.clusterId ?? '',
    version: proxyVersion(s.stream.proxy),
    view: s.stream.view,
    stream: s.stream.streamId,
    protocol: s.stream.protocol,
    peer: s.stream.peer,
    ...(s.stream.identity !== undefined ? { identity: s.stream.identity } : {}),
    connectedAt: new Date(s.stream.connectedAt).toISOString(),
    instance,
    types: s.types.map((t): TypeSync => {
      const current = currentVersion(s.stream.view, t.typeUrl);
      const state = syncState(t, current);
      return {
        type: TYPE_SHORT_NAMES[t.typeUrl] ?? t.typeUrl,
        typeUrl: t.typeUrl,
        state,
        ...(t.sent ? { sent: t.sent.version } : {}),
        ...(t.acked ? { acked: t.acked.version } : {}),
        ...(current !== undefined ? { current } : {}),
        ...(t.nacked && t.lastAnswer === 'nack' ? { nack: { version: t.nacked.version, error: t.nacked.error.message } } : {}),
        resources: t.names.length,
      };
    }),
  }));
}

/** One type's state on a stream, against `current`, the view's current version of the type (the rules at the top). */
export function syncState(t: TypeStatus, current: string | undefined): SyncState {
  if (t.lastAnswer === 'nack') return 'NACKED';
  if (!t.sent) return 'NOT SENT';
  if (t.acked && t.acked.version === t.sent.version && (current === undefined || t.seenVersion === current)) return 'SYNCED';
  return 'STALE';
}

/** istioctl's proxy name: `<workload>.<namespace>` from an Istio-style node id, else the id. */
export function proxyName(p: ProxyIdentity): string {
  return p.nodeType !== undefined && p.workloadName !== undefined && p.namespace !== undefined ? `${p.workloadName}.${p.namespace}` : p.id;
}

export function proxyVersion(p: ProxyIdentity): string {
  const istio = p.metadata['ISTIO_VERSION'];
  if (typeof istio === 'string' && istio !== '') return istio;
  const ua = p.userAgent ?? '';
  return ua.includes('/') ? ua.slice(ua.lastIndexOf('/') + 1) : ua;
}
