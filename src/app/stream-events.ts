/**
 * What `serve` does on each ADS stream event (xds/server/events.ts): the lifecycle learns of
 * connects, disconnects and health reports; the push pipeline of views released and of inbound
 * listeners requested; metrics count; the log says what an operator needs to know.
 */
import type { Logger } from '../lib/log/logger.js';
import type { RegistrationController } from '../lifecycle/registration-controller.js';
import type { ConvergenceTracker } from '../status/convergence.js';
import type { ControlPlaneMetrics } from '../status/metrics.js';
import { TYPE_SHORT_NAMES } from '../status/sync-status.js';
import type { XdsPipeline } from '../xds/generate/pipeline.js';
import type { XdsEventListener } from '../xds/server/events.js';
import { RESOURCE_EXHAUSTED } from '../xds/server/limits.js';
import { LISTENER } from '../xds/types/resource-types.js';

export interface StreamEventTargets {
  readonly registration: Pick<RegistrationController, 'onConnect' | 'onDisconnect' | 'onHealth'>;
  readonly pipeline: Pick<XdsPipeline, 'release' | 'noteRequestedListeners' | 'noteRequested'>;
  readonly metrics: ControlPlaneMetrics;
  readonly convergence: ConvergenceTracker;
  readonly log: Logger;
}

export function streamEventHandler(t: StreamEventTargets): XdsEventListener {
  const { registration, pipeline, metrics, log } = t;
  return (e) => {
    switch (e.event) {
      case 'connect':
        registration.onConnect(e.stream.streamId, e.stream.proxy);
        metrics.xdsClients.inc({ version: e.stream.proxy.kind });
        log.info('proxy connected', { proxy: e.stream.proxy.id, kind: e.stream.proxy.kind, protocol: e.stream.protocol });
        break;
      case 'disconnect': {
        registration.onDisconnect(e.streamId);
        const view = e.stream.view;
        pipeline.release(view, e.streamId);
        metrics.xdsClients.dec({ version: view.split('|')[0] ?? 'unknown' });
        log.info('proxy disconnected', { proxy: e.proxyId, reason: e.reason });
        break;
      }
      case 'response':
        metrics.xdsPushes.inc({ type: (TYPE_SHORT_NAMES[e.typeUrl] ?? 'other').toLowerCase() });
        break;
      case 'ack': {
        const seconds = t.convergence.secondsToAck(e.version);
        if (seconds !== undefined) metrics.proxyConvergenceTime.observe(seconds);
        break;
      }
      case 'nack':
        metrics.xdsRejects.inc({ type: (TYPE_SHORT_NAMES[e.typeUrl] ?? 'other').toLowerCase() });
        log.warn('proxy rejected configuration (NACK)', { proxy: e.proxyId, type: TYPE_SHORT_NAMES[e.typeUrl], version: e.version, error: e.error.message });
        break;
      case 'health':
        registration.onHealth(e.streamId, e.healthy, e.message);
        log.info(e.healthy ? 'workload healthy' : 'workload unhealthy', { proxy: e.proxyId, ...(e.healthy ? {} : { reason: e.message }) });
        break;
      case 'refused':
        // A limit's refusal was logged by its 'limit' event.
        if (e.code !== RESOURCE_EXHAUSTED) log.warn('proxy refused', { proxy: e.proxyId, reason: e.message });
        break;
      case 'limit':
        // The stream is refused and ends: one line and one count per stream.
        metrics.xdsLimitExceeded.inc({ limit: e.exceeded.limit });
        log.warn('xDS limit exceeded, stream refused', { proxy: e.proxyId, limit: e.exceeded.limit, value: e.exceeded.value, requested: e.exceeded.observed });
        break;
      case 'request':
        // Issue 7: xDS-enabled gRPC servers subscribe to their inbound listeners by name (SotW:
        // `names` is the whole subscription; a delta request carries changes; grpc-js-xds speaks SotW only).
        if (e.typeUrl === LISTENER.typeUrl && e.stream.protocol !== 'delta') pipeline.noteRequestedListeners(e.stream.view, e.names, e.streamId);
        // Proxyless classes are generated for the hosts their streams name (xds/generate/demand.ts).
        pipeline.noteRequested(e.stream.view, e.typeUrl, e.names, e.wildcard);
        break;
      case 'problem':
        log.warn('xDS problem', { proxy: e.proxyId, type: e.typeUrl, message: e.message });
        break;
    }
  };
}
