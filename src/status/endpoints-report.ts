/**
 * The `endpoints` report (cli-contract): the registry view and the client's cluster view, as JSON
 * values. Built from the same code path that feeds xDS (registry/view).
 */
import type { StringMap } from '../model/config/types.js';
import type { Endpoint, MergedService } from '../model/mesh/types.js';
import type { Registry } from '../registry/registry.js';
import { clientCandidates, resolveClientProxy, type ClientProxyOptions } from '../registry/view/client.js';
import { buildClusters, visibleServices, type Exclusion, type ViewFilter } from '../registry/view/clusters.js';
import { explainBundle } from '../registry/view/explain.js';
import { viewSourcesOf } from '../registry/offline-mesh.js';

export interface ServiceReport {
  host: string;
  namespace: string;
  resolution: string;
  location: string;
  addresses: string[];
  ports: { number: number; name: string; protocol: string; targetPort?: number | string }[];
  endpoints: {
    address: string;
    port: number;
    servicePort: number;
    portName: string;
    labels: StringMap;
    locality: string;
    network: string;
    weight: number;
    tlsMode: string | null;
    serviceAccount: string | null;
    health: string;
    source: string;
  }[];
  excluded?: ExcludedReport[];
}

export interface ExcludedReport {
  source: string;
  reason: string;
  detail?: string;
}

export interface ClusterReport {
  name: string;
  host: string;
  port: number;
  subset: string;
  type: string;
  localities: {
    locality: string;
    priority: number;
    weight: number;
    endpoints: { address: string; port: number; weight: number; health: string; tlsMode: string | null; source: string }[];
  }[];
  excluded?: ExcludedReport[];
  /**
   * Only with `--explain`: which locality setting decided the priorities and weights (L-1, L-11):
   * `zoneAwareLbSetting` or `localityLbSetting` (of the DestinationRule named in `source`),
   * `trafficDistribution` (the service's annotation), `mesh` (MeshConfig), or `none` (ORIGINAL_DST).
   */
  localityLb?: { setting: string; source: string; detail: string };
}

export interface EndpointsReport {
  services: ServiceReport[];
  clusters: ClusterReport[];
}

export function endpointsReport(registry: Registry, clientOptions: ClientProxyOptions, filter: ViewFilter, explain: boolean): EndpointsReport {
  const sources = viewSourcesOf(registry);
  const client = resolveClientProxy(clientOptions, clientCandidates(registry.workloads.list(), registry.services.list()));
  // --port: only services that have that port (a service without it has nothing to show).
  const services = visibleServices(sources, client, filter)
    .filter((s) => filter.port === undefined || s.ports.some((p) => p.number === filter.port))
    .map((s) => serviceReport(s, filter, explain ? serviceExclusions(registry, s) : undefined));
  const clusters = buildClusters(sources, client, filter).map((c): ClusterReport => ({
    name: c.name,
    host: c.host,
    port: c.port,
    subset: c.subset,
    type: c.type,
    localities: c.localities.map((g) => ({
      locality: g.locality,
      priority: g.priority,
      weight: g.weight,
      endpoints: g.endpoints.map((e) => ({ address: e.address, port: e.port, weight: e.weight, health: e.health, tlsMode: e.tlsMode, source: e.source })),
    })),
    ...(explain ? { excluded: c.excluded.map(excludedReport), localityLb: { ...c.localityDecision } } : {}),
  }));
  return { services, clusters };
}

function serviceExclusions(registry: Registry, s: MergedService): Exclusion[] {
  const workloads = registry.workloads.list();
  const out: Exclusion[] = [];
  for (const key of s.bundles) {
    const b = registry.bundles.get(key);
    if (b) out.push(...explainBundle(b, workloads));
  }
  return out;
}

function excludedReport(e: Exclusion): ExcludedReport {
  return e.detail === undefined ? { source: e.source, reason: e.reason } : { source: e.source, reason: e.reason, detail: e.detail };
}

function serviceReport(s: MergedService, filter: ViewFilter, excluded: Exclusion[] | undefined): ServiceReport {
  const ports = s.ports.filter((p) => filter.port === undefined || p.number === filter.port);
  const portNumbers = new Set(ports.map((p) => p.number));
  return {
    host: s.host,
    namespace: s.namespace,
    resolution: s.resolution,
    location: s.location,
    addresses: [...s.addresses],
    ports: ports.map((p) => {
      const base = { number: p.number, name: p.name, protocol: p.protocol };
      if (p.targetPortName !== undefined) return { ...base, targetPort: p.targetPortName };
      return p.targetPort > 0 ? { ...base, targetPort: p.targetPort } : base;
    }),
    endpoints: s.endpoints.filter((e) => filter.port === undefined || portNumbers.has(e.servicePort)).map(endpointReport),
    ...(excluded ? { excluded: excluded.map(excludedReport) } : {}),
  };
}

function endpointReport(e: Endpoint): ServiceReport['endpoints'][number] {
  return {
    address: e.address,
    port: e.port,
    servicePort: e.servicePort,
    portName: e.portName,
    labels: e.labels,
    locality: e.locality,
    network: e.network,
    weight: e.weight,
    tlsMode: e.tlsMode === '' ? null : e.tlsMode,
    serviceAccount: e.serviceAccount,
    health: e.health,
    source: e.source,
  };
}
