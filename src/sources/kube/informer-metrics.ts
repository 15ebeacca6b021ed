/**
 * Prometheus metrics of the Kubernetes informers, on serve's /metrics (docs/kubernetes.md, "Metrics"):
 * an InformerObserver that counts, plus the event counter the cluster source feeds. Every series of a
 * known informer exists from the start (0), so a dashboard can tell "never relisted" from "no data".
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { InformerObserver } from './informer.js';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerMetrics extends InformerObserver {
  /** An add, update or delete an informer delivered to its handlers. */
  event(informer: string, event: InformerEvent): void;
}

export function informerMetrics(registry: Registry, informers: readonly string[]): InformerMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> => new Counter({ name, help, labelNames, registers });
  const synced = new Gauge({ name: 'meshbridge_kube_informer_synced', help: '1 once the informer listed its collection, 0 before.', labelNames: ['informer'], registers });
  const relists = counter('meshbridge_kube_informer_relists_total', 'Lists after the first one (a watch answered 410 Gone, as the HTTP status or an ERROR event).', ['informer']);
  const restarts = counter(
    'meshbridge_kube_informer_restarts_total',
    'Lists or watches retried after a failure, by the failure reason (Status reason such as InternalError, socket error code such as ECONNREFUSED, ShortWatch, Timeout, Unknown).',
    ['informer', 'reason'],
  );
  const watchdog = counter(
    'meshbridge_kube_informer_watchdog_reconnects_total',
    'Watches abandoned as half-open (nothing received for longer than the watchdog limit) and reopened.',
    ['informer'],
  );
  const events = counter('meshbridge_kube_informer_events_total', 'Objects the informer added, updated or deleted in its cache (watch events and relist differences).', ['informer', 'event']);
  for (const informer of informers) {
    synced.set({ informer }, 0);
    relists.inc({ informer }, 0);
    watchdog.inc({ informer }, 0);
    for (const event of ['add', 'update', 'delete'] as const) events.inc({ informer, event }, 0);
  }
  return {
    synced: (informer) => synced.set({ informer }, 1),
    relisted: (informer) => relists.inc({ informer }),
    restarted: (informer, reason) => restarts.inc({ informer, reason }),
    watchdogFired: (informer) => watchdog.inc({ informer }),
    event: (informer, event) => events.inc({ informer, event }),
  };
}
