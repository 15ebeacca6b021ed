/**
 * Server-side inbound Listeners of xDS-enabled gRPC servers (gRFC A36; Istio grpcgen's
 * `xds.istio.io/grpc/lds/inbound/<ip>:<port>`), issue 7.
 *
 * For each inbound listener name an xDS-enabled server subscribes to, `inboundListenerName(ip, port)`,
 * the workload (Pod or WorkloadEntry) at that IP decides:
 * - `address` = the workload's `address:port` (grpc-js-xds refuses a listener whose socket address
 *   differs from the bound one);
 * - one filter chain matching `transport_protocol: raw_buffer` (grpc-js-xds drops chains with any
 *   other transport protocol, including an unset one when a match is present), with an HTTP
 *   connection manager: inline route config (virtual host `*`, prefix `/`, non_forwarding_action),
 *   HTTP filters [RBAC DENY, RBAC ALLOW (authz.ts, when policies select the workload), router];
 * - the PeerAuthentication mode of that workload port (effectiveMtlsMode): STRICT -> a
 *   DownstreamTlsContext from the `default` provider instance with client certificates required;
 *   DISABLE -> plaintext; PERMISSIVE: a gRPC server cannot detect TLS (A36 only matches
 *   raw_buffer), so one protocol must be chosen. Istio's grpcgen serves plaintext (its proxyless
 *   clients do not auto-mTLS). meshbridge's TLS-capable proxyless clients DO auto-mTLS to
 *   endpoints with tlsMode `istio` (grpc-tls.ts), so PERMISSIVE is served to match what they send:
 *   a TLS-capable server (CERTIFICATE_PROVIDERS) whose workload has tlsMode `istio` gets TLS with
 *   the client certificate requested but not required (a mesh client with a certificate is
 *   authenticated, RBAC sees its principal); otherwise plaintext, as Istio. Plaintext callers of
 *   such a port are refused: accepting both on one port needs the agent's TLS-sniffing inbound
 *   proxy (src/agent/inbound-proxy.ts), which reads `metadata.filter_metadata["meshbridge.io"]
 *   .mtlsMode`, carried by every such Listener.
 *
 * A STRICT port is served with TLS even to a node without the provider instance: grpc-js-xds then
 * NACKs the listener and the server does not serve, rather than accepting plaintext (fail closed).
 * The RBAC filters are only understood by servers started with GRPC_XDS_EXPERIMENTAL_RBAC=true;
 * without it the listener is NACKed (the filters are deliberately not optional: no silent
 * allow-all).
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { TrafficDirection } from '../../gen/envoy/config/core/v3/base_pb.js';
import { ListenerSchema, type Listener } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import type { FilterChainSchema } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { RouterSchema } from '../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { HttpConnectionManagerSchema } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { MtlsMode } from '../../model/config/types.js';
import type { Workload } from '../../model/mesh/types.js';
import { effectiveMtlsMode } from '../../registry/view/peer-authentication.js';
import { inboundRbac, rbacHttpFilters, type InboundRbac } from './authz.js';
import { grpcDownstreamTls } from './grpc-tls.js';
import { inboundListenerName, MESHBRIDGE_METADATA_KEY } from './names.js';
import { emptyResourceSet, type ResourceSet } from './resource-set.js';
import type { ViewContext } from './view.js';
import { HCM_FILTER, ROUTER_FILTER, socketAddress } from './wire.js';

export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

export interface GrpcInboundOptions {
  readonly ip: string;
  readonly port: number;
  readonly mtlsMode: EffectiveMtlsMode;
  readonly rbac: InboundRbac;
  /** PERMISSIVE only: serve TLS (client certificate optional) rather than plaintext (module comment). */
  readonly permissiveTls?: boolean;
}

/** The Listener an XdsServer bound to `ip:port` receives (see the module comment). */
export function grpcInboundListener(o: GrpcInboundOptions): Listener {
  const name = inboundListenerName(o.ip, o.port);
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: `inbound_${o.ip}_${o.port}`,
    routeSpecifier: {
      case: 'routeConfig',
      value: {
        name: `inbound|${o.port}`,
        virtualHosts: [
          {
            name: `inbound|grpc|${o.port}`,
            domains: ['*'],
            routes: [{ name: 'default', match: { pathSpecifier: { case: 'prefix', value: '/' } }, action: { case: 'nonForwardingAction', value: {} } }],
          },
        ],
      },
    },
    httpFilters: [...rbacHttpFilters(o.rbac, true), { name: ROUTER_FILTER, configType: { case: 'typedConfig', value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  const strict = o.mtlsMode === 'STRICT';
  const tls = strict || (o.mtlsMode === 'PERMISSIVE' && o.permissiveTls === true);
  const chain: MessageInitShape<typeof FilterChainSchema> = {
    name: strict ? 'inbound-mtls' : tls ? 'inbound-tls' : 'inbound-plaintext',
    filterChainMatch: { transportProtocol: 'raw_buffer' },
    filters: [{ name: HCM_FILTER, configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } }],
    ...(tls ? { transportSocket: grpcDownstreamTls(strict) } : {}),
  };
  return create(ListenerSchema, {
    name,
    address: socketAddress(o.ip, o.port),
    trafficDirection: TrafficDirection.INBOUND,
    filterChains: [chain],
    // protobuf-es represents google.protobuf.Struct as a plain JSON object.
    metadata: { filterMetadata: { [MESHBRIDGE_METADATA_KEY]: { mtlsMode: o.mtlsMode } } },
  });
}

/**
 * The inbound Listeners of the listener names the view's xDS-enabled servers requested (proxyless
 * views get none before they ask: pipeline.ts): for the workload at the requested IP, else (an
 * address no workload has) for the requesting proxy's namespace with no labels, so the namespace's
 * or the mesh's (root namespace) PeerAuthentication and the selector-less AuthorizationPolicies
 * apply, as Istio's passthrough filter chains get them (issue 11: fail closed, never an
 * unauthenticated, unauthorized listener in a STRICT namespace or under a mesh-wide DENY).
 */
export function grpcInboundResources(ctx: ViewContext): ResourceSet {
  const out = emptyResourceSet();
  const mesh = ctx.sources.mesh;
  const forTarget = (target: { readonly namespace: string; readonly labels: Workload['labels'] }, ip: string, port: number, permissiveTls: boolean): Listener => {
    const rbac = inboundRbac(ctx.sources.authorizationPolicies ?? [], target, mesh);
    const mtlsMode = effectiveMtlsMode(ctx.sources.peerAuthentications, mesh.rootNamespace, target.namespace, target.labels, port);
    return grpcInboundListener({ ip, port, mtlsMode, rbac, permissiveTls });
  };
  const unknownIp = { namespace: ctx.spec.client.namespace, labels: {} };
  for (const r of ctx.inboundRequests ?? []) {
    const w = r.workload;
    out.listeners.set(r.name, w ? forTarget(w, r.ip, r.port, ctx.spec.tls === true && w.tlsMode === 'istio') : forTarget(unknownIp, r.ip, r.port, false));
  }
  return out;
}
