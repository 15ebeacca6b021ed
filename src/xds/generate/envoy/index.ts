/**
 * The Envoy sidecar flavour of the xDS generator (Istio: pilot/pkg/networking/core, the "sidecar"
 * proxy type). Per service (`forService`): its outbound clusters (CDS) and the
 * ClusterLoadAssignments of its EDS clusters. For the whole view (`shared`): outbound listeners and
 * port-level routes (LDS/RDS), virtualOutbound/virtualInbound, PassthroughCluster,
 * BlackHoleCluster, InboundPassthroughCluster, and the inbound clusters of a VM's own workloads.
 */
import { createRegistry, type Registry as TypeRegistry } from '@bufbuild/protobuf';
import { HTTPFaultSchema } from '../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import { RouterSchema } from '../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { OriginalDstSchema } from '../../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js';
import { TlsInspectorSchema } from '../../../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js';
import { HttpConnectionManagerSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import { RawBufferSchema } from '../../../gen/envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer_pb.js';
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { RBACSchema } from '../../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import { RBACSchema as NetworkRbacSchema } from '../../../gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js';
import { HttpProtocolOptionsSchema } from '../../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { clustersForService, indexGateways } from '../../../registry/view/clusters.js';
import type { Generator } from '../generator.js';
import { emptyResourceSet, mergeInto } from '../resource-set.js';
import { blackHoleCluster, inboundPassthroughCluster, outboundCluster, passthroughCluster } from './clusters.js';
import { BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, PASSTHROUGH_CLUSTER } from './filters.js';
import { envoyLoadAssignment } from './endpoints.js';
import { inboundKey, inboundResources } from './inbound.js';
import { outboundListenersAndRoutes } from './outbound.js';

/** Every message type this flavour packs into an Any (for toJson, anyUnpack and golden files). */
export const ENVOY_TYPE_REGISTRY: TypeRegistry = createRegistry(
  HttpConnectionManagerSchema,
  RouterSchema,
  HTTPFaultSchema,
  TcpProxySchema,
  OriginalDstSchema,
  TlsInspectorSchema,
  UpstreamTlsContextSchema,
  DownstreamTlsContextSchema,
  RBACSchema,
  NetworkRbacSchema,
  RawBufferSchema,
  HttpProtocolOptionsSchema,
);

export const envoyGenerator: Generator = {
  forService(ctx, service, sources) {
    const out = emptyResourceSet();
    const clusters = clustersForService(sources, ctx.spec.client, indexGateways(sources.gateways), service);
    const o = { mesh: sources.mesh, peerAuthentications: sources.peerAuthentications };
    for (const c of clusters) {
      out.clusters.set(c.name, outboundCluster(c, o));
      // C-4, C-5: EDS clusters get a ClusterLoadAssignment (possibly empty); DNS clusters carry
      // theirs inline; ORIGINAL_DST (also by a PASSTHROUGH load balancer, C-9) has none.
      if (c.type === 'EDS') {
        out.endpoints.set(c.name, envoyLoadAssignment(c.name, c.localities, sources.mesh.clusterId));
      }
    }
    return out;
  },

  outbound(ctx, servicesByHost) {
    const out = outboundListenersAndRoutes(ctx, servicesByHost);
    out.clusters.set(PASSTHROUGH_CLUSTER, passthroughCluster());
    out.clusters.set(BLACKHOLE_CLUSTER, blackHoleCluster());
    out.clusters.set(INBOUND_PASSTHROUGH_CLUSTER, inboundPassthroughCluster());
    return out;
  },

  shared(ctx) {
    const out = emptyResourceSet();
    mergeInto(
      out,
      inboundResources(ctx.sources.services, ctx.ownWorkloads, {
        mesh: ctx.sources.mesh,
        proxyNamespace: ctx.spec.client.namespace,
        peerAuthentications: ctx.sources.peerAuthentications,
        authorizationPolicies: ctx.sources.authorizationPolicies ?? [],
      }),
    );
    return out;
  },
  sharedKey(ctx) {
    return inboundKey(ctx.sources.services, ctx.ownWorkloads, {
      mesh: ctx.sources.mesh,
      proxyNamespace: ctx.spec.client.namespace,
      peerAuthentications: ctx.sources.peerAuthentications,
      authorizationPolicies: ctx.sources.authorizationPolicies ?? [],
    });
  },
  // forService reads the client only through clustersForService (bench S6: one build and one
  // encoding of each cluster and ClusterLoadAssignment for all sidecars instead of one per sidecar).
  perServiceAcrossViews: true,
};
