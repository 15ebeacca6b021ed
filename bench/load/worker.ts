/**
 * A load-generator process: hundreds of simulated proxies (sim-proxy.ts) driven by the harness over
 * Node IPC. It records, for every expectation (a change identified by content), when each of its
 * subscribed proxies received the EDS response carrying it. Exits when the harness says so, when the
 * IPC channel closes, or after MAX_LIFETIME_MS whatever happens.
 */
import { scanLoadAssignment, type SeenEndpoint } from '../lib/wire.js';
import type { Expectation } from '../lib/churn.js';
import type { ExpectationResult, FromWorker, Sample, ToWorker, WorkerStatus } from './protocol.js';
import { SimProxy, type LoadProxy, type ProxyHooks } from './sim-proxy.js';
import { EnvoySimProxy } from './envoy-proxy.js';
import { ResponseCache } from './response-cache.js';

const MAX_LIFETIME_MS = Number(process.env['BENCH_WORKER_LIFETIME_MS'] ?? 30 * 60_000);

interface Active {
  readonly id: number;
  readonly expect: Expectation;
  readonly subscribers: Set<number>;
  readonly samples: Map<number, Sample>;
}

const proxies: LoadProxy[] = [];
const byCluster = new Map<string, Active[]>();
const active = new Map<number, Active>();
let errors = 0;
let lastError = '';
/** Proxies that reported an error (their first error is the one kept in lastError). */
const failedProxies = new Set<number>();
let synced = 0;
let lastSyncedAt = 0;
let captureCluster: string | undefined;
let captured: Uint8Array | undefined;
/** Shared by this process's Envoy sidecars: each distinct response body is decoded once. */
const responseCache = new ResponseCache(Number(process.env['BENCH_DECODE_CACHE_MIB'] ?? 256) * 1024 * 1024);
/** Endpoints of each encoded ClusterLoadAssignment, scanned once per distinct value object. */
const scanned = new WeakMap<Uint8Array, ReadonlyMap<string, SeenEndpoint>>();
/** The EDS names of a subscription as a set, once per (shared) subscription array. */
const subscriptionSets = new WeakMap<readonly string[], Set<string>>();

function send(m: FromWorker): void {
  process.send?.(m);
}

function endpointsOf(value: Uint8Array): ReadonlyMap<string, SeenEndpoint> {
  let endpoints = scanned.get(value);
  if (endpoints === undefined) scanned.set(value, (endpoints = scanLoadAssignment(value).endpoints));
  return endpoints;
}

function subscribes(p: LoadProxy, cluster: string): boolean {
  const names = p.edsNames();
  let set = subscriptionSets.get(names);
  if (set === undefined) subscriptionSets.set(names, (set = new Set(names)));
  return set.has(cluster);
}

function matches(e: Expectation, value: Uint8Array): boolean {
  const ep = endpointsOf(value).get(e.endpoint);
  if (!e.present) return ep === undefined;
  return ep !== undefined && (e.weight === undefined || ep.weight === e.weight);
}

const hooks: ProxyHooks = {
  onLoadAssignment(proxy, cluster, value, receivedAt) {
    if (cluster === captureCluster) captured = value.slice();
    const list = byCluster.get(cluster);
    if (list === undefined) return;
    for (const a of list) {
      if (!a.subscribers.has(proxy.index) || a.samples.has(proxy.index)) continue;
      if (!matches(a.expect, value)) continue;
      a.samples.set(proxy.index, { proxy: proxy.index, recv: receivedAt });
      if (a.samples.size === a.subscribers.size) send({ op: 'done', id: a.id });
    }
  },
  onSynced(proxy) {
    synced++;
    lastSyncedAt = proxy.syncedAt ?? 0;
  },
  onError(proxy, message) {
    errors++;
    // A failed stream reports its status, then its end: keep the cause, not the end that follows it.
    if (failedProxies.has(proxy.index)) return;
    failedProxies.add(proxy.index);
    lastError = message;
  },
};

function status(): WorkerStatus {
  const cpu = process.cpuUsage();
  let responses = 0;
  let bytes = 0;
  let acks = 0;
  for (const p of proxies) {
    responses += p.stats.responses;
    bytes += p.stats.bytes;
    acks += p.stats.acks;
  }
  return {
    proxies: proxies.length,
    started: proxies.filter((p) => p.connectedAt !== undefined).length,
    synced,
    errors,
    lastError,
    responses,
    bytes,
    acks,
    lastSyncedAt,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    decodedBodies: responseCache.stats.misses,
    decodeHits: responseCache.stats.hits,
  };
}

async function start(m: Extract<ToWorker, { op: 'start' }>): Promise<void> {
  m.proxies.forEach((spec, i) => proxies.push(spec.envoy !== undefined ? new EnvoySimProxy(m.firstIndex + i, spec, m.xds, hooks, responseCache) : new SimProxy(m.firstIndex + i, spec, m.xds, hooks)));
  for (let i = 0; i < proxies.length; i += m.batch) {
    for (const p of proxies.slice(i, i + m.batch)) p.start();
    if (m.batchGapMs > 0) await new Promise((r) => setTimeout(r, m.batchGapMs));
  }
}

function stop(): void {
  for (const p of proxies) p.close();
  process.exit(0);
}

process.on('message', (m: ToWorker) => {
  switch (m.op) {
    case 'start':
      void start(m);
      break;
    case 'expect': {
      const subscribers = new Set(proxies.filter((p) => subscribes(p, m.expect.cluster)).map((p) => p.index));
      const a: Active = { id: m.id, expect: m.expect, subscribers, samples: new Map() };
      active.set(m.id, a);
      const list = byCluster.get(m.expect.cluster) ?? [];
      list.push(a);
      byCluster.set(m.expect.cluster, list);
      send({ op: 'expecting', id: m.id, subscribers: subscribers.size });
      if (subscribers.size === 0) send({ op: 'done', id: m.id });
      break;
    }
    case 'collect': {
      const results: ExpectationResult[] = [];
      for (const id of m.ids) {
        const a = active.get(id);
        if (a === undefined) continue;
        active.delete(id);
        const list = (byCluster.get(a.expect.cluster) ?? []).filter((x) => x !== a);
        if (list.length === 0) byCluster.delete(a.expect.cluster);
        else byCluster.set(a.expect.cluster, list);
        results.push({ id, subscribers: a.subscribers.size, samples: [...a.samples.values()] });
      }
      send({ op: 'results', results });
      break;
    }
    case 'capture':
      captureCluster = m.cluster;
      send({ op: 'captured', cluster: m.cluster, base64: captured && Buffer.from(captured).toString('base64') });
      break;
    case 'status':
      send({ op: 'status', status: status() });
      break;
    case 'stop':
      stop();
      break;
  }
});
process.on('disconnect', stop);
setTimeout(stop, MAX_LIFETIME_MS).unref();
send({ op: 'hello' });
