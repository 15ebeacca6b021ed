/**
 * The proxyless gRPC flavour as the push pipeline drives it: per service its listener, route,
 * clusters and endpoints (grpc.ts); per view a server's inbound listeners (grpc-inbound.ts). It reads
 * the client only through the attributes relevance.ts tracks, so views share classes.
 */
import { clustersForService, indexGateways } from '../../registry/view/clusters.js';
import type { Generator } from './generator.js';
import { grpcInboundResources, grpcServiceResources } from './grpc.js';

export const grpcGenerator: Generator = {
  forService(ctx, service, sources, servicesByHost) {
    const clusters = clustersForService(sources, ctx.spec.client, indexGateways(sources.gateways), service);
    return grpcServiceResources(ctx, { service, clusters }, servicesByHost);
  },
  shared(ctx) {
    return grpcInboundResources(ctx);
  },
  sharedAcrossViews: true,
  onDemand: true,
};
