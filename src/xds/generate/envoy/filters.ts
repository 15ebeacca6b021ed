/**
 * Small Envoy building blocks of the sidecar flavour: Istio's well-known names, the tcp_proxy and
 * HTTP connection manager filters, upstream HTTP protocol options, default circuit breakers and
 * route timeouts. Filter names, typed-config packing and socket helpers shared with the gRPC
 * generators live in the leaf `../wire.ts`.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import type { CircuitBreakersSchema } from '../../../gen/envoy/config/cluster/v3/circuit_breaker_pb.js';
import type { FilterSchema } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { RouteActionSchema, RouteSchema } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import { HTTPFaultSchema } from '../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import { RouterSchema } from '../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { HttpConnectionManagerSchema, type HttpFilterSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import { HttpProtocolOptionsSchema } from '../../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { duration } from '../common.js';
import { durationMs } from '../virtual-services.js';
import { FAULT_FILTER, HCM_FILTER, HTTP_PROTOCOL_OPTIONS, isHttp2Port, ROUTER_FILTER, TCP_PROXY_FILTER, typed, type InitOf } from '../wire.js';

// Istio's names (pilot/pkg/networking/util, pkg/config/constants).
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';
export const VIRTUAL_OUTBOUND = 'virtualOutbound';
export const VIRTUAL_OUTBOUND_PORT = 15001;
export const VIRTUAL_INBOUND = 'virtualInbound';
export const VIRTUAL_INBOUND_PORT = 15006;
/** Source address of inbound passthrough connections (Istio's InboundPassthroughBindIpv4). */
export const INBOUND_PASSTHROUGH_BIND = '127.0.0.6';
/** Istio's default `connect_timeout` (mesh connectTimeout). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Istio's default `dns_refresh_rate` (mesh dnsRefreshRate). */
export const DNS_REFRESH_RATE_MS = 60_000;

export function tcpProxyFilter(statPrefix: string, cluster: string): MessageInitShape<typeof FilterSchema> {
  return typed(TCP_PROXY_FILTER, TcpProxySchema, { statPrefix, clusterSpecifier: { case: 'cluster', value: cluster } });
}

type HcmInit = InitOf<typeof HttpConnectionManagerSchema>;

/**
 * An HTTP connection manager as Istio's sidecars have it, reduced to what routing needs: the fault
 * filter (VirtualService fault injection, configured per route) and the router; websocket upgrades;
 * path normalisation; the caller's address is not trusted (`use_remote_address` false). Istio also
 * installs metadata exchange, stats, CORS, gRPC stats, tracing and access logs (not generated).
 */
export function hcmFilter(
  statPrefix: string,
  routeSpecifier: NonNullable<HcmInit['routeSpecifier']>,
  o: { fault: boolean; before?: readonly MessageInitShape<typeof HttpFilterSchema>[] },
): MessageInitShape<typeof FilterSchema> {
  // `before`: filters ahead of the fault filter and the router (inbound RBAC, issue 7).
  const httpFilters = [...(o.before ?? []), ...(o.fault ? [typed(FAULT_FILTER, HTTPFaultSchema)] : []), typed(ROUTER_FILTER, RouterSchema)];
  return typed(HCM_FILTER, HttpConnectionManagerSchema, {
    statPrefix,
    routeSpecifier,
    httpFilters,
    upgradeConfigs: [{ upgradeType: 'websocket' }],
    normalizePath: true,
    useRemoteAddress: false,
  });
}

/**
 * `typed_extension_protocol_options` of a cluster (Istio setH2Options / setUseDownstreamProtocol):
 * HTTP/2 upstream for HTTP2/GRPC ports, the downstream protocol for unset ones (Istio's sniffed
 * ports), nothing for HTTP/1.1 and TCP ports.
 */
export function httpProtocolOptions(protocol: string): Record<string, Any> | undefined {
  if (isHttp2Port(protocol)) {
    const o = create(HttpProtocolOptionsSchema, { upstreamProtocolOptions: { case: 'explicitHttpConfig', value: { protocolConfig: { case: 'http2ProtocolOptions', value: {} } } } });
    return { [HTTP_PROTOCOL_OPTIONS]: anyPack(HttpProtocolOptionsSchema, o) };
  }
  if (protocol === '') {
    const o = create(HttpProtocolOptionsSchema, { upstreamProtocolOptions: { case: 'useDownstreamProtocolConfig', value: { httpProtocolOptions: {}, http2ProtocolOptions: {} } } });
    return { [HTTP_PROTOCOL_OPTIONS]: anyPack(HttpProtocolOptionsSchema, o) };
  }
  return undefined;
}

const UNLIMITED = 4_294_967_295;

function num(o: unknown, key: string): number | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * Circuit breakers (Istio getDefaultCircuitBreakerThresholds + applyConnectionPool): every limit
 * "unlimited" unless the DestinationRule connectionPool sets it.
 */
export function circuitBreakers(pool: Readonly<Record<string, unknown>> | undefined): MessageInitShape<typeof CircuitBreakersSchema> {
  const tcp = pool?.['tcp'];
  const http = pool?.['http'];
  return {
    thresholds: [
      {
        maxConnections: num(tcp, 'maxConnections') ?? UNLIMITED,
        maxPendingRequests: num(http, 'http1MaxPendingRequests') ?? UNLIMITED,
        maxRequests: num(http, 'http2MaxRequests') ?? UNLIMITED,
        maxRetries: num(http, 'maxRetries') ?? UNLIMITED,
        trackRemaining: true,
      },
    ],
  };
}

/** connectionPool.tcp.connectTimeout, else Istio's 10s. */
export function connectTimeout(pool: Readonly<Record<string, unknown>> | undefined) {
  const tcp = pool?.['tcp'];
  const raw = typeof tcp === 'object' && tcp !== null ? (tcp as Record<string, unknown>)['connectTimeout'] : undefined;
  const ms = typeof raw === 'string' ? durationMs(raw) : undefined;
  return duration(ms ?? CONNECT_TIMEOUT_MS);
}

type RouteInit = MessageInitShape<typeof RouteSchema>;
type ActionInit = InitOf<typeof RouteActionSchema>;

/**
 * Istio disables Envoy's 15 s default route timeout when no VirtualService timeout is set
 * (route.go: `timeout: 0s`, and the same for the stream duration and the gRPC timeout header).
 */
export function withIstioTimeouts(r: RouteInit): RouteInit {
  if (r.action?.case !== 'route') return r;
  // routes.ts builds plain init objects; a message form would already be complete.
  if ('$typeName' in r || '$typeName' in r.action.value) return r;
  const a: ActionInit = r.action.value;
  if (a.timeout !== undefined) return r;
  const zero = duration(0);
  return { ...r, action: { case: 'route', value: { ...a, timeout: zero, maxStreamDuration: { maxStreamDuration: zero, grpcTimeoutHeaderMax: zero } } } };
}

/** A route to one cluster with Istio's defaults (no timeout). */
export function routeToCluster(name: string, cluster: string, prefix = '/'): RouteInit {
  return withIstioTimeouts({ name, match: { pathSpecifier: { case: 'prefix', value: prefix } }, action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: cluster } } } });
}
