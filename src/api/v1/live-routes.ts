/**
 * The `/api/v1` routes over the running control plane's live state (docs/api.md): connected
 * proxies and what each gets, health timeline, events (SSE and polling), localities, config,
 * control plane. GET only; errors as ApiError.
 */
import type { Registry } from '../../registry/registry.js';
import type { FeedStatus } from '../../status/feed-status.js';
import type { LiveRecorder } from '../../status/live-recorder.js';
import type { InformerState } from '../../sources/kube/informer.js';
import type { StreamStatus } from '../../xds/server/events.js';
import type { StreamResources } from '../../xds/server/ads-stream.js';
import { findProxyStream } from '../../status/config-dump.js';
import { proxyName } from '../../status/sync-status.js';
import { proxyConfigView } from './proxy-config.js';
import { json, type HttpHandler } from '../http-api.js';
import { EventStreams } from './events.js';
import { proxiesView, sourceStaleness } from './proxies.js';
import { apiError, only } from './route-helpers.js';
import { timelineView } from './timeline.js';
import { localitiesView } from './localities.js';
import { configView } from './config.js';
import { controlPlaneView } from './control-plane.js';
import { latencySummary } from '../../status/histogram-summary.js';
import type { ControlPlaneMetrics } from '../../status/metrics.js';
import type { FilesReport } from '../../model/config/store.js';
import { meshbridgeVersion } from '../../lib/version.js';

/** When this process started (the control plane view's `startedAt`). */
const STARTED_AT = new Date(Date.now() - process.uptime() * 1000).toISOString();

export interface LiveRouteSources {
  readonly instance: string;
  readonly registry: Registry;
  readonly live: LiveRecorder;
  readonly streams: () => readonly StreamStatus[];
  /** Per stream the resources sent, ACKed and current (the proxy config view). */
  readonly streamResources: () => readonly StreamResources[];
  readonly currentVersion: (view: string, typeUrl: string) => string | undefined;
  readonly feed: () => FeedStatus;
  /** The Kubernetes source, when serve reads a cluster. */
  readonly cluster: () => { readonly server: string; status(): InformerState[] } | undefined;
  readonly storeDescription: string;
  readonly lastReload: () => FilesReport | undefined;
  readonly ready: () => boolean;
  readonly leader: () => boolean;
  readonly replicas: () => readonly string[];
  readonly metrics: Pick<ControlPlaneMetrics, 'proxyConvergenceTime' | 'xdsPushTime'>;
  /** SSE limits (tests use small ones). */
  readonly maxEventClients?: number;
  readonly heartbeatMs?: number;
}

export function liveRoutes(s: LiveRouteSources): { readonly routes: Map<string, HttpHandler>; readonly eventStreams: EventStreams } {
  const r = new Map<string, HttpHandler>();
  const eventStreams = new EventStreams({
    log: s.live.events,
    instance: s.instance,
    ...(s.maxEventClients !== undefined ? { maxClients: s.maxEventClients } : {}),
    ...(s.heartbeatMs !== undefined ? { heartbeatMs: s.heartbeatMs } : {}),
  });
  const staleSources = (): string[] => sourceStaleness(s.feed(), s.cluster()?.status());
  r.set('/api/v1/events', only('GET', eventStreams.handler));
  r.set(
    '/api/v1/timeline',
    only('GET', (url) => {
      const answer = timelineView(s.registry, s.live.health, url.searchParams);
      return answer.ok ? json(answer.body) : apiError(answer.error, answer.status);
    }),
  );
  r.set(
    '/api/v1/proxies',
    only('GET', () =>
      json(
        proxiesView({
          instance: s.instance,
          streams: s.streams(),
          currentVersion: s.currentVersion,
          activity: s.live.activity,
          clusterId: s.registry.mesh.value().clusterId,
          staleSources: staleSources(),
        }),
      ),
    ),
  );
  r.set(
    '/api/v1/proxies/*',
    only('GET', (url) => {
      const rest = url.pathname.slice('/api/v1/proxies/'.length);
      if (!rest.endsWith('/config') || rest.length === '/config'.length) return apiError('the path is /api/v1/proxies/{id}/config (the id URL-encoded)', 400);
      let id: string;
      try {
        id = decodeURIComponent(rest.slice(0, -'/config'.length));
      } catch {
        return apiError('the proxy id is not validly URL-encoded', 400);
      }
      const streams = s.streamResources();
      const found = findProxyStream(streams, id);
      if (found === undefined) return apiError(`no connected proxy ${JSON.stringify(id)} (connected: ${[...new Set(streams.map((x) => proxyName(x.stream.proxy)))].sort().join(', ') || 'none'})`, 404);
      return json(proxyConfigView(found, s.registry.gateways.value(), s.live.pushes.lastPush(found.stream.view)));
    }),
  );
  r.set('/api/v1/localities', only('GET', (url) => json(localitiesView(s.registry, url.searchParams))));
  r.set('/api/v1/config', only('GET', () => json(configView(s.registry, { store: s.storeDescription, revision: s.feed().revision, lastReload: s.lastReload() }))));
  r.set(
    '/api/v1/controlplane',
    only('GET', async () => {
      const cluster = s.cluster();
      return json(
        controlPlaneView(s.registry, {
          instance: s.instance,
          version: meshbridgeVersion(),
          startedAt: STARTED_AT,
          ready: s.ready(),
          leader: s.leader(),
          replicas: s.replicas(),
          storeDescription: s.storeDescription,
          feed: s.feed(),
          lastReload: s.lastReload(),
          kubernetes: cluster !== undefined ? { server: cluster.server, informers: cluster.status() } : undefined,
          push: s.live.pushStats(),
          convergence: await latencySummary(s.metrics.proxyConvergenceTime),
          pushTime: await latencySummary(s.metrics.xdsPushTime),
          proxies: s.streams().length,
          sseClients: eventStreams.connected,
          staleReasons: staleSources(),
        }),
      );
    }),
  );
  return { routes: r, eventStreams };
}
