/**
 * `GET /api/v1/proxies` (view 5, docs/api.md): every connected xDS stream with per-type
 * SYNCED / STALE / NACKED / NOT SENT (the rules of /debug/syncz: status/sync-status.ts), the last
 * NACK, counters, and whether what it has may be stale (a type not synced, or a source of the
 * control plane disconnected or not fully read). Pure function of its inputs.
 */
import type { FeedStatus } from '../../status/feed-status.js';
import type { ProxyActivity } from '../../status/proxy-activity.js';
import { sumCounters } from '../../status/proxy-activity.js';
import { proxyName, proxyVersion, syncState, TYPE_SHORT_NAMES } from '../../status/sync-status.js';
import type { ProxyIdentity } from '../../model/mesh/proxy-identity.js';
import type { StreamStatus } from '../../xds/server/events.js';
import type { InformerState } from '../../sources/kube/informer.js';
import type { ProxiesResponse, ProxyClientKind, ProxyTypeSync, ProxyView } from './types.js';

export interface ProxiesInputs {
  readonly instance: string;
  readonly streams: readonly StreamStatus[];
  readonly currentVersion: (view: string, typeUrl: string) => string | undefined;
  readonly activity: ProxyActivity;
  /** The mesh's cluster id (a proxy without CLUSTER_ID is in it). */
  readonly clusterId: string;
  /** Why every fact shown may be stale (sourceStaleness), [] when none. */
  readonly staleSources: readonly string[];
}

/** Why the control plane's own view may be stale: its store disconnected, Kubernetes informers not synced or failing. */
export function sourceStaleness(feed: FeedStatus, informers: readonly InformerState[] | undefined): string[] {
  const out: string[] = [];
  if (!feed.connected) out.push(`the store ${feed.store} is disconnected since ${feed.since}${feed.message !== '' ? `: ${feed.message}` : ''}`);
  for (const i of informers ?? []) {
    if (!i.synced) out.push(`Kubernetes ${i.name} not fully read yet${i.lastError !== '' ? `: ${i.lastError}` : ''}`);
  }
  return out;
}

export function clientKind(p: ProxyIdentity): ProxyClientKind {
  if ((p.userAgent ?? '').startsWith('meshbridge-agent')) return 'agent';
  if (p.kind === 'grpc') return 'gRPC';
  if (p.kind === 'envoy') return 'Envoy';
  return 'unknown';
}

function localityText(p: ProxyIdentity): string {
  return [p.locality.region, p.locality.zone, p.locality.subZone].join('/').replace(/\/+$/, '');
}

export function proxyView(s: StreamStatus, i: ProxiesInputs): ProxyView {
  const p = s.stream.proxy;
  const streamId = s.stream.streamId;
  const types = s.types.map((t): ProxyTypeSync => {
    const current = i.currentVersion(s.stream.view, t.typeUrl);
    const nack = i.activity.lastNack(streamId, t.typeUrl) ?? (t.nacked ? { version: t.nacked.version, nonce: t.nacked.nonce, message: t.nacked.error.message, at: null } : undefined);
    return {
      type: TYPE_SHORT_NAMES[t.typeUrl] ?? t.typeUrl,
      typeUrl: t.typeUrl,
      state: syncState(t, current),
      sent: t.sent ? { version: t.sent.version, nonce: t.sent.nonce } : null,
      acked: t.acked ? { version: t.acked.version, nonce: t.acked.nonce } : null,
      current: current ?? null,
      lastNack: nack ?? null,
      resources: t.names.length,
      counters: i.activity.counters(streamId, t.typeUrl),
    };
  });
  const reasons = [...i.staleSources];
  for (const t of types) {
    if (t.state === 'NACKED') reasons.push(`${t.type} was rejected (NACK): ${t.lastNack?.message ?? ''}`);
    else if (t.state === 'STALE') reasons.push(`${t.type} version ${t.current ?? t.sent?.version ?? ''} not ACKed yet`);
  }
  return {
    id: p.id,
    name: proxyName(p),
    clientKind: clientKind(p),
    kind: p.kind,
    namespace: p.namespace ?? '',
    cluster: p.clusterId ?? i.clusterId,
    network: p.network ?? '',
    locality: localityText(p),
    ip: p.ip ?? p.ips[0] ?? '',
    ips: [...p.ips],
    version: proxyVersion(p),
    view: s.stream.view,
    stream: streamId,
    protocol: s.stream.protocol,
    peer: s.stream.peer,
    identity: s.stream.identity ?? null,
    connectedAt: new Date(s.stream.connectedAt).toISOString(),
    instance: i.instance,
    types,
    counters: sumCounters(types.map((t) => t.counters)),
    lastPushAt: i.activity.lastPushAt(streamId),
    mayBeStale: reasons.length > 0,
    staleReasons: reasons,
  };
}

export function proxiesView(i: ProxiesInputs): ProxiesResponse {
  const proxies = i.streams.map((s) => proxyView(s, i)).sort((a, b) => a.name.localeCompare(b.name) || a.connectedAt.localeCompare(b.connectedAt));
  return { instance: i.instance, proxies, mayBeStale: i.staleSources.length > 0, staleReasons: [...i.staleSources] };
}
