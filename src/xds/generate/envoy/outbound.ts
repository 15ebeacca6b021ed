/**
 * Outbound listeners and routes of an Envoy sidecar (Istio: networking/core/listener.go,
 * httproute.go), which depend on every service the proxy sees. Simplified from Istio:
 * - HTTP-family ports: one listener `0.0.0.0_<port>` with one HTTP connection manager (no protocol
 *   sniffing, no per-destination filter chains) whose RDS name is `<port>`. The RouteConfiguration
 *   has one virtual host `<host>:<port>` per service, with domains host, host:port and the
 *   service's addresses with and without the port (Istio's older form; current Istio drops the
 *   port variants and sets ignore_port_in_host_matching), plus Istio's `allow_any` catch-all.
 * - TCP, TLS and other ports: one listener `<address>_<port>` with tcp_proxy to the service's default
 *   cluster, for services with an address (spec or auto-allocated); without one, the traffic takes
 *   the virtualOutbound passthrough (Istio would match TLS by SNI on `0.0.0.0_<port>`: not done).
 *   VirtualService `tcp`/`tls` routes are not applied.
 * - `virtualOutbound` on 0.0.0.0:15001 (use_original_dst) hands connections to the listener for
 *   their original destination, or passes them through to PassthroughCluster (ALLOW_ANY).
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteAction_HashPolicySchema, VirtualHostSchema } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import { RouteConfigurationSchema } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { isIP, isIPv4, isIPv6 } from '../../../model/mesh/ip.js';
import type { MergedService, ServicePort } from '../../../model/mesh/types.js';
import { clusterName, clusterTypeOf } from '../../../registry/view/clusters.js';
import { destinationRuleFor, portPolicy } from '../../../registry/view/destination-rules.js';
import { ADS } from '../common.js';
import { emptyResourceSet, type ResourceSet } from '../resource-set.js';
import { routesFor } from '../routes.js';
import type { ViewContext } from '../view.js';
import { httpRoutesFor } from '../virtual-services.js';
import {
  hcmFilter,
  PASSTHROUGH_CLUSTER,
  routeToCluster,
  tcpProxyFilter,
  VIRTUAL_INBOUND_PORT,
  VIRTUAL_OUTBOUND,
  VIRTUAL_OUTBOUND_PORT,
  withIstioTimeouts,
} from './filters.js';
import { isHttpPort, socketAddress } from '../wire.js';

type HashPolicyInit = MessageInitShape<typeof RouteAction_HashPolicySchema>;
type VirtualHostInit = MessageInitShape<typeof VirtualHostSchema>;

/** An address as a Host header names it: IPv6 in brackets. */
function hostForm(address: string): string {
  return isIPv6(address) ? `[${address}]` : address;
}

/** Consistent-hash keys as Envoy route hash policies (Istio: route.go consistentHashToHashPolicy). */
function envoyHashPolicy(ctx: ViewContext, service: MergedService, port: number): HashPolicyInit[] | undefined {
  const { sources, spec } = ctx;
  const dr = destinationRuleFor(sources.destinationRules, service.host, service.namespace, spec.client, sources.mesh);
  const ch = portPolicy(dr, port, '').loadBalancer?.consistentHash;
  if (!ch) return undefined;
  if (ch.httpHeaderName) return [{ policySpecifier: { case: 'header', value: { headerName: ch.httpHeaderName } } }];
  if (ch.httpCookie) {
    const c = ch.httpCookie;
    return [{ policySpecifier: { case: 'cookie', value: { name: c.name, ...(c.path ? { path: c.path } : {}) } } }];
  }
  if (ch.useSourceIp) return [{ policySpecifier: { case: 'connectionProperties', value: { sourceIp: true } } }];
  if (ch.httpQueryParameterName) return [{ policySpecifier: { case: 'queryParameter', value: { name: ch.httpQueryParameterName } } }];
  return undefined;
}

/** One service's virtual host on one port; `taken` de-duplicates domains across the route config. */
function virtualHost(ctx: ViewContext, service: MergedService, port: ServicePort, servicesByHost: ReadonlyMap<string, MergedService>, taken: Set<string>): VirtualHostInit | undefined {
  const mesh = ctx.sources.mesh;
  const candidates = [service.host, `${service.host}:${port.number}`];
  for (const a of service.addresses) {
    if (!isIP(a)) continue; // CIDR addresses are no Host header
    candidates.push(hostForm(a), `${hostForm(a)}:${port.number}`);
  }
  const domains = candidates.filter((d) => {
    const k = d.toLowerCase();
    if (taken.has(k)) return false;
    taken.add(k);
    return true;
  });
  if (domains.length === 0) return undefined;
  const vs = httpRoutesFor(ctx.virtualServices, service.host, ctx.spec.client.namespace, mesh);
  const hashPolicy = envoyHashPolicy(ctx, service, port.number);
  const routes = routesFor(service, port.number, vs, servicesByHost, mesh, { proxyless: false, ...(hashPolicy ? { hashPolicy } : {}) }).map(withIstioTimeouts);
  return { name: `${service.host}:${port.number}`, domains, routes, includeRequestAttemptCount: true };
}

function httpListener(port: number): Listener {
  const name = `0.0.0.0_${port}`;
  return create(ListenerSchema, {
    name,
    address: socketAddress('0.0.0.0', port),
    trafficDirection: TrafficDirection.OUTBOUND,
    // Traffic arrives through virtualOutbound (iptables capture): outbound listeners do not bind.
    bindToPort: false,
    filterChains: [{ filters: [hcmFilter(`outbound_${name}`, { case: 'rds', value: { routeConfigName: String(port), configSource: ADS } }, { fault: true })] }],
  });
}

/** The address a TCP listener is bound to: the first IPv4 address, else the first IP (no CIDRs). */
function listenerAddress(service: MergedService): string | undefined {
  const ips = service.addresses.filter((a) => isIP(a));
  return ips.find((a) => isIPv4(a)) ?? ips[0];
}

function tcpListener(address: string, port: number, cluster: string): Listener {
  return create(ListenerSchema, {
    name: `${address}_${port}`,
    address: socketAddress(address, port),
    trafficDirection: TrafficDirection.OUTBOUND,
    bindToPort: false,
    filterChains: [{ filters: [tcpProxyFilter(cluster, cluster)] }],
  });
}

function virtualOutbound(): Listener {
  return create(ListenerSchema, {
    name: VIRTUAL_OUTBOUND,
    address: socketAddress('0.0.0.0', VIRTUAL_OUTBOUND_PORT),
    trafficDirection: TrafficDirection.OUTBOUND,
    useOriginalDst: true,
    filterChains: [{ name: 'virtualOutbound-catchall-tcp', filters: [tcpProxyFilter(PASSTHROUGH_CLUSTER, PASSTHROUGH_CLUSTER)] }],
  });
}

/** Istio's catch-all virtual host for unknown hosts on an HTTP port (outboundTrafficPolicy ALLOW_ANY). */
function allowAny(): VirtualHostInit {
  return { name: 'allow_any', domains: ['*'], routes: [routeToCluster('allow_any', PASSTHROUGH_CLUSTER)], includeRequestAttemptCount: true };
}

/** Outbound listeners and routes for all services the proxy sees (one per host, sorted by host). */
export function outboundListenersAndRoutes(ctx: ViewContext, servicesByHost: ReadonlyMap<string, MergedService>): ResourceSet {
  const out = emptyResourceSet();
  const services = [...servicesByHost.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const httpPorts = new Map<number, { service: MergedService; port: ServicePort }[]>();
  for (const service of services) {
    // DYNAMIC_DNS services get no cluster (C-3), hence no route or listener either.
    if (clusterTypeOf(service) === undefined) continue;
    for (const port of service.ports) {
      if (port.protocol === 'UDP') continue;
      if (isHttpPort(port.protocol)) {
        const list = httpPorts.get(port.number) ?? [];
        list.push({ service, port });
        httpPorts.set(port.number, list);
        continue;
      }
      const address = listenerAddress(service);
      if (address === undefined) continue;
      const listener = tcpListener(address, port.number, clusterName(port.number, '', service.host));
      // Two services on one address and port: the first host wins (Envoy refuses duplicates).
      if (!out.listeners.has(listener.name)) out.listeners.set(listener.name, listener);
    }
  }
  for (const [port, entries] of [...httpPorts].sort(([a], [b]) => a - b)) {
    // 0.0.0.0:15001 and 0.0.0.0:15006 are the virtual listeners' own addresses: a service port there
    // would duplicate an address and Envoy would reject the whole LDS update.
    if (port === VIRTUAL_OUTBOUND_PORT || port === VIRTUAL_INBOUND_PORT) continue;
    const taken = new Set<string>(['*']);
    const virtualHosts = entries.flatMap(({ service, port: p }) => {
      const vh = virtualHost(ctx, service, p, servicesByHost, taken);
      return vh ? [vh] : [];
    });
    const name = String(port);
    out.routes.set(name, create(RouteConfigurationSchema, { name, virtualHosts: [...virtualHosts, allowAny()], validateClusters: false }));
    const listener = httpListener(port);
    out.listeners.set(listener.name, listener);
  }
  out.listeners.set(VIRTUAL_OUTBOUND, virtualOutbound());
  return out;
}
