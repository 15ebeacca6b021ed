/**
 * Prometheus metrics with Istio's names, help texts and buckets (pilot/pkg/xds/monitoring.go,
 * pilot/pkg/model/push_context.go), so dashboards built for istiod read meshbridge too.
 * One registry per control-plane instance (no global default registry).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ControlPlaneMetrics {
  readonly registry: Registry;
  /** Connected xDS clients, by client kind (Istio labels it `version`). */
  readonly xdsClients: Gauge<'version'>;
  /** Pushes by type (`cds`, `eds`, `lds`, `rds`; `*_senderr` on send errors). */
  readonly xdsPushes: Counter<'type'>;
  readonly proxyConvergenceTime: Histogram;
  readonly xdsPushTime: Histogram<'type'>;
  readonly debounceTime: Histogram;
  readonly rejectedConfigs: Counter<'type'>;
  readonly inboundUpdates: Counter<'type'>;
  readonly services: Gauge;
  readonly xdsRejects: Counter<'type'>;
  /** Requests and streams refused by a limit of the xDS server (issue 11), by limit name. */
  readonly xdsLimitExceeded: Counter<'limit'>;
  /** 1 while the configuration store answers, 0 while this replica serves its last known configuration. */
  readonly storeConnected: Gauge;
}

const PUSH_BUCKETS = [0.01, 0.1, 1, 3, 5, 10, 20, 30];
/**
 * Istio's buckets (0.1, 0.5, 1, 3, 5, 10, 20, 30 s) plus finer ones from 50 ms to 10 s (issue 15:
 * the bench compares p50/p99 with the harness's, and 0.1-0.5-1 s was too coarse for that).
 */
const CONVERGENCE_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 30];

export function createMetrics(options: { processMetrics?: boolean } = {}): ControlPlaneMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    xdsClients: new Gauge({ name: 'pilot_xds', help: 'Number of endpoints connected to this pilot using XDS.', labelNames: ['version'], registers }),
    xdsPushes: new Counter({ name: 'pilot_xds_pushes', help: 'Pilot build and send errors for lds, rds, cds and eds.', labelNames: ['type'], registers }),
    proxyConvergenceTime: new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Delay in seconds between config change and a proxy receiving all required configuration.',
      buckets: CONVERGENCE_BUCKETS,
      registers,
    }),
    xdsPushTime: new Histogram({
      name: 'pilot_xds_push_time',
      help: 'Total time in seconds Pilot takes to push lds, rds, cds and eds.',
      labelNames: ['type'],
      buckets: PUSH_BUCKETS,
      registers,
    }),
    debounceTime: new Histogram({
      name: 'pilot_debounce_time',
      help: 'Delay in seconds between the first config enters debouncing and the merged push request is pushed into the push queue.',
      buckets: PUSH_BUCKETS,
      registers,
    }),
    rejectedConfigs: new Counter({
      name: 'pilot_total_rejected_configs',
      help: 'Total number of configs that Pilot had to reject or ignore.',
      labelNames: ['type'],
      registers,
    }),
    inboundUpdates: new Counter({ name: 'pilot_inbound_updates', help: 'Total number of updates received by pilot.', labelNames: ['type'], registers }),
    services: new Gauge({ name: 'pilot_services', help: 'Total services known to pilot.', registers }),
    xdsRejects: new Counter({ name: 'pilot_total_xds_rejects', help: 'Total number of XDS responses from pilot rejected by proxy.', labelNames: ['type'], registers }),
    xdsLimitExceeded: new Counter({
      name: 'meshbridge_xds_limit_exceeded_total',
      help: 'xDS requests and streams refused with RESOURCE_EXHAUSTED by a limit of serve (node_metadata_bytes, resource_names, inbound_listeners, streams_per_identity, streams).',
      labelNames: ['limit'],
      registers,
    }),
    storeConnected: new Gauge({
      name: 'meshbridge_config_store_connected',
      help: '1 while the configuration store answers; 0 while this replica serves the last configuration it knew.',
      registers,
    }),
  };
}
